"""Zeus's module paths under zeusc, ZeusMonitor's attributes Zeus code reads, text signatures,
and `python -m zeusc.monitor`."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

import zeusc

ROOT = Path(__file__).resolve().parents[2]


def test_zeus_import_lines_work_with_zeusc():
    from zeusc.monitor import Measurement, PowerMonitor, TemperatureMonitor, ZeusMonitor  # noqa: F401
    from zeusc.monitor.energy import MeasurementState, ZeusMonitor as ZM  # noqa: F401
    from zeusc.monitor.power import PowerDomain, PowerSample, infer_counter_update_period  # noqa: F401
    from zeusc.monitor.temperature import TemperatureSample  # noqa: F401
    from zeusc.device.gpu.common import GPU, GPUs, EmptyGPUs  # noqa: F401
    from zeusc.device.gpu.nvidia import NVIDIAGPU, NVIDIAGPUs  # noqa: F401

    assert ZM is ZeusMonitor is zeusc.ZeusMonitor


def test_measurement_states_is_a_read_only_live_view(noop_sync):
    m = zeusc.ZeusMonitor(sync_execution_with=noop_sync)
    states = m.measurement_states
    assert dict(states) == {}
    before = zeusc.now()
    m.begin_window("a")
    m.begin_window("b")
    assert sorted(states) == ["a", "b"] and "a" in m.measurement_states
    assert states["a"].time >= before - 0.01
    with pytest.raises(TypeError):
        states["c"] = 1  # type: ignore[index]
    m.end_window("a")
    assert list(states) == ["b"]
    m.end_window("b", cancel=True)
    m.begin_window("c")
    m.reset_windows()
    assert len(states) == 0


def test_gpus_and_cpus_attributes(noop_sync, rapl):
    import zeusc.device

    zeusc.device.reset()
    m = zeusc.ZeusMonitor(sync_execution_with=noop_sync)
    assert len(m.gpus) == 2 and m.gpus.get_name(0)
    assert len(m.cpus) == 1
    zeusc.device.reset()
    none = zeusc.ZeusMonitor(gpu_indices=[], cpu_indices=[], sync_execution_with=noop_sync)
    assert len(none.gpus) == 0 and len(none.cpus) == 0


@pytest.mark.parametrize("name", ["begin_window", "end_window", "get_final", "reset_windows", "close", "window"])
def test_signatures_of_monitor_methods(name):
    sig = inspect.signature(getattr(zeusc.ZeusMonitor, name))
    assert list(sig.parameters)[0] == "self"
    if name == "begin_window":
        assert list(sig.parameters) == ["self", "key", "sync_execution", "restart"]
    if name == "end_window":
        assert list(sig.parameters)[:4] == ["self", "key", "sync_execution", "cancel"]


def test_python_m_zeusc_monitor_power_and_energy():
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"))
    out = subprocess.run(
        [sys.executable, "-m", "zeusc.monitor", "power", "--duration", "0.3", "--update-period", "0.05"],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    assert "Total energy (J):" in out and "GPU0" in out
    out = subprocess.run(
        [sys.executable, "-m", "zeusc.monitor", "energy", "--duration", "0.2"],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    assert "Measurement(" in out


# ---- Where zeusc follows Zeus's answer (python/README.md) ---------------------------------------


def test_unknown_gpu_index_is_a_value_error_as_in_zeus(noop_sync):
    for make in (
        lambda: zeusc.ZeusMonitor(gpu_indices=[7], sync_execution_with=noop_sync),
        lambda: zeusc.PowerMonitor(gpu_indices=[7]),
        lambda: zeusc.TemperatureMonitor(gpu_indices=[7]),
    ):
        with pytest.raises(ValueError) as e:
            make()
        assert isinstance(e.value, LookupError)  # what zeusc raised before, kept
        assert isinstance(e.value, zeusc.errors.ZeusGPUNotFoundError)
        assert e.value.status_name == "ERR_NOT_FOUND" and "GPU 7" in e.value.message
    with pytest.raises(zeusc.errors.ZeusCPUIndexError):
        zeusc.ZeusMonitor(gpu_indices=[0], cpu_indices=[3], sync_execution_with=noop_sync)


def test_unmonitored_gpu_timeline_is_empty_as_in_zeus():
    pm = zeusc.PowerMonitor(gpu_indices=[0], update_period=0.05)
    tm = zeusc.TemperatureMonitor(gpu_indices=[0], update_period=0.05)
    try:
        assert pm.get_power_timeline("device_instant", gpu_index=1) == {}
        assert all(v == {} for v in pm.get_all_power_timelines(gpu_index=1).values())
        assert tm.get_temperature_timeline(gpu_index=1) == {}
        assert list(pm.get_power_timeline("device_instant", gpu_index=0)) == [0]
    finally:
        pm.stop()
        tm.stop()


def test_reversed_interval_is_a_value_error():
    pm = zeusc.PowerMonitor(gpu_indices=[0], update_period=0.05)
    try:
        t = zeusc.now()
        with pytest.raises(ValueError, match="reversed"):
            pm.get_energy(t, t - 1.0)
    finally:
        pm.stop()


def test_every_zeusc_method_has_a_signature():
    """inspect.signature works on every public function and method zeusc defines (C ones
    carry text signatures); builtins inherited from str or BaseException are not zeusc's."""
    import importlib
    import pkgutil

    missing = []
    for info in pkgutil.walk_packages(zeusc.__path__, "zeusc."):
        if info.name.endswith("__main__") or info.name == "zeusc._zeusc":
            continue
        mod = importlib.import_module(info.name)
        for name, obj in vars(mod).items():
            if name.startswith("_"):
                continue
            if inspect.isclass(obj):
                for klass in obj.__mro__:
                    if not (klass.__module__ or "").startswith("zeusc"):
                        continue
                    for attr, value in vars(klass).items():
                        if attr.startswith("_") or not callable(value) or inspect.isclass(value):
                            continue
                        try:
                            inspect.signature(getattr(obj, attr))
                        except (TypeError, ValueError):
                            missing.append(f"{info.name}.{name}.{attr}")
            elif callable(obj):
                try:
                    inspect.signature(obj)
                except (TypeError, ValueError):
                    missing.append(f"{info.name}.{name}")
    assert not missing, missing
