"""Grace Hopper and MIG through zeusc, on the fake NVML: a GPU whose power answers only at
module scope, and a MIG slice named in CUDA_VISIBLE_DEVICES, each warn once when the monitor
is built and flag every window (zeusc.ENERGY_MODULE_SCOPE, zeusc.ENERGY_WHOLE_GPU)."""

from __future__ import annotations

import pytest

import zeusc
from zeusc import ZeusMonitor
from zeusc.device import get_gpus
from zeusc.device.gpu import ZeusGPUInitError

MIG_UUID = "MIG-{:08x}-6d1a-4c2e-9f3b-{:012x}"  # tests/fakes/fake_nvml.h FAKE_MIG_UUID_FORMAT


def window(mon: ZeusMonitor, fake, gpus: list[int], joules: float):
    for g in gpus:
        fake.set_energy_mj(g, 1000)
    mon.begin_window("w")
    for g in gpus:
        fake.add_energy_mj(g, int(joules * 1000))
    return mon.end_window("w")


def test_gh200_module_scope_warns_and_flags(fake, noop_sync):
    fake.reset("gpus=2;gpu1.name=NVIDIA GH200 480GB;gpu1.module_scope=1")
    with pytest.warns(zeusc.ZeusWarning, match=r"GPU 1 .*entire module \(CPU \+ GPU\)"):
        mon = ZeusMonitor(sync_execution_with=noop_sync, direct_reads=True)
    m = window(mon, fake, [0, 1], 2.5)
    assert m.gpu_energy[1] == pytest.approx(2.5)
    assert m.gpu_flags[1] & zeusc.ENERGY_MODULE_SCOPE
    assert not m.gpu_flags[0] & zeusc.ENERGY_MODULE_SCOPE
    assert not m.gpu_flags[1] & zeusc.ENERGY_WHOLE_GPU


def test_mig_slice_measures_its_whole_gpu(fake, monkeypatch, noop_sync):
    fake.reset("gpus=2;gpu1.mig=1")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", MIG_UUID.format(1, 1))
    with pytest.warns(zeusc.ZeusWarning, match="MIG mode.*whole physical GPU"):
        mon = ZeusMonitor(sync_execution_with=noop_sync, direct_reads=True)
    assert mon.gpu_indices == [0]
    fake.set_energy_mj(0, 0)
    m = window(mon, fake, [1], 4.0)  # physical GPU 1 is framework GPU 0
    assert m.gpu_energy[0] == pytest.approx(4.0)
    assert m.gpu_flags[0] & zeusc.ENERGY_WHOLE_GPU
    assert m.gpu_flags[0] & zeusc.ENERGY_VALID


def test_unknown_mig_slice_is_refused_by_name(fake, monkeypatch):
    fake.reset("gpus=1;mig=1")  # slices 0 and 1 only
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", MIG_UUID.format(0, 5))
    with pytest.raises(ZeusGPUInitError, match=MIG_UUID.format(0, 5)):
        get_gpus()
