"""zeusc.callback, zeusc.utils.framework.sync_execution and zeusc.utils.testing's
ReplayZeusMonitor replaying a log that zeusc's ZeusMonitor wrote."""

from __future__ import annotations

import sys
import time
import types

import pytest

import zeusc
from zeusc.callback import Callback, CallbackSet
from zeusc.utils.framework import sync_execution
from zeusc.utils.testing import ReplayZeusMonitor


def test_callback_set_calls_each_callback_in_order():
    calls = []

    class Rec(Callback):
        def __init__(self, name):
            self.name = name

        def on_step_end(self):
            calls.append((self.name, "step_end"))

        def on_evaluate(self, metric):
            calls.append((self.name, metric))

    s = CallbackSet([Rec("a"), Rec("b")])
    s.on_train_begin()  # the base hooks do nothing
    s.on_step_end()
    s.on_evaluate(0.5)
    s.on_instruction_begin("forward")
    assert calls == [("a", "step_end"), ("b", "step_end"), ("a", 0.5), ("b", 0.5)]


def test_sync_execution_uses_the_framework(monkeypatch):
    synced = []
    torch = types.ModuleType("torch")
    torch.cuda = types.SimpleNamespace(is_available=lambda: True, synchronize=synced.append)
    monkeypatch.setitem(sys.modules, "torch", torch)
    sync_execution([0, 1], sync_with="torch")
    assert synced == [0, 1]


def test_sync_execution_without_the_framework(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)
    with pytest.raises(RuntimeError, match="Failed to import CuPy"):
        sync_execution([0], sync_with="cupy")


@pytest.mark.filterwarnings("ignore::zeusc.ZeusWarning")
def test_replay_reads_what_zeusc_wrote(tmp_path, fake, noop_sync):
    log = tmp_path / "log.csv"
    m = zeusc.ZeusMonitor(log_file=str(log), sync_execution_with=noop_sync)
    recorded = []
    for key in ["epoch,1", "step"]:
        m.begin_window(key)
        time.sleep(0.15)  # the fake's counters step every 100 ms at 300 W
        recorded.append(m.end_window(key, wait_final=True))
    m.close()

    r = ReplayZeusMonitor(log_file=log, ignore_sync_execution=True)
    assert r.gpu_indices == [0, 1]
    for key, want in zip(["epoch,1", "step"], recorded):
        r.begin_window(key)
        got = r.end_window(key)
        assert got.time == pytest.approx(want.time)
        assert got.gpu_energy == pytest.approx(want.gpu_energy)
        assert got.start_time == pytest.approx(want.start_time)
    r.begin_window("more")
    with pytest.raises(RuntimeError, match="No more lines"):
        r.end_window("more")


def test_replay_checks_names_and_duplicates(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("start_time,window_name,elapsed_time,gpu0_energy,gpu2_energy\n1.0,a,2.0,3.0,4.0\n")
    r = ReplayZeusMonitor(log_file=log, ignore_sync_execution=True)
    assert r.gpu_indices == [0, 2]
    r.begin_window("b")
    with pytest.raises(RuntimeError):
        r.begin_window("b")
    assert list(r.measurement_states) == ["b"]
    with pytest.raises(RuntimeError, match="Was expecting a, not b"):
        r.end_window("b")
    r.begin_window("c")
    assert r.end_window("c", cancel=True).gpu_energy == {0: 0.0, 2: 0.0}
    with pytest.raises(RuntimeError):
        r.end_window("c")
    with pytest.raises(ValueError):
        ReplayZeusMonitor(log_file=None)
