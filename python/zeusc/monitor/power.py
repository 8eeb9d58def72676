"""Zeus's zeus.monitor.power path: PowerMonitor, PowerDomain, PowerSample and
infer_counter_update_period."""

from __future__ import annotations

from dataclasses import dataclass

from zeusc.monitor import PowerDomain, PowerMonitor

__all__ = ["PowerDomain", "PowerMonitor", "PowerSample", "infer_counter_update_period"]


@dataclass
class PowerSample:
    """One power sample (Zeus's shape; zeusc's timelines are (time, watts) tuples)."""

    timestamp: float
    gpu_index: int
    power_mw: float


def infer_counter_update_period(gpu_indicies: list[int]) -> float:
    """Half the fastest update period of the GPUs' power readings, in seconds (Zeus's
    function; the library watches the readings for up to 1 s to infer it)."""
    monitor = PowerMonitor(gpu_indices=list(gpu_indicies), update_period=None)
    try:
        return monitor.update_period
    finally:
        monitor.stop()
