"""Zeus's Prometheus push metrics (zeus.metric) over Zeus-C's (include/zeus/metrics.h):
EnergyHistogram, EnergyCumulativeCounter and PowerGauge, with Zeus's metric names, labels
(window, index) and default buckets.

What differs from Zeus: pushing happens on a background thread of the C object, so a slow
or unreachable Pushgateway never blocks begin_window/end_window (Zeus's end_window calls
push_to_gateway and raises URLError into the training loop). A failed push becomes a
``zeusc.ZeusWarning`` on the metric's next call and is counted in ``push_stats()``;
``flush()`` waits for the pushes; ``close()`` (also on collection) pushes what is left.
Counters and gauges run on threads, not subprocesses. No prometheus_client is needed.
"""

from __future__ import annotations

import abc
from typing import Sequence

from zeusc import _zeusc
from zeusc.utils.framework import sync_execution as sync_execution_fn

__all__ = ["EnergyCumulativeCounter", "EnergyHistogram", "Metric", "PowerGauge"]

_HISTOGRAM, _COUNTER, _GAUGE = 0, 1, 2


class Metric(abc.ABC):
    """Base of the push metrics: begin_window(name) / end_window(name)."""

    _handle: _zeusc.PushMetric

    @abc.abstractmethod
    def begin_window(self, name: str, sync_execution: bool = True) -> None:
        """Start window `name`."""

    @abc.abstractmethod
    def end_window(self, name: str, sync_execution: bool = True) -> None:
        """End window `name` and push its values."""

    def flush(self, timeout: float = 5.0) -> None:
        """(Zeus-C) Wait until what was recorded is pushed, at most `timeout` seconds."""
        self._handle.flush(timeout)

    def push_stats(self) -> dict:
        """(Zeus-C) {pushes_ok, pushes_failed, last_status, last_error}."""
        return self._handle.push_stats()

    def close(self) -> None:
        """(Zeus-C) Push what is left, stop the background threads. Idempotent."""
        self._handle.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _indices(value) -> list[int]:
    return list(value) if value is not None else None


class EnergyHistogram(Metric):
    """Energy of each window per GPU, CPU package and DRAM, observed into histograms
    ``energy_monitor_{gpu,cpu,dram}_energy_joules{window, index}`` and pushed.

    Observations above the largest or below the smallest bucket warn, as in Zeus.
    """

    def __init__(
        self,
        cpu_indices: list,
        gpu_indices: list,
        pushgateway_url: str,
        job: str,
        gpu_bucket_range: Sequence[float] = (50.0, 100.0, 200.0, 500.0, 1000.0),
        cpu_bucket_range: Sequence[float] = (10.0, 50.0, 100.0, 500.0, 1000.0),
        dram_bucket_range: Sequence[float] = (5.0, 10.0, 20.0, 50.0, 150.0),
        *,
        sync_execution_with: str = "torch",
        push_timeout: float = 0.0,
    ) -> None:
        for what, rng in (("GPU", gpu_bucket_range), ("CPU", cpu_bucket_range), ("DRAM", dram_bucket_range)):
            if not rng:
                raise ValueError(
                    f"{what} bucket range cannot be empty. Please provide a valid range or omit the argument to use defaults."
                )
        self.cpu_indices = cpu_indices
        self.gpu_indices = gpu_indices
        self.pushgateway_url = pushgateway_url
        self.job = job
        self.gpu_bucket_range = list(gpu_bucket_range)
        self.cpu_bucket_range = list(cpu_bucket_range)
        self.dram_bucket_range = list(dram_bucket_range)
        self.sync_execution_with = sync_execution_with
        self._handle = _zeusc.PushMetric(
            _HISTOGRAM,
            _indices(gpu_indices),
            _indices(cpu_indices),
            pushgateway_url,
            job,
            0.0,
            self.gpu_bucket_range,
            self.cpu_bucket_range,
            self.dram_bucket_range,
            push_timeout,
        )

    def _sync(self, sync_execution: bool) -> None:
        if sync_execution and self.gpu_indices:
            sync_execution_fn(list(self.gpu_indices), sync_with=self.sync_execution_with)

    def begin_window(self, name: str, sync_execution: bool = True) -> None:
        """Start window `name` (a clock read). ValueError if it is already open."""
        self._sync(sync_execution)
        self._handle.begin_window(name)

    def end_window(self, name: str, sync_execution: bool = True) -> None:
        """End window `name`: its energies are observed and pushed in the background once
        the sampled values are final (~0.1 s). ValueError if it is not open."""
        self._sync(sync_execution)
        self._handle.end_window(name)


class EnergyCumulativeCounter(Metric):
    """Energy since the window began, per device, added every `update_period` seconds to
    ``energy_monitor_{gpu,cpu,dram}_energy_joules_total{window, index}`` and pushed."""

    def __init__(
        self,
        cpu_indices: list,
        gpu_indices: list,
        update_period: float,
        pushgateway_url: str,
        job: str,
        *,
        push_timeout: float = 0.0,
    ) -> None:
        self.cpu_indices = cpu_indices
        self.gpu_indices = gpu_indices
        self.update_period = update_period
        self.pushgateway_url = pushgateway_url
        self.job = job
        self._handle = _zeusc.PushMetric(
            _COUNTER, _indices(gpu_indices), _indices(cpu_indices), pushgateway_url, job, float(update_period),
            None, None, None, push_timeout,
        )

    def begin_window(self, name: str, sync_execution: bool = False) -> None:
        """Start counting window `name` on a background thread. ValueError if it runs."""
        self._handle.begin_window(name)

    def end_window(self, name: str, sync_execution: bool = False) -> None:
        """Stop counting `name` (adds the last partial period). ValueError if not counted."""
        try:
            self._handle.end_window(name)
        except LookupError:
            raise ValueError(f"No active monitoring process found for '{name}'.") from None


class PowerGauge(Metric):
    """GPU power, set every `update_period` seconds in
    ``power_monitor_gpu_power_watts{window, index}`` and pushed."""

    def __init__(
        self,
        gpu_indices: list,
        update_period: float,
        pushgateway_url: str,
        job: str,
        *,
        push_timeout: float = 0.0,
    ) -> None:
        self.gpu_indices = gpu_indices
        self.update_period = update_period
        self.pushgateway_url = pushgateway_url
        self.job = job
        self._handle = _zeusc.PushMetric(
            _GAUGE, _indices(gpu_indices), None, pushgateway_url, job, float(update_period), None, None, None, push_timeout
        )

    def begin_window(self, name: str, sync_execution: bool = False) -> None:
        """Start setting the gauge for window `name`. ValueError if it already runs."""
        try:
            self._handle.begin_window(name)
        except ValueError as e:
            if getattr(e, "status_name", None) == "ERR_ALREADY_EXISTS":
                raise ValueError(f"PowerGauge metric '{name}' already exists.") from None
            raise

    def end_window(self, name: str, sync_execution: bool = False) -> None:
        """Stop window `name`'s thread. ValueError if it is not running."""
        self._handle.end_window(name)
