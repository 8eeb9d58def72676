"""Zeus's energy-time cost metric and its power-log helpers (zeus.utils.metric).

Zeus reads the power log with pandas and integrates with sklearn's ``auc``; zeusc reads it
with the csv module and integrates with the trapezoid rule itself, which is what ``auc``
computes, so neither pandas nor scikit-learn is needed. The log is the one Zeus's power
monitor wrote: a header ``Time,Power`` then rows of a timestamp and milliwatts; its last row
is left out, as Zeus's ``skipfooter=1`` does (the monitor may have been killed mid-row).
"""

from __future__ import annotations

import csv
from datetime import datetime, timezone
from pathlib import Path

__all__ = ["zeus_cost", "energy", "avg_power"]


def zeus_cost(energy: float, time: float, eta_knob: float, max_power: int | float) -> float:
    """Zeus's energy-time cost: ``eta_knob * energy + (1 - eta_knob) * max_power * time``.

    Args:
        energy: Joules.
        time: Seconds.
        eta_knob: Real number in [0, 1]; the caller checks the bounds, as in Zeus.
        max_power: The GPU's maximum power limit, W.
    """
    return eta_knob * energy + (1 - eta_knob) * max_power * time


def _parse_time(text: str) -> float:
    t = datetime.fromisoformat(text.strip())
    if t.tzinfo is None:  # pandas treats naive timestamps as UTC in .timestamp()
        t = t.replace(tzinfo=timezone.utc)
    return t.timestamp()


def _read_log(logfile: Path | str) -> list[tuple[float, float]]:
    """(seconds, watts) rows of the log, without its last row."""
    with open(logfile, newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or "Time" not in reader.fieldnames or "Power" not in reader.fieldnames:
            raise ValueError(f"{logfile}: not a Zeus power log (header must name Time and Power)")
        rows = list(reader)
    rows = rows[:-1]
    out = []
    for n, row in enumerate(rows, start=2):
        try:
            out.append((_parse_time(row["Time"]), float(row["Power"]) / 1000.0))
        except (TypeError, ValueError) as e:
            raise ValueError(f"{logfile}, line {n}: {e}") from None
    return out


def _window(rows, start, end, wrap_negative: bool):
    if not rows:
        return rows
    first, last = rows[0][0], rows[-1][0]
    if start is not None:
        origin = last if (wrap_negative and start < 0.0) else first
        rows = [r for r in rows if r[0] >= origin + start]
    if end is not None:
        origin = last if (wrap_negative and end < 0.0) else first
        rows = [r for r in rows if r[0] <= origin + end]
    return rows


def _auc(rows) -> float:
    """sklearn.metrics.auc: trapezoid area, x monotonic either way, at least two points."""
    if len(rows) < 2:
        raise ValueError(
            "At least 2 points are needed to compute area under curve, but x.shape = "
            f"{len(rows)}"
        )
    xs = [r[0] for r in rows]
    direction = 1.0
    if any(b < a for a, b in zip(xs, xs[1:])):
        if all(b <= a for a, b in zip(xs, xs[1:])):
            direction = -1.0
        else:
            raise ValueError(f"x is neither increasing nor decreasing : {xs}.")
    area = 0.0
    for (x0, y0), (x1, y1) in zip(rows, rows[1:]):
        area += (x1 - x0) * (y0 + y1) / 2.0
    return direction * area


def energy(logfile: Path | str, start: float | None = None, end: float | None = None) -> float:
    """Joules in the power log between ``start`` and ``end`` seconds (negative: from the end)."""
    return _auc(_window(_read_log(logfile), start, end, wrap_negative=True))


def avg_power(logfile: Path | str, start: float | None = None, end: float | None = None) -> float:
    """Average watts in the power log between ``start`` and ``end`` seconds from its start.

    Raises ValueError, as Zeus does through sklearn, when fewer than two rows remain.
    """
    rows = _window(_read_log(logfile), start, end, wrap_negative=False)
    area = _auc(rows)
    xs = [r[0] for r in rows]
    return area / (max(xs) - min(xs))
