r"""Thermally stable energy profiling for GPU workloads: Zeus's ``zeus.profile`` over
libzeus's ``zeus_profile_*`` (include/zeus/profile.h).

Switch from Zeus by changing the import::

    from zeusc.profile import profile_parameters, measure   # was: from zeus.profile import ...

    monitor = zeusc.ZeusMonitor(gpu_indices=[0])
    m_report, c_report = profile_parameters(train_step, monitor)
    print(m_report)
    print(c_report)
    trial = measure(train_step, monitor, measurement_duration=5.0, cooldown_duration=10.0)

The trials run in C with the GIL released (other Python threads run during the cooldowns);
``target_function`` is called with the GIL held, with no arguments, and its return value is
ignored. An exception it raises stops profiling at once and propagates unchanged, as does
one from the monitor's ``sync_execution_with`` function. Where Zeus syncs, the monitor's
``sync_execution_with`` is used.

Distributed: with ``torch.distributed`` initialized (torch is never imported here; it is
looked up in ``sys.modules``), energies are summed, times maxed and temperatures averaged
across ranks with ``all_reduce``, as Zeus does, and only rank 0 logs (logger
``zeusc.profile``, level INFO). The reductions use float64 tensors, on the current CUDA device
with the NCCL backend and on the CPU with the others (Zeus always moves them to CUDA).

Differences from Zeus: an empty search range raises ``ValueError`` (Zeus falls back to the
default 1..10 s range); bad durations and counts raise ``ValueError``
(``zeusc.errors.ZeusInvalidArgumentError``) before the workload is first called.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from zeusc import _zeusc

logger = logging.getLogger(__name__)

__all__ = [
    "SweepReport",
    "SweepResult",
    "TrialResult",
    "measure",
    "profile_cooldown_duration",
    "profile_measurement_duration",
    "profile_parameters",
]


@dataclass
class TrialResult:
    """Result of a single measurement trial.

    Attributes:
        energy_per_iter: Energy consumed per iteration (Joules).
        time_per_iter: Wall-clock time per iteration (seconds).
        total_energy: Total energy consumed during the measurement window (Joules).
        total_time: Total wall-clock time of the measurement window (seconds).
        iterations: Number of iterations executed in the window.
        temperature_before: GPU temperature (Celsius) before the measurement.
        temperature_after: GPU temperature (Celsius) after the measurement.
    """

    energy_per_iter: float
    time_per_iter: float
    total_energy: float
    total_time: float
    iterations: int
    temperature_before: float
    temperature_after: float


def _tail(e: SweepResult) -> str:
    tag = "VALID" if e.is_valid else "INVALID"
    return (
        f"mean={e.energy_mean:.4f} J  "
        f"std={e.energy_std:.4f} J  "
        f"temp_before={e.avg_temperature_before:.1f} \u00b0C  "
        f"temp_after={e.avg_temperature_after:.1f} \u00b0C  "
        f"[{tag}]"
    )


@dataclass
class SweepResult:
    """Result of sweeping one parameter value across multiple trials.

    Attributes:
        measurement_duration: The measurement duration used (seconds).
        cooldown_duration: The cooldown duration used (seconds).
        trials: Per-trial results.
        energy_mean: Mean `energy_per_iter` across trials.
        energy_std: Sample standard deviation of `energy_per_iter` across trials.
        avg_temperature_before: Average temperature before the measurement.
        avg_temperature_after: Average temperature after the measurement.
        avg_total_time: Mean total time across trials.
        avg_total_energy: Mean total energy across trials.
        is_valid: `True` when `energy_std < trial_stddev_threshold`.
    """

    measurement_duration: float
    cooldown_duration: float
    trials: list[TrialResult]
    energy_mean: float
    energy_std: float
    avg_temperature_before: float
    avg_temperature_after: float
    avg_total_time: float
    avg_total_energy: float
    is_valid: bool

    def __str__(self) -> str:
        """One-line summary without per-trial details (zeus_profile_sweep_result_format)."""
        return f"measurement={self.measurement_duration:.1f} s  cooldown={self.cooldown_duration:.1f} s  {_tail(self)}"


@dataclass
class SweepReport:
    """Full report from a measurement-duration or cooldown-duration sweep.

    Attributes:
        sweep_param: `(parameter_name, swept_values)`.
        fixed_param: `(parameter_name, fixed_value)`.
        entries: All sweep entries (one per swept value).
    """

    sweep_param: tuple[str, list[float]]
    fixed_param: tuple[str, float]
    entries: list[SweepResult]

    def __str__(self) -> str:
        """Multi-line summary: one line per swept value."""
        sweep_name, _ = self.sweep_param
        fixed_name, fixed_value = self.fixed_param
        prefixes = [f"{sweep_name}={getattr(e, sweep_name):.1f} s" for e in self.entries]
        width = max(len(p) for p in prefixes)
        lines = [f"Sweep {sweep_name} (fixed {fixed_name}={fixed_value:.1f} s):"]
        lines += [f"  {p:<{width}}  {_tail(e)}" for p, e in zip(prefixes, self.entries)]
        return "\n".join(lines)


# ---- Distributed runs and logging ------------------------------------------------------------


def _torch_distributed() -> Any:
    """torch.distributed when torch is already imported and a process group is up; else None."""
    torch = sys.modules.get("torch")
    dist = getattr(torch, "distributed", None) if torch is not None else None
    if dist is None or not dist.is_available() or not dist.is_initialized():
        return None
    return dist


def _make_reduce(dist: Any) -> Callable[[list[float], str], list[float]]:
    torch = sys.modules["torch"]
    # NCCL reduces CUDA tensors only; gloo and MPI reduce CPU tensors.
    device = "cuda" if dist.get_backend() == "nccl" else "cpu"
    ops = {"sum": dist.ReduceOp.SUM, "max": dist.ReduceOp.MAX}

    def reduce(values: list[float], op: str) -> list[float]:
        tensor = torch.tensor(values, dtype=torch.float64, device=device)
        dist.all_reduce(tensor, op=ops[op])
        return tensor.cpu().tolist()

    return reduce


def _log(message: str) -> None:
    logger.info("%s", message)


def _callbacks() -> dict[str, Any]:
    dist = _torch_distributed()
    if dist is None:
        return {"reduce": None, "log": _log}
    return {"reduce": _make_reduce(dist), "log": _log if dist.get_rank() == 0 else None}


# ---- Conversions -------------------------------------------------------------------------------


def _trial(t: tuple) -> TrialResult:
    return TrialResult(*t)


def _report(r: tuple) -> SweepReport:
    sweep_name, values, fixed_name, fixed_value, entries = r
    results = [SweepResult(md, cd, [_trial(t) for t in trials], *rest) for md, cd, trials, *rest in entries]
    return SweepReport(sweep_param=(sweep_name, values), fixed_param=(fixed_name, fixed_value), entries=results)


def _range(values: Sequence[float] | None) -> list[float] | None:
    return None if values is None else [float(v) for v in values]


# ---- Zeus's functions --------------------------------------------------------------------------


def profile_measurement_duration(
    target_function: Callable[[], Any],
    zeus_monitor: Any,
    measurement_duration_search_range: list[float] | None = None,
    cooldown_duration: float = 10.0,
    num_trials: int = 10,
    num_warmup_trials: int = 2,
    trial_stddev_threshold: float = 0.01,
    num_warmup_iterations: int = 10,
    num_calibration_iterations: int = 100,
    iteration_duration: float | None = None,
) -> SweepReport:
    """Sweep measurement durations and return a `SweepReport`.

    Args:
        target_function: Callable to profile (invoked with no arguments).
        zeus_monitor: `zeusc.ZeusMonitor` instance.
        measurement_duration_search_range: Durations (seconds) to sweep.
            Defaults to `[1.0, 2.0, ..., 10.0]`.
        cooldown_duration: Cooldown held constant during the sweep.
        num_trials: Repeated trials per sweep point.
        num_warmup_trials: Number of throwaway trials to run before the sweep
            to warm up the GPU thermal state.
        trial_stddev_threshold: Maximum acceptable `energy_std` (Joules) for a
            duration to be considered valid.
        num_warmup_iterations: Warm-up iterations before each measurement.
        num_calibration_iterations: Iterations used to estimate per-iteration time.
        iteration_duration: Pre-calibrated iteration duration (seconds).  If `None`,
            calibration runs automatically.
    """
    return _report(
        _zeusc.profile_run(
            "measurement_duration",
            target_function,
            zeus_monitor,
            measurement_durations=_range(measurement_duration_search_range),
            cooldown_duration=cooldown_duration,
            num_trials=num_trials,
            num_warmup_trials=num_warmup_trials,
            trial_stddev_threshold=trial_stddev_threshold,
            num_warmup_iterations=num_warmup_iterations,
            num_calibration_iterations=num_calibration_iterations,
            iteration_duration=iteration_duration,
            **_callbacks(),
        )
    )


def profile_cooldown_duration(
    target_function: Callable[[], Any],
    zeus_monitor: Any,
    cooldown_duration_search_range: list[float] | None = None,
    measurement_duration: float = 10.0,
    num_trials: int = 10,
    num_warmup_trials: int = 2,
    trial_stddev_threshold: float = 0.01,
    num_warmup_iterations: int = 10,
    num_calibration_iterations: int = 100,
    iteration_duration: float | None = None,
) -> SweepReport:
    """Sweep cooldown durations and return a `SweepReport`.

    Args:
        target_function: Callable to profile (invoked with no arguments).
        zeus_monitor: `zeusc.ZeusMonitor` instance.
        cooldown_duration_search_range: Durations (seconds) to sweep.
            Defaults to `[1.0, 2.0, ..., 10.0]`.
        measurement_duration: Measurement duration held constant during
            the sweep.
        num_trials: Repeated trials per sweep point.
        num_warmup_trials: Number of throwaway trials to run before the sweep
            to warm up the GPU thermal state.
        trial_stddev_threshold: Maximum acceptable `energy_std` (Joules) for a
            duration to be considered valid.
        num_warmup_iterations: Warm-up iterations before each measurement.
        num_calibration_iterations: Iterations used to estimate per-iteration time.
        iteration_duration: Pre-calibrated iteration duration (seconds).  If `None`,
            calibration runs automatically.
    """
    return _report(
        _zeusc.profile_run(
            "cooldown_duration",
            target_function,
            zeus_monitor,
            cooldown_durations=_range(cooldown_duration_search_range),
            measurement_duration=measurement_duration,
            num_trials=num_trials,
            num_warmup_trials=num_warmup_trials,
            trial_stddev_threshold=trial_stddev_threshold,
            num_warmup_iterations=num_warmup_iterations,
            num_calibration_iterations=num_calibration_iterations,
            iteration_duration=iteration_duration,
            **_callbacks(),
        )
    )


def profile_parameters(
    target_function: Callable[[], Any],
    zeus_monitor: Any,
    measurement_duration_search_range: list[float] | None = None,
    cooldown_duration_search_range: list[float] | None = None,
    num_trials: int = 10,
    num_warmup_trials: int = 2,
    trial_stddev_threshold: float = 0.01,
    num_warmup_iterations: int = 10,
    num_calibration_iterations: int = 100,
) -> tuple[SweepReport, SweepReport]:
    """Auto-profile both measurement and cooldown durations.

    Performs two sequential sweeps:

    1. **Measurement duration sweep** -- cooldown is fixed at the *maximum*
       of `cooldown_duration_search_range`.
    2. **Cooldown duration sweep** -- measurement duration is fixed at the
       *maximum* of `measurement_duration_search_range`.

    Warmup trials are run once before the first sweep only.

    Returns:
        `(measurement_sweep_report, cooldown_sweep_report)`
    """
    measurement, cooldown = _zeusc.profile_run(
        "parameters",
        target_function,
        zeus_monitor,
        measurement_durations=_range(measurement_duration_search_range),
        cooldown_durations=_range(cooldown_duration_search_range),
        num_trials=num_trials,
        num_warmup_trials=num_warmup_trials,
        trial_stddev_threshold=trial_stddev_threshold,
        num_warmup_iterations=num_warmup_iterations,
        num_calibration_iterations=num_calibration_iterations,
        **_callbacks(),
    )
    return _report(measurement), _report(cooldown)


def measure(
    target_function: Callable[[], Any],
    zeus_monitor: Any,
    measurement_duration: float,
    cooldown_duration: float,
    num_warmup_iterations: int = 10,
    num_calibration_iterations: int = 100,
    warmup_settle_duration: float | None = None,
) -> TrialResult:
    """Run a single energy measurement trial.

    Args:
        target_function: Callable to profile (invoked with no arguments).
        zeus_monitor: `zeusc.ZeusMonitor` instance.
        measurement_duration: Target measurement window length (seconds).
        cooldown_duration: Idle time before the measurement (seconds).
        num_warmup_iterations: Warm-up iterations before the measurement.
        num_calibration_iterations: Iterations used to estimate per-iteration time.
        warmup_settle_duration: Time to run the workload before the measurement
            (seconds). If specified, overrides `num_warmup_iterations` for the
            measurement, while calibration still uses it.
    """
    if warmup_settle_duration is not None and warmup_settle_duration < 0:
        raise ValueError("warmup_settle_duration must be non-negative")
    return _trial(
        _zeusc.profile_run(
            "measure",
            target_function,
            zeus_monitor,
            measurement_duration=measurement_duration,
            cooldown_duration=cooldown_duration,
            num_warmup_iterations=num_warmup_iterations,
            num_calibration_iterations=num_calibration_iterations,
            warmup_settle_duration=warmup_settle_duration,
            **_callbacks(),
        )
    )
