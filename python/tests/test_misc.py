"""Exceptions, python -m zeusc.show_env, and the Hugging Face example's import guard."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import zeusc
from zeusc import errors

ROOT = Path(__file__).resolve().parents[2]


def test_every_status_has_a_distinct_class():
    from zeusc import _zeusc

    classes = errors.STATUS_CLASSES
    assert sorted(classes) == list(range(-29, 0))
    assert len(set(classes.values())) == len(classes)
    for code, cls in classes.items():
        assert issubclass(cls, zeusc.ZeusError)
        assert _zeusc.status_name(code).startswith("ERR_")


def test_classes_derive_from_the_builtins_users_catch():
    assert issubclass(errors.ZeusNoPermissionError, PermissionError)
    assert issubclass(errors.ZeusTimeoutError, TimeoutError)
    assert issubclass(errors.ZeusInvalidArgumentError, ValueError)
    assert issubclass(errors.ZeusWindowExistsError, ValueError)
    assert issubclass(errors.ZeusWindowNotFoundError, ValueError)
    assert issubclass(errors.ZeusNotFoundError, LookupError)
    assert issubclass(errors.ZeusGPUNotFoundError, errors.ZeusNotFoundError)
    assert issubclass(errors.ZeusGPUNotFoundError, errors.ZeusBaseGPUError)
    assert not issubclass(errors.ZeusBaseGPUError, errors.ZeusNotFoundError)
    assert errors.ZeusBaseError is zeusc.ZeusError
    e = errors.ZeusNoPermissionError("cannot read x (run zeusd, or grant read access)")
    assert str(e) == "cannot read x (run zeusd, or grant read access)"


def test_show_env_runs():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "python")
    out = subprocess.run(
        [sys.executable, "-m", "zeusc.show_env"], env=env, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    for section in ("## Package availability and versions", "## Device availability", "## CPU availability", "## Zeus-C backends"):
        assert section in out
    assert "GPU 0 (Zeus index 0): NVIDIA H100 80GB HBM3" in out
    assert "PyTorch:" in out and "No CPUs available." in out


def test_show_env_lists_rapl_packages(rapl):
    from zeusc import show_env

    text = show_env.report()
    assert "CPU 0: package-0" in text and "DRAM available" in text


def test_hf_example_imports_without_transformers():
    sys.path.insert(0, str(ROOT / "python" / "examples"))
    try:
        import hf_callback
    finally:
        sys.path.pop(0)
    if hf_callback.TrainerCallback is object:  # transformers is not installed here
        with pytest.raises(RuntimeError, match="transformers"):
            hf_callback.ZeusEnergyCallback()
