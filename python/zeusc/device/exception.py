"""Zeus's base device exceptions (zeus.device.exception). See zeusc.errors for the tree."""

from zeusc.errors import ZeusBaseCPUError, ZeusBaseGPUError, ZeusBaseSoCError, ZeusdError

__all__ = ["ZeusBaseCPUError", "ZeusBaseGPUError", "ZeusBaseSoCError", "ZeusdError"]
