"""PowerMonitor and TemperatureMonitor: the scenarios of Zeus's tests/monitor/test_power.py
that apply to sampling in a thread, against the fake NVML (300 W per GPU unless changed)."""

from __future__ import annotations

import time

import pytest

import zeusc
from zeusc import PowerDomain, PowerMonitor, TemperatureMonitor


def wait_samples(seconds: float = 0.25) -> None:
    time.sleep(seconds)


def test_defaults_sample_every_supported_domain():
    pm = PowerMonitor(update_period=0.05)
    assert pm.gpu_indices == [0, 1]
    assert pm.update_period == pytest.approx(0.05)
    assert pm.measurement_domains == [PowerDomain.DEVICE_INSTANT, PowerDomain.DEVICE_AVERAGE, PowerDomain.MEMORY_AVERAGE]
    assert pm.get_power() == {0: 300.0, 1: 300.0}
    pm.stop()
    pm.stop()  # idempotent
    assert pm.get_power() == {0: 300.0, 1: 300.0}  # still queryable


def test_inferred_update_period_is_half_the_counter_step(fake):
    fake.reset("gpus=1;trace=square;trace_period_ms=200;power_w=300;low_w=100")
    pm = PowerMonitor()
    assert 0 < pm.update_period <= 0.1


def test_argument_errors_match_zeus(fake):
    with pytest.raises(ValueError, match="`gpu_indices` must be either `None` or non-empty"):
        PowerMonitor(gpu_indices=[])
    with pytest.raises(ValueError, match="`power_domains` must be either `None` or non-empty"):
        PowerMonitor(power_domains=[])
    with pytest.raises(ValueError, match="Unknown power domain"):
        PowerMonitor(power_domains=["bogus"])
    with pytest.raises(zeusc.ZeusNotFoundError):
        PowerMonitor(gpu_indices=[5])
    fake.reset("gpus=1;memory_power=0")
    with pytest.raises(ValueError) as e:
        PowerMonitor(power_domains=["memory_average"])
    assert isinstance(e.value, zeusc.ZeusNotSupportedError)


def test_no_gpu_at_all(fake):
    fake.reset("gpus=0")
    with pytest.raises(zeusc.ZeusError):
        PowerMonitor()


def test_unmonitored_domain_is_value_error():
    with pytest.warns(zeusc.ZeusWarning, match="device_instant power is not being monitored"):
        pm = PowerMonitor(update_period=0.05, power_domains=["device_average"])
    assert pm.measurement_domains == [PowerDomain.DEVICE_AVERAGE]
    with pytest.raises(ValueError, match="device_instant is not being monitored"):
        pm.get_power()
    with pytest.raises(ValueError, match="device_instant is not being monitored"):
        pm.get_power_timeline(PowerDomain.DEVICE_INSTANT)
    assert pm.get_power(power_domain="device_average") == {0: 300.0, 1: 300.0}


def test_get_energy_prefers_instant_then_average_then_refuses():
    with pytest.warns(zeusc.ZeusWarning):
        avg = PowerMonitor(update_period=0.05, power_domains=[PowerDomain.DEVICE_AVERAGE])
    t0 = time.time()  # after creation: only sampled time counts
    wait_samples()
    t1 = time.time()
    e = avg.get_energy(t0 + 0.01, t1)
    assert set(e) == {0, 1}
    assert e[0] == pytest.approx(300 * (t1 - t0 - 0.01), rel=0.05)

    with pytest.warns(zeusc.ZeusWarning):
        mem = PowerMonitor(update_period=0.05, power_domains=["memory_average"])
    t0 = time.time()
    wait_samples()
    t1 = time.time()
    with pytest.raises(ValueError, match="Neither PowerDomain.DEVICE_INSTANT nor"):
        mem.get_energy(t0, t1)
    assert mem.get_energy(t0, t1, power_domain="memory_average")[0] == pytest.approx(46 * (t1 - t0), rel=0.05)


def test_get_energy_never_reports_unsampled_time():
    """Issue 9: 15,000 J for 50 s before the monitor existed, 3,000 J for 10 s ahead."""
    pm = PowerMonitor(update_period=0.05, power_domains=["device_instant"])
    now = time.time()
    with pytest.warns(zeusc.ZeusWarning, match=r"GPU 0: none of \[.*\] was sampled; returning 0.0"):
        assert pm.get_energy(now - 60, now - 10) == {0: 0.0, 1: 0.0}
    with pytest.warns(zeusc.ZeusWarning, match="none of"):
        assert pm.get_energy(now + 10, now + 20) == {0: 0.0, 1: 0.0}
    detail = pm.get_energy_detail(now - 60, now - 10)[0]
    assert detail.flags == zeusc.ENERGY_UNCOVERED and detail.energy != detail.energy  # NaN

    wait_samples(0.3)
    pm.stop()
    with pytest.warns(zeusc.ZeusWarning, match=r"s of \[.*\] lies outside the sampled time"):
        e = pm.get_energy(now - 50, now + 50)
    assert 0.3 * 300 <= e[0] < 300 * 10  # the sampled part only, not 30,000 J
    assert pm.get_energy_detail(now - 50, now + 50)[0].flags & zeusc.ENERGY_CLIPPED
    for lo, hi in ((-1e308, 1e308), (-1e18, 1e18)):
        with pytest.warns(zeusc.ZeusWarning):
            e = pm.get_energy(lo, hi)
        assert 0.3 * 300 <= e[0] < 300 * 10
    with pytest.raises((ValueError, OverflowError)):
        pm.get_energy(now, float("inf"))
    with pytest.raises((ValueError, OverflowError)):
        pm.get_energy(float("nan"), now)


def test_timeline_and_energy_follow_power_changes(fake):
    with pytest.warns(zeusc.ZeusWarning, match="might be too fast"):
        pm = PowerMonitor(update_period=0.02, power_domains=["device_instant"])
    start = time.time()
    wait_samples(0.3)
    fake.set_power_w(0, 100)
    mid = time.time()
    wait_samples(0.3)
    end = time.time()

    tl = pm.get_power_timeline("device_instant", gpu_index=0)
    assert list(tl) == [0]
    values = [w for _, w in tl[0]]
    assert values[0] == 300.0 and values[-1] == 100.0
    times = [t for t, _ in tl[0]]
    assert times == sorted(times)
    assert abs(times[0] - start) < 1.0  # Unix seconds, comparable with time.time()

    assert pm.get_power(time=start + 0.1)[0] == 300.0
    assert pm.get_power(time=end)[0] == 100.0

    e = pm.get_energy(start, end)
    expected = 300 * (mid - start) + 100 * (end - mid)
    assert e[0] == pytest.approx(expected, rel=0.1)
    assert e[1] == pytest.approx(300 * (end - start), rel=0.05)

    detail = pm.get_energy_detail(start, end)[0]
    assert detail.energy == pytest.approx(e[0], rel=1e-3)
    assert detail.flags & zeusc.ENERGY_INTEGRATED

    everything = pm.get_all_power_timelines()
    assert list(everything) == ["device_instant"]
    assert set(everything["device_instant"]) == {0, 1}
    # Bounds are inclusive and filter the samples.
    later = pm.get_power_timeline("device_instant", 0, start_time=mid + 0.1)[0]
    assert all(t >= mid + 0.1 for t, _ in later)


def test_temperature_monitor(fake):
    fake.set_temperature_c(1, 55)
    tm = TemperatureMonitor(update_period=0.05)
    assert tm.gpu_indices == [0, 1]
    assert tm.get_temperature() == {0: 40, 1: 55}
    assert all(isinstance(v, int) for v in tm.get_temperature().values())
    fake.set_temperature_c(0, 70)
    wait_samples(0.2)
    tl = tm.get_temperature_timeline(gpu_index=0)[0]
    assert [c for _, c in tl] == [40, 70]
    assert tm.get_temperature(time=tl[0][0])[0] == 40
    tm.stop()
    with pytest.raises(ValueError):
        TemperatureMonitor(gpu_indices=[])


def test_failed_create_keeps_its_error_when_a_warning_filter_raises(fake):
    import warnings

    from zeusc import _zeusc
    from zeusc.errors import ZeusError

    # device_average only, and a fast period: two warnings are queued before the first power
    # read fails and create gives up.
    fake.fail("nvmlDeviceGetFieldValues", 0, 15)
    fake.fail("nvmlDeviceGetPowerUsage", 0, 15)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ZeusError) as info:
            _zeusc.PowerMonitorHandle(gpu_indices=[0], update_period=0.01, domains=2)
    assert info.value.status < 0
