"""Zeus's zeus.monitor.carbon over Zeus-C: carbon-intensity providers (and monitors)."""

from zeusc.monitor._rate import (  # noqa: F401  (the providers: zeusc/monitor/_rate.py)
    CarbonIntensityProvider,
    ElectricityMapsClient,
    ElectrictyMapsClient,
    ZeusCarbonIntensityHTTPError,
    ZeusCarbonIntensityNotFoundError,
)
