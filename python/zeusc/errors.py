"""Exceptions and warnings of zeusc.

Every failure of the Zeus-C library becomes a :class:`ZeusError` subclass chosen by its
``zeus_status`` code; ``str(exc)`` is the library's detail message (``zeus_last_error()``:
what failed, the system's reason, and the fix), ``exc.status`` the negative code and
``exc.status_name`` its name (``"ERR_NOT_FOUND"``). Where Zeus raises a built-in exception
that users catch, the class derives from it too: a duplicate window is a ``ValueError``
("Measurement window 'x' already exists"), as is an unknown one ("... does not exist"); a
missing permission is a ``PermissionError``; a timeout a ``TimeoutError``.

When ``end_window`` fails after closing the window (a GPU fell off the bus, the final value
timed out), ``exc.measurement`` holds what was measured (the failed device's value is NaN).

This module is pure Python on purpose: the C extension imports it at load time and only
instantiates these classes. Do not import ``zeusc._zeusc`` here.
"""

from __future__ import annotations


class ZeusError(Exception):
    """Base of every Zeus-C error. ``str()`` is the library's detail message."""

    status: int | None = None
    status_name: str | None = None
    measurement = None


class ZeusWarning(UserWarning):
    """A warning from the library (zero-energy windows, CPUs left out, ...)."""


class ZeusInvalidArgumentError(ZeusError, ValueError):
    pass


class ZeusNotSupportedError(ZeusError):
    pass


class ZeusNoPermissionError(ZeusError, PermissionError):
    pass


class ZeusNotFoundError(ZeusError, LookupError):
    pass


class ZeusAlreadyExistsError(ZeusError, ValueError):
    pass


class ZeusLibraryNotFoundError(ZeusError):
    pass


class ZeusFunctionNotFoundError(ZeusError):
    pass


class ZeusDriverNotLoadedError(ZeusError):
    pass


class ZeusUninitializedError(ZeusError):
    pass


class ZeusGPULostError(ZeusError):
    pass


class ZeusResetRequiredError(ZeusError):
    pass


class ZeusTimeoutError(ZeusError, TimeoutError):
    pass


class ZeusInsufficientSizeError(ZeusError):
    pass


class ZeusInsufficientPowerError(ZeusError):
    pass


class ZeusIRQError(ZeusError):
    pass


class ZeusCorruptedInfoROMError(ZeusError):
    pass


class ZeusOperatingSystemError(ZeusError, OSError):
    pass


class ZeusLibRMVersionMismatchError(ZeusError):
    pass


class ZeusInUseError(ZeusError):
    pass


class ZeusNoMemoryError(ZeusError, MemoryError):
    pass


class ZeusIOError(ZeusError, OSError):
    pass


class ZeusNoDataError(ZeusError):
    pass


class ZeusChildFailedError(ZeusError):
    pass


class ZeusUnknownError(ZeusError):
    pass


class ZeusWindowExistsError(ZeusAlreadyExistsError):
    """begin_window on an open window: Zeus's ValueError("Measurement window 'x' already exists")."""


class ZeusWindowNotFoundError(ZeusNotFoundError, ValueError):
    """end_window on a window that is not open: Zeus's ValueError("... does not exist")."""


class ZeusUnsupportedDomainError(ZeusNotSupportedError, ValueError):
    """PowerMonitor asked for a power domain the GPUs lack (Zeus raises ValueError)."""


# zeus_status code -> class (include/zeus/status.h, ZEUS_STATUS_MAP). Codes are never
# renumbered, so this table only grows.
STATUS_CLASSES: dict[int, type[ZeusError]] = {
    -1: ZeusInvalidArgumentError,
    -2: ZeusNotSupportedError,
    -3: ZeusNoPermissionError,
    -4: ZeusNotFoundError,
    -5: ZeusAlreadyExistsError,
    -6: ZeusLibraryNotFoundError,
    -7: ZeusFunctionNotFoundError,
    -8: ZeusDriverNotLoadedError,
    -9: ZeusUninitializedError,
    -10: ZeusGPULostError,
    -11: ZeusResetRequiredError,
    -12: ZeusTimeoutError,
    -13: ZeusInsufficientSizeError,
    -14: ZeusInsufficientPowerError,
    -15: ZeusIRQError,
    -16: ZeusCorruptedInfoROMError,
    -17: ZeusOperatingSystemError,
    -18: ZeusLibRMVersionMismatchError,
    -19: ZeusInUseError,
    -20: ZeusNoMemoryError,
    -21: ZeusIOError,
    -22: ZeusNoDataError,
    -23: ZeusChildFailedError,
    -24: ZeusUnknownError,
}

# Zeus's names for the same failures (zeus/exception.py, zeus/device/gpu/common.py), so
# `except ZeusGPUNotFoundError:` keeps working after switching the import.
ZeusBaseError = ZeusError
ZeusBaseGPUError = ZeusError
ZeusBaseCPUError = ZeusError
ZeusGPUInvalidArgError = ZeusInvalidArgumentError
ZeusGPUNotSupportedError = ZeusNotSupportedError
ZeusGPUNoPermissionError = ZeusNoPermissionError
ZeusGPUNotFoundError = ZeusNotFoundError
ZeusGPUInitError = ZeusUninitializedError
ZeusGPULibraryNotFoundError = ZeusLibraryNotFoundError
ZeusGPUFunctionNotFoundError = ZeusFunctionNotFoundError
ZeusGPUDriverNotLoadedError = ZeusDriverNotLoadedError
ZeusGPUTimeoutError = ZeusTimeoutError
ZeusGPUResetRequiredError = ZeusResetRequiredError
ZeusGPUInsufficientSizeError = ZeusInsufficientSizeError
ZeusGPUInsufficientPowerError = ZeusInsufficientPowerError
ZeusGPUIRQError = ZeusIRQError
ZeusGPUCorruptedInfoROMError = ZeusCorruptedInfoROMError
ZeusGPUOperatingSystemError = ZeusOperatingSystemError
ZeusGPULibRMVersionMismatchError = ZeusLibRMVersionMismatchError
ZeusGPUMemoryError = ZeusNoMemoryError
ZeusGPUUnknownError = ZeusUnknownError
ZeusCPUNoPermissionError = ZeusNoPermissionError
ZeusCPUNotFoundError = ZeusNotFoundError
ZeusRAPLPermissionError = ZeusNoPermissionError

__all__ = [name for name in dir() if name.startswith("Zeus")] + ["STATUS_CLASSES"]
