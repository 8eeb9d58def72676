"""CPU packages over Zeus-C's RAPL backend (Zeus's zeus.device.cpu.rapl).

The library reads <sysfs>/class/powercap/intel-rapl:* (ZEUS_SYSFS_ROOT overrides /sys;
/zeus_sys is used in containers), widens the counters across wraparound and reports
permission problems with the fix; this module converts to Zeus's millijoules. With
ZEUSD_SOCK_PATH or ZEUSD_HOST_PORT set, root-only counters are read through zeusd by the
library, so ZeusdRAPLCPU is RAPLCPU under Zeus's name.
"""

from __future__ import annotations

import os
from typing import Sequence

from zeusc.device._handle import devices
from zeusc.device.cpu.common import CPU, CPUs, CpuDramMeasurement
from zeusc.errors import ZeusRAPLFileInitError, ZeusRAPLNotSupportedError, ZeusRAPLPermissionError

__all__ = [
    "CONTAINER_RAPL_DIR",
    "RAPLCPU",
    "RAPLCPUs",
    "RAPL_DIR",
    "ZeusRAPLFileInitError",
    "ZeusRAPLNotSupportedError",
    "ZeusRAPLPermissionError",
    "ZeusdRAPLCPU",
    "rapl_is_available",
]

RAPL_DIR = "/sys/class/powercap/intel-rapl"
CONTAINER_RAPL_DIR = "/zeus_sys/class/powercap/intel-rapl"


def rapl_is_available() -> bool:
    """Whether the library found at least one RAPL package zone."""
    try:
        return devices().cpu_count() > 0
    except Exception:
        return False


class RAPLCPU(CPU):
    """One RAPL package zone (intel-rapl:<i>), with its DRAM sub-zone if any."""

    def __init__(self, cpu_index: int, rapl_dir: str | None = None) -> None:
        super().__init__(cpu_index)
        self._devs = devices()
        info = self._devs.cpu_info(cpu_index)
        self.rapl_dir = rapl_dir if rapl_dir is not None else info["path"]
        self.name = info["name"]
        self._has_dram = info["has_dram"]

    def get_total_energy_consumption(self) -> CpuDramMeasurement:
        cpu_j, dram_j = self._devs.cpu_energy(self.cpu_index)
        return CpuDramMeasurement(cpu_mj=cpu_j * 1000.0, dram_mj=None if dram_j is None else dram_j * 1000.0)

    def supports_get_dram_energy_consumption(self) -> bool:
        return bool(self._has_dram)


class ZeusdRAPLCPU(RAPLCPU):
    """Zeus's zeusd-backed RAPL CPU; the C library already reads through zeusd when set up."""

    def __init__(self, cpu_index: int, client=None) -> None:
        super().__init__(cpu_index)
        self.zeusd = client


class RAPLCPUs(CPUs):
    """Every RAPL package zone the library found."""

    def __init__(self) -> None:
        n = devices().cpu_count()
        use_zeusd = bool(os.environ.get("ZEUSD_SOCK_PATH") or os.environ.get("ZEUSD_HOST_PORT"))
        cls = ZeusdRAPLCPU if use_zeusd else RAPLCPU
        self._cpus = [cls(i) for i in range(n)]

    @property
    def cpus(self) -> Sequence[RAPLCPU]:
        return self._cpus

    def __del__(self) -> None:
        pass
