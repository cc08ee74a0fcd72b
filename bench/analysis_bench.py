"""Time agentreel.analysis's bootstraps (prints; asserts nothing).

    python bench/analysis_bench.py
"""

from __future__ import annotations

import time

import numpy as np

from agentreel.analysis import bootstrap_ci, summarize, summarize_runs


def timed(label: str, fn, repeats: int = 3) -> None:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    print(f"{label:<58} {best * 1000:8.1f} ms (best of {repeats})")


def main() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=1_000)
    runs = rng.normal(size=(10, 1_000))
    timed("bootstrap_ci mean, 10k resamples x 1k episodes", lambda: bootstrap_ci(x, "mean", seed=0))
    timed("bootstrap_ci iqm, 10k resamples x 1k episodes", lambda: bootstrap_ci(x, "iqm", seed=0))
    timed("summarize (mean + IQM CIs), 10k x 1k", lambda: summarize(x, seed=0))
    timed("summarize_runs stratified, 10k x (10 runs x 1k)",
          lambda: summarize_runs(runs, seed=0), repeats=1)
    timed("summarize_runs hierarchical, 10k x (10 runs x 1k)",
          lambda: summarize_runs(runs, method="hierarchical", seed=0), repeats=1)


if __name__ == "__main__":
    main()
