"""The one zeusc._zeusc.Devices handle that zeusc.device's GPUs and CPUs share.

It is opened on first use, not at import, so importing zeusc.device costs nothing and
ZEUS_NVML_LIBRARY / ZEUS_SYSFS_ROOT / CUDA_VISIBLE_DEVICES are read when the user first asks
for devices, as Zeus reads them in get_gpus().
"""

from __future__ import annotations

import threading

from zeusc import _zeusc
from zeusc.errors import CPU_STATUS_CLASSES, GPU_STATUS_CLASSES

_lock = threading.Lock()
_devices = None


def devices():
    """The shared handle (opened on the first call)."""
    global _devices
    with _lock:
        if _devices is None:
            _devices = _zeusc.Devices(GPU_STATUS_CLASSES, CPU_STATUS_CLASSES)
        return _devices


def reset() -> None:
    """Forget the shared handle (and the get_gpus/get_cpus singletons); for tests."""
    global _devices
    with _lock:
        _devices = None
