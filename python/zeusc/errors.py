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
    """Base of every Zeus-C error (Zeus's ``ZeusBaseError``). ``str()`` and ``.message`` are
    the library's detail message."""

    status: int | None = None
    status_name: str | None = None
    measurement = None

    def __init__(self, message: str = "", *args: object) -> None:
        super().__init__(message, *args)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


# Zeus's device trees (below, "Zeus's device exception classes").
class ZeusBaseGPUError(ZeusError):
    """Zeus base GPU exception class."""


class ZeusBaseCPUError(ZeusError):
    """Zeus base CPU exception class."""


class ZeusBaseSoCError(ZeusError):
    """Zeus base SoC exception class."""


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


class ZeusGPULostError(ZeusBaseGPUError):
    """The GPU fell off the bus (a GPU failure, so under Zeus's ZeusBaseGPUError too)."""


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


class ZeusCallbackFailedError(ZeusError):
    """A function the library called back (a profiled workload, a reduce) reported failure."""


class ZeusTrainFailedError(ZeusError):
    """The batch size optimizer's server ended the training run as not converged."""


class ZeusProviderHTTPError(ZeusError):
    """A carbon-intensity or electricity-price service could not be reached or refused."""


class ZeusProviderNotFoundError(ZeusError, LookupError):
    """A carbon-intensity or electricity-price answer lacks the value asked for."""


class ZeusPendingError(ZeusError):
    """The value is not known yet (energy kept, not yet priced): ask again later."""


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
    -25: ZeusCallbackFailedError,
    -26: ZeusTrainFailedError,
    -27: ZeusProviderHTTPError,
    -28: ZeusProviderNotFoundError,
    -29: ZeusPendingError,
}

# ---- Zeus's device exception classes --------------------------------------------------------
#
# Zeus keeps separate trees under ZeusBaseError: ZeusBaseGPUError (ZeusGPU*Error, ZeusdError),
# ZeusBaseCPUError (ZeusCPU*Error, ZeusRAPL*Error) and ZeusBaseSoCError. zeusc keeps those
# trees, and each class also derives from the status class of the same failure, so that
# `except ZeusGPUNotFoundError`, `except ZeusNotFoundError` and `except LookupError` all catch
# a GPU that is not there. zeusc.device raises these for failed GPU and CPU calls.

ZeusBaseError = ZeusError


class ZeusdError(ZeusBaseGPUError):
    """A request to the Zeus daemon failed."""


def _device_class(name: str, base: type, status_cls: type | None, doc: str) -> type:
    bases = (base,) if status_cls is None else (base, status_cls)
    return type(name, bases, {"__doc__": doc, "__module__": __name__})


# Zeus's GPU exception name -> the status class it also derives from.
_GPU_CLASSES = {
    "ZeusGPUInitError": ZeusUninitializedError,
    "ZeusGPUInvalidArgError": ZeusInvalidArgumentError,
    "ZeusGPUNotSupportedError": ZeusNotSupportedError,
    "ZeusGPUNoPermissionError": ZeusNoPermissionError,
    "ZeusGPUAlreadyInitializedError": None,
    "ZeusGPUNotFoundError": ZeusNotFoundError,
    "ZeusGPUInsufficientSizeError": ZeusInsufficientSizeError,
    "ZeusGPUInsufficientPowerError": ZeusInsufficientPowerError,
    "ZeusGPUDriverNotLoadedError": ZeusDriverNotLoadedError,
    "ZeusGPUTimeoutError": ZeusTimeoutError,
    "ZeusGPUIRQError": ZeusIRQError,
    "ZeusGPULibraryNotFoundError": ZeusLibraryNotFoundError,
    "ZeusGPUFunctionNotFoundError": ZeusFunctionNotFoundError,
    "ZeusGPUCorruptedInfoROMError": ZeusCorruptedInfoROMError,
    "ZeusGPUResetRequiredError": ZeusResetRequiredError,
    "ZeusGPUOperatingSystemError": ZeusOperatingSystemError,
    "ZeusGPULibRMVersionMismatchError": ZeusLibRMVersionMismatchError,
    "ZeusGPUMemoryError": ZeusNoMemoryError,
    "ZeusGPUUnknownError": ZeusUnknownError,
    "ZeusGPUHeterogeneousError": None,
}
_CPU_CLASSES = {
    "ZeusCPUInitError": ZeusUninitializedError,
    "ZeusCPUNoPermissionError": ZeusNoPermissionError,
    "ZeusCPUNotFoundError": ZeusNotFoundError,
}
for _name, _status_cls in _GPU_CLASSES.items():
    globals()[_name] = _device_class(_name, ZeusBaseGPUError, _status_cls, f"Zeus's {_name} (GPU).")
for _name, _status_cls in _CPU_CLASSES.items():
    globals()[_name] = _device_class(_name, ZeusBaseCPUError, _status_cls, f"Zeus's {_name} (CPU).")
ZeusRAPLNotSupportedError = _device_class(
    "ZeusRAPLNotSupportedError", ZeusBaseCPUError, ZeusNotSupportedError, "RAPL is not available."
)
ZeusRAPLFileInitError = _device_class("ZeusRAPLFileInitError", ZeusBaseCPUError, ZeusIOError, "A RAPL file cannot be read.")
ZeusRAPLPermissionError = _device_class(
    "ZeusRAPLPermissionError", ZeusBaseCPUError, ZeusNoPermissionError, "RAPL files are root-only."
)
ZeusSoCInitError = _device_class("ZeusSoCInitError", ZeusBaseSoCError, ZeusUninitializedError, "No SoC found.")
del _name, _status_cls



class ZeusGPUIndexError(ZeusGPUNotFoundError, ValueError):  # noqa: F821 (made above)
    """A monitor was given a GPU index that names no visible GPU. Zeus raises ValueError;
    this is also a LookupError (ZeusNotFoundError) and a ZeusGPUNotFoundError."""


class ZeusCPUIndexError(ZeusCPUNotFoundError, ValueError):  # noqa: F821
    """A monitor was given a CPU index that names no RAPL package (see ZeusGPUIndexError)."""


# zeus_status code -> Zeus's class, for failed GPU and CPU calls (zeusc.device).
GPU_STATUS_CLASSES: dict[int, type[ZeusError]] = {
    code: globals()[name]
    for code, name in {
        -1: "ZeusGPUInvalidArgError",
        -2: "ZeusGPUNotSupportedError",
        -3: "ZeusGPUNoPermissionError",
        -4: "ZeusGPUNotFoundError",
        -6: "ZeusGPULibraryNotFoundError",
        -7: "ZeusGPUFunctionNotFoundError",
        -8: "ZeusGPUDriverNotLoadedError",
        -9: "ZeusGPUInitError",
        -10: "ZeusGPULostError",
        -11: "ZeusGPUResetRequiredError",
        -12: "ZeusGPUTimeoutError",
        -13: "ZeusGPUInsufficientSizeError",
        -14: "ZeusGPUInsufficientPowerError",
        -15: "ZeusGPUIRQError",
        -16: "ZeusGPUCorruptedInfoROMError",
        -17: "ZeusGPUOperatingSystemError",
        -18: "ZeusGPULibRMVersionMismatchError",
        -20: "ZeusGPUMemoryError",
        -24: "ZeusGPUUnknownError",
    }.items()
}
CPU_STATUS_CLASSES: dict[int, type[ZeusError]] = {
    -3: ZeusRAPLPermissionError,
    -4: ZeusCPUNotFoundError,  # noqa: F821 (made above)
    -2: ZeusRAPLNotSupportedError,
    -21: ZeusRAPLFileInitError,
    -9: ZeusCPUInitError,  # noqa: F821
}

__all__ = [name for name in dir() if name.startswith("Zeus")] + [
    "STATUS_CLASSES",
    "GPU_STATUS_CLASSES",
    "CPU_STATUS_CLASSES",
]
