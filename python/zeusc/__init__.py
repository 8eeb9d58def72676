"""zeusc: Zeus's energy measurement API over the Zeus-C library.

Switch from Zeus by changing the import::

    from zeusc import ZeusMonitor          # was: from zeus.monitor import ZeusMonitor

    monitor = ZeusMonitor(gpu_indices=[0])
    monitor.begin_window("step")
    ...
    m = monitor.end_window("step")
    print(m.time, m.total_energy)

    with monitor.window("epoch") as w:     # Zeus-C addition
        ...
    print(w.measurement)

See python/README.md for what differs from Zeus (timestamps, sampled windows, exceptions).
"""

from zeusc import _zeusc
from zeusc._types import Measurement
from zeusc.errors import *  # noqa: F403
from zeusc.errors import ZeusError, ZeusWarning
from zeusc.monitor import (
    EnergyDetail,
    MeasurementWindow,
    PowerDomain,
    PowerMonitor,
    TemperatureMonitor,
    ZeusMonitor,
)

__version__ = "0.1.0"

#: Unix seconds on the library's clock (monotonic + the offset fixed at import).
now = _zeusc.now
#: CLOCK_MONOTONIC seconds, the library's own time base (equal to time.monotonic()).
monotonic = _zeusc.monotonic
#: Unix seconds minus monotonic seconds, measured once when zeusc was imported.
clock_offset = _zeusc.clock_offset
#: Version of the loaded libzeus.
library_version = _zeusc.library_version

ENERGY_VALID = _zeusc.ENERGY_VALID
ENERGY_COUNTER = _zeusc.ENERGY_COUNTER
ENERGY_INTEGRATED = _zeusc.ENERGY_INTEGRATED
ENERGY_ESTIMATED = _zeusc.ENERGY_ESTIMATED
ENERGY_ZERO = _zeusc.ENERGY_ZERO
ENERGY_WRAPPED = _zeusc.ENERGY_WRAPPED
ENERGY_FAILED = _zeusc.ENERGY_FAILED
ENERGY_UNSUPPORTED = _zeusc.ENERGY_UNSUPPORTED
ENERGY_RESET = _zeusc.ENERGY_RESET
ENERGY_INTERPOLATED = _zeusc.ENERGY_INTERPOLATED
ENERGY_PROVISIONAL = _zeusc.ENERGY_PROVISIONAL
ENERGY_CLIPPED = _zeusc.ENERGY_CLIPPED
ENERGY_UNCOVERED = _zeusc.ENERGY_UNCOVERED
#: The GPU reports power only for its whole module (Grace Hopper: CPU + GPU).
ENERGY_MODULE_SCOPE = _zeusc.ENERGY_MODULE_SCOPE
#: MIG: the value is the whole physical GPU's, every MIG slice on it included.
ENERGY_WHOLE_GPU = _zeusc.ENERGY_WHOLE_GPU

__all__ = [
    "EnergyDetail",
    "Measurement",
    "MeasurementWindow",
    "PowerDomain",
    "PowerMonitor",
    "TemperatureMonitor",
    "ZeusError",
    "ZeusMonitor",
    "ZeusWarning",
    "clock_offset",
    "library_version",
    "monotonic",
    "now",
]
