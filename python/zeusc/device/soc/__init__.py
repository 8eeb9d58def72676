"""Zeus's SoC devices (zeus.device.soc). Zeus-C has no Apple silicon or Jetson backend yet:
the ``*_is_available()`` checks are False, the classes raise their init errors, and
``get_soc()`` raises ZeusSoCInitError, as Zeus does on a machine without a SoC."""

from __future__ import annotations

from zeusc.device.soc.common import SoC, ZeusSoCInitError
from zeusc.errors import ZeusBaseSoCError

__all__ = [
    "AppleSilicon",
    "Jetson",
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


class ZeusJetsonInitError(ZeusBaseSoCError):
    """A Jetson cannot be monitored (always, in Zeus-C)."""


def apple_silicon_is_available() -> bool:
    """Always False: no Apple silicon backend."""
    return False


def jetson_is_available() -> bool:
    """Always False: no Jetson backend."""
    return False


class AppleSilicon(SoC):
    """Not available: raises ZeusAppleInitError."""

    def __init__(self, *args, **kwargs) -> None:
        raise ZeusAppleInitError("Zeus-C has no Apple silicon backend.")


class Jetson(SoC):
    """Not available: raises ZeusJetsonInitError."""

    def __init__(self, *args, **kwargs) -> None:
        raise ZeusJetsonInitError("Zeus-C has no Jetson backend.")


def get_soc() -> SoC:
    """Zeus's SoC singleton; raises ZeusSoCInitError here (no SoC backend in Zeus-C)."""
    raise ZeusSoCInitError("No observable SoC was found on the current machine (Zeus-C has no SoC backend).")
