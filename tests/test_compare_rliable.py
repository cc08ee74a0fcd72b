"""agentreel.analysis agrees with rliable 1.2.0 on the same synthetic and recorded data.

rliable is installed from the test extra with the pins its interval code needs
(``arch>=7,<8``, ``pandas<3``). Tolerances:

* point estimates (aggregate mean, median, IQM, optimality gap, probability of
  improvement, both performance profiles): equal to 1e-9;
* interval endpoints, at 2,000 resamples with fixed seeds (rliable draws from
  NumPy's global generator, seeded with ``np.random.seed``; agentreel from its
  own ``seed``): the two bootstraps draw different resamples, so endpoints agree
  within bootstrap noise. Stated bounds: 2% of the scores' range (max - min) for
  the aggregate metrics; 0.02 for the probability of improvement (a probability);
  for profiles one step of the profile's grid (1 / (runs x tasks): the profile
  only takes those values) plus 0.01. Measured on this data over 5 seed pairs:
  at most 0.7% of the range, 0.004, and one grid step.
"""

from __future__ import annotations

import importlib
import os

import numpy as np
import pytest


def _rliable(name: str):
    """rliable's module; in CI (``CI`` set) a missing rliable fails instead of skipping."""
    if os.environ.get("CI"):
        return importlib.import_module(name)
    return pytest.importorskip(name)


rliable_metrics = _rliable("rliable.metrics")
rliable_library = _rliable("rliable.library")

from agentreel.analysis import aggregate, intervals  # noqa: E402
from agentreel.report.run_groups import load_group, score_matrices  # noqa: E402

REPS = 2000
METRICS = {
    "mean": rliable_metrics.aggregate_mean,
    "median": rliable_metrics.aggregate_median,
    "iqm": rliable_metrics.aggregate_iqm,
    "optimality_gap": rliable_metrics.aggregate_optimality_gap,
}


def synthetic() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {"A": rng.gamma(2.0, 0.3, (10, 5)), "B": rng.gamma(2.5, 0.35, (10, 5))}


def recorded() -> dict[str, np.ndarray]:
    from helpers.compare_runs import recorded_runs

    runs = recorded_runs()
    groups = [load_group(alg, [p for paths in by_task.values() for p in paths])
              for alg, by_task in runs.items()]
    data = score_matrices(groups)
    assert data.tasks == ["CartPole-v1", "Pendulum-v1"] and data.unit == "run"
    # Normalise as a paper would: 0 = the random policy's mean, 1 = CartPole's maximum
    # return / the best Pendulum run, so the optimality gap (gamma 1) means something.
    low = data.scores["random"].mean(axis=0)
    high = np.array([500.0, max(s[:, 1].max() for s in data.scores.values())])
    return {k: aggregate.normalize_scores(v, low, high) for k, v in data.scores.items()}


DATASETS = {"synthetic": synthetic, "recorded": recorded}


@pytest.fixture(params=sorted(DATASETS), scope="module")
def scores(request) -> dict[str, np.ndarray]:
    return DATASETS[request.param]()


def test_point_estimates_equal_rliable(scores):
    for name, theirs in METRICS.items():
        for alg, matrix in scores.items():
            ours = float(aggregate.AGGREGATES[name](matrix))
            assert ours == pytest.approx(float(theirs(matrix)), abs=1e-9, rel=0), (name, alg)
    a, b = scores["A" if "A" in scores else "random"], scores["B" if "B" in scores else "demo"]
    assert float(aggregate.probability_of_improvement(b, a)) == pytest.approx(
        float(rliable_metrics.probability_of_improvement(b, a)), abs=1e-9, rel=0)
    assert float(aggregate.probability_of_improvement(a, a)) == 0.5
    taus = np.linspace(-0.5, 1.5, 41)
    for matrix in scores.values():
        np.testing.assert_allclose(aggregate.score_distribution(matrix, taus),
                                   rliable_library.score_distributions(matrix, taus), atol=1e-9)
        np.testing.assert_allclose(aggregate.average_score_distribution(matrix, taus),
                                   rliable_library.average_score_distributions(matrix, taus),
                                   atol=1e-9)


def _rliable_intervals(scores, func, seed=0):
    np.random.seed(seed)  # rliable's StratifiedBootstrap draws from NumPy's global generator
    return rliable_library.get_interval_estimates(scores, func, reps=REPS)


def test_interval_endpoints_within_bootstrap_noise(scores):
    names = list(METRICS)
    points, cis = _rliable_intervals(
        scores, lambda s: np.array([METRICS[n](s) for n in names]))
    for k, name in enumerate(names):
        ours = intervals.interval_estimates(scores, name, n_resamples=REPS, seed=123)
        for alg, matrix in scores.items():
            tolerance = 0.02 * float(matrix.max() - matrix.min())
            assert ours[alg].point == pytest.approx(float(points[alg][k]), abs=1e-9, rel=0)
            assert abs(ours[alg].low - cis[alg][0, k]) <= tolerance, (name, alg, "low")
            assert abs(ours[alg].high - cis[alg][1, k]) <= tolerance, (name, alg, "high")
            assert ours[alg].low <= ours[alg].point <= ours[alg].high


def test_probability_of_improvement_interval_matches(scores):
    a, b = list(scores.values())
    np.random.seed(0)
    # rliable's bootstrap (StratifiedIndependentBootstrap, percentile interval) around
    # agentreel's P(X > Y), which equals rliable's to 1e-9 (test above) but is vectorised:
    # rliable's own calls scipy's Mann-Whitney test per task and resample (50 s here).
    points, cis = rliable_library.get_interval_estimates(
        {"b>a": [b, a]}, aggregate.probability_of_improvement, reps=REPS)
    ours = intervals.probability_of_improvement_interval(b, a, n_resamples=REPS, seed=123)
    assert ours.point == pytest.approx(float(points["b>a"]), abs=1e-9, rel=0)
    assert abs(ours.low - cis["b>a"][0, 0]) <= 0.02
    assert abs(ours.high - cis["b>a"][1, 0]) <= 0.02


@pytest.mark.parametrize("use_score_distribution", [True, False])
def test_performance_profiles_match(scores, use_score_distribution):
    taus = np.linspace(-0.5, 1.5, 11)
    np.random.seed(0)
    profiles, cis = rliable_library.create_performance_profile(
        scores, taus, use_score_distribution=use_score_distribution, reps=REPS)
    ours = intervals.performance_profiles(scores, taus, n_resamples=REPS, seed=123,
                                          use_score_distribution=use_score_distribution)
    for alg, matrix in scores.items():
        cells = matrix.size if use_score_distribution else matrix.shape[1]
        tolerance = 1.0 / cells + 0.01
        np.testing.assert_allclose(ours[alg].values, profiles[alg], atol=1e-9, rtol=0)
        np.testing.assert_allclose(ours[alg].low, cis[alg][0], atol=tolerance, rtol=0)
        np.testing.assert_allclose(ours[alg].high, cis[alg][1], atol=tolerance, rtol=0)


def test_stratified_resamples_keep_each_task_within_its_column():
    scores = np.array([[0.0, 10.0, 20.0], [1.0, 11.0, 21.0]])
    (block,) = intervals.stratified_resamples(scores, 50, np.random.default_rng(0))
    for t in range(3):
        assert set(np.unique(block[:, :, t])) <= set(scores[:, t])


def test_seeded_bootstrap_is_reproducible():
    data = synthetic()
    one = intervals.interval_estimates(data, "iqm", n_resamples=500, seed=7)
    two = intervals.interval_estimates(data, "iqm", n_resamples=500, seed=7)
    assert one == two
