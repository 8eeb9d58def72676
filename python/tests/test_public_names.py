"""Every public name of Zeus's that users import must exist under zeusc, at the same path
(``zeus.X.Y`` -> ``zeusc.X.Y``), except those in the exclusion lists below, each with its
reason. The list is fixed here, taken from Zeus's source (ml-energy/zeus 0.16.0, commit
75a8b9398034eb9baf74ca0a830c2c31bcce52cd): for each module, the names not starting with "_"
that it defines or imports at module level, without other libraries' names (logger,
annotations, typing). Left out of the list as not imported by Zeus users: platform backends
Zeus-C has no counterpart for (zeus.device.cpu.emi, zeus.device.soc.apple; their
public entry points are in the list), the optimizers' servers, zeus._legacy, and internal
helpers (zeus.utils.async_utils, .env, .logging, .multiprocessing, .pydantic_v1).

When zeusc gains an excluded name, the test fails until the exclusion is removed, so the
list only shrinks.
"""

from __future__ import annotations

import importlib

import pytest

ZEUS_PUBLIC_NAMES: dict[str, list[str]] = {
    "zeus.callback": ["Callback", "CallbackSet"],
    "zeus.exception": ["ZeusBaseError"],
    "zeus.device": ["get_gpus", "get_cpus", "get_soc"],
    "zeus.device.common": ["has_sys_admin", "deprecated_alias", "DeprecatedAliasABCMeta"],
    "zeus.device.exception": [
        "ZeusBaseGPUError", "ZeusBaseCPUError", "ZeusBaseSoCError", "ZeusdError"
    ],
    "zeus.device.gpu": [
        "GPUs", "ZeusGPUInitError", "nvml_is_available", "NVIDIAGPUs", "amdsmi_is_available",
        "AMDGPUs", "get_gpus", "GPU", "EmptyGPUs", "ZeusGPUInvalidArgError",
        "ZeusGPUNotSupportedError", "ZeusGPUNoPermissionError",
        "ZeusGPUAlreadyInitializedError", "ZeusGPUNotFoundError",
        "ZeusGPUInsufficientSizeError", "ZeusGPUInsufficientPowerError",
        "ZeusGPUDriverNotLoadedError", "ZeusGPUTimeoutError", "ZeusGPUIRQError",
        "ZeusGPULibraryNotFoundError", "ZeusGPUFunctionNotFoundError",
        "ZeusGPUCorruptedInfoROMError", "ZeusGPULostError", "ZeusGPUResetRequiredError",
        "ZeusGPUOperatingSystemError", "ZeusGPULibRMVersionMismatchError", "ZeusGPUMemoryError",
        "ZeusGPUUnknownError", "ZeusGPUHeterogeneousError"
    ],
    "zeus.device.gpu.common": [
        "GPU", "GPUs", "EmptyGPUs", "ZeusGPUInitError", "ZeusGPUInvalidArgError",
        "ZeusGPUNotSupportedError", "ZeusGPUNoPermissionError",
        "ZeusGPUAlreadyInitializedError", "ZeusGPUNotFoundError",
        "ZeusGPUInsufficientSizeError", "ZeusGPUInsufficientPowerError",
        "ZeusGPUDriverNotLoadedError", "ZeusGPUTimeoutError", "ZeusGPUIRQError",
        "ZeusGPULibraryNotFoundError", "ZeusGPUFunctionNotFoundError",
        "ZeusGPUCorruptedInfoROMError", "ZeusGPULostError", "ZeusGPUResetRequiredError",
        "ZeusGPUOperatingSystemError", "ZeusGPULibRMVersionMismatchError", "ZeusGPUMemoryError",
        "ZeusGPUUnknownError", "ZeusGPUHeterogeneousError"
    ],
    "zeus.device.gpu.nvidia": ["nvml_is_available", "NVIDIAGPU", "ZeusdNVIDIAGPU", "NVIDIAGPUs"],
    "zeus.device.gpu.amd": ["amdsmi_is_available", "AMDGPU", "ZeusdAMDGPU", "AMDGPUs"],
    "zeus.device.cpu": [
        "CPUs", "ZeusCPUInitError", "EMICPUs", "emi_is_available", "rapl_is_available",
        "RAPLCPUs", "get_cpus"
    ],
    "zeus.device.cpu.common": [
        "CpuDramMeasurement", "ZeusCPUInitError", "ZeusCPUNoPermissionError",
        "ZeusCPUNotFoundError", "CPU", "CPUs", "EmptyCPUs"
    ],
    "zeus.device.cpu.rapl": [
        "RAPL_DIR", "CONTAINER_RAPL_DIR", "RAPL_COUNTER_MAX_INCREASE", "RaplWraparoundTracker",
        "rapl_is_available", "ZeusRAPLNotSupportedError", "ZeusRAPLFileInitError",
        "ZeusRAPLPermissionError", "get_current_rapl_zone_id", "RAPLFile", "RAPLCPU",
        "ZeusdRAPLCPU", "RAPLCPUs"
    ],
    "zeus.device.soc": [
        "SoC", "ZeusSoCInitError", "Jetson", "ZeusJetsonInitError", "jetson_is_available",
        "AppleSilicon", "ZeusAppleInitError", "apple_silicon_is_available", "get_soc"
    ],
    "zeus.device.soc.common": ["ZeusSoCInitError", "SoCMeasurement", "SoC", "EmptySoC"],
    "zeus.device.soc.jetson": [
        "SoC", "SoCMeasurement", "ZeusSoCInitError", "ZeusJetsonInitError", "check_file",
        "PowerMeasurementStrategy", "DirectPower", "VoltageCurrentProduct", "JetsonMeasurement",
        "DeviceMap", "Jetson", "Command", "jetson_is_available"
    ],
    "zeus.metric": [
        "MonitoringProcessState", "Metric", "EnergyHistogram", "EnergyCumulativeCounter",
        "energy_monitoring_loop", "PowerGauge", "power_monitoring_loop"
    ],
    "zeus.monitor": ["ZeusMonitor", "Measurement", "PowerMonitor", "TemperatureMonitor"],
    "zeus.monitor.energy": ["Measurement", "MeasurementState", "ZeusMonitor"],
    "zeus.monitor.power": [
        "infer_counter_update_period", "PowerDomain", "PowerSample", "PowerMonitor"
    ],
    "zeus.monitor.temperature": ["TemperatureSample", "TemperatureMonitor"],
    "zeus.utils.framework": [
        "MODULE_CACHE", "torch_is_available", "jax_is_available", "cupy_is_available",
        "sync_execution", "all_reduce", "is_distributed", "get_rank", "get_world_size"
    ],
    "zeus.utils.testing": ["ReplayZeusMonitor"],
    "zeus.utils.zeusd": [
        "ZeusdConnectionError", "ZeusdAuthError", "ZeusdCapabilityError", "GpuInfo", "CpuInfo",
        "GpuPowerSnapshot", "CpuDramPower", "CpuPowerSnapshot", "CpuEnergyResult",
        "ZeusdConfig", "ZeusdClient", "require_capabilities"
    ],
    "zeus.show_env": ["SECTION_SEPARATOR", "show_env"],
    "zeus.monitor.carbon": [
        "ZeusCarbonIntensityHTTPError", "ZeusCarbonIntensityNotFoundError",
        "CarbonIntensityProvider", "ElectrictyMapsClient", "CarbonEmissionMeasurement", "Op",
        "CarbonEmissionMonitor"
    ],
    "zeus.monitor.price": [
        "get_time_info", "ZeusElectricityPriceHTTPError", "ZeusElectricityPriceNotFoundError",
        "ElectricityPriceProvider", "OpenEIClient", "EnergyCostMeasurement", "Op",
        "EnergyCostMonitor"
    ],
    "zeus.monitor.power_streaming": ["CpuPowerReading", "PowerReadings", "PowerStreamingClient"],
    "zeus.utils.lat_lon": ["get_ip_lat_long"],
    "zeus.optimizer.power_limit": [
        "OptimumSelector", "Energy", "Time", "ZeusCost", "MaxSlowdownConstraint", "Ready",
        "Warmup", "Profiling", "Done", "PowerLimitMeasurement", "GlobalPowerLimitOptimizer",
        "HFGlobalPowerLimitOptimizer"
    ],
    "zeus.optimizer.batch_size": ["BatchSizeOptimizer", "JobSpec"],
    "zeus.optimizer.pipeline_frequency": ["PipelineFrequencyOptimizer"],
    "zeus.utils.metric": ["zeus_cost", "energy", "avg_power"],
    "zeus.utils.lr_scaler": ["SquareRootScaler", "LinearScaler"],
    "zeus.profile": [
        "TrialResult", "SweepResult", "SweepReport", "profile_measurement_duration",
        "profile_cooldown_duration", "profile_parameters", "measure"
    ],
}

# Whole modules that came with later issues were excluded here until they landed; none is left.
EXCLUDED_MODULES: dict[str, str] = {
}

# Single names that are Zeus's implementation details, done in C by Zeus-C.
EXCLUDED_NAMES: dict[tuple[str, str], str] = {
    ("zeus.device.cpu.rapl", "RAPL_COUNTER_MAX_INCREASE"): "RAPL reading is src/device/rapl.c",
    ("zeus.device.cpu.rapl", "RaplWraparoundTracker"): "RAPL wraparound is tracked in src/device/rapl.c",
    ("zeus.device.cpu.rapl", "RAPLFile"): "RAPL files are read in src/device/rapl.c",
    ("zeus.device.cpu.rapl", "get_current_rapl_zone_id"): "RAPL zones are numbered in src/device/rapl.c",
    ("zeus.metric", "MonitoringProcessState"): "Zeus's metric subprocess bookkeeping; zeusc's run in C threads",
    ("zeus.metric", "energy_monitoring_loop"): "Zeus's counter subprocess body; zeusc's is a C thread",
    ("zeus.metric", "power_monitoring_loop"): "Zeus's gauge subprocess body; zeusc's is a C thread",
}


def _zeusc_module(zeus_module: str):
    return importlib.import_module("zeusc" + zeus_module[len("zeus") :])


def _checked():
    for module, names in ZEUS_PUBLIC_NAMES.items():
        if module in EXCLUDED_MODULES:
            continue
        for name in names:
            if (module, name) not in EXCLUDED_NAMES:
                yield module, name


def test_zeusc_has_every_public_name_of_zeus():
    missing = []
    for module, name in _checked():
        try:
            mod = _zeusc_module(module)
        except ImportError as e:
            missing.append(f"{module} (zeusc module does not import: {e})")
            continue
        if not hasattr(mod, name):
            missing.append(f"{module}.{name}")
    assert not missing, "zeusc lacks these public names of Zeus's:\n  " + "\n  ".join(missing)


def test_exclusions_are_not_stale():
    """An excluded name zeusc now has must leave the exclusion list."""
    stale = []
    for (module, name), _why in EXCLUDED_NAMES.items():
        assert name in ZEUS_PUBLIC_NAMES[module]
        if hasattr(_zeusc_module(module), name):
            stale.append(f"{module}.{name}")
    for module in EXCLUDED_MODULES:
        assert module in ZEUS_PUBLIC_NAMES
        try:
            mod = _zeusc_module(module)
        except ImportError:
            continue
        if all(hasattr(mod, n) for n in ZEUS_PUBLIC_NAMES[module]):
            stale.append(module)
    assert not stale, "now provided by zeusc, remove from the exclusions: " + ", ".join(stale)


def test_exclusion_list_stays_short():
    checked = sum(1 for _ in _checked())
    total = sum(len(v) for v in ZEUS_PUBLIC_NAMES.values())
    assert len(EXCLUDED_NAMES) <= 8 and len(EXCLUDED_MODULES) <= 10
    assert checked >= 150, (checked, total)


@pytest.mark.parametrize("module", sorted(m for m in ZEUS_PUBLIC_NAMES if m not in EXCLUDED_MODULES))
def test_replacing_zeus_by_zeusc_in_an_import_line_is_enough(module):
    names = [n for n in ZEUS_PUBLIC_NAMES[module] if (module, n) not in EXCLUDED_NAMES]
    namespace: dict = {}
    exec(f"from {'zeusc' + module[len('zeus'):]} import {', '.join(names)}", namespace)  # noqa: S102
    assert all(n in namespace for n in names)
