"""sync_execution_with: the framework is imported only when first needed (Zeus's
zeus.utils.framework.sync_execution), a missing one is Zeus's RuntimeError, and a fake
module injected into sys.modules stands in for torch, jax and cupy."""

from __future__ import annotations

import sys
import types

import pytest

import zeusc
from zeusc import ZeusMonitor


def fake_torch(calls: list, cuda: bool = True) -> types.ModuleType:
    torch = types.ModuleType("torch")
    torch.cuda = types.SimpleNamespace(is_available=lambda: cuda, synchronize=lambda i: calls.append(("torch", i)))
    return torch


def test_framework_is_not_imported_at_construction(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    mon = ZeusMonitor()  # default "torch": nothing imported yet
    mon.begin_window("nosync", sync_execution=False)
    mon.end_window("nosync", sync_execution=False)


def test_missing_torch_is_runtime_error_and_opens_no_window(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    mon = ZeusMonitor()
    with pytest.raises(RuntimeError, match="Failed to import Pytorch"):
        mon.begin_window("w")
    assert mon.open_window_count() == 0
    mon.begin_window("w", sync_execution=False)
    with pytest.raises(RuntimeError, match="Failed to import Pytorch"):
        mon.end_window("w")
    assert mon.open_window_count() == 1  # resolved before the library was called: still open


def test_missing_jax_and_cupy(monkeypatch):
    for name, label in (("jax", "JAX"), ("cupy", "CuPy")):
        monkeypatch.setitem(sys.modules, name, None)
        mon = ZeusMonitor(sync_execution_with=name)
        with pytest.raises(RuntimeError, match=f"Failed to import {label}"):
            mon.begin_window("w")


def test_no_gpus_never_syncs(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    mon = ZeusMonitor(gpu_indices=[])
    mon.begin_window("w")
    assert mon.end_window("w").gpu_energy == {}


def test_torch_without_cuda(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", fake_torch([], cuda=False))
    with pytest.raises(RuntimeError, match="CUDA"):
        ZeusMonitor().begin_window("w")


def test_torch_syncs_every_gpu_at_begin_and_end(monkeypatch):
    calls: list = []
    monkeypatch.setitem(sys.modules, "torch", fake_torch(calls))
    mon = ZeusMonitor(gpu_indices=[1, 0])
    mon.begin_window("w")
    assert calls == [("torch", 1), ("torch", 0)]
    mon.end_window("w")
    assert calls == [("torch", 1), ("torch", 0)] * 2
    mon.begin_window("quiet", sync_execution=False)
    mon.end_window("quiet", sync_execution=False)
    assert len(calls) == 4
    with mon.window("cm"):
        pass
    assert len(calls) == 8


def test_jax_and_cupy_happy_paths(monkeypatch):
    calls: list = []
    jax = types.ModuleType("jax")

    class Scalar:
        def __init__(self, device):
            self.device = device

        def __add__(self, other):
            return self

    jax.devices = lambda kind: [f"{kind}{i}" for i in range(4)]
    jax.device_put = lambda x, device: Scalar(device)
    jax.block_until_ready = lambda xs: calls.append(("jax", [x.device for x in xs]))
    monkeypatch.setitem(sys.modules, "jax", jax)
    mon = ZeusMonitor(sync_execution_with="jax")
    mon.begin_window("w")
    assert calls == [("jax", ["gpu0", "gpu1", "cpu0"])]

    cupy = types.ModuleType("cupy")

    class Device:
        def __init__(self, i):
            self.i = i

        def synchronize(self):
            calls.append(("cupy", self.i))

    cupy.cuda = types.SimpleNamespace(Device=Device)
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    mon = ZeusMonitor(gpu_indices=[1], sync_execution_with="cupy")
    mon.begin_window("w")
    mon.end_window("w")
    assert calls[1:] == [("cupy", 1), ("cupy", 1)]


def test_callable_sync_gets_gpu_indices():
    seen = []
    mon = ZeusMonitor(sync_execution_with=seen.append)
    mon.begin_window("w")
    mon.end_window("w")
    assert seen == [[0, 1], [0, 1]]


def test_sync_error_propagates_and_leaves_no_window():
    state = {"fail": True}

    def sync(gpus):
        if state["fail"]:
            raise OSError("cuda went away")

    mon = ZeusMonitor(sync_execution_with=sync)
    with pytest.raises(OSError, match="cuda went away"):
        mon.begin_window("w")
    assert mon.open_window_count() == 0
    state["fail"] = False
    mon.begin_window("w")
    state["fail"] = True
    with pytest.raises(OSError, match="cuda went away"):
        mon.end_window("w")
    assert mon.open_window_count() == 0  # closed, as when Zeus's sync raises
    state["fail"] = False
    mon.begin_window("w")  # the name is free and the monitor still works
    mon.end_window("w")


def test_sync_with_direct_reads(fake):
    seen = []
    mon = ZeusMonitor(sync_execution_with=seen.append, direct_reads=True)
    mon.begin_window("w")
    fake.add_energy_mj(0, 10)  # manual counters from here
    fake.add_energy_mj(1, 10)
    m = mon.end_window("w")
    assert len(seen) == 2 and m.gpu_energy[0] >= 0


def test_gpu_indices_attribute_is_a_copy():
    mon = ZeusMonitor(sync_execution_with=lambda g: None)
    mon.gpu_indices.append(9)
    assert mon.gpu_indices == [0, 1]
    assert zeusc.ZeusMonitor is ZeusMonitor
