"""Zeus's power limit optimizer (zeus.optimizer.power_limit) over libzeus's.

    from zeusc.optimizer.power_limit import GlobalPowerLimitOptimizer   # was: from zeus...
    plo = GlobalPowerLimitOptimizer(monitor)
    for epoch in range(epochs):
        for batch in loader:
            plo.on_step_begin()
            train(batch)
        plo.on_epoch_end()

The state machine, the selectors, the profile file and the limit setting are libzeus's
(include/zeus/power_limit.h); this module keeps Zeus's names, arguments and errors. The
windows go to whatever monitor is passed, as in Zeus: a zeusc.ZeusMonitor (its final values
are waited for, so the choice never rests on an estimate), Zeus's ReplayZeusMonitor, or any
object with gpu_indices, begin_window and end_window. A Python OptimumSelector subclass works
too: libzeus calls its select(). With torch.distributed initialized, energy is summed and
time maxed across ranks through it.

Differences from Zeus, each on purpose: warmup_steps=0 measures at once instead of crashing;
a failed measurement (a GPU error, or zero energy) is not recorded and its limit is retried at
the next step after the maximum is restored; the maximum limit is restored when the
optimizer is closed or collected, and at process exit (libzeus's exit hook).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from zeusc import _zeusc
from zeusc.callback import Callback

if TYPE_CHECKING:
    from zeusc.monitor import ZeusMonitor

logger = logging.getLogger(__name__)

__all__ = [
    "OptimumSelector",
    "Energy",
    "Time",
    "ZeusCost",
    "MaxSlowdownConstraint",
    "Ready",
    "Warmup",
    "Profiling",
    "Done",
    "PowerLimitMeasurement",
    "GlobalPowerLimitOptimizer",
    "HFGlobalPowerLimitOptimizer",
]

# zeus_plo_selector_kind and zeus_plo_phase (include/zeus/power_limit.h).
_ENERGY, _TIME, _ZEUS_COST, _MAX_SLOWDOWN, _CUSTOM = 1, 2, 3, 4, 5
_READY, _WARMUP, _PROFILING, _DONE = 1, 2, 3, 4


# ---- Measurements and states ------------------------------------------------------------------


def _positive(name: str, value, kind) -> None:
    if not isinstance(value, kind) or isinstance(value, bool) or not value > 0:
        raise ValueError(f"{name} must be a positive {kind.__name__ if kind is int else 'number'}, got {value!r}")


@dataclass
class PowerLimitMeasurement:
    """Energy (J) and time (s) measured at one power limit (W)."""

    power_limit: int
    energy: float
    time: float

    def __post_init__(self) -> None:
        _positive("power_limit", self.power_limit, int)
        _positive("energy", self.energy, (int, float))
        _positive("time", self.time, (int, float))


@dataclass
class Ready:
    """Waiting `steps` steps before warming up at `next_power_limit` (mW)."""

    next_power_limit: int
    steps: int


@dataclass
class Warmup:
    """At `current_power_limit` (mW), `steps` steps before the measurement begins."""

    current_power_limit: int
    steps: int


@dataclass
class Profiling:
    """Measuring `current_power_limit` (mW), `steps` steps to go."""

    current_power_limit: int
    steps: int


@dataclass
class Done:
    """Profiling is over; the GPUs run at `optimal_power_limit` (mW)."""

    optimal_power_limit: int


# ---- Selectors ---------------------------------------------------------------------------------


def _as_tuples(measurements: list[PowerLimitMeasurement]) -> list[tuple[int, float, float]]:
    return [(m.power_limit, float(m.energy), float(m.time)) for m in measurements]


class OptimumSelector(ABC):
    """Base class for optimum power limit selectors."""

    @abstractmethod
    def select(self, measurements: list[PowerLimitMeasurement]) -> int:
        """Select the optimal power limit (W) from measurements."""

    def _spec(self) -> tuple:
        """(kind, eta, world_size, factor, callable) for libzeus; a subclass is CUSTOM."""

        def choose(tuples):
            return int(self.select([PowerLimitMeasurement(*t) for t in tuples]))

        return (_CUSTOM, 0.0, 1, 1.0, choose)


class _BuiltIn(OptimumSelector):
    def select(self, measurements: list[PowerLimitMeasurement]) -> int:
        """Select the optimal power limit (W) from measurements."""
        return _zeusc.plo_select(self._spec(), _as_tuples(measurements))[0]


class Energy(_BuiltIn):
    """Selects the power limit that minimizes energy consumption."""

    def _spec(self) -> tuple:
        return (_ENERGY, 0.0, 1, 1.0, None)


class Time(_BuiltIn):
    """Selects the power limit that minimizes training time."""

    def _spec(self) -> tuple:
        return (_TIME, 0.0, 1, 1.0, None)


class ZeusCost(_BuiltIn):
    r"""Selects the power limit that minimizes eta * Energy + (1 - eta) * MaxPower * Time."""

    def __init__(self, eta_knob: float, world_size: int = 1) -> None:
        """eta_knob in [0, 1]; world_size >= 1 GPUs in the job."""
        if eta_knob < 0 or eta_knob > 1:
            raise ValueError("eta_knob must be between 0 and 1, inclusive both sides.")
        if world_size < 1:
            raise ValueError("world_size must be greater than or equal to 1.")
        self.eta_knob = eta_knob
        self.world_size = world_size

    def _spec(self) -> tuple:
        return (_ZEUS_COST, float(self.eta_knob), int(self.world_size), 1.0, None)


class MaxSlowdownConstraint(_BuiltIn):
    """Selects the lowest power limit that slows training down by at most `factor`."""

    def __init__(self, factor: float) -> None:
        """factor >= 1.0: the slowdown allowed against the time at the highest limit."""
        if factor < 1.0:
            raise ValueError(f"max_slowdown_factor must be greater than or equal to 1.0. Got {factor}.")
        self.factor = factor

    def _spec(self) -> tuple:
        return (_MAX_SLOWDOWN, 0.0, 1, float(self.factor), None)


# ---- Windows and reductions --------------------------------------------------------------------


def _window_calls(monitor):
    """begin(key) and end(key, cancel) over `monitor`, for libzeus's window_ops."""
    from zeusc.monitor import ZeusMonitor as _C  # noqa: PLC0415
    from zeusc.utils.testing import ReplayZeusMonitor  # noqa: PLC0415

    wait_final = isinstance(monitor, _C) and not isinstance(monitor, ReplayZeusMonitor)
    gpus = list(monitor.gpu_indices)

    def begin(key: str) -> None:
        monitor.begin_window(key)

    def end(key: str, cancel: bool):
        if cancel:
            monitor.end_window(key, cancel=True)
            return None
        m = monitor.end_window(key, wait_final=True) if wait_final else monitor.end_window(key)
        return [m.gpu_energy[g] for g in gpus], m.time

    return begin, end


def _distributed_reduce():
    """torch.distributed's all-reduce when it is initialized, else None (local values)."""
    from zeusc.utils.framework import all_reduce, is_distributed  # noqa: PLC0415

    if not is_distributed():
        return None

    def reduce(values: list[float], op: str) -> list[float]:
        return all_reduce(values, operation=op)

    return reduce


def _log(message: str) -> None:
    logger.info("%s", message)


# ---- The optimizer -----------------------------------------------------------------------------


class GlobalPowerLimitOptimizer(Callback):
    """Optimizer for the power limit knob (Zeus's class, over libzeus's state machine).

    GPU indices come from `monitor.gpu_indices`. With distributed data parallelism, monitor
    one GPU per process (the local rank's); energy and time are all-reduced across ranks.
    """

    def __init__(
        self,
        monitor: ZeusMonitor,
        optimum_selector: OptimumSelector | None = None,
        wait_steps: int = 1,
        warmup_steps: int = 10,
        profile_steps: int = 40,
        pl_step: int = 25,
        profile_path: str | Path | None = None,
    ) -> None:
        """Profile from the maximum limit down in `pl_step` W steps, or load `profile_path`."""
        if wait_steps < 0:
            raise ValueError("wait_steps must be non-negative.")
        if warmup_steps < 0:
            raise ValueError("warmup_steps must be non-negative.")
        if profile_steps <= 0:
            raise ValueError("profile_steps must be positive.")
        if pl_step <= 0:
            raise ValueError("pl_step must be positive.")
        self.monitor = monitor
        self.optimum_selector = optimum_selector or ZeusCost(eta_knob=0.5, world_size=len(monitor.gpu_indices))
        self.warmup_steps = warmup_steps
        self.profile_steps = profile_steps
        self.pl_step = pl_step * 1000  # mW, as Zeus keeps it
        self.profile_path = Path(profile_path) if isinstance(profile_path, str) else profile_path
        reduce = _distributed_reduce()
        if reduce is not None and len(monitor.gpu_indices) > 1:
            logger.warning(
                "Distributed training is enabled with %d GPUs monitored. For distributed training, it is "
                "recommended to monitor only one GPU per `ZeusMonitor` instance since "
                "`GlobalPowerLimitOptimizer` performs an all-reduce operation internally over all devices.",
                len(monitor.gpu_indices),
            )
        begin, end = _window_calls(monitor)
        self._plo = _zeusc.PowerLimitOptimizer(
            begin,
            end,
            list(monitor.gpu_indices),
            wait_steps,
            warmup_steps,
            profile_steps,
            pl_step,
            None if self.profile_path is None else str(self.profile_path),
            self.optimum_selector._spec(),
            reduce,
            _log,
        )
        self.power_limits: list[int] = self._plo.power_limits()

    # Zeus's hooks. The others (Callback's) do nothing, as in Zeus.
    def on_step_begin(self) -> None:
        """Mark the beginning of a training step."""
        self._plo.on_step_begin()

    def on_epoch_end(self) -> None:
        """Mark the end of a training epoch."""
        self._plo.on_epoch_end()

    def close(self) -> None:
        """Set the maximum power limit back and stop (Zeus does this only at exit)."""
        self._plo.close()

    @property
    def state(self) -> Ready | Warmup | Profiling | Done:
        """Where the state machine is (Zeus's state objects, limits in mW)."""
        phase, limit_mw, steps, _, _ = self._plo.state()
        if phase == _READY:
            return Ready(next_power_limit=limit_mw, steps=steps)
        if phase == _WARMUP:
            return Warmup(current_power_limit=limit_mw, steps=steps)
        if phase == _PROFILING:
            return Profiling(current_power_limit=limit_mw, steps=steps)
        return Done(optimal_power_limit=limit_mw)

    @property
    def current_power_limit(self) -> int:
        """The limit this optimizer set last, in mW (0 before any)."""
        return self._plo.state()[3]

    @property
    def measurements(self) -> list[PowerLimitMeasurement]:
        """What each profiled (or loaded) limit cost, in profiling order."""
        return [PowerLimitMeasurement(*t) for t in self._plo.measurements()]


# Hugging Face's TrainerCallback only when transformers is installed, as in Zeus.
try:
    from transformers.trainer_callback import TrainerCallback

    transformers_available = True
except ModuleNotFoundError:
    transformers_available = False
    TrainerCallback = object


class HFGlobalPowerLimitOptimizer(TrainerCallback):
    """GlobalPowerLimitOptimizer as a Hugging Face Trainer callback."""

    def __init__(
        self,
        monitor: ZeusMonitor,
        optimum_selector: OptimumSelector | None = None,
        wait_steps: int = 1,
        warmup_steps: int = 10,
        profile_steps: int = 40,
        pl_step: int = 25,
        profile_path: str | Path | None = None,
    ) -> None:
        """Same arguments as GlobalPowerLimitOptimizer."""
        if not transformers_available:
            raise ImportError(
                "The transformers package is not installed. Please install it to use the HFGlobalPowerLimitOptimizer."
            )
        self.optimizer = GlobalPowerLimitOptimizer(
            monitor=monitor,
            optimum_selector=optimum_selector,
            wait_steps=wait_steps,
            warmup_steps=warmup_steps,
            profile_steps=profile_steps,
            pl_step=pl_step,
            profile_path=profile_path,
        )

    def on_epoch_end(self, args, state, control, **kwargs) -> None:
        """Mark the end of a training epoch."""
        self.optimizer.on_epoch_end()

    def on_step_begin(self, args, state, control, **kwargs) -> None:
        """Mark the beginning of a training step."""
        self.optimizer.on_step_begin()
