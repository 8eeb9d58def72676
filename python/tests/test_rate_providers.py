"""zeusc's carbon-intensity and price providers (zeusc/monitor/_rate.py over include/zeus/rate.h)
against a loopback HTTP server serving Zeus's recorded answers (tests/data/zeus-provider-answers),
with Zeus's tests/monitor/test_carbon.py and test_price.py cases ported: the URLs Zeus sends, the
values, and Zeus's exceptions."""

from __future__ import annotations

import json
import os
import sys
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from zeusc.errors import ZeusError, ZeusProviderHTTPError, ZeusProviderNotFoundError
from zeusc.monitor import _rate
from zeusc.monitor.carbon import (
    CarbonIntensityProvider,
    ElectricityMapsClient,
    ElectrictyMapsClient,
    ZeusCarbonIntensityHTTPError,
    ZeusCarbonIntensityNotFoundError,
)
from zeusc.monitor.price import (
    ElectricityPriceProvider,
    OpenEIClient,
    ZeusElectricityPriceHTTPError,
    ZeusElectricityPriceNotFoundError,
    get_time_info,
)
from zeusc.utils.lat_lon import get_ip_lat_long

DATA = Path(os.environ.get("ZEUS_TEST_DATA") or Path(__file__).resolve().parents[2] / "tests" / "data")
ANSWERS = DATA / "zeus-provider-answers"

IP_INFO = {"ip": "35.3.237.23", "city": "Ann Arbor", "loc": "42.2776,-83.7409", "timezone": "America/Detroit"}
NO_MEASUREMENT = r'{"error":"No recent data for zone \"US-MIDW-MISO\""}'
LIFECYCLE = '{"zone":"US-MIDW-MISO","carbonIntensity":466,"emissionFactorType":"lifecycle"}'
DIRECT = '{"zone":"US-MIDW-MISO","carbonIntensity":506,"emissionFactorType":"direct"}'
QUERY = "lat=42.2776&lon=-83.7409&disableEstimations={}&emissionFactorType={}"
OPENEI_QUERY = "/utility_rates?version=latest&format=json&api_key=test-key&lat={}&lon={}&radius=0&detail=full&sector=Residential"


class _Server:
    """Answers exact path+query strings with (status, body); records every request."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, str]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                status, body = outer.answers.get(self.path, (404, '{"error":"no such path"}'))
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(monkeypatch):
    s = _Server()
    monkeypatch.setenv("ZEUS_ELECTRICITYMAPS_URL", s.url)
    monkeypatch.setenv("ZEUS_OPENEI_URL", s.url)
    monkeypatch.setenv("ZEUS_IPINFO_URL", s.url + "/json")
    monkeypatch.setenv("OPENEI_API_KEY", "test-key")
    monkeypatch.setenv("ZEUS_RATE_HTTP_TIMEOUT_S", "2")
    monkeypatch.delenv("ELECTRICITYMAPS_API_KEY", raising=False)
    s.answers["/json"] = (200, json.dumps(IP_INFO))
    s.answers["/v3/carbon-intensity/latest?" + QUERY.format("True", "direct")] = (200, NO_MEASUREMENT)
    s.answers["/v3/carbon-intensity/latest?" + QUERY.format("False", "direct")] = (200, DIRECT)
    s.answers["/v3/carbon-intensity/latest?" + QUERY.format("False", "lifecycle")] = (200, LIFECYCLE)
    for est in ("True", "False"):
        s.answers["/v3/carbon-intensity/history?" + QUERY.format(est, "direct")] = (
            200,
            (ANSWERS / "carbon_history_files" / "carbon_history_file1").read_text(),
        )
    s.answers[OPENEI_QUERY.format("-100", "-100")] = (200, (ANSWERS / "price_output_files" / "invalid.json").read_text())
    s.answers[OPENEI_QUERY.format("42.2776", "-83.7409")] = (200, (ANSWERS / "price_output_files" / "ann_arbor.json").read_text())
    s.answers[OPENEI_QUERY.format("38", "-78")] = (200, (ANSWERS / "price_output_files" / "virginia.json").read_text())
    yield s
    s.stop()


# ---- Zeus's test_carbon.py ----------------------------------------------------------------------


def test_get_current_carbon_intensity(server):
    latlong = get_ip_lat_long()
    assert latlong == (pytest.approx(42.2776), pytest.approx(-83.7409))
    provider = ElectrictyMapsClient(latlong, estimate=True, emission_factor_type="lifecycle")
    assert provider.get_current_carbon_intensity() == 466

    provider.emission_factor_type = "direct"
    assert provider.get_current_carbon_intensity() == 506
    latest = [p for p, _ in server.requests if "latest" in p]
    assert latest == [
        "/v3/carbon-intensity/latest?" + QUERY.format("False", "lifecycle"),
        "/v3/carbon-intensity/latest?" + QUERY.format("False", "direct"),
    ]
    assert all("auth-token" not in h for _, h in server.requests)


def test_get_current_carbon_intensity_no_response(server):
    provider = ElectrictyMapsClient(get_ip_lat_long())
    with pytest.raises(ZeusCarbonIntensityNotFoundError) as info:
        provider.get_current_carbon_intensity()
    assert isinstance(info.value, ZeusProviderNotFoundError)
    assert "No recent data" in str(info.value)


def test_get_recent_carbon_intensity(server):
    provider = ElectricityMapsClient((42.2776, -83.7409), estimate=True)
    assert ElectricityMapsClient is ElectrictyMapsClient
    assert isinstance(provider, CarbonIntensityProvider)
    recent = provider.get_recent_carbon_intensity()
    assert len(recent) == 24 == provider.history_length
    assert provider.update_period == timedelta(hours=1)
    first = datetime(2024, 11, 30, 6, tzinfo=timezone.utc)
    assert recent[first] == 501
    assert recent[first + timedelta(hours=23)] == 494
    assert list(recent) == sorted(recent)


def test_rate_at_flags(server):
    provider = ElectrictyMapsClient((42.2776, -83.7409), estimate=True)
    t = datetime(2024, 11, 30, 7, 30, tzinfo=timezone.utc).timestamp()
    assert provider.rate_at(t) == (419, _rate.RATE_EXACT)
    # An hour past the history: the nearest known hour, flagged estimated (Zeus: KeyError).
    later = datetime(2024, 12, 1, 8, tzinfo=timezone.utc).timestamp()
    assert provider.rate_at(later) == (494, _rate.RATE_ESTIMATED)


def test_auth_token_header(server, monkeypatch):
    monkeypatch.setenv("ELECTRICITYMAPS_API_KEY", "secret-token")
    ElectrictyMapsClient((42.2776, -83.7409), estimate=True).get_current_carbon_intensity()
    assert server.requests[-1][1]["auth-token"] == "secret-token"


def test_carbon_http_errors(server, monkeypatch):
    server.answers["/v3/carbon-intensity/latest?" + QUERY.format("False", "direct")] = (401, '{"error":"bad key"}')
    with pytest.raises(ZeusCarbonIntensityHTTPError) as info:
        ElectrictyMapsClient((42.2776, -83.7409), estimate=True).get_current_carbon_intensity()
    assert isinstance(info.value, ZeusProviderHTTPError)
    assert "401" in str(info.value)
    monkeypatch.setenv("ZEUS_ELECTRICITYMAPS_URL", "http://127.0.0.1:1")
    with pytest.raises(ZeusCarbonIntensityHTTPError):
        ElectrictyMapsClient((42.2776, -83.7409), estimate=True).get_recent_carbon_intensity()


def test_malformed_answer(server):
    server.answers["/v3/carbon-intensity/history?" + QUERY.format("False", "direct")] = (200, '{"history": [')
    with pytest.raises(ZeusCarbonIntensityNotFoundError):
        ElectrictyMapsClient((42.2776, -83.7409), estimate=True).get_recent_carbon_intensity()


def test_bad_emission_factor():
    with pytest.raises(ValueError):
        ElectrictyMapsClient((1.0, 2.0), emission_factor_type="indirect").get_current_carbon_intensity()


# ---- Zeus's test_price.py -----------------------------------------------------------------------


def test_get_prices(server):
    latlong = get_ip_lat_long()
    client = OpenEIClient(latlong, "539f6d3bec4f024411ecb311")
    assert isinstance(client, ElectricityPriceProvider)
    prices = client.get_current_electricity_prices()
    assert prices["energy_rate_structure"] == [[{"rate": 0.1056, "adj": 0.029681}]]
    assert prices["energy_weekday_schedule"] == [[0] * 24] * 12
    assert prices["energy_weekend_schedule"] == [[0] * 24] * 12
    # The C provider: rate + adj, in USD.
    value, flags = client.rate_at(datetime(2024, 11, 30, 6, tzinfo=timezone.utc).timestamp())
    assert value == pytest.approx(0.1056 + 0.029681)
    assert flags == _rate.RATE_EXACT
    assert client.currency == "USD"
    assert client.get_current_price() == pytest.approx(0.135281)
    assert client.update_period == timedelta(hours=1)


def test_get_prices_invalid_lat_lon_no_response(server):
    client = OpenEIClient([-100, -100], "539f6d3bec4f024411ecb311")
    with pytest.raises(ZeusElectricityPriceNotFoundError):
        client.get_current_electricity_prices()
    with pytest.raises(ZeusElectricityPriceNotFoundError) as info:
        client.rate_at(0)
    assert "Utility company lookup failed" in str(info.value)


def test_get_prices_invalid_label_no_response(server):
    client = OpenEIClient(get_ip_lat_long(), "invalid")
    with pytest.raises(ZeusElectricityPriceNotFoundError):
        client.get_current_electricity_prices()
    with pytest.raises(ZeusElectricityPriceNotFoundError):
        client.rate_at(0)


def test_virginia_local_time(server):
    client = OpenEIClient((38, -78), "539f6e1dec4f024411ecbeaf")
    # 06:00 UTC on 2024-11-30 is 01:00 EST: the off-peak period 0 (Zeus's UTC hour: period 2).
    value, _ = client.rate_at(datetime(2024, 11, 30, 6, tzinfo=timezone.utc).timestamp())
    assert value == pytest.approx(0.01679 + 0.03255)
    assert client.get_current_electricity_prices()["energy_rate_structure"][2] == [
        {"rate": 0.14284, "adj": 0.03255, "unit": "kWh"}
    ]


def test_openei_key_required(server, monkeypatch):
    monkeypatch.delenv("OPENEI_API_KEY")
    client = OpenEIClient((38, -78), "539f6e1dec4f024411ecbeaf")
    with pytest.raises(ZeusElectricityPriceHTTPError, match="OPENEI_API_KEY"):
        client.get_current_electricity_prices()
    with pytest.raises(ZeusElectricityPriceHTTPError, match="OPENEI_API_KEY"):
        client.rate_at(0)
    assert server.requests == []


def test_openei_http_error(server):
    server.answers[OPENEI_QUERY.format("38", "-78")] = (500, "{}")
    client = OpenEIClient((38, -78), "539f6e1dec4f024411ecbeaf")
    with pytest.raises(ZeusElectricityPriceHTTPError):
        client.get_current_electricity_prices()
    with pytest.raises(ZeusElectricityPriceHTTPError):
        client.rate_at(0)


def test_get_time_info():
    month, day_type, hour = get_time_info()
    assert month in [datetime(2024, m, 1).strftime("%B") for m in range(1, 13)]
    assert day_type in ("Weekday", "Weekend")
    assert 0 <= hour < 24


# ---- The C provider directly ----------------------------------------------------------------------


def test_rate_provider_specs(tmp_path):
    from zeusc import _zeusc

    p = _zeusc.RateProvider("fixed:400", _zeusc.RATE_CARBON)
    assert p.rate_at(0) == (400.0, _zeusc.RATE_EXACT)
    assert (p.unit, p.currency, p.kind, p.update_period, p.history_length) == ("gCO2eq/kWh", "", 0, 3600.0, 0)
    p.close()
    assert p.closed
    with pytest.raises(ValueError):
        p.rate_at(0)
    csv = tmp_path / "prices.csv"
    csv.write_text("timestamp,value\n2024-11-30T06:00:00Z,0.10\n2024-11-30T07:00:00+00:00,0.20\n")
    p = _zeusc.RateProvider(f"csv:{csv}", _zeusc.RATE_PRICE)
    assert p.rate_at(datetime(2024, 11, 30, 7, 59, tzinfo=timezone.utc).timestamp()) == (0.2, _zeusc.RATE_EXACT)
    assert p.unit == "USD/kWh"
    csv.write_text("2024-11-30T06:00:00,0.10\n")
    with pytest.raises(ValueError, match="prices.csv:1"):
        _zeusc.RateProvider(f"csv:{csv}", _zeusc.RATE_PRICE)


def test_rate_provider_from_object(monkeypatch):
    from zeusc import _zeusc

    class Hourly:
        def __init__(self):
            self.hours = []

        def rate_at(self, hour):
            self.hours.append(hour)
            if hour < 0:
                raise LookupError("no such hour")
            return 0.25, _zeusc.RATE_ESTIMATED

    src = Hourly()
    p = _zeusc.RateProvider.from_object(src, _zeusc.RATE_PRICE, currency="EUR")
    assert p.rate_at(7300.0) == (0.25, _zeusc.RATE_ESTIMATED)
    assert src.hours == [7200.0]
    assert p.unit == "EUR/kWh"
    with pytest.raises(ZeusProviderNotFoundError, match="callback failed for the hour at -3600"):
        p.rate_at(-3600)

    class Broken:
        def rate_at(self, hour):
            return "not a pair"

    seen = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    p = _zeusc.RateProvider.from_object(Broken(), _zeusc.RATE_CARBON)
    with pytest.raises(ZeusError) as info:
        p.rate_at(0)
    assert info.value.status_name == "ERR_CALLBACK_FAILED"
    assert len(seen) == 1 and isinstance(seen[0].exc_value, TypeError)


def test_as_rate_provider_wraps_python_providers(server):
    from zeusc import _zeusc

    class Recent(CarbonIntensityProvider):
        def get_current_carbon_intensity(self):
            return 300.0

        def get_recent_carbon_intensity(self):
            base = datetime(2024, 11, 30, 6, tzinfo=timezone.utc)
            return {base: 100, base + timedelta(hours=2): 300}

        @property
        def update_period(self):
            return timedelta(hours=1)

        @property
        def history_length(self):
            return 24

    p = _rate.as_rate_provider(Recent())
    t0 = datetime(2024, 11, 30, 6, tzinfo=timezone.utc).timestamp()
    assert p.rate_at(t0) == (100.0, _zeusc.RATE_EXACT)
    assert p.rate_at(t0 + 3 * 3600) == (300.0, _zeusc.RATE_ESTIMATED)
    assert p.history_length == 24 and p.kind == _zeusc.RATE_CARBON

    class Plan(ElectricityPriceProvider):
        def get_current_electricity_prices(self):
            weekday = [[0] * 12 + [1] * 12] * 12
            return {
                "energy_rate_structure": [[{"rate": 0.1}], [{"rate": 0.3, "adj": 0.5}]],
                "energy_weekday_schedule": weekday,
                "energy_weekend_schedule": [[0] * 24] * 12,
            }

    p = _rate.as_rate_provider(Plan())
    monday_13 = datetime(2024, 7, 1, 13, tzinfo=timezone.utc).timestamp()
    assert p.rate_at(monday_13) == (0.3, _zeusc.RATE_EXACT)  # Zeus's reading: UTC, no adj
    assert p.rate_at(monday_13 + 5 * 86400) == (0.1, _zeusc.RATE_EXACT)  # Saturday
    em = ElectrictyMapsClient((42.2776, -83.7409), estimate=True)
    assert _rate.as_rate_provider(em) is em._provider
    assert _rate.as_rate_provider(p) is p
    with pytest.raises(TypeError):
        _rate.as_rate_provider(object())
