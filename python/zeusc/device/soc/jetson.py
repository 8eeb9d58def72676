"""NVIDIA Jetson SoC energy (zeus.device.soc.jetson): JetsonMeasurement and Jetson, backed
by the library's jetson backend (src/device/jetson.c), which integrates the INA3221 rails'
power by the trapezoid rule in a C thread rather than Zeus's polling process.

Values are in mJ, as in Zeus. A rail the board lacks is None (Zeus); a rail that could not
be read is NaN (Zeus-C: never a silent zero).

Zeus's helpers for reading a rail (check_file, PowerMeasurementStrategy, DirectPower,
VoltageCurrentProduct, DeviceMap) are here too, and ``Jetson.power_measurement`` is a
DeviceMap of the rails the library found, so code that reads a rail's power itself keeps
working. ``Command`` is Zeus's polling-process command; nothing here uses it (the library
polls in a C thread).
"""

from __future__ import annotations

import abc
import enum
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TypedDict

from zeusc.device._handle import devices
from zeusc.device.soc.common import SoC, SoCMeasurement
from zeusc.errors import ZeusSoCInitError

__all__ = [
    "Command",
    "DeviceMap",
    "DirectPower",
    "Jetson",
    "JetsonMeasurement",
    "PowerMeasurementStrategy",
    "VoltageCurrentProduct",
    "ZeusJetsonInitError",
    "check_file",
    "jetson_is_available",
]


class ZeusJetsonInitError(ZeusSoCInitError):
    """No Jetson (or none of its rails) was found."""


def check_file(path: Path) -> bool:
    """Whether `path` exists and is a file (Zeus)."""
    return path.exists() and path.is_file()


class PowerMeasurementStrategy(abc.ABC):
    """How one rail's power is read (Zeus)."""

    @abc.abstractmethod
    def measure_power(self) -> float:
        """The rail's power now, mW."""


class DirectPower(PowerMeasurementStrategy):
    """A rail whose driver reports power (power<i>_input, in_power<i>_input), mW."""

    def __init__(self, power_path: Path) -> None:
        self.power_path: Path = power_path

    def measure_power(self) -> float:
        return float(self.power_path.read_text().strip())


class VoltageCurrentProduct(PowerMeasurementStrategy):
    """A rail read as voltage (mV) x current (mA) / 1000, mW."""

    def __init__(self, voltage_path: Path, current_path: Path) -> None:
        self.voltage_path: Path = voltage_path
        self.current_path: Path = current_path

    def measure_power(self) -> float:
        voltage = float(self.voltage_path.read_text().strip())
        current = float(self.current_path.read_text().strip())
        return (voltage * current) / 1000


class DeviceMap(TypedDict, total=False):
    """The rails found, by Zeus's names."""

    cpu_power_mw: PowerMeasurementStrategy
    gpu_power_mw: PowerMeasurementStrategy
    total_power_mw: PowerMeasurementStrategy


class Command(enum.Enum):
    """Zeus's commands to its polling process (unused here: the library polls in C)."""

    READ = "read"
    STOP = "stop"


# The voltage file of each kernel layout and its current file (jetson.c reads the same).
_CURRENT_FILE = (
    (re.compile(r"^in_voltage(\d+)_input$"), r"in_current\1_input"),  # rail_name_<i> layout
    (re.compile(r"^in(\d+)_input$"), r"curr\1_input"),  # in<i>_label layout
)


def _strategy(path: str) -> PowerMeasurementStrategy:
    """The reader of the rail whose power (or voltage) file is `path`."""
    p = Path(path)
    for voltage, current in _CURRENT_FILE:
        if voltage.match(p.name):
            return VoltageCurrentProduct(p, p.with_name(voltage.sub(current, p.name)))
    return DirectPower(p)


def _device_map(info: dict) -> DeviceMap:
    rails = info["rails"]
    return DeviceMap(**{f"{k}_power_mw": _strategy(r["path"]) for k, r in rails.items() if r})


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
        self.power_measurement: DeviceMap = _device_map(self._devices.soc_info(0))
        self.available_metrics: set[str] | None = None

    def get_available_metrics(self) -> set[str]:
        """The JetsonMeasurement fields this board reports."""
        if self.available_metrics is None:
            m = self.get_total_energy_consumption()
            self.available_metrics = {f.name for f in fields(m) if getattr(m, f.name) is not None}
        return self.available_metrics

    def get_total_energy_consumption(self, timeout: float = 15.0) -> JetsonMeasurement:
        """Energy since the library opened the rails, mJ (cumulative). `timeout` is Zeus's
        wait for its polling process; the library answers at once, so it is not used."""
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
