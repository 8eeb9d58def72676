"""Zeus's names beyond the monitors: zeusc.callback, zeusc.utils.framework.sync_execution and
zeusc.utils.testing.ReplayZeusMonitor replaying a log zeusc's own ZeusMonitor wrote."""

from __future__ import annotations

import pytest

from zeusc import ZeusMonitor
from zeusc.callback import Callback, CallbackSet
from zeusc.utils.framework import sync_execution
from zeusc.utils.testing import ReplayZeusMonitor

pytestmark = pytest.mark.filterwarnings("ignore:The energy consumption:zeusc.errors.ZeusWarning")


class Recorder(Callback):
    def __init__(self, name: str, calls: list) -> None:
        self.name, self.calls = name, calls

    def on_step_end(self) -> None:
        self.calls.append((self.name, "step_end"))

    def on_evaluate(self, metric: float) -> None:
        self.calls.append((self.name, metric))


def test_callback_set_calls_each_in_order_and_base_hooks_do_nothing():
    calls: list = []
    cbs = CallbackSet([Recorder("a", calls), Callback(), Recorder("b", calls)])
    for hook in ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
                 "on_step_begin"):
        getattr(cbs, hook)()
    cbs.on_step_end()
    cbs.on_evaluate(0.5)
    assert calls == [("a", "step_end"), ("b", "step_end"), ("a", 0.5), ("b", 0.5)]


def test_sync_execution_calls_a_function_with_the_gpu_list():
    seen = []
    sync_execution([0, 2], sync_with=seen.append)
    assert seen == [[0, 2]]
    with pytest.raises(RuntimeError):
        sync_execution([0], sync_with="no-such-framework")


def record(fake, noop_sync, path) -> list:
    """Windows measured by a real zeusc monitor, logged to `path`; their Measurements."""
    fake.set_energy_mj(0, 1000)
    fake.set_energy_mj(1, 5000)
    mon = ZeusMonitor(sync_execution_with=noop_sync, direct_reads=True, log_file=str(path))
    out = []
    for name, add0, add1 in (("step", 2000, 3000), ("a,b", 500, 0), ("step", 1, 7)):
        mon.begin_window(name)
        fake.add_energy_mj(0, add0)
        fake.add_energy_mj(1, add1)
        out.append((name, mon.end_window(name)))
    mon.close()
    return out


def test_replay_returns_what_the_monitor_logged(fake, noop_sync, tmp_path):
    log = tmp_path / "log.csv"
    recorded = record(fake, noop_sync, log)
    replay = ReplayZeusMonitor(log_file=log, ignore_sync_execution=True)
    assert replay.gpu_indices == [0, 1]
    for name, m in recorded:
        replay.begin_window(name)
        r = replay.end_window(name)
        assert r.time == pytest.approx(m.time, abs=1e-9)
        assert r.gpu_energy == pytest.approx(m.gpu_energy, abs=1e-9)
    replay.begin_window("more")
    with pytest.raises(RuntimeError, match="No more lines"):
        replay.end_window("more")


def test_replay_errors_follow_zeus(fake, noop_sync, tmp_path):
    log = tmp_path / "log.csv"
    record(fake, noop_sync, log)
    with pytest.raises(ValueError, match="cannot be `None`"):
        ReplayZeusMonitor()
    replay = ReplayZeusMonitor(log_file=log, ignore_sync_execution=True)
    replay.begin_window("x")
    with pytest.raises(RuntimeError, match="already ongoing"):
        replay.begin_window("x")
    with pytest.raises(RuntimeError, match="not ongoing"):
        replay.end_window("y")
    cancelled = replay.end_window("x", cancel=True)  # consumes no row
    assert cancelled.time == 0.0 and cancelled.gpu_energy == {0: 0.0, 1: 0.0}
    replay.begin_window("wrong")
    with pytest.raises(RuntimeError, match="Was expecting step, not wrong"):
        replay.end_window("wrong")
