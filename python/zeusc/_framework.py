"""Framework synchronization for ZeusMonitor(sync_execution_with=...): Zeus's
zeus.utils.framework.sync_execution, with the framework imported only when first needed.

make_sync() is called by the C extension on the first synchronized begin_window/end_window
of a monitor that watches GPUs; the function it returns is then called (with the GIL held)
right before each timestamp, to wait for the GPU work already queued.
"""

from __future__ import annotations

from typing import Callable, Sequence


def make_sync(spec: str | Callable[[list[int]], object], gpu_indices: Sequence[int]) -> Callable[[], None]:
    """A no-argument function that synchronizes `gpu_indices` with the framework `spec`.

    Raises RuntimeError as Zeus does: "Failed to import Pytorch" (or JAX, CuPy) when the
    framework is missing, and for PyTorch without CUDA.
    """
    gpus = tuple(int(i) for i in gpu_indices)

    if callable(spec):
        user = spec

        def sync_user() -> None:
            user(list(gpus))

        return sync_user

    if spec == "torch":
        try:
            import torch  # noqa: PLC0415 (lazy on purpose)
        except ImportError as e:
            raise RuntimeError("Failed to import Pytorch") from e
        if not torch.cuda.is_available():
            raise RuntimeError("PyTorch is available but does not have CUDA support.")
        synchronize = torch.cuda.synchronize

        def sync_torch() -> None:
            for i in gpus:
                synchronize(i)

        return sync_torch

    if spec == "jax":
        try:
            import jax  # noqa: PLC0415
        except ImportError as e:
            raise RuntimeError("Failed to import JAX") from e

        def sync_jax() -> None:
            # Zeus's way: a trivial computation on each device, then wait for all of them.
            futures = [jax.device_put(0.0, device=jax.devices("gpu")[i]) + 0 for i in gpus]
            futures.append(jax.device_put(0.0, device=jax.devices("cpu")[0]) + 0)
            jax.block_until_ready(futures)

        return sync_jax

    if spec == "cupy":
        try:
            import cupy  # noqa: PLC0415
        except ImportError as e:
            raise RuntimeError("Failed to import CuPy") from e

        def sync_cupy() -> None:
            for i in gpus:
                cupy.cuda.Device(i).synchronize()

        return sync_cupy

    raise RuntimeError("No framework is available.")
