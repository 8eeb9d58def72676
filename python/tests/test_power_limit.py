"""zeusc.optimizer.power_limit against Zeus's own test (tests/optimizer/test_power_limit_optimizer.py):
the 12 recorded profiles x eta x four interrupt patterns, replayed through zeusc's
ReplayZeusMonitor as Zeus replays them through its own, with the limits recorded by the fake
NVML (Zeus mocks pynvml instead). Then the reload cases, validation, the profile file as Zeus
writes it, a custom selector, a zeusc.ZeusMonitor driving it, and the Hugging Face callback.
"""

from __future__ import annotations

import contextlib
import csv
import importlib
import inspect
import json
import sys
import types
from pathlib import Path

import pytest

import zeusc
from zeusc.optimizer import power_limit as pl
from zeusc.optimizer.power_limit import (
    Done,
    Energy,
    GlobalPowerLimitOptimizer,
    MaxSlowdownConstraint,
    OptimumSelector,
    PowerLimitMeasurement,
    Ready,
    Time,
    ZeusCost,
)
from zeusc.utils.testing import ReplayZeusMonitor

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "zeus-profile-data"
PROFILES = sorted(DATA.glob("*.csv"))


class ReplayLog:
    """The optimum from the recorded log, computed as Zeus's test computes it."""

    def __init__(self, path: Path) -> None:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
        header, rows = rows[0], rows[1:]
        self.path = path
        self.gpu_indices = [int(c[3 : c.index("_")]) for c in header[3:]]
        self.power_limits = [int(r[1].split("_")[-1]) for r in rows]
        self.time = [float(r[2]) for r in rows]
        self.energy = [sum(float(x) for x in r[3:]) for r in rows]

    def _argmin(self, values) -> int:
        return self.power_limits[min(range(len(values)), key=lambda i: values[i])]

    def zeus_cost(self, eta: float) -> int:
        max_power = max(self.power_limits) * len(self.gpu_indices)
        return self._argmin([eta * e + (1 - eta) * max_power * t for e, t in zip(self.energy, self.time)])

    def energy_optimum(self) -> int:
        return self._argmin(self.energy)

    def time_optimum(self) -> int:
        return self._argmin(self.time)

    def max_slowdown(self, factor: float) -> int:
        shortest = self.time[self.power_limits.index(max(self.power_limits))]
        return min(p for p, t in zip(self.power_limits, self.time) if t <= shortest * factor)


def training_loop(plo, steps_per_epoch: int, num_epochs: int, wait_steps: int = 0) -> None:
    for epoch in range(num_epochs):
        plo.on_epoch_begin()
        for step in range(steps_per_epoch):
            plo.on_step_begin()
            if wait_steps > 0 and epoch == 0 and step < wait_steps:
                assert isinstance(plo.state, Ready)
            plo.on_step_end()
        plo.on_epoch_end()


def fake_gpus(fake, log: ReplayLog, start_w: int | None = None) -> None:
    """The profile's GPUs and range, at `start_w` (the minimum unless given) so that the first
    set is a real call."""
    lo, hi = min(log.power_limits), max(log.power_limits)
    fake.reset(f"gpus={len(log.gpu_indices)};limit_min_w={lo};limit_max_w={hi};limit_default_w={start_w or lo}")


def expected_calls(log: ReplayLog, pls_per_epoch: int, optimal: int) -> list[tuple[int, int]]:
    """Zeus's call list: scan down from the max; each interruption resets to the max and retries."""
    calls, limits, power_limit = [], sorted(log.power_limits, reverse=True), -1
    while limits:
        for _ in range(pls_per_epoch + 1):
            if not limits:
                break
            power_limit = limits.pop(0)
            calls += [(i, power_limit * 1000) for i in sorted(log.gpu_indices)]
        else:
            calls += [(i, max(log.power_limits) * 1000) for i in sorted(log.gpu_indices)]
            limits.insert(0, power_limit)
    if power_limit != optimal:
        calls += [(i, optimal * 1000) for i in sorted(log.gpu_indices)]
    return calls


@pytest.mark.parametrize("path", PROFILES, ids=[p.name for p in PROFILES])
@pytest.mark.parametrize("eta_knob", [0.00, 0.25, 0.50, 0.75, 1.00])
@pytest.mark.parametrize("num_interrupts", [0, 1, 2, "every time"])
def test_power_limit_optimizer(fake, tmp_path, path, eta_knob, num_interrupts):
    log = ReplayLog(path)
    fake_gpus(fake, log)
    monitor = ReplayZeusMonitor(log_file=path, ignore_sync_execution=True, match_window_name=False)
    assert monitor.gpu_indices == log.gpu_indices
    profile = tmp_path / "power_limit_optimizer.json"
    selector = ZeusCost(eta_knob=eta_knob, world_size=len(monitor.gpu_indices))
    plo = GlobalPowerLimitOptimizer(
        monitor, optimum_selector=selector, wait_steps=1, warmup_steps=10, profile_steps=40, pl_step=25,
        profile_path=profile,
    )
    n = len(log.power_limits)
    per_epoch, steps, epochs = {
        0: (n, 50 * n + 10, 3),
        1: (n // 2, 50 * (n // 2) + 5, 4),
        2: (n // 3, 50 * (n // 3) + 15, 5),
        "every time": (1, 100, n + 2),
    }[num_interrupts]
    training_loop(plo, steps, epochs, wait_steps=1)

    optimal = log.zeus_cost(eta_knob)
    assert plo.state == Done(optimal_power_limit=optimal * 1000)
    assert fake.power_limit_log() == expected_calls(log, per_epoch, optimal)

    # Reload with each selector: Done at once, at the choice Zeus's test computes.
    for sel, want in [(Energy(), log.energy_optimum()), (Time(), log.time_optimum())] + [
        (MaxSlowdownConstraint(factor=f), log.max_slowdown(f)) for f in [1.0, 1.1, 1.2, 1.5, 2.0, 3.0, 5.0, 100.0]
    ]:
        other = GlobalPowerLimitOptimizer(monitor, optimum_selector=sel, profile_path=profile)
        assert isinstance(other.state, Done)
        assert other.state.optimal_power_limit == want * 1000
        other.close()

    # A run from the saved profile sets only the optimum.
    plo.close()
    fake_gpus(fake, log, max(log.power_limits) if optimal == min(log.power_limits) else None)
    plo = GlobalPowerLimitOptimizer(monitor, optimum_selector=selector, profile_path=profile)
    training_loop(plo, steps, 1)
    assert fake.power_limit_log() == [(i, optimal * 1000) for i in sorted(log.gpu_indices)]
    plo.close()


@contextlib.contextmanager
def fresh_power_limit_module():
    """A second copy of the module, imported now (transformers is looked up at import), while
    the one the rest of the tests use stays in place."""
    name = "zeusc.optimizer.power_limit"
    original = sys.modules.pop(name)
    try:
        yield importlib.import_module(name)
    finally:
        sys.modules[name] = original
        zeusc.optimizer.power_limit = original


def test_HFGPLO_signature_equivalence():
    assert inspect.signature(GlobalPowerLimitOptimizer.__init__) == inspect.signature(
        pl.HFGlobalPowerLimitOptimizer.__init__
    )


def test_hf_callback_with_an_injected_transformers(monkeypatch, fake, tmp_path):
    trainer_callback = types.ModuleType("transformers.trainer_callback")

    class TrainerCallback:
        pass

    trainer_callback.TrainerCallback = TrainerCallback
    transformers = types.ModuleType("transformers")
    transformers.trainer_callback = trainer_callback
    monkeypatch.setitem(sys.modules, "transformers", transformers)
    monkeypatch.setitem(sys.modules, "transformers.trainer_callback", trainer_callback)
    with fresh_power_limit_module() as mod:
        log = ReplayLog(PROFILES[0])
        fake_gpus(fake, log)
        monitor = ReplayZeusMonitor(log_file=PROFILES[0], ignore_sync_execution=True, match_window_name=False)
        cb = mod.HFGlobalPowerLimitOptimizer(monitor, wait_steps=0, warmup_steps=1, profile_steps=1)
        assert isinstance(cb, TrainerCallback)
        for _ in range(2 * len(log.power_limits) + 1):
            cb.on_step_begin(None, None, None)
        cb.on_epoch_end(None, None, None)
        assert isinstance(cb.optimizer.state, mod.Done)
        cb.optimizer.close()


def test_hf_without_transformers_is_an_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)
    monkeypatch.setitem(sys.modules, "transformers.trainer_callback", None)
    with fresh_power_limit_module() as mod, pytest.raises(ImportError, match="transformers"):
        mod.HFGlobalPowerLimitOptimizer(None)


# ---- Validation and edges ------------------------------------------------------------------------


def test_validation_follows_zeus(fake):
    monitor = zeusc.ZeusMonitor(direct_reads=True, sync_execution_with=lambda gpus: None)
    for kwargs in [{"wait_steps": -1}, {"warmup_steps": -1}, {"profile_steps": 0}, {"pl_step": 0}]:
        with pytest.raises(ValueError):
            GlobalPowerLimitOptimizer(monitor, **kwargs)
    with pytest.raises(ValueError):
        ZeusCost(eta_knob=1.1)
    with pytest.raises(ValueError):
        ZeusCost(eta_knob=0.5, world_size=0)
    with pytest.raises(ValueError):
        MaxSlowdownConstraint(factor=0.99)
    with pytest.raises(ValueError):
        PowerLimitMeasurement(power_limit=0, energy=1.0, time=1.0)
    monitor.close()


def test_no_permission_names_the_fix(fake):
    fake.reset("gpus=1;root=0")
    monitor = zeusc.ZeusMonitor(direct_reads=True, sync_execution_with=lambda gpus: None)
    with pytest.raises(zeusc.ZeusError, match="CAP_SYS_ADMIN"):
        GlobalPowerLimitOptimizer(monitor)
    monitor.close()


def test_zeusc_monitor_drives_it_with_zero_warmup(fake, tmp_path):
    """warmup_steps=0 crashes Zeus; here each limit's measurement starts at the step that sets it."""
    fake.reset("gpus=2;limit_min_w=600;limit_default_w=600;power_w=300")
    monitor = zeusc.ZeusMonitor(sync_execution_with=lambda gpus: None)  # sampled
    plo = GlobalPowerLimitOptimizer(
        monitor, optimum_selector=Energy(), wait_steps=0, warmup_steps=0, profile_steps=2, pl_step=50,
        profile_path=tmp_path / "p.json",
    )
    assert plo.power_limits == [700000, 650000, 600000]
    import time

    for _ in range(7):
        plo.on_step_begin()
        time.sleep(0.06)
    assert isinstance(plo.state, Done)
    assert [m.power_limit for m in plo.measurements] == [700, 650, 600]
    assert all(m.energy > 0 and m.time > 0.1 for m in plo.measurements)
    assert fake.power_limit_mw(0) == plo.state.optimal_power_limit
    plo.close()
    assert fake.power_limit_mw(0) == 700000
    monitor.close()


def test_custom_selector_and_its_errors(fake, tmp_path):
    class Lowest(OptimumSelector):
        def select(self, measurements):
            return min(m.power_limit for m in measurements)

    class Broken(OptimumSelector):
        def select(self, measurements):
            raise RuntimeError("my selector broke")

    path = tmp_path / "p.json"
    path.write_text(json.dumps({"measurements": [
        {"power_limit": 700, "energy": 10.0, "time": 1.0},
        {"power_limit": 650, "energy": 20.0, "time": 2.0},
    ]}, indent=4))
    fake.reset("gpus=1;limit_min_w=650")
    monitor = zeusc.ZeusMonitor(direct_reads=True, sync_execution_with=lambda gpus: None)
    plo = GlobalPowerLimitOptimizer(monitor, optimum_selector=Lowest(), profile_path=path)
    assert plo.state == Done(optimal_power_limit=650000)
    plo.close()
    with pytest.raises(RuntimeError, match="my selector broke"):
        GlobalPowerLimitOptimizer(monitor, optimum_selector=Broken(), profile_path=path)
    monitor.close()


def test_profile_file_is_what_zeus_writes(fake, tmp_path):
    """Zeus writes pydantic's .json(indent=4), which is json.dumps(indent=4): the same bytes."""
    log = ReplayLog(PROFILES[3])
    fake_gpus(fake, log)
    monitor = ReplayZeusMonitor(log_file=PROFILES[3], ignore_sync_execution=True, match_window_name=False)
    path = tmp_path / "p.json"
    plo = GlobalPowerLimitOptimizer(monitor, profile_path=path, wait_steps=0, warmup_steps=1, profile_steps=1)
    for _ in range(2 * len(log.power_limits) + 1):
        plo.on_step_begin()
    assert isinstance(plo.state, Done)
    text = path.read_text()
    data = json.loads(text)
    assert json.dumps(data, indent=4) == text
    assert [m["power_limit"] for m in data["measurements"]] == log.power_limits
    assert [m["energy"] for m in data["measurements"]] == pytest.approx(log.energy)
    plo.close()


def test_bad_profile_is_an_error_naming_the_field(fake, tmp_path):
    path = tmp_path / "p.json"
    path.write_text('{"measurements": [{"power_limit": 300, "energy": -1, "time": 1}]}')
    monitor = zeusc.ZeusMonitor(direct_reads=True, sync_execution_with=lambda gpus: None)
    with pytest.raises(ValueError, match=r"measurements\[0\]\.energy"):
        GlobalPowerLimitOptimizer(monitor, profile_path=path)
    monitor.close()


def test_collected_optimizer_restores_the_maximum(fake):
    """Dropping the optimizer without close() puts the maximum back, as close() does."""
    import gc

    log = ReplayLog(PROFILES[0])
    fake_gpus(fake, log)
    monitor = ReplayZeusMonitor(log_file=PROFILES[0], ignore_sync_execution=True, match_window_name=False)
    plo = GlobalPowerLimitOptimizer(monitor, wait_steps=0, warmup_steps=1, profile_steps=1)
    for _ in range(3):  # the maximum measured, the next limit set
        plo.on_step_begin()
    assert fake.power_limit_mw(0) == log.power_limits[1] * 1000
    del plo
    gc.collect()
    assert fake.power_limit_mw(0) == max(log.power_limits) * 1000
