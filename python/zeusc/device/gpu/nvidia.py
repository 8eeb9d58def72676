"""NVIDIA GPUs over Zeus-C (Zeus's zeus.device.gpu.nvidia).

NVIDIAGPU reads and sets through the C device API (include/zeus/device.h), which loads NVML
with dlopen (ZEUS_NVML_LIBRARY overrides the path) and numbers GPUs as the frameworks do
(CUDA_VISIBLE_DEVICES). The library converts NVML's units; this module converts back to
Zeus's (mW, mJ, integer degrees). Setters need root or CAP_SYS_ADMIN, or a zeusd: when
ZEUSD_SOCK_PATH or ZEUSD_HOST_PORT is set the C library forwards them to the daemon, so
ZeusdNVIDIAGPU is NVIDIAGPU under Zeus's name.
"""

from __future__ import annotations

import os
from typing import Sequence

from zeusc import _zeusc
from zeusc.device._handle import devices
from zeusc.device.gpu.common import GPU, GPUs, ZeusGPUInitError

__all__ = ["NVIDIAGPU", "NVIDIAGPUs", "ZeusdNVIDIAGPU", "nvml_is_available"]

# zeus_power_domain values (include/zeus/device.h).
_INSTANT, _AVERAGE, _MEMORY = 0, 1, 2


def _mw(watts: float) -> int:
    return int(round(watts * 1000.0))


def nvml_is_available() -> bool:
    """Whether the library opened a GPU backend (NVML or AMD SMI) and sees at least one GPU."""
    try:
        return devices().gpu_count() > 0
    except Exception:
        return False


class NVIDIAGPU(GPU):
    """One NVIDIA GPU, by framework index (its position in CUDA_VISIBLE_DEVICES)."""

    def __init__(self, gpu_index: int) -> None:
        super().__init__(gpu_index)
        self._devs = devices()
        self._info = self._devs.gpu_info(gpu_index)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.gpu_index}, name={self._info['name']!r})"

    def get_name(self) -> str:
        return self._info["name"]

    def get_power_management_limit_constraints(self) -> tuple[int, int]:
        lo, hi = self._devs.gpu_power_limit_constraints(self.gpu_index)
        return (_mw(lo), _mw(hi))

    def get_power_management_limit(self) -> int:
        return _mw(self._devs.gpu_power_limit(self.gpu_index))

    def set_power_management_limit(self, power_limit_mw: int, block: bool = True) -> None:
        self._devs.gpu_set_power_limit(self.gpu_index, power_limit_mw / 1000.0)

    def reset_power_management_limit(self, block: bool = True) -> None:
        self._devs.gpu_reset_power_limit(self.gpu_index)

    def set_persistence_mode(self, enabled: bool, block: bool = True) -> None:
        self._devs.gpu_set_persistence_mode(self.gpu_index, bool(enabled))

    def get_persistence_mode(self) -> bool:
        return self._devs.gpu_persistence_mode(self.gpu_index)

    def get_supported_memory_clocks(self) -> list[int]:
        return self._devs.gpu_supported_memory_clocks(self.gpu_index)

    def set_memory_locked_clocks(self, min_clock_mhz: int, max_clock_mhz: int, block: bool = True) -> None:
        self._devs.gpu_set_memory_locked_clocks(self.gpu_index, min_clock_mhz, max_clock_mhz)

    def reset_memory_locked_clocks(self, block: bool = True) -> None:
        self._devs.gpu_reset_memory_locked_clocks(self.gpu_index)

    def get_supported_graphics_clocks(self, memory_clock_mhz: int | None = None) -> list[int]:
        """Supported graphics clocks at `memory_clock_mhz`; None: at the highest memory clock
        (Zeus passes None on to NVML, which rejects it)."""
        if memory_clock_mhz is None:
            memory_clock_mhz = max(self.get_supported_memory_clocks())
        return self._devs.gpu_supported_graphics_clocks(self.gpu_index, memory_clock_mhz)

    def set_gpu_locked_clocks(self, min_clock_mhz: int, max_clock_mhz: int, block: bool = True) -> None:
        self._devs.gpu_set_gpu_locked_clocks(self.gpu_index, min_clock_mhz, max_clock_mhz)

    def reset_gpu_locked_clocks(self, block: bool = True) -> None:
        self._devs.gpu_reset_gpu_locked_clocks(self.gpu_index)

    def get_average_power_usage(self) -> int:
        return _mw(self._devs.gpu_power(self.gpu_index, _AVERAGE))

    def get_instant_power_usage(self) -> int:
        return _mw(self._devs.gpu_power(self.gpu_index, _INSTANT))

    def get_average_memory_power_usage(self) -> int:
        return _mw(self._devs.gpu_power(self.gpu_index, _MEMORY))

    def supports_get_total_energy_consumption(self) -> bool:
        return bool(self._info["supports"] & _zeusc.GPU_ENERGY_COUNTER)

    def get_total_energy_consumption(self) -> int:
        return _mw(self._devs.gpu_energy(self.gpu_index))  # J -> mJ

    def get_gpu_temperature(self) -> int:
        return int(round(self._devs.gpu_temperature(self.gpu_index)))


class ZeusdNVIDIAGPU(NVIDIAGPU):
    """Zeus's zeusd-backed GPU. The C library already forwards setters to zeusd when
    ZEUSD_SOCK_PATH or ZEUSD_HOST_PORT is set, so this is NVIDIAGPU; `client` is kept for
    code that reads it."""

    def __init__(self, gpu_index: int, client=None) -> None:
        super().__init__(gpu_index)
        self.zeusd = client


class NVIDIAGPUs(GPUs):
    """Every GPU the library sees, numbered as the frameworks number them."""

    def __init__(self, ensure_homogeneous: bool = False) -> None:
        devs = devices()
        n = devs.gpu_count()
        use_zeusd = bool(os.environ.get("ZEUSD_SOCK_PATH") or os.environ.get("ZEUSD_HOST_PORT"))
        from zeusc.device.gpu.amd import AMDGPU, ZeusdAMDGPU  # amd.py imports this module

        nvidia = ZeusdNVIDIAGPU if use_zeusd else NVIDIAGPU
        amd = ZeusdAMDGPU if use_zeusd else AMDGPU
        self._gpus = [amd(i) if devs.gpu_info(i)["backend"] == "amdsmi" else nvidia(i) for i in range(n)]
        if ensure_homogeneous:
            self._ensure_homogeneous()

    @property
    def gpus(self) -> Sequence[NVIDIAGPU]:
        return self._gpus

    def __del__(self) -> None:
        pass


def _init_error() -> ZeusGPUInitError:
    """Why no GPU is there, from the library's backend report."""
    details = [
        f"{b['name']}: {b['detail'] or b['status_name']}"
        for b in _zeusc.devices_info()["backends"]
        if b["kind"] == "gpu"
    ]
    return ZeusGPUInitError("No GPUs found. " + "; ".join(details))
