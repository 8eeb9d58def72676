"""Zeus's zeus.monitor.temperature path: TemperatureMonitor and TemperatureSample."""

from __future__ import annotations

from dataclasses import dataclass

from zeusc.monitor import TemperatureMonitor

__all__ = ["TemperatureMonitor", "TemperatureSample"]


@dataclass
class TemperatureSample:
    """One temperature sample (Zeus's shape; zeusc's timelines are (time, celsius) tuples)."""

    timestamp: float
    gpu_index: int
    temperature_c: int
