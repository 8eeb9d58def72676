"""Zeus's device names, used as Zeus users use them, on the fake AMD SMI and a fake Jetson:
zeus.device.gpu.amd's AMDGPU/AMDGPUs/ZeusdAMDGPU with every method of Zeus's AMD column
(units mW, mJ, MHz, degrees; NotSupported where Zeus raises it; camelCase aliases), and
zeus.device.soc(.jetson)'s get_soc()/Jetson with getTotalEnergyConsumption() and
get_total_energy_consumption() giving a JetsonMeasurement in mJ, its power_measurement
DeviceMap reading both kernel layouts (Orin power files, Xavier voltage x current), and
Zeus's rail helpers."""

from __future__ import annotations

import ctypes
import os
import time
import warnings
from pathlib import Path

import pytest

import zeusc.device
import zeusc.device.soc as soc
from conftest import BUILD
from zeusc.device import _handle

AMD_PATH = BUILD / "libamd_smi-fake.so"


# ---- AMD ------------------------------------------------------------------------------------


@pytest.fixture
def amd(fake, monkeypatch):
    """The fake AMD SMI (two MI300X at 250 W) and no NVIDIA GPU."""
    lib = ctypes.CDLL(str(AMD_PATH), mode=os.RTLD_NOW | os.RTLD_LOCAL)
    lib.fake_amdsmi_reset.argtypes = [ctypes.c_char_p]
    lib.fake_amdsmi_power_cap_uw.argtypes = [ctypes.c_uint]
    lib.fake_amdsmi_power_cap_uw.restype = ctypes.c_ulonglong
    monkeypatch.setenv("ZEUS_AMDSMI_LIBRARY", str(AMD_PATH))
    monkeypatch.setenv("ZEUS_AMDSMI_CHECK_SECONDS", "0.1")
    monkeypatch.setenv("ZEUS_JETSON", "0")
    fake.reset("gpus=0")
    assert lib.fake_amdsmi_reset(b"gpus=2;power_w=250;temp_c=61") == 0
    zeusc.device.reset()
    yield lib
    zeusc.device.reset()
    fake.reset()


def test_zeus_amd_imports_and_every_method(amd):
    from zeusc.device.gpu import get_gpus
    from zeusc.device.gpu.amd import AMDGPU, AMDGPUs, ZeusdAMDGPU, amdsmi_is_available
    from zeusc.device.gpu.common import ZeusGPUNotSupportedError

    assert amdsmi_is_available()
    gpus = get_gpus()
    assert isinstance(gpus, AMDGPUs) and len(gpus) == 2
    g = gpus.gpus[1]
    assert isinstance(g, AMDGPU) and g.gpu_index == 1
    assert g.get_name() == "AMD Instinct MI300X"
    assert g.supports_nonblocking_setters is False  # a property, as in Zeus
    assert g.get_power_management_limit_constraints() == (200_000, 750_000)  # mW
    assert g.get_average_power_usage() == 250_000  # mW
    assert g.get_instant_power_usage() == 250_000
    assert g.get_gpu_temperature() == 61
    assert g.supports_get_total_energy_consumption() is True
    e0 = g.get_total_energy_consumption()  # mJ
    time.sleep(0.2)
    assert g.get_total_energy_consumption() > e0

    g.set_power_management_limit(400_000)
    assert amd.fake_amdsmi_power_cap_uw(1) == 400_000_000  # AMD SMI's uW
    assert g.get_power_management_limit() == 400_000
    g.reset_power_management_limit()
    assert g.get_power_management_limit() != 400_000

    assert g.get_supported_memory_clocks() and g.get_supported_graphics_clocks()
    gfx = g.get_supported_graphics_clocks()
    g.set_gpu_locked_clocks(min(gfx), max(gfx))
    g.set_memory_locked_clocks(*sorted(g.get_supported_memory_clocks()))
    g.reset_locked_clocks()  # Zeus's AMD reset: both domains at once
    # What Zeus's AMDGPU raises NotSupported for, so does zeusc's.
    for call in (
        g.get_average_memory_power_usage,
        g.get_persistence_mode,
        lambda: g.set_persistence_mode(True),
        g.reset_gpu_locked_clocks,
        g.reset_memory_locked_clocks,
    ):
        with pytest.raises(ZeusGPUNotSupportedError):
            call()

    # Zeus's camelCase names still answer, with a DeprecationWarning.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert g.getInstantPowerUsage() == 250_000
        assert gpus.getName(0) == "AMD Instinct MI300X"
    assert {w.category for w in caught} == {DeprecationWarning}
    assert isinstance(ZeusdAMDGPU(0), AMDGPU)


def test_zeus_amd_through_the_monitor(amd, noop_sync):
    """ZeusMonitor over AMD GPUs: Zeus's Measurement with joules per GPU index."""
    from zeusc.monitor import ZeusMonitor

    mon = ZeusMonitor(cpu_indices=[], sync_execution_with=noop_sync, direct_reads=True)
    mon.begin_window("w")
    time.sleep(0.3)
    m = mon.end_window("w")
    assert set(m.gpu_energy) == {0, 1}
    assert m.gpu_energy[0] == pytest.approx(250.0 * m.time, rel=0.2)
    assert m.soc_energy is None


# ---- Jetson ---------------------------------------------------------------------------------

ORIN_NX = "bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon1"
XAVIER_NX = "bus/i2c/drivers/ina3221x/1-0040/iio:device0"


def _put(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / (name + ".new")).write_text(text)
    (folder / (name + ".new")).replace(folder / name)


@pytest.fixture
def jetson_root(monkeypatch, tmp_path):
    root = tmp_path / "sys"
    monkeypatch.setenv("ZEUS_SYSFS_ROOT", str(root))
    monkeypatch.setenv("ZEUS_JETSON", "1")
    monkeypatch.setenv("ZEUS_JETSON_PERIOD_MS", "2")
    _handle.reset()
    soc._soc = None
    yield root
    _handle.reset()
    soc._soc = None


def test_zeus_jetson_imports_and_readings_in_mj(jetson_root):
    """An Orin NX (in<i>_label layout, power files): total 8 W, cpu 2 W, no gpu rail."""
    from zeusc.device import get_soc
    from zeusc.device.soc.jetson import (
        DirectPower, Jetson, JetsonMeasurement, check_file, jetson_is_available)

    d = jetson_root / ORIN_NX
    _put(d, "in1_label", "VDD_IN\n")
    _put(d, "power1_input", "8000\n")
    _put(d, "in2_label", "VDD_CPU_GPU_CV\n")
    _put(d, "power2_input", "2000\n")
    assert jetson_is_available()
    j = get_soc()
    assert isinstance(j, Jetson)

    a = j.get_total_energy_consumption(timeout=1.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.monotonic()
        time.sleep(0.3)
        b = j.getTotalEnergyConsumption()  # Zeus's old name
        elapsed = time.monotonic() - t0
    assert [w.category for w in caught] == [DeprecationWarning]
    assert isinstance(a, JetsonMeasurement) and isinstance(b, JetsonMeasurement)
    d_mj = b - a
    assert d_mj.gpu_energy_mj is None  # the rail the board lacks (Zeus: None)
    assert d_mj.total_energy_mj == pytest.approx(8.0 * elapsed * 1e3, rel=0.05)
    assert d_mj.cpu_energy_mj == pytest.approx(2.0 * elapsed * 1e3, rel=0.05)

    pm = j.power_measurement
    assert set(pm) == {"cpu_power_mw", "total_power_mw"}
    assert isinstance(pm["total_power_mw"], DirectPower)
    assert pm["total_power_mw"].measure_power() == 8000.0
    assert check_file(d / "power1_input") and not check_file(d / "power3_input")


def test_zeus_jetson_voltage_current_layout(jetson_root):
    """A Xavier NX (rail_name_<i> layout): VDD_IN as voltage x current, cpu as power."""
    from zeusc.device.soc.jetson import Jetson, VoltageCurrentProduct

    d = jetson_root / XAVIER_NX
    _put(d, "rail_name_0", "VDD_IN\n")
    _put(d, "in_voltage0_input", "5000\n")  # mV
    _put(d, "in_current0_input", "1200\n")  # mA: 6 W
    _put(d, "rail_name_1", "VDD_CPU_GPU_CV\n")
    _put(d, "in_power1_input", "1500\n")
    j = Jetson()
    total = j.power_measurement["total_power_mw"]
    assert isinstance(total, VoltageCurrentProduct)
    assert total.current_path.name == "in_current0_input"
    assert total.measure_power() == pytest.approx(6000.0)
    assert j.get_available_metrics() == {"cpu_energy_mj", "total_energy_mj"}
    j.begin_window("w")
    time.sleep(0.2)
    w = j.end_window("w")
    assert w.total_energy_mj == pytest.approx(4.0 * w.cpu_energy_mj, rel=0.02)  # 6 W vs 1.5 W


def test_zeus_jetson_helpers_without_a_board():
    """Zeus's helper classes work on any file, Jetson or not (they read what they are given)."""
    from zeusc.device.soc.jetson import (
        Command, DeviceMap, PowerMeasurementStrategy, VoltageCurrentProduct)

    with pytest.raises(TypeError):
        PowerMeasurementStrategy()  # abstract, as in Zeus
    assert {c.value for c in Command} == {"read", "stop"}
    assert DeviceMap.__annotations__.keys() == {"cpu_power_mw", "gpu_power_mw", "total_power_mw"}
    assert issubclass(VoltageCurrentProduct, PowerMeasurementStrategy)


def test_replay_fills_soc_energy_from_the_soc_columns(tmp_path):
    """A log written with log_soc_columns (src/monitor/csv_log.c's format, joules) replays
    with soc_energy as a JetsonMeasurement in mJ; "nan" (a rail the board lacks) is None, and
    the GPU columns are read as before. A log without SoC columns replays soc_energy None."""
    from zeusc.device.soc.jetson import JetsonMeasurement
    from zeusc.utils.testing import ReplayZeusMonitor

    log = tmp_path / "soc.csv"
    log.write_text(
        "start_time,window_name,elapsed_time,gpu0_energy,soc_cpu_energy,soc_gpu_energy,"
        "soc_total_energy\n"
        "1764322235.5,step,0.5,150.25,1.5,nan,4.0\n"
    )
    replay = ReplayZeusMonitor(log_file=log, ignore_sync_execution=True)
    assert replay.gpu_indices == [0]
    replay.begin_window("step")
    m = replay.end_window("step")
    assert m.gpu_energy == {0: 150.25}
    assert m.soc_energy == JetsonMeasurement(1500.0, None, 4000.0)

    plain = tmp_path / "plain.csv"
    plain.write_text("start_time,window_name,elapsed_time,gpu0_energy\n1.0,w,0.5,10.0\n")
    replay = ReplayZeusMonitor(log_file=plain, ignore_sync_execution=True)
    replay.begin_window("w")
    assert replay.end_window("w").soc_energy is None
