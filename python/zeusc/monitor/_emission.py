"""Zeus's CarbonEmissionMonitor and EnergyCostMonitor over Zeus-C's emission windows.

The windows are zeus/emission.h's (python/csrc/emission.c): each window's energy is split
into UTC-hour buckets as it runs, with no child process (the library's sampler already runs),
and each bucket is priced with its own hour's rate. The provider is any object with Zeus's
interface (a CarbonIntensityProvider or an ElectricityPriceProvider, zeusc's or a user's
subclass); the library calls it through ``rate_at`` below, on any thread.

Differences from Zeus, on purpose:

- An hour missing from the carbon history uses the nearest known hour, and the measurement's
  ``flags`` has ``RATE_ESTIMATED`` (Zeus raises KeyError in its child process).
- When the provider cannot answer, ``end_window`` raises ZeusPendingError with the
  measurement (all the energy, the priced part) attached as ``.measurement``; the rest is
  priced once the provider answers, by ``get_measurement(window_id)``. No energy is lost or
  priced twice (Zeus's child process dies, and the window with it).
- ``sync_execution`` is accepted for Zeus's signature; the monitor's sync function runs at
  every begin and end, as with Zeus's default.
"""

from __future__ import annotations

import bisect
import threading
import time as _time
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Literal

from zeusc import _zeusc
from zeusc.errors import STATUS_CLASSES, ZeusError, ZeusPendingError

RATE_EXACT = _zeusc.RATE_EXACT
RATE_ESTIMATED = _zeusc.RATE_ESTIMATED
RATE_STALE = _zeusc.RATE_STALE
RATE_PENDING = _zeusc.RATE_PENDING

_ERR_PENDING = -29  # ZEUS_ERR_PENDING (zeus/status.h)
_HOUR = 3600.0
_REFETCH_S = 60.0  # a provider is asked again for its history at most this often


class Op(Enum):
    """Zeus's commands to its polling process; kept for imports (zeusc has no such process)."""

    BEGIN = 0
    END = 1
    NEXTITER = 2


@dataclass
class CarbonEmissionMeasurement:
    """One carbon window: time (s), energy (J) and gCO2eq per device index, as Zeus's.

    zeusc adds ``flags`` (RATE_* bits, OR-ed over the hours), ``hours`` and
    ``pending_hours`` (hours not priced yet), and ``window_id`` (for get_measurement).
    """

    time: float
    gpu_energy: dict[int, float]
    gpu_carbon_emission: dict[int, float]
    cpu_energy: dict[int, float] | None = None
    cpu_carbon_emission: dict[int, float] | None = None
    dram_energy: dict[int, float] | None = None
    dram_carbon_emission: dict[int, float] | None = None
    flags: int = field(default=0, compare=False)
    hours: int = field(default=0, compare=False)
    pending_hours: int = field(default=0, compare=False)
    window_id: int = field(default=0, compare=False)


@dataclass
class EnergyCostMeasurement:
    """One cost window: time (s), energy (J) and cost per device index, as Zeus's.

    zeusc adds ``currency`` and the fields CarbonEmissionMeasurement adds.
    """

    time: float
    gpu_energy: dict[int, float]
    gpu_energy_cost: dict[int, float]
    cpu_energy: dict[int, float] | None = None
    cpu_energy_cost: dict[int, float] | None = None
    dram_energy: dict[int, float] | None = None
    dram_energy_cost: dict[int, float] | None = None
    currency: str = field(default="USD", compare=False)
    flags: int = field(default=0, compare=False)
    hours: int = field(default=0, compare=False)
    pending_hours: int = field(default=0, compare=False)
    window_id: int = field(default=0, compare=False)


# ---- Rates from Zeus-style providers -------------------------------------------------------


def _unix(dt: datetime) -> float:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


class _CarbonRates:
    """rate_at(hour) for a CarbonIntensityProvider: the hour's value from its recent history,
    the current value for the current hour, else the nearest known hour (RATE_ESTIMATED)."""

    def __init__(self, provider) -> None:
        self.provider = provider
        self.lock = threading.Lock()
        self.hours: list[float] = []
        self.values: dict[float, float] = {}
        self.fetched = -float("inf")

    def _refresh(self) -> None:
        history = self.provider.get_recent_carbon_intensity()
        with self.lock:
            for dt, value in history.items():
                self.values[_unix(dt)] = float(value)
            self.hours = sorted(self.values)
            self.fetched = _time.monotonic()

    def __call__(self, hour: float) -> tuple[float, int]:
        if hour not in self.values and _time.monotonic() - self.fetched >= _REFETCH_S:
            self._refresh()
        if hour in self.values:
            return self.values[hour], RATE_EXACT
        if hour == _time.time() // _HOUR * _HOUR:
            return float(self.provider.get_current_carbon_intensity()), RATE_EXACT
        if not self.hours:
            raise LookupError(f"the carbon intensity provider has no value near {hour:.0f}")
        i = bisect.bisect_left(self.hours, hour)
        near = min(self.hours[max(i - 1, 0) : i + 1], key=lambda h: abs(h - hour))
        return self.values[near], RATE_ESTIMATED


class _PriceRates:
    """rate_at(hour) for an ElectricityPriceProvider: Zeus's tier lookup (weekday or weekend
    schedule [month - 1][hour], then energy_rate_structure[tier][0]["rate"]), by the UTC
    hour as Zeus does."""

    def __init__(self, provider) -> None:
        self.provider = provider
        self.data = None

    def __call__(self, hour: float) -> tuple[float, int]:
        if self.data is None:
            self.data = self.provider.get_current_electricity_prices()
        dt = datetime.fromtimestamp(hour, tz=timezone.utc)
        week = "energy_weekday_schedule" if dt.weekday() < 5 else "energy_weekend_schedule"
        try:
            tier = self.data[week][dt.month - 1][dt.hour]
            return float(self.data["energy_rate_structure"][tier][0]["rate"]), RATE_EXACT
        except (IndexError, KeyError, TypeError, ValueError) as e:
            raise LookupError(f"no rate in the price schedule for {dt.isoformat()}: {e!r}") from e


def _rates(provider, kind: int):
    """The provider's own ``rate_at(unix_time) -> (value, RATE_* flags)`` when it has one
    (zeusc's ElectrictyMapsClient and OpenEIClient: the library's providers, with their
    nearest-hour, stale and local-time rules), else an adapter over Zeus's methods."""
    own = getattr(provider, "rate_at", None)
    if callable(own):
        return own
    return _CarbonRates(provider) if kind == _zeusc.RATE_CARBON else _PriceRates(provider)


# ---- The monitors ------------------------------------------------------------------------------


def _none_if_empty(d: dict) -> dict | None:
    return d or None


class _EmissionMonitor:
    _kind = _zeusc.RATE_CARBON

    def __init__(
        self, provider, gpu_indices, cpu_indices, sync_execution_with, *, zeus_monitor=None, _clock=None, _background=True
    ):
        from zeusc.monitor import ZeusMonitor, _warn_if_global_in_subprocess  # noqa: PLC0415

        _warn_if_global_in_subprocess(self)
        if zeus_monitor is None:
            zeus_monitor = ZeusMonitor(
                gpu_indices=gpu_indices, cpu_indices=cpu_indices, sync_execution_with=sync_execution_with
            )
        self.zeus_monitor = zeus_monitor
        currency = None
        if self._kind == _zeusc.RATE_PRICE:
            try:  # zeusc's OpenEIClient knows it; a provider not reachable yet is asked later
                currency = getattr(provider, "currency", None)
            except Exception:  # noqa: BLE001
                currency = None
        self._handle = _zeusc.EmissionHandle(
            self.zeus_monitor,
            _rates(provider, self._kind),
            self._kind,
            currency if isinstance(currency, str) else None,
            _clock,
            _background,
        )
        self.current_keys: set[str] = set()
        # Closed at exit at the latest: the library's thread must not call a Python provider
        # while the interpreter finalizes.
        weakref.finalize(self, self._handle.close)

    def begin_window(self, key: str, sync_execution: bool = True) -> None:
        """Begin window `key` (ValueError, as ZeusWindowExistsError, when it is open)."""
        self._handle.begin(key)
        self.current_keys.add(key)

    def _measurement(self, r: tuple):
        raise NotImplementedError

    def _finish(self, status: int, r: tuple):
        """The measurement; raises ZeusPendingError (kept for get_measurement) or a device's
        error (dropped), each with the measurement as ``.measurement``."""
        m = self._measurement(r)
        if status == 0:
            self._handle.forget(m.window_id)
            return m
        if status == _ERR_PENDING:
            err = ZeusPendingError(
                f"{m.pending_hours} of {m.hours} hour(s) of the window are not priced yet: the "
                f"provider did not answer ({self._handle.last_provider_error!r}); call "
                f"get_measurement({m.window_id}) later"
            )
        else:
            err = STATUS_CLASSES.get(status, ZeusError)("a device failed during the window: its values are NaN")
            self._handle.forget(m.window_id)
        err.measurement = m
        raise err

    def end_window(self, key: str, sync_execution: bool = True):
        """End window `key` and price it (ValueError, as ZeusWindowNotFoundError, when not open)."""
        status, r = self._handle.end(key)
        self.current_keys.discard(key)
        return self._finish(status, r)

    def get_measurement(self, window_id: int):
        """A window that end_window left pending, priced now if the provider answers."""
        status, r = self._handle.get(window_id)
        return self._finish(status, r)

    def _tick(self) -> int:
        """Close the hours the clock has passed and price what waits (for tests with _clock)."""
        return self._handle.tick()

    def close(self) -> None:
        """Stop the monitor's thread and drop its windows (idempotent)."""
        self._handle.close()


class CarbonEmissionMonitor(_EmissionMonitor):
    """Measure time, energy and carbon emission (gCO2eq) of named windows (Zeus's).

    Args:
        carbon_intensity_provider: A CarbonIntensityProvider (ElectrictyMapsClient, or any
            subclass with Zeus's methods).
        gpu_indices, cpu_indices, sync_execution_with: as ZeusMonitor's.
        zeus_monitor: (zeusc) an existing ZeusMonitor to open the windows on, so that a
            program already measuring starts no second one; the three above are then unused.
            Close this monitor (``close()``) before closing that ZeusMonitor: its thread
            keeps using it.
    """

    _kind = _zeusc.RATE_CARBON

    def __init__(
        self,
        carbon_intensity_provider,
        gpu_indices: list[int] | None = None,
        cpu_indices: list[int] | None = None,
        sync_execution_with: Literal["torch", "jax", "cupy"] = "torch",
        **kw,
    ) -> None:
        self.carbon_intensity_provider = carbon_intensity_provider
        super().__init__(carbon_intensity_provider, gpu_indices, cpu_indices, sync_execution_with, **kw)

    def _measurement(self, r: tuple) -> CarbonEmissionMeasurement:
        wid, t, _start, flags, hours, pending, _cur, ge, ga, ce, ca, de, da, _total = r
        return CarbonEmissionMeasurement(
            time=t,
            gpu_energy=ge,
            gpu_carbon_emission=ga,
            cpu_energy=_none_if_empty(ce),
            cpu_carbon_emission=_none_if_empty(ca),
            dram_energy=_none_if_empty(de),
            dram_carbon_emission=_none_if_empty(da),
            flags=flags,
            hours=hours,
            pending_hours=pending,
            window_id=wid,
        )

    def end_window(self, key: str, sync_execution: bool = True) -> CarbonEmissionMeasurement:
        """End window `key`: time, energy and gCO2eq per device."""
        return super().end_window(key, sync_execution)


class EnergyCostMonitor(_EmissionMonitor):
    """Measure time, energy and electricity cost of named windows (Zeus's).

    Args:
        electricity_price_provider: An ElectricityPriceProvider (OpenEIClient, or any subclass
            with Zeus's get_current_electricity_prices()).
        gpu_indices, cpu_indices, sync_execution_with: as ZeusMonitor's.
        zeus_monitor: (zeusc) as CarbonEmissionMonitor's.
    """

    _kind = _zeusc.RATE_PRICE

    def __init__(
        self,
        electricity_price_provider,
        gpu_indices: list[int] | None = None,
        cpu_indices: list[int] | None = None,
        sync_execution_with: Literal["torch", "jax", "cupy"] = "torch",
        **kw,
    ) -> None:
        self.electricity_price_provider = electricity_price_provider
        super().__init__(electricity_price_provider, gpu_indices, cpu_indices, sync_execution_with, **kw)

    def _measurement(self, r: tuple) -> EnergyCostMeasurement:
        wid, t, _start, flags, hours, pending, cur, ge, ga, ce, ca, de, da, _total = r
        return EnergyCostMeasurement(
            time=t,
            gpu_energy=ge,
            gpu_energy_cost=ga,
            cpu_energy=_none_if_empty(ce),
            cpu_energy_cost=_none_if_empty(ca),
            dram_energy=_none_if_empty(de),
            dram_energy_cost=_none_if_empty(da),
            currency=cur,
            flags=flags,
            hours=hours,
            pending_hours=pending,
            window_id=wid,
        )

    def end_window(self, key: str, sync_execution: bool = True) -> EnergyCostMeasurement:
        """End window `key`: time, energy and cost per device."""
        return super().end_window(key, sync_execution)
