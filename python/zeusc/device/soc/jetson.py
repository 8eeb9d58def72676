"""NVIDIA Jetson SoC energy (zeus.device.soc.jetson): JetsonMeasurement and Jetson, backed
by the library's jetson backend (src/device/jetson.c), which integrates the INA3221 rails'
power by the trapezoid rule in a C thread rather than Zeus's polling process.

Values are in mJ, as in Zeus. A rail the board lacks is None (Zeus); a rail that could not
be read is NaN (Zeus-C: never a silent zero).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from zeusc.device._handle import devices
from zeusc.device.soc.common import SoC, SoCMeasurement
from zeusc.errors import ZeusSoCInitError

__all__ = ["Jetson", "JetsonMeasurement", "ZeusJetsonInitError", "jetson_is_available"]


class ZeusJetsonInitError(ZeusSoCInitError):
    """No Jetson (or none of its rails) was found."""


@dataclass
class JetsonMeasurement(SoCMeasurement):
    """Energy of a Jetson's rails, mJ; None for a rail the board lacks."""

    cpu_energy_mj: float | None = None
    gpu_energy_mj: float | None = None
    total_energy_mj: float | None = None

    def __sub__(self, other: JetsonMeasurement) -> JetsonMeasurement:
        """Field-wise difference; a field None on both sides stays None (Zeus)."""
        if not isinstance(other, type(self)):
            raise TypeError("Subtraction is only supported between Jetson instances.")
        result = self.__class__()
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if a is None and b is None:
                continue
            setattr(result, f.name, a - b)
        return result

    def zero_all_fields(self) -> None:
        """Floats become 0.0, anything else None (Zeus)."""
        for f in fields(self):
            value = getattr(self, f.name)
            setattr(self, f.name, 0.0 if isinstance(value, float) else None)


def jetson_is_available() -> bool:
    """True when the library found a Jetson with at least one cpu, gpu or total rail
    (Zeus's check: Linux, aarch64, the tegra markers; ZEUS_JETSON=1 forces it)."""
    return devices().soc_count() > 0


def _mj(j: float | None) -> float | None:
    return None if j is None else j * 1e3


class Jetson(SoC):
    """A Jetson's cumulative rail energies and named windows over them, as in Zeus."""

    def __init__(self) -> None:
        if not jetson_is_available():
            raise ZeusJetsonInitError("No Jetson processor was detected on the current device.")
        self._devices = devices()
        self.measurement_states: dict[str, JetsonMeasurement] = {}
        self.available_metrics: set[str] | None = None

    def get_available_metrics(self) -> set[str]:
        """The JetsonMeasurement fields this board reports."""
        if self.available_metrics is None:
            m = self.get_total_energy_consumption()
            self.available_metrics = {f.name for f in fields(m) if getattr(m, f.name) is not None}
        return self.available_metrics

    def get_total_energy_consumption(self) -> JetsonMeasurement:
        """Energy since the library opened the rails, mJ (cumulative)."""
        cpu, gpu, total = self._devices.soc_energy(0)
        return JetsonMeasurement(_mj(cpu), _mj(gpu), _mj(total))

    def begin_window(self, key: str, restart: bool = False) -> None:
        """Begin window `key` (KeyError if open, unless restart), as Zeus."""
        if key in self.measurement_states and not restart:
            raise KeyError(f"Measurement window '{key}' already exists")
        self.measurement_states[key] = self.get_total_energy_consumption()

    def end_window(self, key: str) -> JetsonMeasurement:
        """End window `key` and return its energy, mJ (KeyError if not open)."""
        try:
            start = self.measurement_states.pop(key)
        except KeyError:
            raise KeyError(f"Measurement window '{key}' does not exist") from None
        return self.get_total_energy_consumption() - start
