"""zeusc.profile: Zeus's zeus.profile over zeus_profile_* against the fake NVML.

Exact energies come from the fake's manual counters with a direct-reading monitor (each
workload call adds a known number of millijoules); time-based energies from a constant power
trace are checked against power x measured time. Durations are tens of milliseconds; times
are only bounded from below.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import sys
import threading
import time
import types

import pytest

import zeusc
from zeusc import ZeusMonitor
from zeusc.errors import ZeusInvalidArgumentError
from zeusc.profile import (
    SweepReport,
    SweepResult,
    TrialResult,
    measure,
    profile_cooldown_duration,
    profile_measurement_duration,
    profile_parameters,
)


class Workload:
    """Counts its calls; in manual mode adds `mj[trial]` per call, `per_trial` calls a trial."""

    def __init__(self, fake=None, mj=(), per_trial=0, sleep=0.0):
        self.fake, self.mj, self.per_trial, self.sleep = fake, list(mj), per_trial, sleep
        self.calls = 0

    def __call__(self):
        if self.per_trial:
            self.fake.add_energy_mj(0, self.mj[self.calls // self.per_trial])
        self.calls += 1
        if self.sleep:
            time.sleep(self.sleep)
        return "ignored"


def exact_monitor(fake, noop_sync) -> ZeusMonitor:
    fake.reset("gpus=1;temp_c=50")
    fake.set_energy_mj(0, 1000)
    return ZeusMonitor(gpu_indices=[0], sync_execution_with=noop_sync, direct_reads=True)


# Manual counters that a test leaves alone read as zero energy: Zeus's warning, expected here.
pytestmark = pytest.mark.filterwarnings("ignore:The energy consumption:zeusc.errors.ZeusWarning")

QUICK = dict(num_warmup_iterations=0, num_warmup_trials=0, iteration_duration=0.001)


# ---- Zeus's surface ----------------------------------------------------------------------------


def test_signatures_and_fields_are_zeus():
    def params(fn):
        return [(p.name, p.default) for p in inspect.signature(fn).parameters.values()]

    empty = inspect.Parameter.empty
    common = [("num_trials", 10), ("num_warmup_trials", 2), ("trial_stddev_threshold", 0.01),
              ("num_warmup_iterations", 10), ("num_calibration_iterations", 100)]
    head = [("target_function", empty), ("zeus_monitor", empty)]
    assert params(profile_measurement_duration) == head + [
        ("measurement_duration_search_range", None), ("cooldown_duration", 10.0)] + common + [
        ("iteration_duration", None)]
    assert params(profile_cooldown_duration) == head + [
        ("cooldown_duration_search_range", None), ("measurement_duration", 10.0)] + common + [
        ("iteration_duration", None)]
    assert params(profile_parameters) == head + [
        ("measurement_duration_search_range", None), ("cooldown_duration_search_range", None)] + common
    assert params(measure) == head + [
        ("measurement_duration", empty), ("cooldown_duration", empty), ("num_warmup_iterations", 10),
        ("num_calibration_iterations", 100), ("warmup_settle_duration", None)]
    assert [f.name for f in dataclasses.fields(TrialResult)] == [
        "energy_per_iter", "time_per_iter", "total_energy", "total_time", "iterations",
        "temperature_before", "temperature_after"]
    assert [f.name for f in dataclasses.fields(SweepResult)] == [
        "measurement_duration", "cooldown_duration", "trials", "energy_mean", "energy_std",
        "avg_temperature_before", "avg_temperature_after", "avg_total_time", "avg_total_energy",
        "is_valid"]
    assert [f.name for f in dataclasses.fields(SweepReport)] == ["sweep_param", "fixed_param", "entries"]


def test_str_is_zeus_text():
    r = SweepResult(5.0, 10.0, [], 12.34564, 0.0042, 41.04, 63.46, 1.0, 2.0, True)
    assert str(r) == ("measurement=5.0 s  cooldown=10.0 s  mean=12.3456 J  std=0.0042 J  "
                      "temp_before=41.0 \u00b0C  temp_after=63.5 \u00b0C  [VALID]")
    bad = dataclasses.replace(r, measurement_duration=10.0, is_valid=False)
    report = SweepReport(("measurement_duration", [5.0, 10.0]), ("cooldown_duration", 10.0), [r, bad])
    assert str(report).splitlines() == [
        "Sweep measurement_duration (fixed cooldown_duration=10.0 s):",
        "  measurement_duration=5.0 s   mean=12.3456 J  std=0.0042 J  temp_before=41.0 \u00b0C  "
        "temp_after=63.5 \u00b0C  [VALID]",
        "  measurement_duration=10.0 s  mean=12.3456 J  std=0.0042 J  temp_before=41.0 \u00b0C  "
        "temp_after=63.5 \u00b0C  [INVALID]",
    ]


# ---- measure ---------------------------------------------------------------------------------


def test_measure_runs_ceil_duration_at_the_fake_power(fake):
    fake.reset("gpus=1;power_w=300;temp_c=52")
    syncs = []
    mon = ZeusMonitor(gpu_indices=[0], sync_execution_with=syncs.append)
    work = Workload(sleep=0.002)
    t0 = time.monotonic()
    t = measure(work, mon, 0.05, 0.03, num_warmup_iterations=2, num_calibration_iterations=5)
    assert isinstance(t, TrialResult) and isinstance(t.iterations, int)
    assert 1 <= t.iterations <= 25  # every call takes >= 2 ms
    assert work.calls == 2 + 5 + 2 + t.iterations
    assert syncs == [[0]] * 4  # around calibration, after warmup, at the window's end
    assert time.monotonic() - t0 >= 0.03 + 0.002 * work.calls
    assert t.total_energy == pytest.approx(300 * t.total_time, rel=0.03, abs=0.01)
    assert t.energy_per_iter == pytest.approx(t.total_energy / t.iterations)
    assert t.temperature_before == t.temperature_after == 52.0
    mon.begin_window("__zeus_profile_run_trial")  # the trial's window was closed


def test_measure_warmup_settle_duration_validation(fake, noop_sync):
    mon = exact_monitor(fake, noop_sync)
    with pytest.raises(ValueError, match="warmup_settle_duration must be non-negative"):
        measure(Workload(), mon, 0.01, 0, warmup_settle_duration=-1)


# ---- Sweeps ------------------------------------------------------------------------------------


def test_measurement_sweep_statistics_from_exact_energies(fake, noop_sync):
    mon = exact_monitor(fake, noop_sync)
    work = Workload(fake, mj=[100, 102, 104, 110, 110, 110], per_trial=5)
    report = profile_measurement_duration(
        work, mon, [0.0045, 0.0045], cooldown_duration=0.0, num_trials=3,
        trial_stddev_threshold=0.0021, **QUICK)
    assert report.sweep_param == ("measurement_duration", [0.0045, 0.0045])
    assert report.fixed_param == ("cooldown_duration", 0.0)
    first, second = report.entries
    assert [t.iterations for t in first.trials] == [5, 5, 5]
    assert [t.energy_per_iter for t in first.trials] == pytest.approx([0.100, 0.102, 0.104])
    assert first.energy_mean == pytest.approx(0.102)
    assert first.energy_std == pytest.approx(0.002)
    assert first.avg_total_energy == pytest.approx(0.510)
    assert first.avg_temperature_before == 50.0
    assert first.is_valid is True and second.is_valid is True
    assert second.energy_std == pytest.approx(0.0, abs=1e-12)
    assert "[VALID]" in str(first) and str(report).startswith("Sweep measurement_duration")


def test_single_trial_has_zero_std_and_strict_threshold(fake, noop_sync):
    mon = exact_monitor(fake, noop_sync)
    report = profile_cooldown_duration(
        Workload(fake, mj=[100, 300], per_trial=5), mon, [0.0, 0.001], measurement_duration=0.0045,
        num_trials=1, trial_stddev_threshold=0.0, **QUICK)
    assert report.fixed_param == ("measurement_duration", 0.0045)
    assert [e.energy_std for e in report.entries] == [0.0, 0.0]
    assert [e.is_valid for e in report.entries] == [False, False]  # 0 < 0 is false
    assert report.entries[1].cooldown_duration == 0.001


def test_parameters_fixes_the_other_maximum_warms_up_once_and_logs(fake, noop_sync, caplog):
    mon = exact_monitor(fake, noop_sync)
    work = Workload()
    with caplog.at_level(logging.INFO, logger="zeusc.profile"):
        m, c = profile_parameters(
            work, mon, [0.0045, 0.0025], [0.01, 0.02, 0.005], num_trials=2, num_warmup_trials=2,
            num_warmup_iterations=1, num_calibration_iterations=3)
    assert m.fixed_param == ("cooldown_duration", 0.02)
    assert c.fixed_param == ("measurement_duration", 0.0045)
    assert [e.cooldown_duration for e in c.entries] == [0.01, 0.02, 0.005]
    assert all(e.measurement_duration == 0.0045 for e in c.entries)
    iters = {e.measurement_duration: e.trials[0].iterations for e in m.entries}
    big = iters[0.0045]
    # calibration (1 + 3), warmup trials once (2 x big), trials of (1 warmup call + window)
    expected = 4 + 2 * big + 2 * (1 + big) + 2 * (1 + iters[0.0025]) + 3 * 2 * (1 + big)
    assert work.calls == expected
    text = caplog.text
    assert "Calibrated iteration duration:" in text
    assert text.count("Running 2 warmup trial(s)") == 1
    assert "Sweeping cooldown_duration (measurement fixed at 0.0 s)" in text
    assert "Sweep cooldown_duration (fixed measurement_duration=0.0 s):" in text


# ---- Failures and bad arguments ---------------------------------------------------------------


class Boom(Exception):
    pass


def test_workload_exception_propagates_and_stops(fake, noop_sync):
    mon = exact_monitor(fake, noop_sync)
    calls = []

    def work():
        calls.append(1)
        if len(calls) == 8:
            raise Boom("step 8")

    with pytest.raises(Boom, match="step 8"):
        profile_measurement_duration(work, mon, [0.0045], cooldown_duration=0.0, num_trials=3, **QUICK)
    assert len(calls) == 8
    assert mon.measurement_states == {}
    mon.begin_window("__zeus_profile_run_trial")  # no window was left open


def test_sync_exception_propagates(fake):
    fake.reset("gpus=1")

    def sync(gpus):
        raise Boom("sync failed")

    mon = ZeusMonitor(gpu_indices=[0], sync_execution_with=sync, direct_reads=True)
    work = Workload()
    with pytest.raises(Boom, match="sync failed"):
        measure(work, mon, 0.01, 0, num_warmup_iterations=1, num_calibration_iterations=2)
    assert work.calls == 1  # the calibration warmup, then the sync raised


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(measurement_duration_search_range=[]), "is empty"),
        (dict(measurement_duration_search_range=[1.0, -2.0]), r"measurement_durations_s\[1\]"),
        (dict(num_trials=0), "num_trials is 0"),
        (dict(cooldown_duration=-1.0), "cooldown_duration_s must be"),
        (dict(trial_stddev_threshold=float("nan")), "trial_stddev_threshold_j"),
        (dict(num_calibration_iterations=0), "cannot be calibrated"),
        (dict(num_trials=-1), "num_trials must be a non-negative int"),
    ],
)
def test_bad_arguments_raise_value_error_before_any_call(fake, noop_sync, kwargs, match):
    mon = exact_monitor(fake, noop_sync)
    work = Workload()
    with pytest.raises(ValueError, match=match):
        profile_measurement_duration(work, mon, **kwargs)
    assert work.calls == 0


def test_invalid_argument_class_and_types(fake, noop_sync):
    mon = exact_monitor(fake, noop_sync)
    with pytest.raises(ZeusInvalidArgumentError):
        measure(Workload(), mon, -1.0, 0.0)
    with pytest.raises(TypeError, match="zeusc.ZeusMonitor"):
        measure(Workload(), object(), 1.0, 0.0)
    with pytest.raises(TypeError, match="callable"):
        measure(42, mon, 1.0, 0.0)
    mon.close()
    with pytest.raises(ValueError, match="closed"):
        measure(Workload(), mon, 1.0, 0.0)


# ---- Threads and distributed runs ----------------------------------------------------------------


def test_cooldown_releases_the_gil(fake, noop_sync):
    mon = exact_monitor(fake, noop_sync)
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.005)

    thread = threading.Thread(target=ticker)
    thread.start()
    try:
        start = time.monotonic()
        measure(Workload(), mon, 0.0045, 0.3, num_warmup_iterations=0, num_calibration_iterations=1)
    finally:
        stop.set()
        thread.join()
    assert sum(1 for t in ticks if t > start + 0.05) >= 10  # it ran during the cooldown


class FakeDist(types.SimpleNamespace):
    """torch.distributed for two identical ranks: SUM doubles, MAX keeps."""

    class ReduceOp:
        SUM = "SUM"
        MAX = "MAX"

    def __init__(self, rank):
        super().__init__(rank=rank, calls=[])

    def is_available(self):
        return True

    def is_initialized(self):
        return True

    def get_backend(self):
        return "gloo"

    def get_rank(self):
        return self.rank

    def all_reduce(self, tensor, op):
        self.calls.append((op, list(tensor.values), tensor.device))
        if op == self.ReduceOp.SUM:
            tensor.values = [2 * v for v in tensor.values]


class FakeTensor:
    def __init__(self, values, dtype, device):
        self.values, self.dtype, self.device = list(values), dtype, device

    def cpu(self):
        return self

    def tolist(self):
        return list(self.values)


@pytest.fixture
def fake_torch(monkeypatch):
    torch = types.ModuleType("torch")
    torch.float64 = "float64"
    torch.tensor = FakeTensor
    monkeypatch.setitem(sys.modules, "torch", torch)
    return torch


@pytest.mark.parametrize("rank", [0, 1])
def test_distributed_reductions_and_rank_zero_logging(fake, noop_sync, fake_torch, caplog, rank):
    fake_torch.distributed = dist = FakeDist(rank)
    mon = exact_monitor(fake, noop_sync)
    work = Workload(fake, mj=[100], per_trial=5)
    with caplog.at_level(logging.INFO, logger="zeusc.profile"):
        report = profile_measurement_duration(work, mon, [0.0045], cooldown_duration=0.0, num_trials=1, **QUICK)
    trial = report.entries[0].trials[0]
    assert trial.energy_per_iter == pytest.approx(2 * 0.100)  # summed over two ranks
    assert trial.temperature_before == 50.0  # averaged: (50 + 50) / (1 + 1)
    assert [op for op, _, _ in dist.calls] == ["SUM", "MAX"]
    assert dist.calls[0][1][3] == 1.0 and dist.calls[0][2] == "cpu"  # one per rank; gloo on CPU
    assert ("Trial 1/1 done" in caplog.text) == (rank == 0)


def test_torch_without_process_group_reduces_nothing(fake, noop_sync, fake_torch):
    fake_torch.distributed = types.SimpleNamespace(is_available=lambda: True, is_initialized=lambda: False)
    mon = exact_monitor(fake, noop_sync)
    report = profile_measurement_duration(
        Workload(fake, mj=[100], per_trial=5), mon, [0.0045], cooldown_duration=0.0, num_trials=1, **QUICK)
    assert report.entries[0].energy_mean == pytest.approx(0.100)


def test_module_paths():
    import zeusc.profile as p

    assert p.measure is measure and zeusc.profile is p
