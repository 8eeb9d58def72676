"""zeusc.device: Zeus's get_gpus()/get_cpus() objects over the C device API, against the fake
NVML and a fake RAPL tree; Zeus's units, camelCase aliases and exception trees."""

from __future__ import annotations

import warnings

import pytest

import zeusc
import zeusc.device
from zeusc.device import get_cpus, get_gpus
from zeusc.device.cpu.common import CpuDramMeasurement
from zeusc.device.exception import ZeusBaseCPUError, ZeusBaseGPUError, ZeusdError
from zeusc.device.gpu import GPUs, ZeusGPUInitError, ZeusGPUNotFoundError
from zeusc.exception import ZeusBaseError


@pytest.fixture(autouse=True)
def _fresh_devices():
    zeusc.device.reset()
    yield
    zeusc.device.reset()


def test_get_gpus_reads_the_fake(fake):
    fake.set_power_w(1, 123.456)
    fake.set_energy_mj(1, 5_000_000)
    fake.set_temperature_c(0, 61)
    gpus = get_gpus()
    assert isinstance(gpus, GPUs)
    assert len(gpus) == 2 and get_gpus() is gpus
    assert gpus.get_name(0) == "NVIDIA H100 80GB HBM3"
    assert gpus.get_instant_power_usage(1) == 123456
    assert gpus.get_total_energy_consumption(1) == 5_000_000
    assert gpus.supports_get_total_energy_consumption(0) is True
    assert gpus.get_gpu_temperature(0) == 61
    lo, hi = gpus.get_power_management_limit_constraints(0)
    assert isinstance(lo, int) and 0 < lo < hi
    assert gpus.gpus[0].supports_nonblocking_setters is False


def test_setters_go_through_the_library(fake):
    gpus = get_gpus()
    lo, hi = gpus.get_power_management_limit_constraints(0)
    gpus.set_power_management_limit(0, lo)
    assert gpus.get_power_management_limit(0) == lo
    gpus.reset_power_management_limit(0)
    assert gpus.get_power_management_limit(0) == hi
    mem = gpus.get_supported_memory_clocks(0)
    graphics = gpus.get_supported_graphics_clocks(0)
    assert graphics == gpus.get_supported_graphics_clocks(0, max(mem))
    gpus.set_gpu_locked_clocks(0, min(graphics), max(graphics))
    gpus.reset_locked_clocks(0)
    with pytest.raises(zeusc.ZeusInvalidArgumentError):
        gpus.set_power_management_limit(0, hi + 1_000_000)


def test_camelcase_aliases_warn_once_and_answer(fake):
    gpus = get_gpus()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert gpus.getName(0) == gpus.get_name(0)
        assert gpus.gpus[1].getInstantPowerUsage() == gpus.get_instant_power_usage(1)
        assert gpus.getTotalEnergyConsumption(0) == gpus.get_total_energy_consumption(0)
    assert any(issubclass(w.category, DeprecationWarning) and "getName" in str(w.message) for w in caught)


def test_unknown_gpu_index_is_an_index_error_as_in_zeus():
    gpus = get_gpus()
    with pytest.raises(IndexError):
        gpus.get_name(5)


def test_gpu_errors_are_zeus_classes_with_message(fake):
    with pytest.raises(ZeusGPUNotFoundError) as e:
        zeusc.device.gpu.nvidia.NVIDIAGPU(9)
    assert isinstance(e.value, ZeusBaseGPUError) and isinstance(e.value, ZeusBaseError)
    assert isinstance(e.value, zeusc.ZeusNotFoundError)
    assert e.value.message == str(e.value) and "not found" in e.value.message
    assert not isinstance(e.value, ZeusBaseCPUError)
    assert issubclass(ZeusdError, ZeusBaseGPUError)
    assert not issubclass(ZeusBaseGPUError, zeusc.ZeusNotFoundError)


def test_no_gpus_raises_zeus_gpu_init_error(fake):
    fake.reset("gpus=0")
    with pytest.raises(ZeusGPUInitError) as e:
        get_gpus()
    assert e.value.message


def test_get_cpus_reads_rapl_in_millijoules(rapl):
    cpus = get_cpus()
    assert len(cpus) == 1
    m = cpus.get_total_energy_consumption(0)
    assert isinstance(m, CpuDramMeasurement)
    rapl.set_energy("intel-rapl:0", 13_000_000)
    rapl.set_energy("intel-rapl:0:0", 2_500_000)
    d = cpus.get_total_energy_consumption(0) - m
    assert d.cpu_mj == pytest.approx(3000.0) and d.dram_mj == pytest.approx(500.0)
    assert cpus.supports_get_dram_energy_consumption(0) is True
    with pytest.warns(DeprecationWarning):
        assert cpus.cpus[0].supportsGetDramEnergyConsumption() is True


def test_no_rapl_raises_zeus_cpu_init_error():
    with pytest.raises(zeusc.device.cpu.ZeusCPUInitError) as e:
        get_cpus()
    assert isinstance(e.value, ZeusBaseCPUError) and "rapl" in e.value.message


def test_get_soc_has_no_backend():
    with pytest.raises(zeusc.device.exception.ZeusBaseSoCError):
        zeusc.device.get_soc()
