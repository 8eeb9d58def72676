"""Record Zeus's own legacy trace-driven simulator (zeus/_legacy/simulate.py, the one
run_single.py drives) on a few workloads, as the reference test_cli_bso_simulate compares
`zeus bso simulate` against.

Usage (Debian 12: python3-numpy 1.24.2, python3-pandas 1.5.3):
    ZEUS_SRC=/path/to/exported/zeus /usr/bin/python3 gen_reference.py TRACE_DIR > reference.json
ZEUS_SRC holds zeus/_legacy/{__init__,simulate,job}.py, zeus/_legacy/policy/*.py and
zeus/utils/lr_scaler.py exported with `git show HEAD:<path>` from ml-energy/zeus; its
zeus/utils/metric.py is replaced by a file holding only zeus_cost (the real one imports
sklearn for functions the simulator does not use).
"""

import contextlib
import io
import json
import os
import sys

sys.path.insert(0, os.environ["ZEUS_SRC"])

import pandas as pd  # noqa: E402

# Debian installs bottleneck, whose max() returns a Python int that the simulator's .item()
# rejects; without it pandas reduces with numpy as in Zeus's own environment.
pd.set_option("compute.use_bottleneck", False)

from zeus._legacy.job import Job  # noqa: E402
from zeus._legacy.policy.optimizer import (  # noqa: E402
    JITPowerLimitOptimizer,
    PruningGTSBatchSizeOptimizer,
)
from zeus._legacy.simulate import Simulator  # noqa: E402

CASES = [
    # run_single.py's defaults.
    dict(gpu="v100", dataset="librispeech", network="deepspeech2", optimizer="adamw",
         target_metric=40.0, max_epochs=16, b0=192, eta=0.5, beta=2.0, seed=1),
    dict(gpu="v100", dataset="librispeech", network="deepspeech2", optimizer="adamw",
         target_metric=40.0, max_epochs=16, b0=192, eta=0.5, beta=2.0, seed=7),
    # run_alibaba.py's defaults for cifar100 on an A40, another eta.
    dict(gpu="a40", dataset="cifar100", network="shufflenetv2", optimizer="adadelta",
         target_metric=0.6, max_epochs=100, b0=1024, eta=0.3, beta=2.0, seed=3),
    # Early stopping off (beta None: inf here, null on the server), eta 0: time only.
    dict(gpu="rtx6000", dataset="movielens-1m", network="ncf", optimizer="adam",
         target_metric=0.41, max_epochs=100, b0=1024, eta=0.0, beta=None, seed=11),
]


def run(trace_dir, c):
    train_df = pd.read_csv(os.path.join(trace_dir, "summary_train.csv"))
    power_df = pd.read_csv(os.path.join(trace_dir, f"summary_power_{c['gpu']}.csv"))
    job = Job(c["dataset"], c["network"], c["optimizer"], c["target_metric"],
              c["max_epochs"], c["b0"])
    job_df = job.filter_df(train_df.merge(power_df, how="inner"))
    n = 2 * len(job_df.batch_size.unique()) * len(job_df.power_limit.unique())
    plo = JITPowerLimitOptimizer(verbose=False)
    bso = PruningGTSBatchSizeOptimizer(seed=c["seed"], verbose=True)
    sim = Simulator(train_df, power_df, bso, plo, seed=c["seed"], verbose=False)
    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        beta = float("inf") if c["beta"] is None else c["beta"]
        hist = sim.simulate_one_job(job, n, beta, c["eta"])
    arms = [l.strip() for l in log.getvalue().splitlines() if "mu ~ N(" in l]
    return dict(
        config=c,
        recurrences=n,
        runs=[dict(bs=int(h.bs), pl=int(h.pl), energy=float(h.energy),
                   time=float(h.time), reached=bool(h.reached)) for h in hist],
        total_energy=float(sum(h.energy for h in hist)),
        total_time=float(sum(h.time for h in hist)),
        arm_log=arms[:40],  # the whole log is 500 kB
    )


def main():
    out = [run(sys.argv[1], c) for c in CASES]
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
