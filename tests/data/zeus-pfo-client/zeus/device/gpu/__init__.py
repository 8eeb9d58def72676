"""Shim (not Zeus's code): the frequency controller catches ZeusGPUNotSupportedError."""

from zeusc.device.gpu import ZeusGPUNotSupportedError

__all__ = ["ZeusGPUNotSupportedError"]
