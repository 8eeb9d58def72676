"""CPU packages over Zeus-C (Zeus's zeus.device.cpu): ``get_cpus()`` returns RAPLCPUs.

Zeus-C reads RAPL on Linux; Windows' EMI is not supported, so get_cpus() raises
ZeusCPUInitError when the library finds no RAPL package (the message says why).
"""

from __future__ import annotations

import threading

from zeusc import _zeusc
from zeusc.device.cpu.common import CPUs, ZeusCPUInitError
from zeusc.device.cpu.rapl import RAPLCPUs, rapl_is_available

__all__ = ["CPUs", "EMICPUs", "RAPLCPUs", "ZeusCPUInitError", "emi_is_available", "get_cpus", "rapl_is_available"]


def emi_is_available() -> bool:
    """Always False: Windows' Energy Meter Interface is not read by Zeus-C."""
    return False


class EMICPUs(CPUs):
    """Zeus's Windows EMI CPUs: not available in Zeus-C (raises ZeusCPUInitError)."""

    def __init__(self) -> None:
        raise ZeusCPUInitError("Zeus-C reads CPU energy from Linux RAPL only; Windows EMI is not supported.")

    @property
    def cpus(self):
        return []

_cpus: CPUs | None = None
_lock = threading.Lock()


def get_cpus() -> CPUs:
    """The process's CPU packages, made once (a singleton, as in Zeus)."""
    global _cpus
    with _lock:
        if _cpus is not None:
            return _cpus
        if not rapl_is_available():
            details = [
                f"{b['name']}: {b['detail'] or b['status_name']}"
                for b in _zeusc.devices_info()["backends"]
                if b["kind"] == "cpu"
            ]
            raise ZeusCPUInitError("No supported CPU energy monitoring interface is available. " + "; ".join(details))
        _cpus = RAPLCPUs()
        return _cpus


def _reset() -> None:
    global _cpus
    with _lock:
        _cpus = None
