"""Zeus's monitors over Zeus-C: ZeusMonitor, PowerMonitor, TemperatureMonitor.

``from zeusc.monitor import ZeusMonitor`` is ``from zeus.monitor import ZeusMonitor`` with the
C library underneath. ZeusMonitor's per-step path is C (zeusc._zeusc.ZeusMonitor); this
module adds what reads better in Python: the ``window()`` context manager, Zeus's
spawned-subprocess warning, and the power and temperature monitors' dict-shaped queries.

Time: every timestamp in and out is Unix seconds, as in Zeus (``time.time()``), so
``PowerMonitor.get_energy(start, time.time())`` works as before. Internally the library
uses CLOCK_MONOTONIC; the offset between the two is fixed when zeusc is imported
(``zeusc.clock_offset()``), so durations and energies never see a wall-clock step.
"""

from __future__ import annotations

import contextlib
import enum
import inspect
import warnings
from collections import namedtuple
from collections.abc import Mapping
from typing import Iterable

from zeusc import _zeusc
from zeusc._types import Measurement, MeasurementState
from zeusc.errors import (
    ZeusCPUIndexError,
    ZeusCPUNotFoundError,
    ZeusGPUIndexError,
    ZeusGPUNotFoundError,
    ZeusNotFoundError,
    ZeusNoDataError,
    ZeusWarning,
    ZeusNotSupportedError,
    ZeusUnsupportedDomainError,
)

__all__ = [
    "EnergyDetail",
    "Measurement",
    "MeasurementWindow",
    "PowerDomain",
    "PowerMonitor",
    "TemperatureMonitor",
    "ZeusMonitor",
]


def _warn_if_global_in_subprocess(obj: object) -> None:
    """Zeus's warn_if_global_in_subprocess: a monitor built at import time of a spawned child."""
    frame = inspect.currentframe()
    try:
        while frame is not None:
            if frame.f_code.co_name == "<module>" and frame.f_globals.get("__name__") == "__mp_main__":
                warnings.warn(
                    f"{type(obj).__name__} was instantiated during module import in a spawned "
                    "subprocess. Guard the code that creates it with "
                    "`if __name__ == '__main__':`, or every spawned process builds its own.",
                    stacklevel=3,
                )
                return
            frame = frame.f_back
    finally:
        del frame


@contextlib.contextmanager
def _index_errors():
    """Turn the library's "GPU 5 not found" at construction into Zeus's ValueError (as
    ZeusGPUIndexError / ZeusCPUIndexError, which stay LookupErrors too)."""
    try:
        yield
    except ZeusNotFoundError as e:
        if isinstance(e, (ZeusGPUNotFoundError, ZeusCPUNotFoundError)):
            raise
        cls = ZeusCPUIndexError if str(e).startswith("CPU") else ZeusGPUIndexError
        new = cls(str(e))
        new.status, new.status_name = e.status, e.status_name
        raise new from None


# ---- ZeusMonitor -------------------------------------------------------------------------------


class _StatesView(Mapping):
    """ZeusMonitor.measurement_states: a read-only view over the C monitor's open windows."""

    __slots__ = ("_times",)

    def __init__(self, times: Mapping[str, float]) -> None:
        self._times = times

    def __getitem__(self, key: str) -> MeasurementState:
        return MeasurementState(time=self._times[key])

    def __iter__(self):
        return iter(list(self._times))

    def __len__(self) -> int:
        return len(self._times)

    def __repr__(self) -> str:
        return f"measurement_states({dict(self)!r})"


class MeasurementWindow:
    """``with monitor.window("step") as w: ...``; then ``w.measurement``.

    The window begins on entry and ends on exit. If the block raises, the window is
    cancelled (nothing is logged, ``w.measurement`` is the cancelled, all-zero Measurement)
    and the exception propagates; pass ``cancel_on_error=False`` to end it normally instead.
    """

    __slots__ = ("monitor", "key", "sync_execution", "restart", "wait_final", "cancel_on_error", "measurement")

    def __init__(self, monitor, key, sync_execution=True, restart=False, wait_final=None, cancel_on_error=True):
        self.monitor = monitor
        self.key = key
        self.sync_execution = sync_execution
        self.restart = restart
        self.wait_final = wait_final
        self.cancel_on_error = cancel_on_error
        self.measurement: Measurement | None = None

    def __enter__(self) -> MeasurementWindow:
        self.monitor.begin_window(self.key, self.sync_execution, self.restart)
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None and self.cancel_on_error:
            try:
                self.measurement = self.monitor.end_window(self.key, False, True)
            except Exception:  # never hide the block's own exception
                pass
            return False
        if self.wait_final is None:
            self.measurement = self.monitor.end_window(self.key, self.sync_execution)
        else:
            self.measurement = self.monitor.end_window(self.key, self.sync_execution, wait_final=self.wait_final)
        return False


class ZeusMonitor(_zeusc.ZeusMonitor):
    """Measure the time and energy of GPU and CPU work in named windows (Zeus's ZeusMonitor).

    Args:
        gpu_indices: Framework GPU indices (positions in CUDA_VISIBLE_DEVICES) to measure;
            None for all visible GPUs.
        cpu_indices: CPU packages (RAPL zones) to measure; None for all readable ones (those
            that cannot be read are left out with a ZeusWarning).
        approx_instant_energy: Replace a GPU energy of exactly 0 (a window shorter than the
            counter's update step) by instant power x window time.
        log_file: Path of a CSV log in Zeus's format (one row per ended window).
        sync_execution_with: "torch", "jax", "cupy", or a callable taking the list of GPU
            indices: how to wait for queued GPU work before each timestamp. The framework is
            imported on the first synchronized call, never before.
        direct_reads: (Zeus-C) True: begin/end read every GPU counter themselves, as Zeus
            does (milliseconds per GPU on real hardware). False (default): a background
            sampler reads them and begin/end only take a timestamp; end_window then returns
            the sampler's estimate (``Measurement.provisional``) at once, and the final
            value, known after the counter's next update (~100 ms), goes to the log and to
            ``get_final()``.
        wait_final: (Zeus-C) Default of ``end_window(wait_final=...)``: wait for the final
            values before returning (sampled mode).
    """

    def __init__(
        self,
        gpu_indices: list[int] | None = None,
        cpu_indices: list[int] | None = None,
        approx_instant_energy: bool = False,
        log_file=None,
        sync_execution_with="torch",
        *,
        direct_reads: bool = False,
        wait_final: bool = False,
    ) -> None:
        _warn_if_global_in_subprocess(self)
        with _index_errors():
            super().__init__(
                gpu_indices,
                cpu_indices,
                approx_instant_energy,
                log_file,
                sync_execution_with,
                direct_reads=direct_reads,
                wait_final=wait_final,
            )

    @property
    def measurement_states(self) -> Mapping[str, MeasurementState]:
        """Read-only live view of the open windows: {key: MeasurementState(time=begin)}."""
        return _StatesView(self._window_begin_times)

    @property
    def gpus(self):
        """Zeus's GPUs object (zeusc.device.get_gpus()), EmptyGPUs when there is none."""
        from zeusc.device.gpu import EmptyGPUs, ZeusGPUInitError, get_gpus  # noqa: PLC0415

        if not self.gpu_indices:
            return EmptyGPUs()
        try:
            return get_gpus()
        except ZeusGPUInitError:
            return EmptyGPUs()

    @property
    def cpus(self):
        """Zeus's CPUs object (zeusc.device.get_cpus()), EmptyCPUs when none is measured."""
        from zeusc.device.cpu import ZeusCPUInitError, get_cpus  # noqa: PLC0415
        from zeusc.device.cpu.common import EmptyCPUs  # noqa: PLC0415

        if not self.cpu_indices:
            return EmptyCPUs()
        try:
            return get_cpus()
        except ZeusCPUInitError:
            return EmptyCPUs()

    def window(
        self,
        key: str,
        sync_execution: bool = True,
        restart: bool = False,
        *,
        wait_final: bool | None = None,
        cancel_on_error: bool = True,
    ) -> MeasurementWindow:
        """A context manager that brackets its block with begin_window/end_window(key)."""
        return MeasurementWindow(self, key, sync_execution, restart, wait_final, cancel_on_error)

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"gpus={self.gpu_indices}, cpus={self.cpu_indices}"
        mode = "direct" if self.direct_reads else "sampled"
        return f"<zeusc.ZeusMonitor {state}, {mode}>"


# ---- PowerMonitor ------------------------------------------------------------------------------


class PowerDomain(str, enum.Enum):
    """GPU power domains, as Zeus names them."""

    DEVICE_INSTANT = "device_instant"
    DEVICE_AVERAGE = "device_average"
    MEMORY_AVERAGE = "memory_average"

    def __str__(self) -> str:
        return self.value


_DOMAIN_CODE = {PowerDomain.DEVICE_INSTANT: 0, PowerDomain.DEVICE_AVERAGE: 1, PowerDomain.MEMORY_AVERAGE: 2}

EnergyDetail = namedtuple("EnergyDetail", "energy flags samples extrapolated_s update_period")
EnergyDetail.__doc__ = """How PowerMonitor.get_energy_detail obtained a GPU's energy (joules,
zeusc.ENERGY_* flags, samples inside the interval, seconds of the interval outside the sampled
time and left out, and the poll period). energy is NaN with ENERGY_UNCOVERED when nothing of
the interval was sampled; ENERGY_CLIPPED says part of it was not and only the rest counts."""


def _warn_uncovered(gpu: int, start_time: float, end_time: float, d: EnergyDetail) -> None:
    """Say which part of [start_time, end_time] the monitor did not sample (issue 9)."""
    if d.flags & _zeusc.ENERGY_UNCOVERED:
        what = f"none of [{start_time:.3f}, {end_time:.3f}] was sampled; returning 0.0"
    else:
        what = (
            f"{d.extrapolated_s:.3f} s of [{start_time:.3f}, {end_time:.3f}] lies outside the "
            "sampled time and is left out"
        )
    warnings.warn(f"PowerMonitor.get_energy: GPU {gpu}: {what}", ZeusWarning, stacklevel=3)


def _check_interval(start_time: float, end_time: float) -> None:
    """A reversed interval is a caller's bug: ValueError, where Zeus returns 0 J per GPU
    (python/README.md, "Where zeusc answers otherwise than Zeus")."""
    if start_time is not None and end_time is not None and start_time > end_time:
        raise ValueError(f"start_time ({start_time}) is after end_time ({end_time}): the interval is reversed")


def _domain(value) -> PowerDomain:
    try:
        return PowerDomain(value)
    except ValueError:
        raise ValueError(f"Unknown power domain {value!r}; expected one of {[d.value for d in PowerDomain]}") from None


class PowerMonitor:
    """Sample GPU power in the background and answer queries over the samples (Zeus's PowerMonitor).

    Args:
        gpu_indices: Framework GPU indices; None for all. An empty list is a ValueError.
        update_period: Seconds between samples; None infers it from how often the readings
            change (half the fastest interval, at most 0.1 s), as Zeus does.
        max_samples_per_gpu: Samples kept per GPU and domain; None keeps 2**20 (Zeus keeps
            all).
        power_domains: Domains to sample (PowerDomain or its string); None for every domain
            the GPUs support.

    Differences from Zeus: sampling runs in a C thread, not a subprocess; get_energy
    integrates over the whole [start_time, end_time] (edges included) instead of only
    between the first and last sample inside it (see include/zeus/power.h).
    """

    def __init__(
        self,
        gpu_indices: list[int] | None = None,
        update_period: float | None = None,
        max_samples_per_gpu: int | None = None,
        power_domains: Iterable[PowerDomain | str] | None = None,
    ) -> None:
        if gpu_indices is not None and len(list(gpu_indices)) == 0:
            raise ValueError("`gpu_indices` must be either `None` or non-empty")
        bits = 0
        if power_domains is not None:
            domains = [_domain(d) for d in power_domains]
            if not domains:
                raise ValueError("`power_domains` must be either `None` or non-empty")
            for d in domains:
                bits |= 1 << _DOMAIN_CODE[d]
        _warn_if_global_in_subprocess(self)
        with _index_errors():
            self._handle = self._open(gpu_indices, update_period, max_samples_per_gpu, bits)
        self.gpu_indices: list[int] = self._handle.gpus()
        self.update_period: float = self._handle.update_period()
        have = self._handle.domains()
        self.measurement_domains: list[PowerDomain] = [d for d, c in _DOMAIN_CODE.items() if have & (1 << c)]

    @staticmethod
    def _open(gpu_indices, update_period, max_samples_per_gpu, bits):
        try:
            return _zeusc.PowerMonitorHandle(
                None if gpu_indices is None else list(gpu_indices),
                0.0 if update_period is None else float(update_period),
                0 if max_samples_per_gpu is None else int(max_samples_per_gpu),
                bits,
            )
        except ZeusNotSupportedError as e:
            if bits:
                raise ZeusUnsupportedDomainError(str(e)) from None
            raise

    def _code(self, domain) -> int:
        d = _domain(domain)
        if d not in self.measurement_domains:
            raise ValueError(
                f"Power domain {d.value} is not being monitored. "
                f"Monitored domains: {[x.value for x in self.measurement_domains]}"
            )
        return _DOMAIN_CODE[d]

    def _gpus(self, gpu_index: int | None) -> list[int]:
        """The GPUs a query covers; an unmonitored gpu_index covers none ({} as in Zeus)."""
        if gpu_index is None:
            return self.gpu_indices
        return [gpu_index] if gpu_index in self.gpu_indices else []

    def get_power_timeline(self, power_domain, gpu_index=None, start_time=None, end_time=None):
        """{gpu: [(unix_time, watts), ...]} in `power_domain`, oldest first; bounds inclusive."""
        code = self._code(power_domain)
        return {g: self._handle.timeline(code, g, start_time, end_time) for g in self._gpus(gpu_index)}

    def get_all_power_timelines(self, gpu_index=None, start_time=None, end_time=None):
        """{domain name: {gpu: [(unix_time, watts), ...]}} for every sampled domain."""
        return {d.value: self.get_power_timeline(d, gpu_index, start_time, end_time) for d in self.measurement_domains}

    def _energy_code(self, power_domain) -> int:
        if power_domain is not None:
            return self._code(power_domain)
        if not {PowerDomain.DEVICE_INSTANT, PowerDomain.DEVICE_AVERAGE} & set(self.measurement_domains):
            raise ValueError(
                "Neither PowerDomain.DEVICE_INSTANT nor PowerDomain.DEVICE_AVERAGE is being "
                "monitored. Cannot compute energy usage."
            )
        return -1  # device_instant if sampled, else device_average (Zeus's rule)

    def get_energy(self, start_time: float, end_time: float, power_domain=None) -> dict[int, float] | None:
        """Joules per GPU between two Unix times (time.time() values).

        Only the sampled time counts: an interval wholly outside it (before the monitor
        started, after it stopped, in the future) gives 0.0 as in Zeus, and one partly
        outside it gives the sampled part's energy; both warn, naming the uncovered part.
        """
        code = self._energy_code(power_domain)
        _check_interval(start_time, end_time)
        out = {}
        for g in self.gpu_indices:
            d = EnergyDetail(*self._handle.energy_detail(code, g, start_time, end_time))
            out[g] = 0.0 if d.flags & _zeusc.ENERGY_UNCOVERED else d.energy
            if d.flags & (_zeusc.ENERGY_UNCOVERED | _zeusc.ENERGY_CLIPPED):
                _warn_uncovered(g, start_time, end_time, d)
        return out

    def get_energy_detail(self, start_time: float, end_time: float, power_domain=None) -> dict[int, EnergyDetail]:
        """As get_energy, with how each value was obtained (Zeus-C addition)."""
        code = self._energy_code(power_domain)
        _check_interval(start_time, end_time)
        return {g: EnergyDetail(*self._handle.energy_detail(code, g, start_time, end_time)) for g in self.gpu_indices}

    def get_power(self, time: float | None = None, power_domain=PowerDomain.DEVICE_INSTANT) -> dict[int, float] | None:
        """Watts per GPU at a Unix time (nearest sample), or the latest for None."""
        code = self._code(power_domain)
        try:
            return {g: self._handle.power(code, g, time) for g in self.gpu_indices}
        except ZeusNoDataError:
            return None

    def stop(self) -> None:
        """Stop sampling (idempotent); the samples taken stay queryable."""
        self._handle.stop()


# ---- TemperatureMonitor ------------------------------------------------------------------------


def _celsius(v: float):
    return int(v) if float(v).is_integer() else v


class TemperatureMonitor:
    """Sample GPU temperatures in the background (Zeus's TemperatureMonitor).

    Args:
        gpu_indices: Framework GPU indices; None for all.
        update_period: Seconds between samples (default 1.0, as Zeus).
        max_samples_per_gpu: Samples kept per GPU; None keeps 2**20.
    """

    def __init__(self, gpu_indices: list[int] | None = None, update_period: float = 1.0, max_samples_per_gpu: int | None = None) -> None:
        if gpu_indices is not None and len(list(gpu_indices)) == 0:
            raise ValueError("`gpu_indices` must be either `None` or non-empty")
        _warn_if_global_in_subprocess(self)
        with _index_errors():
            self._handle = _zeusc.TemperatureMonitorHandle(
                None if gpu_indices is None else list(gpu_indices),
                float(update_period),
                0 if max_samples_per_gpu is None else int(max_samples_per_gpu),
            )
        self.gpu_indices: list[int] = self._handle.gpus()
        self.update_period = float(update_period)

    def get_temperature_timeline(self, gpu_index=None, start_time=None, end_time=None):
        """{gpu: [(unix_time, celsius), ...]}, oldest first; bounds inclusive."""
        if gpu_index is None:
            gpus = self.gpu_indices
        else:  # an unmonitored GPU has no timeline: {} as in Zeus
            gpus = [gpu_index] if gpu_index in self.gpu_indices else []
        return {g: [(t, _celsius(c)) for t, c in self._handle.timeline(g, start_time, end_time)] for g in gpus}

    def get_temperature(self, time: float | None = None) -> dict[int, int] | None:
        """Degrees Celsius per GPU at a Unix time (nearest sample), or the latest for None."""
        try:
            return {g: _celsius(self._handle.temperature(g, time)) for g in self.gpu_indices}
        except ZeusNoDataError:
            return None

    def stop(self) -> None:
        """Stop sampling (idempotent); the samples taken stay queryable."""
        self._handle.stop()
