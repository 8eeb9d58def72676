"""Zeus's zeus.monitor.price over Zeus-C: electricity-price providers and the monitor.

The providers are in _rate.py; the monitor and its measurement in _emission.py.
"""

from zeusc.monitor._rate import (  # noqa: F401  (the providers: zeusc/monitor/_rate.py)
    ElectricityPriceProvider,
    OpenEIClient,
    ZeusElectricityPriceHTTPError,
    ZeusElectricityPriceNotFoundError,
    get_time_info,
)
from zeusc.monitor._emission import EnergyCostMeasurement, EnergyCostMonitor, Op  # noqa: F401
