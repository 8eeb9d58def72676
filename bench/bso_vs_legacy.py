"""Compare `zeus bso simulate` with Zeus's own legacy simulator (zeus/_legacy/simulate.py,
what run_single.py runs) on every workload of the NSDI'23 traces and the four GPUs.

    ZEUS_SRC=DIR /usr/bin/python3 bench/bso_vs_legacy.py TRACE_DIR [ZEUS_BINARY] [SEED]

ZEUS_SRC is prepared as tests/data/bso-sim/gen_reference.py describes (Debian 12's
python3-numpy and python3-pandas). For each workload it prints whether the batch size
sequences are equal, how many runs differ in energy or time, and both totals.
"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.environ["ZEUS_SRC"])

import pandas as pd  # noqa: E402

pd.set_option("compute.use_bottleneck", False)  # as in gen_reference.py

from zeus._legacy.job import Job  # noqa: E402
from zeus._legacy.policy.optimizer import (  # noqa: E402
    JITPowerLimitOptimizer,
    PruningGTSBatchSizeOptimizer,
)
from zeus._legacy.simulate import Simulator  # noqa: E402


def legacy(trace_dir, w, seed):
    train_df = pd.read_csv(os.path.join(trace_dir, "summary_train.csv"))
    power_df = pd.read_csv(os.path.join(trace_dir, f"summary_power_{w['gpu']}.csv"))
    job = Job(w["dataset"], w["network"], w["optimizer"], w["target_metric"],
              w["max_epochs"], w["default_batch_size"])
    sim = Simulator(train_df, power_df, PruningGTSBatchSizeOptimizer(seed=seed, verbose=False),
                    JITPowerLimitOptimizer(verbose=False), seed=seed, verbose=False)
    with open(os.devnull, "w") as null:
        old, sys.stdout = sys.stdout, null
        try:
            return sim.simulate_one_job(job, w["recurrences"], w["beta"], w["eta"])
        finally:
            sys.stdout = old


def main():
    trace_dir = sys.argv[1]
    zeus = sys.argv[2] if len(sys.argv) > 2 else "build/zeus"
    seed = sys.argv[3] if len(sys.argv) > 3 else "1"
    ours = json.loads(subprocess.run(
        [zeus, "bso", "simulate", "--gpu", "all", "--seed", seed, "--json",
         "--trace-dir", trace_dir], check=True, capture_output=True, text=True).stdout)
    same = 0
    for w in ours:
        hist = legacy(trace_dir, w, int(seed))
        bs_equal = [h.bs for h in hist] == [r["batch_size"] for r in w["runs"]]
        differ = sum(1 for h, r in zip(hist, w["runs"])
                     if (h.energy, h.time) != (r["energy"], r["time"]))
        e = sum(h.energy for h in hist)
        t = sum(h.time for h in hist)
        exact = bs_equal and differ == 0 and len(hist) == len(w["runs"])
        same += exact
        print(f"{w['gpu']:8s} {w['dataset']:13s} runs {len(w['runs']):4d}/{len(hist):4d} "
              f"bs {'same' if bs_equal else 'DIFF'} runs differing {differ:3d} "
              f"energy {w['zeus']['energy']:.6e}/{e:.6e} ({100 * (w['zeus']['energy'] / e - 1):+.2f}%) "
              f"time {w['zeus']['time']:.6e}/{t:.6e}")
    print(f"{same} of {len(ours)} workloads identical run for run")


if __name__ == "__main__":
    main()
