"""PipelineFrequencyOptimizer: Zeus's class (zeus/optimizer/pipeline_frequency/optimizer.py)
with its arguments, over zeusc._zeusc.PipelineFrequency.

What differs from Zeus, on purpose:
  - The frequency controller is a thread inside libzeus, not a separate process; it locks
    clocks through the device API, so through zeusd when ZEUSD_SOCK_PATH or ZEUSD_HOST_PORT
    is set. The clocks are reset by close(), when the object is collected, or at exit.
  - torch is imported lazily, and only for what needs it: the job id broadcast
    (torch.distributed) and the device synchronization before each instruction (when CUDA is
    there). Passing job_id= skips the broadcast, so the optimizer also runs without PyTorch.
  - Server and schedule errors are RuntimeError, as in Zeus, with libzeus's message (Zeus's
    "PFO server returned status code ...", "... fewer frequencies than expected", ...); the
    original zeusc error is the __cause__.
"""

from __future__ import annotations

from typing import Callable

from zeusc import _zeusc
from zeusc.callback import Callback
from zeusc.errors import ZeusError, ZeusNoPermissionError

__all__ = ["PipelineFrequencyOptimizer", "register_job"]


def _runtime_error(e: ZeusError) -> RuntimeError:
    err = RuntimeError(str(e))
    err.__cause__ = e
    return err


def register_job(
    server_url: str,
    dp_degree: int,
    pp_degree: int,
    tp_degree: int,
    world_size: int,
    job_metadata: str | None = None,
) -> str:
    """Register a job with the PFO server (POST /register_job) and return its id: what rank 0
    does in PipelineFrequencyOptimizer, for callers that share the id themselves."""
    try:
        return _zeusc.PipelineFrequency.register_job(
            server_url, dp_degree, pp_degree, tp_degree, world_size, job_metadata
        )
    except ZeusNoPermissionError:
        raise
    except ZeusError as e:
        raise _runtime_error(e) from e


def _torch_distributed():
    try:
        import torch  # noqa: PLC0415 (lazy on purpose)
        import torch.distributed as dist  # noqa: PLC0415
    except ImportError as e:
        raise RuntimeError(
            "PipelineFrequencyOptimizer broadcasts the job id with torch.distributed, and "
            "PyTorch is not installed: register the job on rank 0 with "
            "zeusc.optimizer.pipeline_frequency.register_job(...), share the id, and pass "
            "job_id= to every rank"
        ) from e
    return torch, dist


def _make_sync(device_id: int) -> Callable[[], None] | None:
    """torch.cuda.synchronize(device_id) where PyTorch with CUDA is importable, else None."""
    try:
        import torch  # noqa: PLC0415
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    return lambda: torch.cuda.synchronize(device_id)


class PipelineFrequencyOptimizer(Callback):
    """Pipeline frequency optimizer (Perseus)."""

    def __init__(
        self,
        rank: int,
        dp_rank: int,
        pp_rank: int,
        tp_rank: int,
        device_id: int,
        dp_degree: int,
        pp_degree: int,
        tp_degree: int,
        world_size: int,
        server_url: str,
        job_metadata: str | None = None,
        *,
        job_id: str | None = None,
    ) -> None:
        """Register this rank with the PFO server and fetch its frequency schedule.

        Zeus's arguments. Rank 0 registers the job and torch.distributed broadcasts the id
        (torch.distributed must be initialized and torch.cuda.set_device(device_id) called,
        as Zeus assumes). With `job_id` given (from register_job()), no broadcast happens and
        PyTorch is not needed. The fetch blocks until every rank of the job asked.
        """
        self.server_url = server_url
        self.rank = rank
        self.dp_rank = dp_rank
        self.pp_rank = pp_rank
        self.tp_rank = tp_rank
        self.device_id = device_id
        self._pfo = None

        if job_id is None:
            job_id = self._broadcast_job_id(dp_degree, pp_degree, tp_degree, world_size, job_metadata)
        self.job_id = job_id
        try:
            self._pfo = _zeusc.PipelineFrequency(
                server_url, job_id, rank, dp_rank, pp_rank, tp_rank, device_id,
                dp_degree, pp_degree, tp_degree, world_size,
            )
        except ZeusNoPermissionError:
            raise
        except ZeusError as e:
            raise _runtime_error(e) from e
        self.freq_schedule = self._pfo.schedule()
        self._sync = _make_sync(device_id)

    def _broadcast_job_id(self, dp_degree, pp_degree, tp_degree, world_size, job_metadata) -> str:
        torch, dist = _torch_distributed()
        if not dist.is_initialized():
            raise RuntimeError("Instantiate `PipelineFrequencyOptimizer` after `init_process_group`.")
        torch.cuda.set_device(self.device_id)
        job_id = None
        if self.rank == 0:
            job_id = register_job(self.server_url, dp_degree, pp_degree, tp_degree, world_size, job_metadata)
        objects = [job_id]
        dist.broadcast_object_list(objects, src=0)
        if objects[0] is None:
            raise RuntimeError("Failed to broadcast job ID to all ranks")
        return objects[0]

    def on_step_begin(self) -> None:
        """Mark the beginning of a step (nothing to do, as in Zeus)."""

    def on_step_end(self) -> None:
        """The iteration ended: the schedule must be used up; it starts over."""
        try:
            self._pfo.on_step_end()
        except ZeusNoPermissionError:
            raise
        except ZeusError as e:
            raise _runtime_error(e) from e

    def on_instruction_begin(self, name: str) -> None:
        """Instruction `name` begins: synchronize the device, check the name against the
        schedule, and queue its frequency for the controller thread."""
        if self._sync is not None:
            self._sync()
        try:
            self._pfo.on_instruction_begin(name)
        except ZeusNoPermissionError:
            raise
        except ZeusError as e:
            raise _runtime_error(e) from e

    def on_instruction_end(self, name: str) -> None:
        """Mark the end of an instruction (nothing to do, as in Zeus)."""

    def close(self) -> None:
        """Stop the frequency controller, resetting the GPU's locked clocks. Idempotent."""
        if self._pfo is not None:
            self._pfo.close()
