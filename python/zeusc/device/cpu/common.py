"""Zeus's CPU abstraction (zeus.device.cpu.common): CpuDramMeasurement, the CPU and CPUs base
classes, EmptyCPUs and the CPU exception classes. Energies are millijoules, as in Zeus."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Sequence

from zeusc.device.common import DeprecatedAliasABCMeta, deprecated_alias
from zeusc.errors import ZeusBaseCPUError, ZeusCPUInitError, ZeusCPUNoPermissionError, ZeusCPUNotFoundError

__all__ = [
    "CPU",
    "CPUs",
    "CpuDramMeasurement",
    "EmptyCPUs",
    "ZeusBaseCPUError",
    "ZeusCPUInitError",
    "ZeusCPUNoPermissionError",
    "ZeusCPUNotFoundError",
]


@dataclass
class CpuDramMeasurement:
    """CPU package and DRAM energy, mJ (dram_mj None without a DRAM zone)."""

    cpu_mj: float
    dram_mj: float | None = None

    def __sub__(self, other: CpuDramMeasurement) -> CpuDramMeasurement:
        dram_mj = None
        if self.dram_mj is not None and other.dram_mj is not None:
            dram_mj = self.dram_mj - other.dram_mj
        elif self.dram_mj is not None:
            dram_mj = self.dram_mj
        elif other.dram_mj is not None:
            dram_mj = -other.dram_mj
        return CpuDramMeasurement(self.cpu_mj - other.cpu_mj, dram_mj)

    def __truediv__(self, other: int | float) -> CpuDramMeasurement:
        if isinstance(other, (int, float)):
            if other == 0:
                raise ZeroDivisionError("Division by zero is not allowed")
            return CpuDramMeasurement(self.cpu_mj / other, None if self.dram_mj is None else self.dram_mj / other)
        return NotImplemented


class CPU(abc.ABC, metaclass=DeprecatedAliasABCMeta):
    """One CPU package (Zeus's zeus.device.cpu.common.CPU)."""

    def __init__(self, cpu_index: int) -> None:
        self.cpu_index = cpu_index

    @deprecated_alias("getTotalEnergyConsumption")
    @abc.abstractmethod
    def get_total_energy_consumption(self) -> CpuDramMeasurement:
        """Cumulative package and DRAM energy, mJ."""

    @deprecated_alias("supportsGetDramEnergyConsumption")
    @abc.abstractmethod
    def supports_get_dram_energy_consumption(self) -> bool:
        """Whether the package has a DRAM zone."""


class CPUs(abc.ABC, metaclass=DeprecatedAliasABCMeta):
    """The CPU packages (Zeus's CPUs); ``cpus[i]`` is package i."""

    @abc.abstractmethod
    def __init__(self) -> None:
        """Open the devices."""

    @property
    @abc.abstractmethod
    def cpus(self) -> Sequence[CPU]:
        """The CPU objects."""

    @deprecated_alias("getTotalEnergyConsumption")
    def get_total_energy_consumption(self, index: int) -> CpuDramMeasurement:
        """Cumulative energy of package `index`, mJ."""
        return self.cpus[index].get_total_energy_consumption()

    @deprecated_alias("supportsGetDramEnergyConsumption")
    def supports_get_dram_energy_consumption(self, index: int) -> bool:
        """Whether package `index` has a DRAM zone."""
        return self.cpus[index].supports_get_dram_energy_consumption()

    def __len__(self) -> int:
        return len(self.cpus)


class EmptyCPUs(CPUs):
    """No CPUs (Zeus's EmptyCPUs): ``len()`` is 0 and queries raise ValueError."""

    def __init__(self) -> None:
        pass

    @property
    def cpus(self) -> Sequence[CPU]:
        return []

    def get_total_energy_consumption(self, index: int) -> CpuDramMeasurement:
        raise ValueError("No CPUs available.")

    def supports_get_dram_energy_consumption(self, index: int) -> bool:
        raise ValueError("No CPUs available.")
