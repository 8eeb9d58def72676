"""Zeus's carbon-intensity and electricity-price providers over Zeus-C's rate providers.

``zeusc.monitor.carbon`` and ``zeusc.monitor.price`` re-export these names where Zeus has
them (``from zeus.monitor.carbon import ElectrictyMapsClient`` becomes ``from
zeusc.monitor.carbon import ...``). The requests go out from C (include/zeus/rate.h: libcurl,
10 s per try, three tries on 429/5xx/timeouts, answers cached for an hour), so the base URLs
follow ``ZEUS_ELECTRICITYMAPS_URL`` and ``ZEUS_OPENEI_URL``, and:

- ElectricityMaps gets the ``auth-token`` header from ``ELECTRICITYMAPS_API_KEY`` when set
  (Zeus sends none).
- OpenEI's key comes from ``OPENEI_API_KEY`` (Zeus has one written into its source); without
  it the first request raises ZeusElectricityPriceHTTPError.
- The exceptions are Zeus's names, deriving from zeusc's ZeusProviderHTTPError and
  ZeusProviderNotFoundError too.

Zeus-C additions: ``rate_at(t)`` on both clients gives ``(value, flags)`` for the UTC hour
holding ``t``, with zeusc.monitor._rate.RATE_* flags: an hour missing from ElectricityMaps'
history takes the nearest known hour's value (RATE_ESTIMATED) where Zeus raises KeyError,
and a cached answer used while the service is down is RATE_STALE. OpenEIClient.rate_at reads
the schedule in the utility's local time and adds the rate's "adj" (include/zeus/rate.h).
"""

from __future__ import annotations

import abc
import json
import os
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from typing import Literal

from zeusc import _zeusc
from zeusc.errors import ZeusProviderHTTPError, ZeusProviderNotFoundError

RATE_CARBON = _zeusc.RATE_CARBON
RATE_PRICE = _zeusc.RATE_PRICE
RATE_EXACT = _zeusc.RATE_EXACT
RATE_ESTIMATED = _zeusc.RATE_ESTIMATED
RATE_STALE = _zeusc.RATE_STALE
RATE_PENDING = _zeusc.RATE_PENDING

__all__ = [
    "CarbonIntensityProvider",
    "ElectricityMapsClient",
    "ElectricityPriceProvider",
    "ElectrictyMapsClient",
    "OpenEIClient",
    "ZeusCarbonIntensityHTTPError",
    "ZeusCarbonIntensityNotFoundError",
    "ZeusElectricityPriceHTTPError",
    "ZeusElectricityPriceNotFoundError",
    "get_time_info",
]

# as_rate_provider (below) is for zeusc's monitors, not in __all__: Zeus has no such function.


# ---- Exceptions ---------------------------------------------------------------------------------


class ZeusCarbonIntensityHTTPError(ZeusProviderHTTPError):
    """Exception when HTTP request to carbon intensity provider fails."""


class ZeusCarbonIntensityNotFoundError(ZeusProviderNotFoundError):
    """Exception when carbon intensity measurement could not be retrieved."""


class ZeusElectricityPriceHTTPError(ZeusProviderHTTPError):
    """Exception when HTTP request to electricity price provider fails."""


class ZeusElectricityPriceNotFoundError(ZeusProviderNotFoundError):
    """Exception when electricity price measurement could not be retrieved."""


def _retyped(e: Exception, http_cls: type, not_found_cls: type) -> Exception:
    """The library's provider error as the Zeus class of its kind (same message and status)."""
    if isinstance(e, ZeusProviderNotFoundError):
        cls = not_found_cls
    elif isinstance(e, ZeusProviderHTTPError):
        cls = http_cls
    else:
        return e
    new = cls(str(e))
    new.status, new.status_name = getattr(e, "status", None), getattr(e, "status_name", None)
    return new


class _Rates:
    """A C rate provider built from a spec, rebuilt when the spec changes (Zeus's clients read
    their attributes at each request, and its tests change them between requests)."""

    def __init__(self, kind: int, http_cls: type, not_found_cls: type) -> None:
        self._kind = kind
        self._errors = (http_cls, not_found_cls)
        self._spec: str | None = None
        self._provider = None

    def get(self, spec: str):
        if spec != self._spec:
            if self._provider is not None:
                self._provider.close()
            self._provider, self._spec = None, None
            self._provider = self.call(_zeusc.RateProvider, spec, self._kind)
            self._spec = spec
        return self._provider

    def call(self, fn, *args):
        try:
            return fn(*args)
        except (ZeusProviderHTTPError, ZeusProviderNotFoundError) as e:
            raise _retyped(e, *self._errors) from None


# ---- Carbon intensity ---------------------------------------------------------------------------


class CarbonIntensityProvider(abc.ABC):
    """Abstract class for implementing ways to fetch carbon intensity."""

    @abc.abstractmethod
    def get_current_carbon_intensity(self) -> float:
        """Abstract method for fetching the current carbon intensity of the set location of the class."""

    @abc.abstractmethod
    def get_recent_carbon_intensity(self) -> dict[datetime, float]:
        """Abstract method for fetching the recent carbon intensity of the set location of the class."""

    @property
    @abc.abstractmethod
    def update_period(self) -> timedelta:
        """How long each carbon intensity value in the history dict remains current."""

    @property
    @abc.abstractmethod
    def history_length(self) -> int:
        """How many carbon intensity values are in the history dict."""


class ElectrictyMapsClient(CarbonIntensityProvider):
    """Carbon Intensity Provider with ElectricityMaps API (Zeus's spelling).

    Args:
        location: (latitude, longitude).
        estimate: Let ElectricityMaps estimate hours it has no data for (Zeus's default
            False; CarbonEmissionMonitor wants True).
        emission_factor_type: "direct" or "lifecycle".
    """

    def __init__(
        self,
        location: tuple[float, float],
        estimate: bool = False,
        emission_factor_type: Literal["direct", "lifecycle"] = "direct",
    ) -> None:
        self.lat, self.long = location
        self.estimate = estimate
        self.emission_factor_type = emission_factor_type
        self._rates = _Rates(RATE_CARBON, ZeusCarbonIntensityHTTPError, ZeusCarbonIntensityNotFoundError)

    @property
    def spec(self) -> str:
        """The Zeus-C provider spec of the current attributes (include/zeus/rate.h)."""
        if self.emission_factor_type not in ("direct", "lifecycle"):
            raise ValueError(f"emission_factor_type must be 'direct' or 'lifecycle', not {self.emission_factor_type!r}")
        return (
            f"electricitymaps:{self.lat},{self.long}:estimate={bool(self.estimate)}"
            f":emission_factor={self.emission_factor_type}"
        )

    @property
    def _provider(self):
        return self._rates.get(self.spec)

    def get_current_carbon_intensity(self) -> float:
        """Fetches current carbon intensity (gCO2eq/kWh) of the location of the class."""
        p = self._provider
        return self._rates.call(p.current)

    def get_recent_carbon_intensity(self) -> dict[datetime, float]:
        """Fetches the last 24 hours' carbon intensity: {UTC datetime: gCO2eq/kWh}."""
        p = self._provider
        points = self._rates.call(p.history, 256)
        return {datetime.fromtimestamp(t, tz=timezone.utc): v for t, v in points}

    def rate_at(self, time: float) -> tuple[float, int]:
        """(gCO2eq/kWh, RATE_* flags) of the UTC hour holding Unix time `time` (Zeus-C)."""
        p = self._provider
        return self._rates.call(p.rate_at, float(time))

    @property
    def update_period(self) -> timedelta:
        """How long each value in the history dict remains current (one hour)."""
        return timedelta(seconds=self._provider.update_period)

    @property
    def history_length(self) -> int:
        """Number of values in the history dict (24)."""
        return self._provider.history_length

    def __repr__(self) -> str:
        return (
            f"ElectrictyMapsClient(location=({self.lat}, {self.long}), estimate={self.estimate}, "
            f"emission_factor_type={self.emission_factor_type!r})"
        )


#: The correct spelling of Zeus's ElectrictyMapsClient.
ElectricityMapsClient = ElectrictyMapsClient


# ---- Electricity price --------------------------------------------------------------------------


def get_time_info() -> tuple[str, str, int]:
    """Retrieve the month, day_type (weekend or weekday), and hour (local time, as Zeus)."""
    now = datetime.now()
    month = now.strftime("%B")
    day_type = "Weekend" if now.weekday() >= 5 else "Weekday"
    return month, day_type, now.hour


class ElectricityPriceProvider(abc.ABC):
    """Abstract class for implementing ways to fetch electricity price."""

    @abc.abstractmethod
    def get_current_electricity_prices(self) -> dict[str, list]:
        """Abstract method for fetching the current electricity price of the set location of the class."""


_SECTORS = ("Residential", "Commercial", "Industrial", "Lighting")


class OpenEIClient(ElectricityPriceProvider):
    """Electricity Price Provider with OpenEI's Utility Rate Database.

    Args:
        location: (latitude, longitude).
        label: The rate plan's unique label in the database.
        sector: "Residential", "Commercial", "Industrial" or "Lighting".
        radius: Search radius (miles) around the location.

    The API key is read from ``OPENEI_API_KEY`` at each request.
    """

    def __init__(
        self,
        location: tuple[float, float],
        label: str,
        sector: Literal["Residential", "Commercial", "Industrial", "Lighting"] = "Residential",
        radius: int = 0,
    ) -> None:
        self.lat, self.long = location
        self.label = label
        self.sector = sector
        self.radius = radius
        self._rates = _Rates(RATE_PRICE, ZeusElectricityPriceHTTPError, ZeusElectricityPriceNotFoundError)

    @property
    def spec(self) -> str:
        """The Zeus-C provider spec of the current attributes (include/zeus/rate.h)."""
        if self.sector not in _SECTORS:
            raise ValueError(f"sector must be one of {_SECTORS}, not {self.sector!r}")
        if ":" in str(self.label):
            raise ValueError("an OpenEI label cannot contain ':'")
        return f"openei:{self.lat},{self.long}:{self.label}:{self.sector}:{int(self.radius)}"

    def _key(self) -> str:
        key = os.environ.get("OPENEI_API_KEY", "")
        if not key:
            raise ZeusElectricityPriceHTTPError(
                "OPENEI_API_KEY is not set (OpenEI needs an API key: https://openei.org/services/api/signup/)"
            )
        return key

    @property
    def _provider(self):
        self._key()
        return self._rates.get(self.spec)

    def search_json(self, data, key_name, target_value, return_value):
        """Recursively search for a key in a nested JSON and return the return_value field if found (Zeus's)."""
        results = []
        if isinstance(data, dict):
            for key, val in data.items():
                if key == key_name and val == target_value:
                    results.append(data.get(return_value))
                results.extend(self.search_json(val, key_name, target_value, return_value))
        elif isinstance(data, list):
            for item in data:
                results.extend(self.search_json(item, key_name, target_value, return_value))
        return results

    def _url(self) -> str:
        base = (os.environ.get("ZEUS_OPENEI_URL") or "https://api.openei.org").rstrip("/")
        return (
            f"{base}/utility_rates?version=latest&format=json&api_key={urllib.request.quote(self._key(), safe='')}"
            f"&lat={self.lat}&lon={self.long}&radius={self.radius}&detail=full&sector={self.sector}"
        )

    def get_current_electricity_prices(self) -> dict[str, list]:
        """Zeus's raw rate plan: {"energy_rate_structure", "energy_weekday_schedule",
        "energy_weekend_schedule"} of the plan labelled ``label``.

        The tables are returned as OpenEI sends them, so this one request is made from Python
        (urllib, 10 s timeout) with the same URL the C provider uses; prices for an hour come
        from ``rate_at``.
        """
        url = self._url()
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                text = resp.read(8 << 20).decode("utf-8", "replace")
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "code", None) or getattr(e, "reason", None) or e
            raise ZeusElectricityPriceHTTPError(
                f"Failed to retrieve current electricity price measurement: {reason}"
            ) from None
        try:
            data = json.loads(text)
        except ValueError:
            raise ZeusElectricityPriceNotFoundError("Failed to process electricity price data.") from None
        if "label" not in json.dumps(data):
            raise ZeusElectricityPriceNotFoundError(f"No rates found for lat, lon: [{self.lat}, {self.long}].")
        structure = self.search_json(data, "label", self.label, "energyratestructure")
        weekday = self.search_json(data, "label", self.label, "energyweekdayschedule")
        weekend = self.search_json(data, "label", self.label, "energyweekendschedule")
        if not structure or not weekday or not weekend or None in (structure[0], weekday[0], weekend[0]):
            raise ZeusElectricityPriceNotFoundError(f"No rates found for the label: {self.label}.")
        return {
            "energy_rate_structure": structure[0],
            "energy_weekday_schedule": weekday[0],
            "energy_weekend_schedule": weekend[0],
        }

    def rate_at(self, time: float) -> tuple[float, int]:
        """(price per kWh, RATE_* flags) of the hour holding Unix time `time` (Zeus-C)."""
        p = self._provider
        return self._rates.call(p.rate_at, float(time))

    def get_current_price(self) -> float:
        """The price per kWh of the current hour (Zeus-C)."""
        p = self._provider
        return self._rates.call(p.current)

    @property
    def currency(self) -> str:
        """ISO 4217 code of the prices ("USD")."""
        return self._provider.currency

    @property
    def update_period(self) -> timedelta:
        """How long each price holds (one hour)."""
        return timedelta(seconds=self._provider.update_period)

    def __repr__(self) -> str:
        return (
            f"OpenEIClient(location=({self.lat}, {self.long}), label={self.label!r}, "
            f"sector={self.sector!r}, radius={self.radius})"
        )


# ---- Any provider as a C provider (for the carbon and cost monitors) ---------------------------


class _FromRecent:
    """rate_at over a Python CarbonIntensityProvider's get_recent_carbon_intensity(): the hour's
    value, or the nearest hour's flagged estimated (Zeus raises KeyError)."""

    def __init__(self, provider: CarbonIntensityProvider) -> None:
        self.provider = provider

    def rate_at(self, hour: float) -> tuple[float, int]:
        recent = self.provider.get_recent_carbon_intensity()
        if not recent:
            raise LookupError("the carbon intensity provider gave no recent values")
        when = {(k if k.tzinfo else k.replace(tzinfo=timezone.utc)).timestamp(): v for k, v in recent.items()}
        if hour in when:
            return float(when[hour]), RATE_EXACT
        nearest = min(when, key=lambda t: (abs(t - hour), t))
        return float(when[nearest]), RATE_ESTIMATED


class _FromSchedule:
    """rate_at over a Python ElectricityPriceProvider's Zeus-shaped plan, read as Zeus's
    EnergyCostMonitor reads it: UTC month and hour, weekday() < 5 on the weekday table, the
    period's first tier's "rate"."""

    def __init__(self, provider: ElectricityPriceProvider) -> None:
        self.provider = provider

    def rate_at(self, hour: float) -> tuple[float, int]:
        plan = self.provider.get_current_electricity_prices()
        t = datetime.fromtimestamp(hour, tz=timezone.utc)
        table = plan["energy_weekday_schedule"] if t.weekday() < 5 else plan["energy_weekend_schedule"]
        tier = table[t.month - 1][t.hour]
        return float(plan["energy_rate_structure"][tier][0]["rate"]), RATE_EXACT


def as_rate_provider(provider):
    """The C rate provider behind `provider` (zeusc._zeusc.RateProvider), for the monitors.

    zeusc's own clients give theirs; a RateProvider is itself; any other
    CarbonIntensityProvider or ElectricityPriceProvider (a user's subclass, as in Zeus) is
    wrapped so that C calls back into it, holding the GIL, for each hour it prices.
    """
    if isinstance(provider, _zeusc.RateProvider):
        return provider
    if isinstance(provider, (ElectrictyMapsClient, OpenEIClient)):
        return provider._provider
    if isinstance(provider, CarbonIntensityProvider):
        period = provider.update_period.total_seconds()
        return _zeusc.RateProvider.from_object(
            _FromRecent(provider), RATE_CARBON, update_period=period, history_length=int(provider.history_length)
        )
    if isinstance(provider, ElectricityPriceProvider):
        return _zeusc.RateProvider.from_object(_FromSchedule(provider), RATE_PRICE, update_period=3600.0)
    raise TypeError(
        f"expected a CarbonIntensityProvider, an ElectricityPriceProvider or a RateProvider, not {type(provider).__name__}"
    )
