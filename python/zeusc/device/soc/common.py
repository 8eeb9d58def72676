"""Zeus's SoC abstraction (zeus.device.soc.common): SoC, EmptySoC, SoCMeasurement and
ZeusSoCInitError: the base classes Zeus code names. zeusc.device.soc.jetson implements them
for NVIDIA Jetson (``Measurement.soc_energy`` is a JetsonMeasurement there, else None)."""

from __future__ import annotations

import abc
from dataclasses import dataclass

from zeusc.device.common import DeprecatedAliasABCMeta, deprecated_alias
from zeusc.errors import ZeusSoCInitError

__all__ = ["EmptySoC", "SoC", "SoCMeasurement", "ZeusSoCInitError"]


@dataclass
class SoCMeasurement(abc.ABC, metaclass=DeprecatedAliasABCMeta):
    """Energy of a SoC's subsystems, mJ; each SoC defines its own fields."""

    @abc.abstractmethod
    def __sub__(self, other) -> SoCMeasurement:
        """Field-wise difference."""

    @deprecated_alias("zeroAllFields")
    @abc.abstractmethod
    def zero_all_fields(self) -> None:
        """Set every field to zero."""


class SoC(abc.ABC, metaclass=DeprecatedAliasABCMeta):
    """A monolithic SoC's energy monitor (Zeus's base class)."""

    @deprecated_alias("getAvailableMetrics")
    @abc.abstractmethod
    def get_available_metrics(self) -> set[str]:
        """The metrics this SoC reports."""

    @deprecated_alias("getTotalEnergyConsumption")
    @abc.abstractmethod
    def get_total_energy_consumption(self) -> SoCMeasurement:
        """Cumulative energy, mJ."""

    @deprecated_alias("beginWindow")
    @abc.abstractmethod
    def begin_window(self, key: str, restart: bool = False) -> None:
        """Begin window `key`."""

    @deprecated_alias("endWindow")
    @abc.abstractmethod
    def end_window(self, key: str) -> SoCMeasurement:
        """End window `key` and return its energy, mJ."""


class EmptySoC(SoC):
    """No SoC: no metrics, and every query raises ValueError (Zeus's EmptySoC)."""

    def __init__(self) -> None:
        pass

    def get_available_metrics(self) -> set[str]:
        return set()

    def get_total_energy_consumption(self) -> SoCMeasurement:
        raise ValueError("No SoC is available.")

    def begin_window(self, key: str, restart: bool = False) -> None:
        raise ValueError("No SoC is available.")

    def end_window(self, key: str) -> SoCMeasurement:
        raise ValueError("No SoC is available.")
