"""AMD GPUs over Zeus-C (Zeus's zeus.device.gpu.amd).

The C library reads AMD GPUs through AMD SMI (libamd_smi.so of ROCm 6.3 or 6.4, loaded with
dlopen; ZEUS_AMDSMI_LIBRARY overrides the path), numbers them as HIP does
(HIP_VISIBLE_DEVICES, else CUDA_VISIBLE_DEVICES), and checks each energy counter at start as
Zeus does: a GPU whose counter disagrees with its power reports
supports_get_total_energy_consumption() False, and monitors integrate its power instead.
AMDGPU is the C device API under Zeus's AMD name; units are Zeus's (mW, mJ, degrees).
"""

from __future__ import annotations

from typing import Sequence

from zeusc.device._handle import devices
from zeusc.device.gpu.common import GPUs, ZeusGPUNotSupportedError
from zeusc.device.gpu.nvidia import NVIDIAGPU

__all__ = ["AMDGPU", "AMDGPUs", "ZeusdAMDGPU", "amdsmi_is_available"]


def amdsmi_is_available() -> bool:
    """Whether the library opened AMD SMI and sees at least one AMD GPU."""
    try:
        devs = devices()
        return any(devs.gpu_info(i)["backend"] == "amdsmi" for i in range(devs.gpu_count()))
    except Exception:
        return False


_ONE_DOMAIN = (
    "AMD GPUs cannot reset a single clock domain. Use `reset_locked_clocks` to reset all clock "
    "domains."
)


class AMDGPU(NVIDIAGPU):
    """One AMD GPU, by framework index. Persistence mode and memory power are not supported
    (the library raises ZeusGPUNotSupportedError, as Zeus does)."""

    def reset_locked_clocks(self, block: bool = True) -> None:
        """Zeus's AMD reset: performance level back to auto (both clock ranges)."""
        self._devs.gpu_reset_gpu_locked_clocks(self.gpu_index)

    def reset_gpu_locked_clocks(self, block: bool = True) -> None:
        """Raises ZeusGPUNotSupportedError, as Zeus's AMDGPU does: AMD resets both clock
        domains at once (reset_locked_clocks), never the graphics clock alone."""
        raise ZeusGPUNotSupportedError(_ONE_DOMAIN)

    def reset_memory_locked_clocks(self, block: bool = True) -> None:
        """Raises ZeusGPUNotSupportedError, as Zeus's AMDGPU does (see above)."""
        raise ZeusGPUNotSupportedError(_ONE_DOMAIN)


class ZeusdAMDGPU(AMDGPU):
    """Zeus's zeusd-backed AMD GPU: AMDGPU under that name; `client` is kept for code that
    reads it."""

    def __init__(self, gpu_index: int, client=None) -> None:
        super().__init__(gpu_index)
        self.zeusd = client


class AMDGPUs(GPUs):
    """Every GPU the library sees when all of them are AMD GPUs."""

    def __init__(self, ensure_homogeneous: bool = False) -> None:
        self._gpus = [AMDGPU(i) for i in range(devices().gpu_count())]
        if ensure_homogeneous:
            self._ensure_homogeneous()

    @property
    def gpus(self) -> Sequence[AMDGPU]:
        return self._gpus
