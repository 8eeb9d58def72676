"""Framework helpers (Zeus's zeus.utils.framework): sync_execution and friends.

``sync_execution(gpu_devices, sync_with)`` waits for the GPU work already queued, exactly as
ZeusMonitor(sync_execution_with=...) does before each timestamp (zeusc._framework). The
frameworks are imported on first use, never at import. The *_is_available, all_reduce,
is_distributed, get_rank and get_world_size helpers follow Zeus's (Apache-2.0).
"""

from __future__ import annotations

import logging
import types
from functools import lru_cache
from typing import Literal

from zeusc._framework import make_sync

logger = logging.getLogger(__name__)

__all__ = [
    "MODULE_CACHE",
    "all_reduce",
    "cupy_is_available",
    "get_rank",
    "get_world_size",
    "is_distributed",
    "jax_is_available",
    "sync_execution",
    "torch_is_available",
]

MODULE_CACHE: dict[str, types.ModuleType] = {}


@lru_cache(maxsize=1)
def torch_is_available(ensure_available: bool = False, ensure_cuda: bool = True) -> bool:
    """Whether PyTorch imports (with CUDA unless ensure_cuda=False)."""
    try:
        import torch  # noqa: PLC0415
    except ImportError as e:
        if ensure_available:
            raise RuntimeError("Failed to import Pytorch") from e
        return False
    if ensure_cuda and not torch.cuda.is_available():
        raise RuntimeError("PyTorch is available but does not have CUDA support.")
    MODULE_CACHE["torch"] = torch
    return True


@lru_cache(maxsize=1)
def jax_is_available(ensure_available: bool = False, ensure_cuda: bool = True) -> bool:
    """Whether JAX imports (with GPUs unless ensure_cuda=False)."""
    try:
        import jax  # noqa: PLC0415
    except ImportError as e:
        if ensure_available:
            raise RuntimeError("Failed to import JAX") from e
        return False
    if ensure_cuda and not jax.devices("gpu"):
        raise RuntimeError("JAX is available but does not have CUDA support.")
    MODULE_CACHE["jax"] = jax
    return True


@lru_cache(maxsize=1)
def cupy_is_available(ensure_available: bool = False) -> bool:
    """Whether CuPy imports."""
    try:
        import cupy  # noqa: PLC0415
    except ImportError as e:
        if ensure_available:
            raise RuntimeError("Failed to import CuPy") from e
        return False
    MODULE_CACHE["cupy"] = cupy
    return True


def sync_execution(gpu_devices: list[int], sync_with: Literal["torch", "jax", "cupy"] = "torch") -> None:
    """Block until all work queued on `gpu_devices` is done, with the framework `sync_with`.

    Raises RuntimeError("Failed to import Pytorch") (JAX, CuPy) when it is missing, and
    RuntimeError("No framework is available.") for an unknown name, as Zeus does.
    """
    make_sync(sync_with, gpu_devices)()


def all_reduce(object: list[int] | list[float], operation: Literal["sum", "max"]) -> list[int] | list[float]:
    """Reduce `object` over all replicas (torch.distributed); returned as is when not
    distributed."""
    if operation not in ("sum", "max"):
        raise ValueError(f"all_reduce unsupported operation: {operation}")
    if torch_is_available(ensure_cuda=False):
        torch = MODULE_CACHE["torch"]
        if not torch.distributed.is_available() or not torch.distributed.is_initialized():
            return object
        tensor = torch.Tensor(object).cuda()
        op = torch.distributed.ReduceOp.SUM if operation == "sum" else torch.distributed.ReduceOp.MAX
        torch.distributed.all_reduce(tensor, op=op)
        return tensor.cpu().tolist()
    if jax_is_available(ensure_cuda=False):
        if MODULE_CACHE["jax"].device_count() == 1:
            return object
        raise NotImplementedError("JAX distributed is not supported yet.")
    return object


def is_distributed() -> bool:
    """Whether this process is one of several replicas."""
    if torch_is_available(ensure_cuda=False):
        torch = MODULE_CACHE["torch"]
        return torch.distributed.is_available() and torch.distributed.is_initialized()
    if jax_is_available(ensure_cuda=False):
        return MODULE_CACHE["jax"].device_count() > 1
    return False


def get_rank() -> int:
    """This process's rank, 0 when not distributed."""
    if torch_is_available(ensure_cuda=False):
        torch = MODULE_CACHE["torch"]
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            return torch.distributed.get_rank()
        return 0
    if jax_is_available(ensure_cuda=False):
        return MODULE_CACHE["jax"].process_index()
    return 0


def get_world_size() -> int:
    """The number of processes, 1 when not distributed."""
    if torch_is_available(ensure_cuda=False):
        torch = MODULE_CACHE["torch"]
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            return torch.distributed.get_world_size()
        return 1
    if jax_is_available(ensure_cuda=False):
        return MODULE_CACHE["jax"].process_count()
    return 1
