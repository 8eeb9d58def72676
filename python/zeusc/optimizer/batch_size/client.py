"""Zeus's BatchSizeOptimizer (zeus.optimizer.batch_size.client) over libzeus's client
(include/zeus/batch_size.h): the HTTP exchange, its retries, the epoch windows and the
end-of-trial exit hook are libzeus's; this class keeps Zeus's names, attributes and errors.

Differences from Zeus, each on purpose:
- `monitor` must be a zeusc ZeusMonitor (libzeus reads its windows directly); Zeus takes any
  object with begin_window/end_window.
- A server that cannot be reached or answers 5xx is tried 3 times (0.2 s, then 0.4 s apart)
  before ZeusBSORuntimError, whose message names the method and URL as well as Zeus's
  "Zeus server returned status code <code>: <body>".
- The trial is also ended when the optimizer is closed or collected, not only at exit.
- `report(epoch_time, epoch_energy, metric)` reports an epoch measured elsewhere.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from zeusc import _zeusc
from zeusc.callback import Callback
from zeusc.errors import ZeusError
from zeusc.optimizer.batch_size.common import CreatedJob, JobSpec
from zeusc.optimizer.batch_size.exceptions import (
    ZeusBSOBadOperationError,
    ZeusBSOConfigError,
    ZeusBSOOperationOrderError,
    ZeusBSORuntimError,
    ZeusBSOTrainFailError,
)

if TYPE_CHECKING:
    from zeusc.monitor import ZeusMonitor

logger = logging.getLogger(__name__)

__all__ = ["BatchSizeOptimizer"]

# libzeus status name -> Zeus's class, per call (anything else: ZeusBSORuntimError).
_OPEN_ERRORS = {"ERR_NOT_SUPPORTED": ZeusBSOConfigError}
_GET_ERRORS = {"ERR_NOT_SUPPORTED": ZeusBSOBadOperationError}
_EVALUATE_ERRORS = {
    "ERR_UNINITIALIZED": ZeusBSOOperationOrderError,
    "ERR_TRAIN_FAILED": ZeusBSOTrainFailError,
}


def _zeus_error(e: ZeusError, table: dict[str, type]) -> Exception:
    cls = table.get(e.status_name or "", ZeusBSORuntimError)
    if e.status_name == "ERR_NOT_FOUND" and str(e) == "No GPUs detected.":
        cls = ZeusBSOConfigError
    err = cls(str(e))
    err.status = e.status  # type: ignore[attr-defined]
    err.status_name = e.status_name  # type: ignore[attr-defined]
    return err


class BatchSizeOptimizer(Callback):
    """Batch size optimizer client that talks to server.

    The following methods must be called in order inside the training script:

    - `get_batch_size`: At the beginning of the script.
    - `on_train_begin`: Before running any epochs.
    - `on_evaluate`: After each epoch when the validation metric is available.

    One batch size optimizer per one training session of the job. The GPUs should be
    homogeneous; they are the ones the `ZeusMonitor` watches.
    """

    def __init__(self, monitor: ZeusMonitor, server_url: str, job: JobSpec, rank: int = 0) -> None:
        """Register the job with the server (or join it when registered identically).

        Args:
            monitor: zeusc `ZeusMonitor` over all and only the GPUs used for training.
            server_url: url of batch size optimizer server
            job: job specification.
            rank: rank of gpu in distributed training; only rank 0 asks for a batch size.
        """
        self.monitor = monitor
        self.server_url = server_url
        self.rank = rank
        try:
            self._c = _zeusc.BatchSizeOptimizer(monitor, server_url, job.dict(), rank)
        except ZeusError as e:
            raise _zeus_error(e, _OPEN_ERRORS) from e
        max_power, ngpu, model, job_id = self._c.gpu_config()
        self.job_spec = job.copy()
        fields = job.dict()
        fields["job_id"] = job_id
        self.job = CreatedJob(**fields, max_power=max_power, number_of_gpus=ngpu, gpu_model=model)
        logger.critical("Job is registered with job_id: \x1b[31;1m%s\x1b[0m", self.job.job_id)
        logger.info("Job is registered: %s", str(self.job))

    # Zeus's attributes, kept by libzeus.
    @property
    def current_batch_size(self) -> int:
        """The batch size of this run; 0 before it is known."""
        return self._c.trial()[0]

    @current_batch_size.setter
    def current_batch_size(self, bs: int) -> None:
        self._c.set_trial(bs, self._c.trial()[1])

    @property
    def trial_number(self) -> int:
        """The server's trial number of this run."""
        return self._c.trial()[1]

    @trial_number.setter
    def trial_number(self, n: int) -> None:
        bs = self._c.trial()[0]
        if bs == 0:
            raise ZeusBSOOperationOrderError("Set current_batch_size before trial_number")
        self._c.set_trial(bs, n)

    @property
    def cur_epoch(self) -> int:
        """Epochs reported so far."""
        return self._c.trial()[2]

    def get_batch_size(self) -> int:
        """Get batch size to use from the BSO server (rank 0 only; asked once).

        Raises:
            `ZeusBSOBadOperationError`: on a rank other than 0.
            `ZeusBSORuntimError`: if the server fails or returns a batch size not in the job.
        """
        try:
            bs = self._c.get_batch_size()
        except ZeusError as e:
            raise _zeus_error(e, _GET_ERRORS) from e
        logger.info("[BatchSizeOptimizer] Chosen batch size: %s", bs)
        return bs

    def on_train_begin(self) -> None:
        """Start the monitor window and mark training is started."""
        self._c.on_train_begin()

    def on_evaluate(self, metric: float) -> None:
        """Report the epoch; the server decides whether training stops.

        Raises:
            `ZeusBSOOperationOrderError`: When `get_batch_size` was not called first.
            `ZeusBSOTrainFailError`: When train failed for the chosen batch size. This batch
                size will not be tried again; relaunch training for another one.
            `ZeusBSORuntimError`: When the server returns an error.
        """
        try:
            self._c.on_evaluate(float(metric))
        except ZeusError as e:
            raise _zeus_error(e, _EVALUATE_ERRORS) from e

    def report(self, epoch_time: float, epoch_energy: float, metric: float) -> bool:
        """(Zeus-C) `on_evaluate` with the epoch's time (s) and energy (J) measured elsewhere.
        Returns whether training stops."""
        try:
            return self._c.report(float(epoch_time), float(epoch_energy), float(metric))
        except ZeusError as e:
            raise _zeus_error(e, _EVALUATE_ERRORS) from e

    def close(self) -> None:
        """(Zeus-C) End the trial now (Zeus does it at exit) and release the client."""
        self._c.close()
