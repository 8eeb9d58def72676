"""Fixtures for the zeusc tests: the fake NVML, fake RAPL trees, and a clean environment.

The fake NVML (tests/fakes/fake_nvml.c, built as <build>/libnvidia-ml-fake.so.1) is loaded by
libzeus through ZEUS_NVML_LIBRARY, once per process, so the variable is set here before
zeusc is imported. The tests script it through its fake_nvml_* control functions with
ctypes: dlopen of the same path returns the copy libzeus already loaded (or will load), so
both see the same devices.

The build folder comes from ZEUS_BUILD_DIR (scripts/test-python.sh sets it), else <repo>/build.
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("ZEUS_BUILD_DIR") or ROOT / "build").resolve()
FAKE_PATH = BUILD / "libnvidia-ml-fake.so.1"
DEFAULT_SPEC = "gpus=2;power_w=300"

os.environ["ZEUS_NVML_LIBRARY"] = str(FAKE_PATH)
os.environ["ZEUS_FAKE_NVML"] = DEFAULT_SPEC
for _var in ("CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES"):
    os.environ.pop(_var, None)
# The in-place build under python/ wins over anything installed.
sys.path.insert(0, str(ROOT / "python"))

if not FAKE_PATH.exists():
    pytest.exit(f"no fake NVML at {FAKE_PATH}: build the library first (make build)", returncode=1)

NVML_ERROR_GPU_IS_LOST = 15


class FakeNVML:
    """The fake NVML's control API (tests/fakes/fake_nvml.h) through ctypes."""

    def __init__(self, path: Path) -> None:
        self.lib = lib = ctypes.CDLL(str(path), mode=os.RTLD_NOW | os.RTLD_LOCAL)
        lib.fake_nvml_reset.argtypes = [ctypes.c_char_p]
        lib.fake_nvml_reset.restype = ctypes.c_int
        lib.fake_nvml_set_energy_mj.argtypes = [ctypes.c_uint, ctypes.c_ulonglong]
        lib.fake_nvml_add_energy_mj.argtypes = [ctypes.c_uint, ctypes.c_ulonglong]
        lib.fake_nvml_set_power_mw.argtypes = [ctypes.c_uint, ctypes.c_uint]
        lib.fake_nvml_set_temperature_c.argtypes = [ctypes.c_uint, ctypes.c_uint]
        lib.fake_nvml_fail.argtypes = [ctypes.c_char_p, ctypes.c_uint, ctypes.c_int, ctypes.c_int]
        lib.fake_nvml_call_count.argtypes = [ctypes.c_char_p]
        lib.fake_nvml_call_count.restype = ctypes.c_ulonglong
        lib.fake_nvml_last_error.restype = ctypes.c_char_p
        lib.fake_nvml_power_limit_log.argtypes = [
            ctypes.POINTER(ctypes.c_uint), ctypes.POINTER(ctypes.c_uint), ctypes.c_size_t]
        lib.fake_nvml_power_limit_log.restype = ctypes.c_size_t
        lib.fake_nvml_power_limit_mw.argtypes = [ctypes.c_uint]
        lib.fake_nvml_power_limit_mw.restype = ctypes.c_uint

    def reset(self, spec: str = DEFAULT_SPEC) -> None:
        if self.lib.fake_nvml_reset(spec.encode()) != 0:
            raise ValueError(f"fake_nvml_reset({spec!r}): {self.lib.fake_nvml_last_error().decode()}")

    def set_energy_mj(self, gpu: int, mj: int) -> None:
        self.lib.fake_nvml_set_energy_mj(gpu, mj)

    def add_energy_mj(self, gpu: int, mj: int) -> None:
        self.lib.fake_nvml_add_energy_mj(gpu, mj)

    def set_power_w(self, gpu: int, watts: float) -> None:
        self.lib.fake_nvml_set_power_mw(gpu, int(watts * 1000))

    def set_temperature_c(self, gpu: int, celsius: int) -> None:
        self.lib.fake_nvml_set_temperature_c(gpu, celsius)

    def fail(self, function: str, gpu: int, nvml_return: int, times: int = -1) -> None:
        self.lib.fake_nvml_fail(function.encode(), gpu, nvml_return, times)

    def power_limit_log(self) -> list[tuple[int, int]]:
        """Every (GPU, mW) nvmlDeviceSetPowerManagementLimit set since the last reset."""
        n = self.lib.fake_nvml_power_limit_log(None, None, 0)
        gpu, mw = (ctypes.c_uint * max(n, 1))(), (ctypes.c_uint * max(n, 1))()
        self.lib.fake_nvml_power_limit_log(gpu, mw, n)
        return list(zip(gpu[:n], mw[:n]))

    def power_limit_mw(self, gpu: int) -> int:
        return self.lib.fake_nvml_power_limit_mw(gpu)

    def call_count(self, function: str) -> int:
        return self.lib.fake_nvml_call_count(function.encode())


_FAKE = FakeNVML(FAKE_PATH)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    """Every test starts with the default fake GPUs and no RAPL tree (not the host's).

    Monitors a test left in reference cycles (an exception's traceback holds its frame) are
    collected first: their samplers share libzeus's per-GPU channels, and a channel that saw
    the old counter would take the reset fake's counter, back at 0, for a failing GPU."""
    gc.collect()
    _FAKE.reset(DEFAULT_SPEC)
    monkeypatch.setenv("ZEUS_SYSFS_ROOT", str(tmp_path / "no-sysfs"))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    yield
    _FAKE.fail("*", 0xFFFFFFFF, 0, 0)


@pytest.fixture
def fake() -> FakeNVML:
    return _FAKE


def _noop_sync(gpus):
    return None


@pytest.fixture
def noop_sync():
    """A sync_execution_with callable for tests that do not test syncing (no torch here)."""
    return _noop_sync


class RaplTree:
    """A fake powercap tree under ZEUS_SYSFS_ROOT, laid out as tests/support/sysfs_tree.c does."""

    CONTROL = "devices/virtual/powercap/intel-rapl"

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "class/powercap").mkdir(parents=True, exist_ok=True)

    def _rel(self, zone: str) -> str:
        parts = zone.split(":")
        if len(parts) > 2:
            return f"{self._rel(':'.join(parts[:-1]))}/{zone}"
        return f"{self.CONTROL}/{zone}"

    def _link(self, name: str, rel: str) -> None:
        link = self.root / "class/powercap" / name
        if not link.is_symlink():
            link.symlink_to(f"../../{rel}")

    def _write(self, zone: str, file: str, text: str) -> None:
        path = self.root / self._rel(zone) / file
        tmp = path.with_name(path.name + ".new")
        tmp.write_text(text)
        tmp.rename(path)

    def add_zone(self, zone: str, name: str, energy_uj: int, max_uj: int) -> None:
        rel = self._rel(zone)
        (self.root / rel).mkdir(parents=True, exist_ok=True)
        self._link("intel-rapl", self.CONTROL)
        self._link(zone, rel)
        self._write(zone, "name", f"{name}\n")
        self._write(zone, "max_energy_range_uj", f"{max_uj}\n")
        self.set_energy(zone, energy_uj)

    def add_package(self, n: int, energy_uj: int, max_uj: int = 262143328850) -> None:
        self.add_zone(f"intel-rapl:{n}", f"package-{n}", energy_uj, max_uj)

    def add_dram(self, n: int, sub: int, energy_uj: int, max_uj: int = 65712999613) -> None:
        self.add_zone(f"intel-rapl:{n}:{sub}", "dram", energy_uj, max_uj)

    def set_energy(self, zone: str, energy_uj: int) -> None:
        self._write(zone, "energy_uj", f"{energy_uj}\n")


@pytest.fixture
def rapl(monkeypatch, tmp_path) -> RaplTree:
    """One CPU package with a DRAM zone, as Zeus's tests' MockCPU."""
    tree = RaplTree(tmp_path / "sysfs")
    tree.add_package(0, 10_000_000)
    tree.add_dram(0, 0, 2_000_000)
    monkeypatch.setenv("ZEUS_SYSFS_ROOT", str(tree.root))
    return tree
