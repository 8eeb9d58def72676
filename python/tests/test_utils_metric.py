"""zeusc.utils.metric: Zeus's zeus_cost, and energy/avg_power over a power log."""

import pytest

from zeusc.utils.metric import avg_power, energy, zeus_cost


def test_zeus_cost_is_zeus_formula():
    assert zeus_cost(1000.0, 10.0, 0.5, 300) == pytest.approx(0.5 * 1000 + 0.5 * 300 * 10)
    assert zeus_cost(1000.0, 10.0, 1.0, 300) == 1000.0
    assert zeus_cost(1000.0, 10.0, 0.0, 300) == 3000.0


def _log(tmp_path, rows):
    p = tmp_path / "power.csv"
    lines = ["Time,Power"] + [f"2024-01-01 00:00:{s:06.3f},{mw}" for s, mw in rows]
    p.write_text("\n".join(lines) + "\n")
    return p


def test_energy_is_trapezoid_without_the_last_row(tmp_path):
    # 100 W for 2 s, then a ramp to 200 W over 1 s; the last row (a torn write) is left out.
    p = _log(tmp_path, [(0, 100000), (1, 100000), (2, 100000), (3, 200000), (4, 999999)])
    assert energy(p) == pytest.approx(100 * 2 + 150)
    assert avg_power(p) == pytest.approx((200 + 150) / 3)


def test_windows_and_negative_offsets(tmp_path):
    p = _log(tmp_path, [(0, 100000), (1, 100000), (2, 300000), (3, 300000), (4, 0)])
    assert energy(p, start=1.0) == pytest.approx(200 + 300)  # rows 1..3
    assert energy(p, end=1.0) == pytest.approx(100)  # rows 0..1
    assert energy(p, start=-1.0) == pytest.approx(300)  # last kept row is t=3: rows 2..3
    assert avg_power(p, start=2.0) == pytest.approx(300)


def test_too_short_a_window_raises_value_error(tmp_path):
    p = _log(tmp_path, [(0, 100000), (1, 100000), (2, 0)])
    with pytest.raises(ValueError):
        avg_power(p, start=0.5)


def test_not_a_power_log_is_a_clear_error(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("a,b\n1,2\n3,4\n")
    with pytest.raises(ValueError, match="Time and Power"):
        energy(p)
    q = _log(tmp_path, [(0, 100000), (1, 100000), (2, 0)])
    q.write_text(q.read_text().replace("100000", "lots", 1))
    with pytest.raises(ValueError, match="line 2"):
        energy(q)
