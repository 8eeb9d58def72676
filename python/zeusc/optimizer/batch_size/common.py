"""Zeus's batch size optimizer models (zeus.optimizer.batch_size.common), without pydantic:
``JobSpec`` takes Zeus's keyword arguments and defaults, runs Zeus's validators with their
messages (a ``ValueError``, as pydantic's ValidationError is one) and offers the pydantic v1
methods Zeus's users call (``parse_obj``, ``dict``, ``json``, ``copy``). Unknown keys are
ignored, as pydantic's default does. Assigning a field later is not validated, also as in
pydantic v1 (Zeus's own test sets ``job.beta_knob = None``).
"""

from __future__ import annotations

import dataclasses
import json as _json
from dataclasses import dataclass, field
from typing import Any, Optional

__all__ = [
    "REGISTER_JOB_URL",
    "DELETE_JOB_URL",
    "GET_NEXT_BATCH_SIZE_URL",
    "REPORT_RESULT_URL",
    "REPORT_END_URL",
    "JobSpec",
    "CreatedJob",
]

REGISTER_JOB_URL = "/jobs"
DELETE_JOB_URL = "/jobs"
GET_NEXT_BATCH_SIZE_URL = "/jobs/batch_size"
REPORT_RESULT_URL = "/report"
REPORT_END_URL = "/trials"


class _Model:
    """pydantic v1's methods over a dataclass."""

    @classmethod
    def parse_obj(cls, obj: dict[str, Any]):
        """Build from a dict, ignoring keys that are not fields."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in dict(obj).items() if k in names})

    def dict(self) -> dict[str, Any]:
        """The fields as a dict (lists copied)."""
        return dataclasses.asdict(self)

    def json(self) -> str:
        """The fields as JSON."""
        return _json.dumps(self.dict())

    def copy(self, update: Optional[dict[str, Any]] = None):
        """A copy, with `update`'s fields replaced (not validated, as in pydantic)."""
        new = dataclasses.replace(self)
        for k, v in (update or {}).items():
            setattr(new, k, v)
        return new


@dataclass(kw_only=True)
class JobSpec(_Model):
    r"""Job specification that user inputs (Zeus's JobSpec: JobParams with an optional job_id).

    Attributes:
        job_id: ID of job. If none is provided, will be created by server.
        job_id_prefix: prefix of the job id.
        batch_sizes: list of batch sizes to try (sorted on input).
        default_batch_size: first batch size to try.
        eta_knob: $\eta$ parameter for computing `zeus_cost`.
        beta_knob: beta for early stopping; None disables early stop.
        target_metric: target metric to achieve for training.
        higher_is_better_metric: if the goal of training is achieving higher metric than `target_metric`.
        max_epochs: Maximum number of epochs for a training run.
        num_pruning_rounds: Number of rounds we are trying for pruning stage.
        window_size: For MAB, how many recent measurements to fetch. 0: all.
        mab_prior_mean: Mean of the belief prior distribution.
        mab_prior_precision: Precision of the belief prior distribution.
        mab_num_explorations: How many static explorations to run when no observations are available.
        mab_seed: The random seed to use.
    """

    job_id: Optional[str] = None
    job_id_prefix: str
    batch_sizes: list[int]
    default_batch_size: int
    eta_knob: float = 0.5
    beta_knob: Optional[float] = 2.0
    target_metric: float = 0.50
    higher_is_better_metric: bool = True
    max_epochs: int = 100
    num_pruning_rounds: int = 2
    window_size: int = 0
    mab_prior_mean: float = 0.0
    mab_prior_precision: float = 0.0
    mab_num_explorations: int = 2
    mab_seed: Optional[int] = None

    def __post_init__(self) -> None:
        """Zeus's validators, in Zeus's order and words."""
        bs = self.batch_sizes
        if bs is None or len(bs) == 0:
            raise ValueError(f"Batch Sizes = {bs} is empty")
        self.batch_sizes = sorted(int(b) for b in bs)
        for name, low in (("default_batch_size", 0), ("max_epochs", 0)):
            if not getattr(self, name) > low:
                raise ValueError(f"{name}: ensure this value is greater than {low}")
        for name in ("num_pruning_rounds", "mab_num_explorations"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name}: ensure this value is greater than or equal to 0")
        if self.eta_knob < 0 or self.eta_knob > 1:
            raise ValueError("eta_knob should be in range [0,1]")
        v = self.beta_knob
        if not (v is None or v > 0):
            raise ValueError(
                f"Invalid beta_knob({v}). To disable early stop, set beta_knob = None to disable or positive value."
            )
        if self.default_batch_size not in self.batch_sizes:
            raise ValueError(f"Default BS({self.default_batch_size}) not in batch_sizes({self.batch_sizes}).")
        if self.job_id is not None and not self.job_id.startswith(self.job_id_prefix):
            raise ValueError(f"Job_id({self.job_id}) does not start with prefix({self.job_id_prefix}).")


@dataclass(kw_only=True)
class CreatedJob(JobSpec):
    """The job as registered: the spec with its job_id and the GPU configuration."""

    max_power: float
    number_of_gpus: int
    gpu_model: str
