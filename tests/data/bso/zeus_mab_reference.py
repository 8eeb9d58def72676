#!/usr/bin/env python3
"""Zeus's seeded bandit, run with numpy, to record what test_bso_core.c must reproduce.

The lines marked "Zeus:" are copied from ml-energy/zeus (Apache-2.0),
zeus/optimizer/batch_size/server/mab.py (GaussianTS._fit_arm, predict, construct_mab, report),
zeus/optimizer/batch_size/server/services/service.py (get_random_choices, get_normal: the draws
from the job's stored generator) and zeus/utils/metric.py (zeus_cost), with the database reads
replaced by the equivalent in-memory lists: a batch size's Succeeded trials newest first, at
most window_size of them (batch_size_state/repository.py get_trial_results_of_bs). Only numpy
is imported; nothing of the algorithm is reimplemented here.

The job: batch sizes 32, 64, 128, 256 (default 128), eta 0.5, max_power 3000, two pruning
rounds where every batch size converges, then 40 MAB predict/report cycles, mab_seed 123456,
mab_num_explorations 3, window_size 5, priors 0.

Output (read by test_bso_core.c; floats as float.hex(), exact):
  explore <bs> <round> <time> <energy>     the exploration results the C test reports
  predict <bs>                             the batch size a MAB predict returns
  arm <bs> <mean> <1/precision> <sample>   one Thompson-sampling draw (Zeus's log values)
  report <bs> <time> <energy>              the result the C test reports for that trial
  fit <bs> <param_mean> <param_precision> <reward_precision> <num_observations>
  state <json>                             json.dumps(rng.bit_generator.state) at the end

Run: /usr/bin/python3 zeus_mab_reference.py > zeus_mab_reference.txt (numpy 1.24.2).
"""

import json

import numpy as np

BATCH_SIZES = [32, 64, 128, 256]
ETA, MAX_POWER = 0.5, 3000.0
PRIOR_MEAN, PRIOR_PREC = 0.0, 0.0
NUM_EXPLORATIONS, WINDOW, SEED, CYCLES = 3, 5, 123456, 40


def zeus_cost(energy, time, eta_knob, max_power):
    # Zeus: zeus/utils/metric.py
    return eta_knob * energy + (1 - eta_knob) * max_power * time


def fit_arm(prior_mean, prior_precision, rewards):
    # Zeus: GaussianTS._fit_arm
    variance = np.var(rewards)
    reward_prec = np.inf if variance == 0.0 else np.reciprocal(variance)
    mean = prior_mean
    prec = prior_precision
    if reward_prec == np.inf:
        new_prec = np.inf
        new_mean = rewards.mean()
    else:
        new_prec = prec + len(rewards) * reward_prec
        new_mean = (prec * mean + reward_prec * rewards.sum()) / new_prec
    return dict(param_mean=new_mean, param_precision=new_prec, reward_precision=reward_prec,
                num_observations=len(rewards))


def h(x):
    return float(x).hex()


def main():
    rng = np.random.default_rng(SEED)  # Zeus: created at registration, state stored
    results = {bs: [] for bs in BATCH_SIZES}  # Succeeded (time, energy) per bs, oldest first

    # The exploration results: every batch size converges in both rounds.
    for rnd in range(2):
        for bs in BATCH_SIZES:
            time = 10 + bs / 37 + rnd * 0.3
            energy = 200 * time + bs * 1.1
            results[bs].append((time, energy))
            print("explore", bs, rnd, h(time), h(energy))

    # Zeus: construct_mab
    arms = {}
    for bs in BATCH_SIZES:
        rewards = [-zeus_cost(e, t, ETA, MAX_POWER) for t, e in results[bs]]
        arms[bs] = fit_arm(PRIOR_MEAN, PRIOR_PREC, np.array(rewards))

    for i in range(CYCLES):
        # Zeus: GaussianTS.predict, with service.get_random_choices / get_normal
        arr = np.array([bs for bs in BATCH_SIZES])
        choices = rng.choice(arr, len(arr), replace=False)
        chosen = None
        for arm in choices:
            if arms[arm]["num_observations"] < NUM_EXPLORATIONS:
                chosen = int(arm)
                break
        if chosen is None:
            expectations = {}
            for bs in BATCH_SIZES:
                arm = arms[bs]
                expectations[bs] = rng.normal(arm["param_mean"],
                                              np.sqrt(np.reciprocal(arm["param_precision"])))
                print("arm", bs, h(arm["param_mean"]), h(1 / arm["param_precision"]),
                      h(expectations[bs]))
            chosen = max(expectations, key=expectations.get)
        print("predict", chosen)

        time = 10 + chosen / 37 + 0.05 * ((i * 7) % 5)
        energy = 200 * time + chosen * 1.1 + (i % 3)
        print("report", chosen, h(time), h(energy))

        # Zeus: GaussianTS.report
        history = list(reversed(results[chosen]))  # newest first
        if WINDOW > 0:
            history = history[:WINDOW]
        if len(history) >= WINDOW and WINDOW > 0:
            history.pop()
            history.reverse()
        costs = [-zeus_cost(e, t, ETA, MAX_POWER) for t, e in history]
        costs.append(-zeus_cost(energy, time, ETA, MAX_POWER))
        arms[chosen] = fit_arm(PRIOR_MEAN, PRIOR_PREC, np.array(costs))
        results[chosen].append((time, energy))
        a = arms[chosen]
        print("fit", chosen, h(a["param_mean"]), h(a["param_precision"]),
              h(a["reward_precision"]), a["num_observations"])

    print("state", json.dumps(rng.bit_generator.state))


if __name__ == "__main__":
    main()
