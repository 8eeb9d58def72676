"""ZeusMonitor: the scenarios of Zeus's tests/monitor/test_energy.py against the fake NVML.

Counters are set by hand (the fake's manual mode) and the monitor reads them directly
(direct_reads=True), so every expected energy is exact, as Zeus's tests get with
itertools.count. The sampled engine (the default) is covered at the end with counters that
follow a constant power trace.
"""

from __future__ import annotations

import csv
import math
import time
import warnings

import pytest

import zeusc
from zeusc import Measurement, ZeusMonitor

pytestmark = pytest.mark.filterwarnings("ignore:The energy consumption:zeusc.errors.ZeusWarning")

ZERO_TEXT = "The energy consumption of one or more GPUs was measured as zero"


def direct_monitor(noop_sync, **kw) -> ZeusMonitor:
    return ZeusMonitor(sync_execution_with=noop_sync, direct_reads=True, **kw)


@pytest.fixture
def manual(fake):
    """Two GPUs in manual mode: counters 1000 and 5000 mJ."""
    fake.set_energy_mj(0, 1000)
    fake.set_energy_mj(1, 5000)
    return fake


# ---- Construction ----------------------------------------------------------------------------


def test_imports_match_zeus():
    from zeusc.monitor import Measurement as M2
    from zeusc.monitor import PowerMonitor, TemperatureMonitor, ZeusMonitor as Z2

    assert Z2 is ZeusMonitor and M2 is Measurement
    assert PowerMonitor is zeusc.PowerMonitor and TemperatureMonitor is zeusc.TemperatureMonitor


def test_default_monitor_sees_all_gpus_and_no_cpus(noop_sync):
    mon = ZeusMonitor(sync_execution_with=noop_sync)
    assert mon.gpu_indices == [0, 1]
    assert mon.cpu_indices == []
    assert not mon.direct_reads and not mon.approx_instant_energy


def test_gpu_indices_follow_cuda_visible_devices(fake, monkeypatch, noop_sync):
    fake.reset("gpus=4")
    for i in range(4):
        fake.set_energy_mj(i, 1000 * (i + 1))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    mon = direct_monitor(noop_sync, gpu_indices=[1])
    assert mon.gpu_indices == [1]
    mon.begin_window("w")
    fake.add_energy_mj(3, 700)  # physical 3 is framework index 1
    fake.add_energy_mj(2, 9999)
    m = mon.end_window("w")
    assert list(m.gpu_energy) == [1]
    assert m.gpu_energy[1] == pytest.approx(0.7)


def test_unknown_gpu_index_is_not_found(noop_sync):
    with pytest.raises(zeusc.ZeusNotFoundError) as e:
        ZeusMonitor(gpu_indices=[7], sync_execution_with=noop_sync)
    assert isinstance(e.value, LookupError)
    assert e.value.status_name == "ERR_NOT_FOUND"
    assert "7" in str(e.value)


def test_bad_arguments_raise_before_the_library(noop_sync):
    with pytest.raises(ValueError, match="sync_execution_with"):
        ZeusMonitor(sync_execution_with="tensorflow")
    with pytest.raises(ValueError):
        ZeusMonitor(gpu_indices=[-1], sync_execution_with=noop_sync)
    with pytest.raises(TypeError):
        ZeusMonitor(gpu_indices="0", sync_execution_with=noop_sync)


def test_explicit_cpu_without_rapl_is_an_error(noop_sync):
    with pytest.raises(zeusc.ZeusError):
        ZeusMonitor(gpu_indices=[], cpu_indices=[0], sync_execution_with=noop_sync)


# ---- Window semantics ----------------------------------------------------------------------------


def test_serial_windows_report_counter_deltas(manual, rapl, noop_sync):
    mon = direct_monitor(noop_sync)
    assert mon.cpu_indices == [0]
    mon.begin_window("a")
    manual.set_energy_mj(0, 4000)
    manual.set_energy_mj(1, 5500)
    rapl.set_energy("intel-rapl:0", 13_000_000)
    rapl.set_energy("intel-rapl:0:0", 2_500_000)
    m = mon.end_window("a")

    assert isinstance(m, Measurement)
    assert m.gpu_energy == pytest.approx({0: 3.0, 1: 0.5})
    assert m.cpu_energy == pytest.approx({0: 3.0})
    assert m.dram_energy == pytest.approx({0: 0.5})
    assert m.soc_energy is None
    assert m.total_energy == pytest.approx(3.5)  # GPUs only, as Zeus
    assert 0 <= m.time < 5
    assert not m.provisional
    assert m.gpu_flags[0] & zeusc.ENERGY_COUNTER

    mon.begin_window("a")  # the name is free again
    manual.set_energy_mj(0, 4100)
    assert mon.end_window("a").gpu_energy[0] == pytest.approx(0.1)


def test_nested_and_overlapping_windows_are_independent(manual, noop_sync):
    mon = direct_monitor(noop_sync)
    mon.begin_window("outer")  # gpu0 at 1000
    manual.set_energy_mj(0, 2000)
    mon.begin_window("inner")  # 2000
    manual.set_energy_mj(0, 3000)
    mon.begin_window("over")  # 3000
    manual.set_energy_mj(0, 7000)
    inner = mon.end_window("inner")
    manual.set_energy_mj(0, 11000)
    outer = mon.end_window("outer")
    manual.set_energy_mj(0, 12000)
    over = mon.end_window("over")

    assert inner.gpu_energy[0] == pytest.approx(5.0)
    assert outer.gpu_energy[0] == pytest.approx(10.0)
    assert over.gpu_energy[0] == pytest.approx(9.0)
    assert outer.time >= inner.time
    assert mon.open_window_count() == 0


def test_duplicate_begin_is_value_error_and_keeps_open_window(manual, noop_sync):
    mon = direct_monitor(noop_sync)
    mon.begin_window("step")
    manual.set_energy_mj(0, 2000)
    with pytest.raises(ValueError, match=r"^Measurement window 'step' already exists$") as e:
        mon.begin_window("step")
    assert isinstance(e.value, zeusc.ZeusWindowExistsError)
    manual.set_energy_mj(0, 3000)
    assert mon.end_window("step").gpu_energy[0] == pytest.approx(2.0)


def test_unknown_or_double_end_is_value_error(noop_sync):
    mon = direct_monitor(noop_sync)
    with pytest.raises(ValueError, match=r"^Measurement window 'nope' does not exist$"):
        mon.end_window("nope")
    mon.begin_window("open")
    mon.end_window("open")
    with pytest.raises(zeusc.ZeusWindowNotFoundError):
        mon.end_window("open")


def test_restart_replaces_the_start(manual, noop_sync):
    mon = direct_monitor(noop_sync)
    mon.begin_window("nb")
    manual.set_energy_mj(0, 3000)
    time.sleep(0.02)
    mon.begin_window("nb", restart=True)
    manual.set_energy_mj(0, 3500)
    m = mon.end_window("nb")
    assert m.gpu_energy[0] == pytest.approx(0.5)
    assert m.time < 0.02
    mon.begin_window("fresh", restart=True)  # restart of a closed name just begins
    assert mon.open_window_count() == 1


def test_cancel_returns_zeus_shape_and_logs_nothing(manual, tmp_path, noop_sync):
    log = tmp_path / "log.csv"
    mon = direct_monitor(noop_sync, log_file=log)
    mon.begin_window("c")
    manual.set_energy_mj(0, 9000)
    m = mon.end_window("c", cancel=True)
    assert m.time == 0.0
    assert m.gpu_energy == {0: 0.0, 1: 0.0}
    assert m.cpu_energy == {}  # Zeus's quirk: {} rather than None without CPUs
    assert m.dram_energy is None
    assert m.window_id is None
    mon.close()
    assert log.read_text().splitlines()[1:] == []


def test_cancel_with_cpus_zeroes_them(rapl, noop_sync):
    mon = direct_monitor(noop_sync)
    mon.begin_window("c")
    m = mon.end_window("c", cancel=True)
    assert m.cpu_energy == {0: 0.0}


def test_reset_windows_drops_everything(noop_sync):
    mon = direct_monitor(noop_sync)
    for k in "abc":
        mon.begin_window(k)
    mon.reset_windows()
    assert mon.open_window_count() == 0
    with pytest.raises(ValueError):
        mon.end_window("a")


def test_key_must_be_str(noop_sync):
    mon = direct_monitor(noop_sync)
    with pytest.raises(TypeError):
        mon.begin_window(1)
    with pytest.raises(TypeError):
        mon.begin_window()
    with pytest.raises(TypeError):
        mon.end_window("x", True, False, True)  # wait_final is keyword-only
    with pytest.raises(TypeError):
        mon.begin_window("x", bogus=1)


def test_measurement_is_zeus_dataclass():
    m = Measurement(time=1.0, gpu_energy={0: 1.5, 2: 2.5})
    assert m.total_energy == 4.0
    assert m.cpu_energy is None and m.dram_energy is None and m.soc_energy is None
    assert m == Measurement(1.0, {0: 1.5, 2: 2.5}, start_time=123.0)  # additions do not compare


# ---- CSV log ------------------------------------------------------------------------------------


def test_csv_log_has_zeus_header_and_rows_in_end_order(manual, tmp_path, noop_sync):
    log = tmp_path / "sub" / "log.csv"  # parent folders are created
    mon = direct_monitor(noop_sync, log_file=log)
    assert mon.log_file == str(log)
    assert log.read_text() == "start_time,window_name,elapsed_time,gpu0_energy,gpu1_energy\n"
    before = time.time()
    mon.begin_window("first")
    mon.begin_window("second")
    manual.set_energy_mj(0, 3000)
    m2 = mon.end_window("second")
    manual.set_energy_mj(1, 6000)
    m1 = mon.end_window("first")
    mon.close()

    rows = list(csv.reader(log.open()))
    assert rows[0] == ["start_time", "window_name", "elapsed_time", "gpu0_energy", "gpu1_energy"]
    assert [r[1] for r in rows[1:]] == ["second", "first"]
    for row, m in zip(rows[1:], (m2, m1)):
        assert float(row[0]) == pytest.approx(m.start_time)
        assert abs(float(row[0]) - before) < 5
        assert float(row[2]) == pytest.approx(m.time)
        assert [float(x) for x in row[3:]] == pytest.approx([m.gpu_energy[0], m.gpu_energy[1]])
    assert [float(x) for x in rows[2][3:]] == pytest.approx([2.0, 1.0])


def test_csv_log_columns_follow_gpu_indices(tmp_path, noop_sync):
    log = tmp_path / "one.csv"
    direct_monitor(noop_sync, gpu_indices=[1], log_file=str(log)).close()
    assert log.read_text() == "start_time,window_name,elapsed_time,gpu1_energy\n"
    log0 = tmp_path / "none.csv"
    direct_monitor(noop_sync, gpu_indices=[], log_file=log0).close()
    assert log0.read_text() == "start_time,window_name,elapsed_time,\n"  # Zeus's trailing comma


def test_unwritable_log_is_an_error(tmp_path, noop_sync):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(zeusc.ZeusError) as e:
        direct_monitor(noop_sync, log_file=blocker / "log.csv")
    assert isinstance(e.value, OSError)  # ZeusIOError


# ---- Zero energy and approx_instant_energy -----------------------------------------------------


def test_zero_energy_warns_and_reports_zero(manual, noop_sync):
    mon = direct_monitor(noop_sync)
    mon.begin_window("short")
    with pytest.warns(UserWarning, match=ZERO_TEXT) as rec:
        m = mon.end_window("short")
    assert issubclass(rec[0].category, zeusc.ZeusWarning)
    assert "approx_instant_energy" in str(rec[0].message)
    assert m.gpu_energy == {0: 0.0, 1: 0.0}
    assert m.gpu_flags[0] & zeusc.ENERGY_ZERO


def test_zero_energy_warning_obeys_error_filter(manual, noop_sync):
    mon = direct_monitor(noop_sync)
    mon.begin_window("short")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(zeusc.ZeusWarning):
            mon.end_window("short")
    assert mon.open_window_count() == 0


def test_approx_instant_energy_replaces_zero(manual, noop_sync):
    manual.set_power_w(0, 200)
    manual.set_power_w(1, 100)
    mon = direct_monitor(noop_sync, approx_instant_energy=True)
    mon.begin_window("short")
    time.sleep(0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = mon.end_window("short")
    assert m.gpu_energy[0] == pytest.approx(200 * m.time, rel=0.05)
    assert m.gpu_energy[1] == pytest.approx(100 * m.time, rel=0.05)
    assert m.gpu_flags[0] & zeusc.ENERGY_ESTIMATED


# ---- Device failures -----------------------------------------------------------------------------


def test_gpu_lost_at_end_raises_with_measurement(manual, noop_sync):
    mon = direct_monitor(noop_sync)
    mon.begin_window("w")
    manual.set_energy_mj(0, 2000)
    manual.fail("*", 1, 15)  # NVML_ERROR_GPU_IS_LOST on GPU 1
    with pytest.raises(zeusc.ZeusGPULostError) as e:
        mon.end_window("w")
    m = e.value.measurement
    assert m.gpu_energy[0] == pytest.approx(1.0)
    assert math.isnan(m.gpu_energy[1])
    assert m.gpu_flags[1] & zeusc.ENERGY_FAILED
    assert mon.open_window_count() == 0  # the window is closed all the same


def test_gpu_failing_mid_window_is_failed_not_extrapolated(fake, noop_sync):
    """Issue 9: a failing GPU's energy was extrapolated at the old slope (695.7 J for 2.3 s
    after a drop from 300 W to 10 W). Past one counter step it is NaN and end_window raises
    with the measurement, as Zeus raises when its read fails."""
    fake.reset("gpus=2;power_w=300")
    mon = ZeusMonitor(sync_execution_with=noop_sync)
    mon.begin_window("w")
    time.sleep(0.3)
    fake.fail("nvmlDeviceGetTotalEnergyConsumption", 1, 999)  # NVML_ERROR_UNKNOWN
    fake.set_power_w(1, 10)
    time.sleep(0.5)  # several 100 ms counter steps
    with pytest.raises(zeusc.ZeusError) as e:
        mon.end_window("w")
    m = e.value.measurement
    assert m.gpu_energy[0] > 0
    assert math.isnan(m.gpu_energy[1])
    assert m.gpu_flags[1] & zeusc.ENERGY_FAILED
    fake.fail("nvmlDeviceGetTotalEnergyConsumption", 1, 0, 0)


# ---- Context manager -------------------------------------------------------------------------------


def test_window_context_manager(manual, noop_sync):
    mon = direct_monitor(noop_sync)
    with mon.window("step") as w:
        assert mon.open_window_count() == 1
        manual.set_energy_mj(0, 1500)
    assert w.measurement.gpu_energy[0] == pytest.approx(0.5)
    assert mon.open_window_count() == 0


def test_window_context_manager_cancels_on_error(manual, tmp_path, noop_sync):
    log = tmp_path / "log.csv"
    mon = direct_monitor(noop_sync, log_file=log)
    with pytest.raises(KeyError):
        with mon.window("step") as w:
            manual.set_energy_mj(0, 1500)
            raise KeyError("boom")
    assert w.measurement.time == 0.0
    assert mon.open_window_count() == 0
    with pytest.raises(KeyError):
        with mon.window("kept", cancel_on_error=False) as w2:
            manual.set_energy_mj(0, 2500)
            raise KeyError("boom")
    assert w2.measurement.gpu_energy[0] == pytest.approx(1.0)
    mon.close()
    assert [r.split(",")[1] for r in log.read_text().splitlines()[1:]] == ["kept"]


# ---- close() ---------------------------------------------------------------------------------------


def test_close_is_idempotent_and_final(noop_sync):
    mon = ZeusMonitor(sync_execution_with=noop_sync)
    mon.close()
    mon.close()
    assert mon.closed
    with pytest.raises(ValueError, match="closed"):
        mon.begin_window("x")
    assert "closed" in repr(mon)


def test_uninitialized_subclass_is_an_error_not_a_crash():
    class Lazy(ZeusMonitor):
        def __init__(self):  # forgets super().__init__
            pass

    with pytest.raises(ValueError, match="__init__"):
        Lazy().begin_window("x")


# ---- Sampled mode (the default) ---------------------------------------------------------------------


def test_sampled_window_estimates_then_finalizes(fake, tmp_path, noop_sync):
    log = tmp_path / "log.csv"
    mon = ZeusMonitor(sync_execution_with=noop_sync, log_file=log)  # 300 W per GPU
    mon.begin_window("w")
    time.sleep(0.35)
    m = mon.end_window("w")
    assert m.provisional
    assert m.gpu_energy[0] == pytest.approx(300 * m.time, rel=0.1)
    final = mon.get_final(m, timeout=2.0)
    assert not final.provisional
    assert final.time == m.time and final.window_id == m.window_id
    assert final.gpu_energy[0] == pytest.approx(300 * m.time, rel=0.02)
    assert mon.get_final(m.window_id).gpu_energy == final.gpu_energy
    mon.close()
    row = log.read_text().splitlines()[1].split(",")
    assert row[1] == "w" and float(row[3]) == pytest.approx(final.gpu_energy[0])


def test_sampled_wait_final(noop_sync):
    mon = ZeusMonitor(sync_execution_with=noop_sync, wait_final=True)
    assert mon.wait_final
    mon.begin_window("w")
    time.sleep(0.2)
    m = mon.end_window("w")
    assert not m.provisional
    assert m.gpu_energy[1] == pytest.approx(300 * m.time, rel=0.02)
    mon.begin_window("v")
    assert mon.end_window("v", wait_final=False).provisional or True  # may already be final


def test_get_final_unknown_id(noop_sync):
    mon = ZeusMonitor(sync_execution_with=noop_sync)
    with pytest.raises(zeusc.ZeusNotFoundError):
        mon.get_final(987654321, timeout=0)
    with pytest.raises(ValueError):
        mon.get_final(Measurement(0.0, {}), timeout=0)  # no window_id: a cancelled window


# ---- Timestamps ------------------------------------------------------------------------------------


def test_times_are_unix_seconds(noop_sync):
    assert zeusc.now() == pytest.approx(time.time(), abs=0.05)
    assert zeusc.monotonic() == pytest.approx(time.monotonic(), abs=0.05)
    assert zeusc.clock_offset() == pytest.approx(time.time() - time.monotonic(), abs=0.05)
    mon = ZeusMonitor(sync_execution_with=noop_sync)
    t = time.time()
    mon.begin_window("w")
    assert mon.end_window("w").start_time == pytest.approx(t, abs=0.05)


def test_window_name_with_nul_is_refused_not_cut(manual, noop_sync, tmp_path):
    # The C API takes NUL-terminated names: 'a\x00b' and 'a\x00c' would both be 'a'.
    log = tmp_path / "log.csv"
    mon = direct_monitor(noop_sync, log_file=str(log))
    for name in ("a\x00b", "a\x00c", "\x00"):
        with pytest.raises(ValueError, match="contains a NUL character"):
            mon.begin_window(name)
    mon.begin_window("a")
    with pytest.raises(ValueError, match="contains a NUL character"):
        mon.end_window("a\x00b")
    mon.end_window("a")  # the window named 'a' was left alone
    assert [row["window_name"] for row in csv.DictReader(log.open())] == ["a"]
