"""zeus.utils.framework.sync_execution: wait for the GPU work a framework has queued."""

from __future__ import annotations

from typing import Callable, Sequence

from zeusc._framework import make_sync


def sync_execution(
    gpu_devices: Sequence[int], sync_with: str | Callable[[list[int]], object] = "torch"
) -> None:
    """Block until the work queued on `gpu_devices` by `sync_with` ("torch", "jax", "cupy",
    or a function of the GPU list) is done, as Zeus's function of the same name.

    Raises RuntimeError when the framework cannot be imported, as Zeus does.
    """
    make_sync(sync_with, gpu_devices)()
