"""Zeus's GPU abstraction (zeus.device.gpu.common): the GPU and GPUs base classes, EmptyGPUs,
and Zeus's GPU exception classes.

Units are Zeus's: milliwatts, millijoules, MHz, degrees Celsius (integers), and every method
also answers to its old camelCase name (``getPowerManagementLimit``), with a
DeprecationWarning. The concrete classes over Zeus-C are in zeusc.device.gpu.nvidia.
"""

from __future__ import annotations

import abc
from typing import Sequence

from zeusc.device.common import DeprecatedAliasABCMeta, deprecated_alias
from zeusc.errors import (  # noqa: F401 (re-exported, as Zeus's module does)
    ZeusBaseGPUError,
    ZeusGPUAlreadyInitializedError,
    ZeusGPUCorruptedInfoROMError,
    ZeusGPUDriverNotLoadedError,
    ZeusGPUFunctionNotFoundError,
    ZeusGPUHeterogeneousError,
    ZeusGPUInitError,
    ZeusGPUInsufficientPowerError,
    ZeusGPUInsufficientSizeError,
    ZeusGPUInvalidArgError,
    ZeusGPUIRQError,
    ZeusGPULibraryNotFoundError,
    ZeusGPULibRMVersionMismatchError,
    ZeusGPULostError,
    ZeusGPUMemoryError,
    ZeusGPUNoPermissionError,
    ZeusGPUNotFoundError,
    ZeusGPUNotSupportedError,
    ZeusGPUOperatingSystemError,
    ZeusGPUResetRequiredError,
    ZeusGPUTimeoutError,
    ZeusGPUUnknownError,
)

__all__ = [
    "EmptyGPUs",
    "GPU",
    "GPUs",
    "ZeusBaseGPUError",
    "ZeusGPUAlreadyInitializedError",
    "ZeusGPUCorruptedInfoROMError",
    "ZeusGPUDriverNotLoadedError",
    "ZeusGPUFunctionNotFoundError",
    "ZeusGPUHeterogeneousError",
    "ZeusGPUInitError",
    "ZeusGPUInsufficientPowerError",
    "ZeusGPUInsufficientSizeError",
    "ZeusGPUInvalidArgError",
    "ZeusGPUIRQError",
    "ZeusGPULibraryNotFoundError",
    "ZeusGPULibRMVersionMismatchError",
    "ZeusGPULostError",
    "ZeusGPUMemoryError",
    "ZeusGPUNoPermissionError",
    "ZeusGPUNotFoundError",
    "ZeusGPUNotSupportedError",
    "ZeusGPUOperatingSystemError",
    "ZeusGPUResetRequiredError",
    "ZeusGPUTimeoutError",
    "ZeusGPUUnknownError",
]


class GPU(abc.ABC, metaclass=DeprecatedAliasABCMeta):
    """One GPU (Zeus's zeus.device.gpu.common.GPU)."""

    def __init__(self, gpu_index: int) -> None:
        self.gpu_index = gpu_index

    @property
    def supports_nonblocking_setters(self) -> bool:
        """Whether setters honour ``block=False`` (never here: the C API always waits)."""
        return False

    @deprecated_alias("getName")
    @abc.abstractmethod
    def get_name(self) -> str:
        """The GPU's product name."""

    @deprecated_alias("getPowerManagementLimitConstraints")
    @abc.abstractmethod
    def get_power_management_limit_constraints(self) -> tuple[int, int]:
        """(min, max) power limit, mW."""

    @abc.abstractmethod
    def get_power_management_limit(self) -> int:
        """The current power limit, mW."""

    @deprecated_alias("setPowerManagementLimit")
    @abc.abstractmethod
    def set_power_management_limit(self, power_limit_mw: int, block: bool = True) -> None:
        """Set the power limit, mW."""

    @deprecated_alias("resetPowerManagementLimit")
    @abc.abstractmethod
    def reset_power_management_limit(self, block: bool = True) -> None:
        """Restore the default power limit."""

    @deprecated_alias("setPersistenceMode")
    @abc.abstractmethod
    def set_persistence_mode(self, enabled: bool, block: bool = True) -> None:
        """Turn persistence mode on or off."""

    @abc.abstractmethod
    def get_persistence_mode(self) -> bool:
        """Whether persistence mode is on."""

    @deprecated_alias("getSupportedMemoryClocks")
    @abc.abstractmethod
    def get_supported_memory_clocks(self) -> list[int]:
        """Supported memory clocks, MHz."""

    @deprecated_alias("setMemoryLockedClocks")
    @abc.abstractmethod
    def set_memory_locked_clocks(self, min_clock_mhz: int, max_clock_mhz: int, block: bool = True) -> None:
        """Lock the memory clock to a range, MHz."""

    @deprecated_alias("resetMemoryLockedClocks")
    @abc.abstractmethod
    def reset_memory_locked_clocks(self, block: bool = True) -> None:
        """Unlock the memory clock."""

    @deprecated_alias("getSupportedGraphicsClocks")
    @abc.abstractmethod
    def get_supported_graphics_clocks(self, memory_clock_mhz: int | None = None) -> list[int]:
        """Supported graphics clocks at a memory clock, MHz."""

    @deprecated_alias("setGpuLockedClocks")
    @abc.abstractmethod
    def set_gpu_locked_clocks(self, min_clock_mhz: int, max_clock_mhz: int, block: bool = True) -> None:
        """Lock the graphics clock to a range, MHz."""

    @deprecated_alias("resetGpuLockedClocks")
    @abc.abstractmethod
    def reset_gpu_locked_clocks(self, block: bool = True) -> None:
        """Unlock the graphics clock."""

    def reset_locked_clocks(self, block: bool = True) -> None:
        """Unlock both the graphics and the memory clock."""
        self.reset_gpu_locked_clocks(block)
        self.reset_memory_locked_clocks(block)

    @deprecated_alias("getAveragePowerUsage")
    @abc.abstractmethod
    def get_average_power_usage(self) -> int:
        """Average power over the last second, mW."""

    @deprecated_alias("getInstantPowerUsage")
    @abc.abstractmethod
    def get_instant_power_usage(self) -> int:
        """Instantaneous power, mW."""

    @deprecated_alias("getAverageMemoryPowerUsage")
    @abc.abstractmethod
    def get_average_memory_power_usage(self) -> int:
        """Average memory power over the last second, mW (Hopper and newer)."""

    @deprecated_alias("supportsGetTotalEnergyConsumption")
    @abc.abstractmethod
    def supports_get_total_energy_consumption(self) -> bool:
        """Whether the GPU has an energy counter (Volta and newer)."""

    @deprecated_alias("getTotalEnergyConsumption")
    @abc.abstractmethod
    def get_total_energy_consumption(self) -> int:
        """Energy since the driver loaded, mJ."""

    @deprecated_alias("getGpuTemperature")
    @abc.abstractmethod
    def get_gpu_temperature(self) -> int:
        """Core temperature, degrees Celsius."""


def _forward(name: str, alias: str | None):
    """A GPUs method that calls GPU `name` on self.gpus[gpu_index]."""

    def method(self, gpu_index: int, *args, **kwargs):
        return getattr(self.gpus[gpu_index], name)(*args, **kwargs)

    method.__name__ = name
    method.__qualname__ = f"GPUs.{name}"
    method.__doc__ = f"{getattr(GPU, name).__doc__} (GPU `gpu_index`)"
    if alias is not None:
        method = deprecated_alias(alias)(method)
    return method


class GPUs(abc.ABC, metaclass=DeprecatedAliasABCMeta):
    """The GPUs a process sees (Zeus's zeus.device.gpu.common.GPUs); ``gpus[i]`` is GPU i.

    Every GPU method is also here with a leading ``gpu_index`` argument; an index outside
    ``range(len(gpus))`` raises IndexError, as in Zeus.
    """

    @abc.abstractmethod
    def __init__(self, ensure_homogeneous: bool = False) -> None:
        """Open the devices."""

    @property
    @abc.abstractmethod
    def gpus(self) -> Sequence[GPU]:
        """The GPU objects, by framework index."""

    def __len__(self) -> int:
        return len(self.gpus)

    def _ensure_homogeneous(self) -> None:
        names = [gpu.get_name() for gpu in self.gpus]
        if len(set(names)) > 1:
            raise ZeusGPUHeterogeneousError(f"Heterogeneous GPUs found: {names}")

    get_name = _forward("get_name", "getName")
    get_power_management_limit_constraints = _forward(
        "get_power_management_limit_constraints", "getPowerManagementLimitConstraints"
    )
    get_power_management_limit = _forward("get_power_management_limit", None)
    set_power_management_limit = _forward("set_power_management_limit", "setPowerManagementLimit")
    reset_power_management_limit = _forward("reset_power_management_limit", "resetPowerManagementLimit")
    set_persistence_mode = _forward("set_persistence_mode", "setPersistenceMode")
    get_persistence_mode = _forward("get_persistence_mode", None)
    get_supported_memory_clocks = _forward("get_supported_memory_clocks", "getSupportedMemoryClocks")
    set_memory_locked_clocks = _forward("set_memory_locked_clocks", "setMemoryLockedClocks")
    reset_memory_locked_clocks = _forward("reset_memory_locked_clocks", "resetMemoryLockedClocks")
    get_supported_graphics_clocks = _forward("get_supported_graphics_clocks", "getSupportedGraphicsClocks")
    set_gpu_locked_clocks = _forward("set_gpu_locked_clocks", "setGpuLockedClocks")
    reset_gpu_locked_clocks = _forward("reset_gpu_locked_clocks", "resetGpuLockedClocks")
    reset_locked_clocks = _forward("reset_locked_clocks", None)
    get_average_power_usage = _forward("get_average_power_usage", "getAveragePowerUsage")
    get_instant_power_usage = _forward("get_instant_power_usage", "getInstantPowerUsage")
    get_average_memory_power_usage = _forward("get_average_memory_power_usage", "getAverageMemoryPowerUsage")
    supports_get_total_energy_consumption = _forward(
        "supports_get_total_energy_consumption", "supportsGetTotalEnergyConsumption"
    )
    get_total_energy_consumption = _forward("get_total_energy_consumption", "getTotalEnergyConsumption")
    get_gpu_temperature = _forward("get_gpu_temperature", "getGpuTemperature")


class EmptyGPUs(GPUs):
    """No GPUs (Zeus's EmptyGPUs): ``len()`` is 0 and every per-GPU call is a ValueError."""

    def __init__(self, ensure_homogeneous: bool = False) -> None:
        pass

    @property
    def gpus(self) -> Sequence[GPU]:
        return []

    def __getattribute__(self, name: str):
        attr = object.__getattribute__(self, name)
        if name.startswith("_") or name in ("gpus",) or not callable(attr):
            return attr

        def no_gpus(*args, **kwargs):
            raise ValueError("No GPUs available.")

        return no_gpus
