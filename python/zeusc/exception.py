"""Zeus's base exception (zeus.exception.ZeusBaseError): zeusc.ZeusError, with ``.message``."""

from zeusc.errors import ZeusBaseError

__all__ = ["ZeusBaseError"]
