"""Shim (not Zeus's code): Zeus's client imports ZeusMonitor from here only for a type
annotation; zeusc's ZeusMonitor stands in."""

from zeusc.monitor import ZeusMonitor

__all__ = ["ZeusMonitor"]
