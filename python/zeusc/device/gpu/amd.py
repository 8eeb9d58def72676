"""Zeus's AMD GPU names (zeus.device.gpu.amd). Zeus-C has no AMD SMI backend yet, so
``amdsmi_is_available()`` is False and the classes raise ZeusGPUInitError when built; they
exist so that code importing them keeps importing."""

from __future__ import annotations

from zeusc.device.gpu.common import GPUs, ZeusGPUInitError
from zeusc.device.gpu.nvidia import NVIDIAGPU

__all__ = ["AMDGPU", "AMDGPUs", "ZeusdAMDGPU", "amdsmi_is_available"]

_WHY = "Zeus-C has no AMD SMI backend yet (only NVML)."


def amdsmi_is_available() -> bool:
    """Always False: Zeus-C cannot read AMD GPUs yet."""
    return False


class AMDGPU(NVIDIAGPU):
    """Not available: raises ZeusGPUInitError."""

    def __init__(self, gpu_index: int) -> None:
        raise ZeusGPUInitError(_WHY)


class ZeusdAMDGPU(AMDGPU):
    """Not available: raises ZeusGPUInitError."""

    def __init__(self, gpu_index: int, client=None) -> None:
        raise ZeusGPUInitError(_WHY)


class AMDGPUs(GPUs):
    """Not available: raises ZeusGPUInitError."""

    def __init__(self, ensure_homogeneous: bool = False) -> None:
        raise ZeusGPUInitError(_WHY)

    @property
    def gpus(self):
        return []
