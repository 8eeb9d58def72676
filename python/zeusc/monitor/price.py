"""Zeus's zeus.monitor.price over Zeus-C: electricity-price providers (and monitors)."""

from zeusc.monitor._rate import (  # noqa: F401  (the providers: zeusc/monitor/_rate.py)
    ElectricityPriceProvider,
    OpenEIClient,
    ZeusElectricityPriceHTTPError,
    ZeusElectricityPriceNotFoundError,
    get_time_info,
)
