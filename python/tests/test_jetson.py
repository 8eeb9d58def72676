"""Jetson SoC energy through zeusc: Measurement.soc_energy is Zeus's JetsonMeasurement (mJ)
on a fake Orin NX tree (ZEUS_JETSON=1, ZEUS_SYSFS_ROOT), None elsewhere; the Jetson class's
cumulative readings and windows; get_soc()."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

import zeusc.device.soc as soc
from zeusc.device import _handle
from zeusc.device.soc.jetson import Jetson, JetsonMeasurement
from zeusc.monitor import ZeusMonitor

RAILS = "bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon1"


class Board:
    """An Orin NX's INA3221 (in<i>_label layout): VDD_IN (total) and VDD_CPU_GPU_CV (cpu)."""

    def __init__(self, root: Path) -> None:
        self.dir = root / RAILS
        self.dir.mkdir(parents=True)
        self.write("in1_label", "VDD_IN\n")
        self.write("power1_input", "8000\n")
        self.write("in2_label", "VDD_CPU_GPU_CV\n")
        self.write("power2_input", "2000\n")

    def write(self, name: str, text: str) -> None:
        tmp = self.dir / (name + ".new")
        tmp.write_text(text)
        tmp.replace(self.dir / name)  # readers never see half a file, as in sysfs


@pytest.fixture
def board(monkeypatch, tmp_path):
    root = tmp_path / "sys"
    b = Board(root)
    monkeypatch.setenv("ZEUS_SYSFS_ROOT", str(root))
    monkeypatch.setenv("ZEUS_JETSON", "1")
    monkeypatch.setenv("ZEUS_JETSON_PERIOD_MS", "2")
    _handle.reset()
    soc._soc = None
    yield b
    _handle.reset()
    soc._soc = None


def test_measurement_soc_energy_is_jetson_measurement(board, noop_sync):
    mon = ZeusMonitor(gpu_indices=[], cpu_indices=[], sync_execution_with=noop_sync,
                      direct_reads=True)
    mon.begin_window("w")
    time.sleep(0.2)
    m = mon.end_window("w")
    e = m.soc_energy
    assert isinstance(e, JetsonMeasurement)
    assert e.total_energy_mj == pytest.approx(8.0 * m.time * 1e3, rel=0.01)
    assert e.cpu_energy_mj == pytest.approx(2.0 * m.time * 1e3, rel=0.01)
    assert e.gpu_energy_mj is None  # the board has no GPU rail (Zeus: None)
    assert m.total_energy == 0  # GPUs only, as in Zeus

    mon.begin_window("c")
    cancelled = mon.end_window("c", cancel=True)
    assert cancelled.soc_energy == JetsonMeasurement(0.0, None, 0.0)


def test_failed_rail_is_nan_not_zero(board, noop_sync):
    mon = ZeusMonitor(gpu_indices=[], cpu_indices=[], sync_execution_with=noop_sync,
                      direct_reads=True)
    mon.begin_window("w")
    board.write("power2_input", "garbage\n")
    with pytest.warns(Warning, match="cpu rail could not be read"):
        m = mon.end_window("w")
    assert math.isnan(m.soc_energy.cpu_energy_mj)
    assert m.soc_energy.total_energy_mj > 0


def test_jetson_class_windows(board):
    assert soc.jetson_is_available()
    j = soc.get_soc()
    assert isinstance(j, Jetson) and soc.get_soc() is j
    assert j.get_available_metrics() == {"cpu_energy_mj", "total_energy_mj"}
    a = j.get_total_energy_consumption()
    j.begin_window("w")
    with pytest.raises(KeyError):
        j.begin_window("w")
    time.sleep(0.1)
    d = j.end_window("w")
    b = j.get_total_energy_consumption()
    assert b.total_energy_mj >= a.total_energy_mj + d.total_energy_mj * 0.99
    assert d.total_energy_mj == pytest.approx(4.0 * d.cpu_energy_mj, rel=0.01)
    with pytest.raises(KeyError):
        j.end_window("w")


def test_jetson_measurement_arithmetic():
    d = JetsonMeasurement(5.0, None, 9.0) - JetsonMeasurement(2.0, None, 4.0)
    assert d == JetsonMeasurement(3.0, None, 5.0)
    d.zero_all_fields()
    assert d == JetsonMeasurement(0.0, None, 0.0)
    with pytest.raises(TypeError):
        JetsonMeasurement() - 1


def test_no_jetson(monkeypatch, noop_sync):
    monkeypatch.setenv("ZEUS_JETSON", "0")
    _handle.reset()
    soc._soc = None
    assert not soc.jetson_is_available()
    with pytest.raises(soc.ZeusSoCInitError):
        soc.get_soc()
    with pytest.raises(soc.ZeusJetsonInitError):
        Jetson()
    mon = ZeusMonitor(gpu_indices=[], cpu_indices=[], sync_execution_with=noop_sync)
    mon.begin_window("w")
    assert mon.end_window("w").soc_energy is None
    _handle.reset()


def test_show_env_reports_the_jetson(board):
    from zeusc import show_env

    text = show_env.report()
    assert "## SoC availability\nNVIDIA Jetson SoC available.\n" in text
    assert "Available metrics: cpu_energy_mj, total_energy_mj\n" in text
    assert "jetson: 1 SOC(s)" in text


def test_sampled_mode_with_gpus_carries_soc_energy(board, fake, noop_sync):
    """The default (sampled) monitor over the fake GPUs: the SoC rides along, provisional
    and final alike, and the GPUs are reported as before."""
    mon = ZeusMonitor(sync_execution_with=noop_sync)
    mon.begin_window("w")
    time.sleep(0.2)
    m = mon.end_window("w")
    final = mon.get_final(m, timeout=2.0)
    for r in (m, final):
        assert set(r.gpu_energy) == {0, 1}
        assert r.soc_energy.total_energy_mj == pytest.approx(8.0 * r.time * 1e3, rel=0.01)
    assert final.soc_energy == m.soc_energy  # the SoC edges were read at end_window
