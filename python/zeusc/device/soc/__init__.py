"""Zeus's SoC devices (zeus.device.soc). NVIDIA Jetson is read through the library's jetson
backend (zeusc.device.soc.jetson). Zeus-C has no Apple silicon backend:
``apple_silicon_is_available()`` is False and AppleSilicon raises its init error. ``get_soc()``
returns the Jetson where there is one and raises ZeusSoCInitError elsewhere, as Zeus does on
a machine without a SoC."""

from __future__ import annotations

from zeusc.device.soc.common import SoC, ZeusSoCInitError
from zeusc.device.soc.jetson import Jetson, JetsonMeasurement, ZeusJetsonInitError, jetson_is_available
from zeusc.errors import ZeusBaseSoCError

__all__ = [
    "AppleSilicon",
    "Jetson",
    "JetsonMeasurement",
    "SoC",
    "ZeusAppleInitError",
    "ZeusJetsonInitError",
    "ZeusSoCInitError",
    "apple_silicon_is_available",
    "get_soc",
    "jetson_is_available",
]


class ZeusAppleInitError(ZeusBaseSoCError):
    """Apple silicon cannot be monitored (always, in Zeus-C)."""


def apple_silicon_is_available() -> bool:
    """Always False: no Apple silicon backend."""
    return False


class AppleSilicon(SoC):
    """Not available: raises ZeusAppleInitError."""

    def __init__(self, *args, **kwargs) -> None:
        raise ZeusAppleInitError("Zeus-C has no Apple silicon backend.")


_soc: SoC | None = None


def get_soc() -> SoC:
    """Zeus's SoC singleton: the Jetson where the library finds one; raises
    ZeusSoCInitError elsewhere (Zeus-C reads no Apple silicon)."""
    global _soc
    if _soc is None:
        if not jetson_is_available():
            raise ZeusSoCInitError("No observable SoC was found on the current machine.")
        _soc = Jetson()
    return _soc
