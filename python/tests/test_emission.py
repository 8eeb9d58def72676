"""zeusc.monitor.carbon / .price: CarbonEmissionMonitor and EnergyCostMonitor over Zeus-C.

Providers here are plain Python objects with Zeus's provider methods (a user's
CarbonIntensityProvider or ElectricityPriceProvider subclass looks the same to the monitor),
so these tests also check that a provider written in Python works through the library's
callback provider. The clock is injected (``_clock``) and the background thread is off, so
hours pass at once; counters are set by hand on a direct-reads ZeusMonitor, so every amount is
exact.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone

import pytest

from zeusc.errors import ZeusPendingError
from zeusc.monitor import ZeusMonitor
from zeusc.monitor._emission import RATE_ESTIMATED, RATE_EXACT, RATE_PENDING
from zeusc.monitor.carbon import CarbonEmissionMeasurement, CarbonEmissionMonitor, Op
from zeusc.monitor.price import EnergyCostMeasurement, EnergyCostMonitor

pytestmark = pytest.mark.filterwarnings("ignore:The energy consumption:zeusc.errors.ZeusWarning")

H0 = datetime(2024, 11, 30, 6, tzinfo=timezone.utc)  # a Saturday
KWH = 3.6e6


class Clock:
    def __init__(self, t: datetime) -> None:
        self.t = t.timestamp() + 600

    def __call__(self) -> float:
        return self.t


class Carbon:
    """Zeus's CarbonIntensityProvider interface: 24 h of history keyed by tz-aware datetimes."""

    def __init__(self, values: dict[datetime, float]) -> None:
        self.values = values
        self.down = False
        self.calls = 0

    def get_current_carbon_intensity(self) -> float:
        raise AssertionError("the tests price past hours only")

    def get_recent_carbon_intensity(self) -> dict[datetime, float]:
        self.calls += 1
        if self.down:
            raise ConnectionError("ElectricityMaps is down")
        return dict(self.values)

    @property
    def update_period(self) -> timedelta:
        return timedelta(hours=1)

    @property
    def history_length(self) -> int:
        return 24


@pytest.fixture
def direct(fake, noop_sync):
    """A direct-reads monitor over GPU 0 in manual mode (counter at 1000 mJ)."""
    fake.set_energy_mj(0, 1000)
    mon = ZeusMonitor(gpu_indices=[0], sync_execution_with=noop_sync, direct_reads=True)
    yield mon


def spend(fake, joules: float) -> None:
    spend.total = getattr(spend, "total", 1.0) + joules
    fake.set_energy_mj(0, round(spend.total * 1e3))


@pytest.fixture(autouse=True)
def _reset_spend():
    spend.total = 1.0


def carbon_monitor(provider, direct, clock):
    return CarbonEmissionMonitor(provider, zeus_monitor=direct, _clock=clock, _background=False)


def test_names_are_zeus_names():
    assert [o.name for o in Op] == ["BEGIN", "END", "NEXTITER"]
    m = CarbonEmissionMeasurement(time=1.0, gpu_energy={0: 1.0}, gpu_carbon_emission={0: 2.0})
    assert m.cpu_energy is None and m.dram_carbon_emission is None
    c = EnergyCostMeasurement(time=1.0, gpu_energy={0: 1.0}, gpu_energy_cost={0: 2.0})
    assert c.currency == "USD"


def test_carbon_each_hour_at_its_own_intensity(fake, direct):
    provider = Carbon({H0: 100.0, H0 + timedelta(hours=1): 300.0})
    clock = Clock(H0)
    mon = carbon_monitor(provider, direct, clock)
    mon.begin_window("train")
    spend(fake, 0.5 * KWH)
    clock.t = (H0 + timedelta(hours=1)).timestamp()
    assert mon._tick() == 0
    spend(fake, 0.25 * KWH)
    clock.t += 60
    m = mon.end_window("train")
    assert isinstance(m, CarbonEmissionMeasurement)
    assert m.gpu_energy[0] == pytest.approx(0.75 * KWH, abs=1e-3)
    assert m.gpu_carbon_emission[0] == pytest.approx(0.5 * 100 + 0.25 * 300, rel=1e-12)
    assert m.cpu_energy is None and m.cpu_carbon_emission is None  # no RAPL here, as Zeus
    assert m.hours == 2 and m.pending_hours == 0 and m.flags == RATE_EXACT
    assert m.time >= 0
    mon.close()


def test_missing_hour_uses_the_nearest_and_says_so(fake, direct):
    provider = Carbon({H0: 100.0})  # hour 1 is missing
    clock = Clock(H0)
    mon = carbon_monitor(provider, direct, clock)
    mon.begin_window("w")
    spend(fake, 1 * KWH)
    clock.t = (H0 + timedelta(hours=1)).timestamp()
    mon._tick()
    spend(fake, 1 * KWH)
    clock.t += 60
    m = mon.end_window("w")
    assert m.gpu_carbon_emission[0] == pytest.approx(200.0)
    assert m.flags == RATE_EXACT | RATE_ESTIMATED


def test_provider_down_then_back_prices_everything_once(fake, direct):
    provider = Carbon({H0 + timedelta(hours=k): 100.0 + k for k in range(4)})
    provider.down = True
    clock = Clock(H0)
    mon = carbon_monitor(provider, direct, clock)
    mon.begin_window("w")
    for k in range(3):
        spend(fake, 1 * KWH)
        clock.t = (H0 + timedelta(hours=k + 1)).timestamp()
        mon._tick()
    clock.t += 60
    with pytest.raises(ZeusPendingError) as info:
        mon.end_window("w")
    pending = info.value.measurement
    assert pending.gpu_energy[0] == pytest.approx(3 * KWH, abs=1e-3)  # all the energy
    assert pending.pending_hours == pending.hours == 4
    assert pending.flags & RATE_PENDING
    assert "ElectricityMaps is down" in str(info.value)
    provider.down = False
    m = mon.get_measurement(pending.window_id)
    assert m.gpu_carbon_emission[0] == pytest.approx(100 + 101 + 102)
    assert m.pending_hours == 0
    # Priced once and forgotten: asking again is a lookup error.
    with pytest.raises(LookupError):
        mon.get_measurement(pending.window_id)


def test_keys_as_zeus(direct):
    mon = carbon_monitor(Carbon({}), direct, Clock(H0))
    mon.begin_window("a")
    with pytest.raises(ValueError, match="already exists"):
        mon.begin_window("a")
    with pytest.raises(ValueError, match="does not exist"):
        mon.end_window("b")
    assert mon.current_keys == {"a"}
    mon.close()
    mon.close()  # idempotent


def test_price_uses_zeus_schedules(fake, direct):
    # Tier 0 on weekday hours, tier 1 at 6:00 and 7:00 UTC on weekends; 30 Nov 2024 is a Saturday.
    weekday = [[0] * 24 for _ in range(12)]
    weekend = [[1 if h in (6, 7) else 0 for h in range(24)] for _ in range(12)]
    weekend[10][7] = 2

    class OpenEI:
        def get_current_electricity_prices(self):
            return {
                "energy_rate_structure": [[{"rate": 0.1}], [{"rate": 0.2}], [{"rate": 0.4}]],
                "energy_weekday_schedule": weekday,
                "energy_weekend_schedule": weekend,
            }

    clock = Clock(H0)
    mon = EnergyCostMonitor(OpenEI(), zeus_monitor=direct, _clock=clock, _background=False)
    mon.begin_window("w")
    spend(fake, 1 * KWH)
    clock.t = (H0 + timedelta(hours=1)).timestamp()
    mon._tick()
    spend(fake, 2 * KWH)
    clock.t += 60
    m = mon.end_window("w")
    assert isinstance(m, EnergyCostMeasurement)
    assert m.currency == "USD"
    assert m.gpu_energy_cost[0] == pytest.approx(1 * 0.2 + 2 * 0.4)


def test_real_clock_and_thread(noop_sync):
    """The default path: its own sampled ZeusMonitor, the background thread, the real clock."""
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    provider = Carbon({now + timedelta(hours=k): 400.0 for k in range(-1, 2)})
    mon = CarbonEmissionMonitor(provider, gpu_indices=[0, 1], sync_execution_with=noop_sync)
    mon.begin_window("w")
    m = mon.end_window("w")
    for i in (0, 1):
        assert not math.isnan(m.gpu_energy[i])
        assert m.gpu_carbon_emission[i] == pytest.approx(m.gpu_energy[i] / KWH * 400)
    mon.close()


def test_library_thread_calls_a_python_provider(fake, direct):
    """The library's own thread prices a closed hour by calling the Python provider (GIL)."""
    import time

    provider = Carbon({H0: 100.0, H0 + timedelta(hours=1): 200.0})
    clock = Clock(H0)
    mon = CarbonEmissionMonitor(provider, zeus_monitor=direct, _clock=clock)  # thread on
    mon.begin_window("w")
    spend(fake, 1 * KWH)
    clock.t = (H0 + timedelta(hours=1)).timestamp()
    deadline = time.monotonic() + 20
    while provider.calls == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert provider.calls >= 1  # asked by the thread (it wakes at least every second)
    spend(fake, 1 * KWH)
    m = mon.end_window("w")
    assert m.gpu_carbon_emission[0] == pytest.approx(100 + 200)
    mon.close()


# ---- With zeusc's own ElectricityMaps client, against a loopback server ----------------------


class _History:
    """A loopback stand-in for ElectricityMaps answering /history with the hours around now."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.status = 200
        self.requests = 0
        now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
        self.hours = {now + timedelta(hours=k): 450.0 + k for k in range(-3, 2)}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.requests += 1
                history = [
                    {"datetime": h.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "carbonIntensity": v}
                    for h, v in sorted(outer.hours.items())
                ]
                if "/latest" in self.path:
                    body = {"carbonIntensity": outer.hours[max(outer.hours)]}
                else:
                    body = {"zone": "US-MIDW-MISO", "history": history}
                data = (json.dumps(body) if outer.status == 200 else '{"error":"no"}').encode()
                self.send_response(outer.status)
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
def history(monkeypatch):
    h = _History()
    monkeypatch.setenv("ZEUS_ELECTRICITYMAPS_URL", h.url)
    monkeypatch.delenv("ELECTRICITYMAPS_API_KEY", raising=False)
    yield h
    h.stop()


def test_with_zeusc_electricitymaps_client_down_then_back(fake, direct, history):
    from zeusc.monitor.carbon import ElectrictyMapsClient

    client = ElectrictyMapsClient((42.2776, -83.7409), estimate=True)
    mon = CarbonEmissionMonitor(client, zeus_monitor=direct, _background=False)
    history.status = 401  # refused at once (no retries)
    mon.begin_window("w")
    spend(fake, 1 * KWH)
    with pytest.raises(ZeusPendingError) as info:
        mon.end_window("w")
    m = info.value.measurement
    assert m.gpu_energy[0] == pytest.approx(1 * KWH, abs=1e-3) and m.pending_hours >= 1
    history.status = 200
    m = mon.get_measurement(m.window_id)
    assert m.pending_hours == 0 and not m.flags & RATE_PENDING
    assert m.flags & RATE_EXACT
    if m.hours == 1:  # 1 kWh at the hour's own intensity (unless the hour turned meanwhile)
        assert any(m.gpu_carbon_emission[0] == pytest.approx(v) for v in history.hours.values())
    assert 450.0 - 3 <= m.gpu_carbon_emission[0] <= 450.0 + 1
    mon.close()
