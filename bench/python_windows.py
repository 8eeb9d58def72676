#!/usr/bin/python3
"""bench/python_windows.py - What a measurement window costs from Python, next to C.

Times N begin_window + end_window pairs through zeusc (the CPython extension) and runs
`zeus bench windows` (the same calls from C) on the same GPUs, then prints both with the
difference: the price of the binding (argument parsing, building the Measurement and its
dicts). Nothing is asserted; timings are reported (DESIGN.md, bench/).

    bench/python_windows.py [--build DIR] [--iterations N] [--direct] [--json]

The GPUs are the real ones, or the fake NVML when ZEUS_NVML_LIBRARY is set; with no NVIDIA
driver and no ZEUS_NVML_LIBRARY, the fake from the build folder is used (2 GPUs), and the
output says so. The zeusc module comes from python/ (scripts/test-python.sh builds it in
place) or from wherever it is installed.
"""

from __future__ import annotations

import argparse
import ctypes.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def percentiles(ns: list[int]) -> dict[str, float]:
    s = sorted(ns)

    def at(q: float) -> float:
        return s[min(len(s) - 1, int(q * len(s)))] / 1000.0

    return {"p50_us": at(0.50), "p99_us": at(0.99), "max_us": s[-1] / 1000.0}


def time_context(monitor, n: int) -> list[int]:
    clock = time.perf_counter_ns
    out = [0] * n
    window = monitor.window
    for i in range(n):
        t0 = clock()
        with window("bench", False):
            pass
        out[i] = clock() - t0
    return out


def time_empty(n: int) -> list[int]:
    clock = time.perf_counter_ns
    out = [0] * n
    for i in range(n):
        t0 = clock()
        out[i] = clock() - t0
    return out


def run_c(build: Path, n: int, direct: bool) -> dict:
    cmd = [str(build / "zeus"), "bench", "windows", "--json", "--iterations", str(n)]
    if direct:
        cmd.append("--direct")
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=str(ROOT / "build"), help="CMake build folder (zeus CLI, fake NVML)")
    ap.add_argument("--iterations", type=int, default=None, help="pairs timed (default 20000, 500 with --direct)")
    ap.add_argument("--direct", action="store_true", help="counters read in begin/end (Zeus's way)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    build = Path(args.build).resolve()
    n = args.iterations or (500 if args.direct else 20000)

    simulated = "ZEUS_NVML_LIBRARY" in os.environ
    if not simulated and ctypes.util.find_library("nvidia-ml") is None:
        os.environ["ZEUS_NVML_LIBRARY"] = str(build / "libnvidia-ml-fake.so.1")
        os.environ.setdefault("ZEUS_FAKE_NVML", "gpus=2")
        simulated = True
    sys.path.insert(0, str(ROOT / "python"))
    import zeusc  # noqa: PLC0415 (after the environment is set)

    import warnings  # noqa: PLC0415

    # Direct-mode windows this short read 0 J and warn each time; the warning is not the
    # subject here.
    warnings.simplefilter("ignore", zeusc.ZeusWarning)
    monitor = zeusc.ZeusMonitor(cpu_indices=[], sync_execution_with=lambda g: None, direct_reads=args.direct)

    # Bound methods called directly, as a training loop would; sync off, as in the C bench.
    b, e = monitor.begin_window, monitor.end_window
    clock = time.perf_counter_ns
    py = [0] * n
    b("warm", False)
    e("warm", False)
    for i in range(n):
        t0 = clock()
        b("bench", False)
        e("bench", False)
        py[i] = clock() - t0
    ctx = time_context(monitor, n)
    timer = time_empty(n)
    monitor.close()
    c = run_c(build, n, args.direct)

    result = {
        "mode": "direct" if args.direct else "sampled",
        "gpus": c.get("gpus"),
        "simulated": simulated,
        "iterations": n,
        "c": {k: c[k] for k in ("p50_us", "p99_us", "max_us")},
        "python": percentiles(py),
        "python_context_manager": percentiles(ctx),
        "timer_overhead": percentiles(timer),
    }
    result["python_overhead_p50_us"] = round(result["python"]["p50_us"] - result["c"]["p50_us"], 3)
    if args.json:
        print(json.dumps(result))
        return 0
    where = "simulated GPUs (fake NVML)" if simulated else "real GPUs"
    print(f"begin_window + end_window, {result['mode']} mode, {result['gpus']} {where}, {n} pairs")
    print(f"{'':34}{'p50 us':>10}{'p99 us':>10}{'max us':>10}")
    rows = [
        ("C      zeus bench windows", result["c"]),
        ("Python begin_window/end_window", result["python"]),
        ("Python with monitor.window()", result["python_context_manager"]),
        ("Python timer alone", result["timer_overhead"]),
    ]
    for name, r in rows:
        print(f"{name:34}{r['p50_us']:>10.2f}{r['p99_us']:>10.2f}{r['max_us']:>10.1f}")
    print(f"binding overhead (p50, Python - C): {result['python_overhead_p50_us']:.2f} us per pair")
    return 0


if __name__ == "__main__":
    sys.exit(main())
