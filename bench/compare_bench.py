"""Time agentreel's comparison statistics on 100 tasks x 10 runs x 2 algorithms (prints only).

    python bench/compare_bench.py [--resamples 2000] [--skip-rliable]

For each statistic: agentreel's vectorised stratified bootstrap, rliable 1.2.0's
(the peer: arch's bootstrap calls the metric once per resample in a Python loop)
on the same data and number of resamples, and a physical limit measured in the
same run — drawing the resample indices and gathering the resampled scores once,
the least any stratified bootstrap must do. The 1-minute load average is printed
next to every figure (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np

from agentreel.analysis import aggregate, intervals

TASKS, RUNS = 100, 10
POI_REPS = 50


def best_of(fn: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def load() -> float:
    return os.getloadavg()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-rliable", action="store_true")
    args = parser.parse_args()
    reps = args.resamples
    rng = np.random.default_rng(0)
    scores = {"A": rng.gamma(2.0, 0.5, (RUNS, TASKS)), "B": rng.gamma(2.2, 0.5, (RUNS, TASKS))}
    taus = np.linspace(0, 3, 31)

    def limit() -> None:
        for matrix in scores.values():
            idx = np.random.default_rng(1).integers(0, RUNS, size=(reps, RUNS, TASKS))
            matrix[idx, np.arange(TASKS)].sum()

    ours: dict[str, Callable[[], object]] = {
        "IQM": lambda: intervals.interval_estimates(scores, "iqm", n_resamples=reps, seed=0),
        "mean": lambda: intervals.interval_estimates(scores, "mean", n_resamples=reps, seed=0),
        "median": lambda: intervals.interval_estimates(scores, "median", n_resamples=reps, seed=0),
        "optimality gap": lambda: intervals.interval_estimates(scores, "optimality_gap",
                                                               n_resamples=reps, seed=0),
        "P(B > A)": lambda: intervals.probability_of_improvement_interval(
            scores["B"], scores["A"], n_resamples=reps, seed=0),
        "profiles (31 taus)": lambda: intervals.performance_profiles(scores, taus,
                                                                      n_resamples=reps, seed=0),
    }
    peer: dict[str, Callable[[], object]] = {}
    if not args.skip_rliable:
        try:
            from rliable import library, metrics
        except ImportError as exc:
            print(f"rliable not importable ({exc}); peer column skipped")
        else:
            def run(func, data=scores, n=reps):
                np.random.seed(0)
                return library.get_interval_estimates(data, func, reps=n)

            peer = {
                "IQM": lambda: run(lambda s: np.array([metrics.aggregate_iqm(s)])),
                "mean": lambda: run(lambda s: np.array([metrics.aggregate_mean(s)])),
                "median": lambda: run(lambda s: np.array([metrics.aggregate_median(s)])),
                "optimality gap": lambda: run(
                    lambda s: np.array([metrics.aggregate_optimality_gap(s)])),
                # rliable's P(X > Y) runs scipy's Mann-Whitney test per task and resample
                # (200,000 calls at 2,000 resamples): timed on POI_REPS and scaled linearly.
                "P(B > A)": lambda: run(metrics.probability_of_improvement,
                                        {"BA": [scores["B"], scores["A"]]}, POI_REPS),
                "profiles (31 taus)": lambda: (np.random.seed(0), library.create_performance_profile(
                    scores, taus, reps=reps)),
            }
    limit_s = best_of(limit, args.repeats)
    print(f"{TASKS} tasks x {RUNS} runs x 2 algorithms, {reps} resamples, "
          f"{os.cpu_count()} CPUs; numpy {np.__version__}")
    print(f"physical limit (draw indices + gather, both algorithms): {limit_s * 1000:.1f} ms "
          f"(load {load():.2f})")
    print(f"{'statistic':<20} {'agentreel':>11} {'rliable':>11} {'rliable/ours':>13} "
          f"{'ours/limit':>11}  load")
    for name, fn in ours.items():
        mine = best_of(fn, args.repeats)
        theirs = best_of(peer[name], 1) if name in peer else float("nan")
        if name == "P(B > A)":
            theirs *= reps / POI_REPS
        print(f"{name:<20} {mine * 1000:9.1f}ms {theirs * 1000:9.1f}ms {theirs / mine:12.1f}x "
              f"{mine / limit_s:10.1f}x  {load():.2f}")
    point = float(aggregate.aggregate_iqm(scores["A"]))
    print(f"(IQM of A: {point:.4f}; rliable's P(B > A) timed at {POI_REPS} resamples and scaled "
          f"to {reps}; no Python loop over resamples in agentreel)")


if __name__ == "__main__":
    main()
