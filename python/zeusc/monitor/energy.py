"""Zeus's zeus.monitor.energy path: ``from zeusc.monitor.energy import ZeusMonitor``."""

from zeusc._types import Measurement, MeasurementState
from zeusc.monitor import ZeusMonitor

__all__ = ["Measurement", "MeasurementState", "ZeusMonitor"]
