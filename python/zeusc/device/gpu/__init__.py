"""GPUs over Zeus-C (Zeus's zeus.device.gpu): ``get_gpus()`` and the classes it returns.

    from zeusc.device import get_gpus          # was: from zeus.device import get_gpus
    gpus = get_gpus()
    gpus.get_power_management_limit(0)         # mW

get_gpus() returns AMDGPUs when every GPU is an AMD GPU, else NVIDIAGPUs (whose entries are
AMDGPU objects for the AMD GPUs of a process that has both: NVIDIA GPUs are numbered first), or
raises ZeusGPUInitError.
"""

from __future__ import annotations

import threading

from zeusc.device.gpu.common import *  # noqa: F403
from zeusc.device.gpu.common import GPUs, ZeusGPUInitError, __all__ as _common_all
from zeusc.device.gpu.amd import AMDGPU, AMDGPUs, amdsmi_is_available
from zeusc.device.gpu.nvidia import NVIDIAGPUs, _init_error, nvml_is_available

__all__ = [*_common_all, "AMDGPUs", "NVIDIAGPUs", "amdsmi_is_available", "get_gpus", "nvml_is_available"]

_gpus: GPUs | None = None
_lock = threading.Lock()


def get_gpus(ensure_homogeneous: bool = False) -> GPUs:
    """The process's GPUs, made once (a singleton, as in Zeus).

    Raises ZeusGPUInitError when the library finds no GPU (the message says why: no NVML
    library, no device, ...).
    """
    global _gpus
    with _lock:
        if _gpus is not None:
            return _gpus
        if not nvml_is_available():
            raise _init_error()
        _gpus = NVIDIAGPUs(ensure_homogeneous)
        if all(isinstance(g, AMDGPU) for g in _gpus.gpus):
            _gpus = AMDGPUs(ensure_homogeneous)
        return _gpus


def _reset() -> None:
    """Forget the singleton (tests)."""
    global _gpus
    with _lock:
        _gpus = None
