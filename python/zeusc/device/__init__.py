"""Devices over Zeus-C (Zeus's zeus.device): ``get_gpus()``, ``get_cpus()``, ``get_soc()``.

    from zeusc.device import get_gpus, get_cpus     # was: from zeus.device import ...

The objects are Zeus's (zeusc.device.gpu, zeusc.device.cpu): same methods, units (mW, mJ)
and exceptions (ZeusBaseGPUError, ZeusBaseCPUError trees, each with ``.message``), read and
set through the C device API. ``reset()`` forgets the singletons and the shared handle, so
that the next call sees a changed environment (tests).
"""

from __future__ import annotations

from zeusc.device import _handle
from zeusc.device.cpu import get_cpus
from zeusc.device.gpu import get_gpus
from zeusc.device.soc import get_soc

__all__ = ["get_cpus", "get_gpus", "get_soc"]


def reset() -> None:
    """Forget get_gpus()/get_cpus()'s objects and the shared device handle."""
    from zeusc.device import cpu, gpu

    gpu._reset()
    cpu._reset()
    _handle.reset()
