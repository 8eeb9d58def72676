"""Zeus's zeus.monitor.carbon over Zeus-C: carbon-intensity providers and the monitor.

The providers are in _rate.py; the monitor and its measurement in _emission.py.
"""

from zeusc.monitor._rate import (  # noqa: F401  (the providers: zeusc/monitor/_rate.py)
    CarbonIntensityProvider,
    ElectricityMapsClient,
    ElectrictyMapsClient,
    ZeusCarbonIntensityHTTPError,
    ZeusCarbonIntensityNotFoundError,
)
from zeusc.monitor._emission import CarbonEmissionMeasurement, CarbonEmissionMonitor, Op  # noqa: F401
