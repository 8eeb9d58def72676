"""zeusc.device with AMD GPUs: the fake AMD SMI (tests/fakes/fake_amdsmi.c) through
ZEUS_AMDSMI_LIBRARY, alone and beside the fake NVML. Zeus's units (mW, mJ, degrees), the
counter check at start, and Zeus's class names (AMDGPUs, AMDGPU)."""

from __future__ import annotations

import ctypes
import os

import pytest

import zeusc.device
from zeusc.device._handle import devices
from conftest import BUILD
from zeusc.device import get_gpus
from zeusc.device.gpu import AMDGPU, AMDGPUs, NVIDIAGPUs, amdsmi_is_available
from zeusc.device.gpu.nvidia import NVIDIAGPU

AMD_PATH = BUILD / "libamd_smi-fake.so"


@pytest.fixture
def amd(fake, monkeypatch):
    """The fake AMD SMI, held loaded so its state lives across the library's open/close;
    the fake NVML has no GPUs unless a test adds some."""
    lib = ctypes.CDLL(str(AMD_PATH), mode=os.RTLD_NOW | os.RTLD_LOCAL)
    lib.fake_amdsmi_reset.argtypes = [ctypes.c_char_p]
    lib.fake_amdsmi_power_cap_uw.argtypes = [ctypes.c_uint]
    lib.fake_amdsmi_power_cap_uw.restype = ctypes.c_ulonglong
    monkeypatch.setenv("ZEUS_AMDSMI_LIBRARY", str(AMD_PATH))
    monkeypatch.setenv("ZEUS_AMDSMI_CHECK_SECONDS", "0.1")
    fake.reset("gpus=0")
    zeusc.device.reset()
    yield lib
    zeusc.device.reset()
    fake.reset()


def _use(lib, spec: str) -> None:
    assert lib.fake_amdsmi_reset(spec.encode()) == 0


def test_get_gpus_reads_amd_gpus_in_zeus_units(amd):
    _use(amd, "gpus=2;power_w=300;instant_w=310;temp_c=52;gpu1.counter_scale=100")
    assert amdsmi_is_available()
    gpus = get_gpus()
    assert isinstance(gpus, AMDGPUs) and len(gpus) == 2
    assert all(isinstance(g, AMDGPU) for g in gpus.gpus)
    assert gpus.get_name(0) == "AMD Instinct MI300X"
    assert gpus.get_instant_power_usage(0) == 310_000
    assert gpus.get_average_power_usage(0) == 300_000
    assert gpus.get_gpu_temperature(0) == 52
    assert gpus.get_power_management_limit_constraints(0) == (200_000, 750_000)
    gpus.set_power_management_limit(1, 500_000)
    assert amd.fake_amdsmi_power_cap_uw(1) == 500_000_000
    assert gpus.supports_get_total_energy_consumption(0) is True
    assert gpus.get_total_energy_consumption(0) > 0
    # the broken counter (100x) is refused at start, as Zeus refuses it
    assert gpus.supports_get_total_energy_consumption(1) is False
    with pytest.raises(zeusc.ZeusNotSupportedError):
        gpus.get_total_energy_consumption(1)
    with pytest.raises(zeusc.ZeusNotSupportedError):
        gpus.get_persistence_mode(0)


def test_hip_visible_devices_then_cuda(amd, monkeypatch):
    _use(amd, "gpus=3")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    monkeypatch.setenv("HIP_VISIBLE_DEVICES", "2,1")
    gpus = get_gpus()
    assert len(gpus) == 2
    assert [devices().gpu_info(i)["physical_index"] for i in range(2)] == [2, 1]


def test_mixed_process_numbers_nvidia_first(amd, fake):
    fake.reset("gpus=1")
    _use(amd, "gpus=1")
    gpus = get_gpus()
    assert isinstance(gpus, NVIDIAGPUs) and len(gpus) == 2
    assert type(gpus.gpus[0]) is NVIDIAGPU and isinstance(gpus.gpus[1], AMDGPU)
    assert gpus.get_name(0).startswith("NVIDIA") and gpus.get_name(1).startswith("AMD")


def test_show_env_names_the_vendor(amd, fake):
    from zeusc import show_env

    fake.reset("gpus=1")
    _use(amd, "gpus=1")
    text = show_env.report()
    assert "GPU 0 (Zeus index 0): NVIDIA H100 80GB HBM3 [NVIDIA, nvml]" in text
    assert "GPU 0 (Zeus index 1): AMD Instinct MI300X [AMD, amdsmi]" in text
