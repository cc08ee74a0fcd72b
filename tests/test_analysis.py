"""Tests for agentreel.analysis (pure numpy) and agentreel.base.extras."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from agentreel.analysis import (
    LayoutWarning,
    aggregate_curves,
    bootstrap_ci,
    bootstrap_distribution,
    default_window,
    iqm,
    learning_curve,
    moving_average,
    percentile_interval,
    runs_bootstrap_ci,
    runs_bootstrap_distribution,
    smooth,
    summarize,
    summarize_records,
    summarize_runs,
    trimmed_mean_rows,
)
from agentreel.base.extras import require
from agentreel.core.records import EpisodeRecord

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


def rec(i, ret, length=10, **kw):
    return EpisodeRecord(index=i, episode_return=float(ret), length=length, **kw)


# ---------------------------------------------------------------- point statistics


def test_summarize_hand_computed():
    s = summarize([10.0, 20.0, 30.0, 245.0], seed=0)
    assert s.count == 4
    assert s.mean == 76.25
    assert s.median == 25.0
    assert s.iqm == 25.0  # drops one value at each end: mean of 20 and 30
    assert s.min == 10.0 and s.max == 245.0
    assert s.std == pytest.approx(np.sqrt(((np.array([10, 20, 30, 245]) - 76.25) ** 2).mean()))
    assert s.success_rate is None and s.mean_length is None


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(1, 60), elements=finite))
def test_summarize_matches_numpy_and_scipy(x):
    s = summarize(x, n_resamples=50, seed=0)
    assert s.mean == pytest.approx(np.mean(x), rel=1e-9, abs=1e-6)
    assert s.std == pytest.approx(np.std(x), rel=1e-9, abs=1e-6)
    assert s.median == pytest.approx(np.median(x))
    assert s.iqm == pytest.approx(stats.trim_mean(x, 0.25), rel=1e-9, abs=1e-6)
    assert s.min == x.min() and s.max == x.max()


def test_sample_std_on_request():
    x = [1.0, 2.0, 4.0]
    assert summarize(x, ddof=1, n_resamples=10).std == pytest.approx(np.std(x, ddof=1))
    with pytest.raises(ValueError, match="ddof=1"):
        summarize([1.0], ddof=1)


@pytest.mark.parametrize("n", range(1, 41))
def test_iqm_matches_scipy_trim_mean(n):
    x = np.random.default_rng(n).standard_cauchy(n)
    assert iqm(x) == pytest.approx(stats.trim_mean(x, 0.25))


def test_iqm_small_cases_by_hand():
    assert iqm([5.0]) == 5.0
    assert iqm([1.0, 2.0, 3.0]) == 2.0  # n < 4: nothing trimmed
    assert iqm([1.0, 2.0, 3.0, 100.0]) == 2.5
    assert iqm(np.arange(8.0)) == 3.5  # 2, 3, 4, 5


def test_trimmed_mean_rows_along_last_axis():
    x = np.random.default_rng(0).normal(size=(7, 13))
    np.testing.assert_allclose(trimmed_mean_rows(x), stats.trim_mean(x, 0.25, axis=1))


def test_lengths_and_successes():
    s = summarize([1.0, 2.0, 3.0, 4.0], lengths=[10, 20, 30, 40],
                  successes=[True, False, True, True], seed=0)
    assert s.success_rate == 0.75
    assert s.mean_length == 25.0
    with pytest.raises(ValueError, match="lengths has 2 entries but returns has 4"):
        summarize([1.0, 2.0, 3.0, 4.0], lengths=[1, 2])
    with pytest.raises(ValueError, match="successes must be 1-D with one entry per episode"):
        summarize([1.0, 2.0], successes=[1])
    with pytest.raises(ValueError, match="booleans or 0/1"):
        summarize([1.0, 2.0], successes=[1, 2])


def test_summary_dict_str_and_frozen():
    s = summarize([10.0, 20.0, 30.0, 245.0], lengths=[1, 2, 3, 4], successes=[1, 0, 1, 1], seed=0)
    d = s.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["mean_ci"] == list(s.mean_ci)
    text = str(s)
    assert text.startswith("mean 76.25 ± ")
    assert "(95% CI [" in text and "over 4 episodes" in text
    assert "IQM 25.00" in text and "success rate 75.0%" in text and "mean length 2.50" in text
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.mean = 0.0  # type: ignore[misc]
    assert "over 1 episode" in str(summarize([3.0], n_resamples=5))


# ---------------------------------------------------------------- bootstrap


def test_bootstrap_ci_coverage_on_normal_data():
    """Over 200 simulated experiments the 95% CI of the mean covers the truth ~95%."""
    rng = np.random.default_rng(12345)
    true_mean, n, experiments = 3.0, 50, 200
    covered = 0
    for _ in range(experiments):
        x = rng.normal(true_mean, 2.0, size=n)
        low, high = bootstrap_ci(x, "mean", n_resamples=2_000, seed=rng)
        covered += low <= true_mean <= high
    rate = covered / experiments
    assert 0.88 <= rate <= 0.99, rate


def test_bootstrap_spread_matches_standard_error():
    x = np.random.default_rng(1).normal(size=400)
    dist = bootstrap_distribution(x, "mean", n_resamples=20_000, seed=2)
    assert dist.std() == pytest.approx(x.std() / np.sqrt(x.size), rel=0.05)


def test_seed_determinism():
    x = np.random.default_rng(0).exponential(size=100)
    a = summarize(x, seed=7)
    assert a == summarize(x, seed=7)
    assert a.mean_ci != summarize(x, seed=8).mean_ci
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    assert bootstrap_ci(x, "iqm", seed=g1) == bootstrap_ci(x, "iqm", seed=g2)
    runs = [x[:40], x[40:]]
    for method in ("stratified", "hierarchical"):
        assert summarize_runs(runs, method=method, seed=3) == summarize_runs(
            runs, method=method, seed=3
        )


def test_interval_contains_estimate_and_degenerates_on_constants():
    x = np.random.default_rng(0).normal(10, 1, size=200)
    s = summarize(x, seed=0)
    assert s.mean_ci[0] < s.mean < s.mean_ci[1]
    assert s.iqm_ci[0] < s.iqm < s.iqm_ci[1]
    assert bootstrap_ci([4.0] * 10, "median", seed=0) == (4.0, 4.0)
    narrow = summarize(x, confidence=0.5, seed=0).mean_ci
    assert narrow[1] - narrow[0] < s.mean_ci[1] - s.mean_ci[0]


def test_percentile_interval_and_custom_statistic():
    assert percentile_interval(np.arange(101.0), 0.9) == (5.0, 95.0)
    low, high = bootstrap_ci([1.0, 2.0, 3.0], lambda a: a.max(axis=-1), seed=0)
    assert 1.0 <= low <= high == 3.0
    with pytest.raises(ValueError, match="unknown statistic 'mode'"):
        bootstrap_ci([1.0, 2.0], "mode")


def test_bootstrap_speed_is_loose():
    """10,000 resamples of 1,000 episodes (mean and IQM). See bench/analysis_bench.py."""
    x = np.random.default_rng(0).normal(size=1_000)
    start = time.perf_counter()
    summarize(x, n_resamples=10_000, seed=0)
    elapsed = time.perf_counter() - start
    print(f"summarize 10k x 1k: {elapsed:.3f} s")
    assert elapsed < 5.0  # very loose: typically ~0.3 s


# ---------------------------------------------------------------- several runs


def test_summarize_runs_numbers():
    scores = np.array([[1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 8.0], [0.0, 0.0, 0.0, 4.0]])
    r = summarize_runs(scores, seed=0)
    assert r.n_runs == 3 and r.episodes_per_run == (4, 4, 4)
    assert r.run_means == (2.5, 5.0, 1.0)
    assert r.mean == pytest.approx(17 / 6)
    assert r.std_of_means == pytest.approx(np.std([2.5, 5.0, 1.0]))
    assert r.iqm == pytest.approx(stats.trim_mean(scores.ravel(), 0.25))
    assert r.mean_ci[0] <= r.mean <= r.mean_ci[1]
    assert json.loads(json.dumps(r.to_dict())) == r.to_dict()
    assert "over 3 runs, 12 episodes" in str(r)


def test_summarize_runs_ragged_weights_runs_equally():
    r = summarize_runs([[1.0, 2.0, 3.0], [10.0] * 7], seed=0)
    assert r.episodes_per_run == (3, 7)
    assert r.mean == pytest.approx((2.0 + 10.0) / 2)
    assert r.iqm == pytest.approx(stats.trim_mean([1, 2, 3] + [10] * 7, 0.25))


def test_list_and_matrix_give_the_same_result():
    m = np.random.default_rng(0).normal(size=(3, 20))
    assert summarize_runs(m, seed=1) == summarize_runs(list(m), seed=1)


def test_hierarchical_is_wider_when_seeds_differ():
    rng = np.random.default_rng(0)
    runs = [rng.normal(mu, 1.0, size=100) for mu in (0.0, 3.0, 6.0, 9.0)]
    s = summarize_runs(runs, method="stratified", seed=0)
    h = summarize_runs(runs, method="hierarchical", seed=0)
    assert (h.mean_ci[1] - h.mean_ci[0]) > 5 * (s.mean_ci[1] - s.mean_ci[0])
    with pytest.raises(ValueError, match="'stratified' or 'hierarchical'"):
        summarize_runs(runs, method="bayes")


def test_stratified_matches_a_naive_loop():
    runs = [np.array([1.0, 5.0, 2.0]), np.array([7.0, 3.0, 9.0, 4.0, 0.5])]
    got = runs_bootstrap_distribution(runs, method="stratified", n_resamples=50, seed=4)
    rng = np.random.default_rng(4)
    draws = [run[rng.integers(0, run.size, size=(50, run.size))] for run in runs]
    for b in range(50):
        samples = [d[b] for d in draws]
        assert got["mean"][b] == pytest.approx(np.mean([s.mean() for s in samples]))
        assert got["iqm"][b] == pytest.approx(stats.trim_mean(np.concatenate(samples), 0.25))


def test_hierarchical_matches_a_naive_loop():
    runs = [np.array([1.0, 5.0, 2.0]), np.array([7.0, 3.0, 9.0, 4.0, 0.5]), np.array([2.0])]
    got = runs_bootstrap_distribution(runs, method="hierarchical", n_resamples=50, seed=4)
    rng = np.random.default_rng(4)
    chosen = rng.integers(0, 3, size=(50, 3))
    u = rng.random((50, 3, 5))
    for b in range(50):
        samples = []
        for slot, j in enumerate(chosen[b]):
            run = runs[j]
            samples.append(run[(u[b, slot, : run.size] * run.size).astype(int)])
        assert got["mean"][b] == pytest.approx(np.mean([s.mean() for s in samples]))
        assert got["iqm"][b] == pytest.approx(stats.trim_mean(np.concatenate(samples), 0.25))


def test_runs_bootstrap_ci_statistic_check():
    with pytest.raises(ValueError, match="'mean' or 'iqm'"):
        runs_bootstrap_ci([[1.0, 2.0]], "median")
    low, high = runs_bootstrap_ci([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], "iqm", seed=0)
    assert low <= high


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ([], "returns is empty"),
        ([1.0, float("nan"), float("nan")], r"2 NaN value\(s\) \(first at index 1\)"),
        ([1.0, float("inf")], r"1 infinite value\(s\)"),
        (np.zeros((2, 3)), r"must be 1-D .* got shape \(2, 3\).*summarize_runs"),
        (3.0, "got a scalar"),
        ([[1.0, 2.0], [3.0]], "summarize_runs"),
        (["a", "b"], "convertible to a float array"),
    ],
)
def test_summarize_validation_messages(bad, message):
    with pytest.raises(ValueError, match=message):
        summarize(bad)


@pytest.mark.parametrize("confidence", [0, 1, 95, -0.5, "high"])
def test_confidence_must_be_in_open_unit_interval(confidence):
    with pytest.raises(ValueError, match="confidence must be"):
        summarize([1.0, 2.0], confidence=confidence)


@pytest.mark.parametrize("n", [0, -3, 1.5, True])
def test_n_resamples_must_be_positive_integer(n):
    with pytest.raises(ValueError, match="n_resamples must be"):
        summarize([1.0, 2.0], n_resamples=n)


def test_runs_validation_messages():
    with pytest.raises(ValueError, match=r"must be 2-D in layout \(n_runs, n_episodes\)"):
        summarize_runs([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="is empty"):
        summarize_runs(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="is empty"):
        summarize_runs([])
    with pytest.raises(ValueError, match=r"scores\[1\] contains 1 NaN"):
        summarize_runs([[1.0, 2.0], [1.0, float("nan"), 3.0]])
    with pytest.raises(ValueError, match=r"scores\[1\] is empty"):
        summarize_runs([[1.0, 2.0], []])
    with pytest.raises(ValueError, match=r"got shape \(2, 2, 2\)"):
        summarize_runs(np.zeros((2, 2, 2)))


def test_transposed_matrix_is_caught():
    """rliable pitfall: (n_episodes, n_runs) passed as (n_runs, n_episodes)."""
    per_run = np.random.default_rng(0).normal(size=(5, 100))  # 5 runs, 100 episodes
    with pytest.warns(LayoutWarning, match=r"shape \(100, 5\).*\(n_runs, n_episodes\).*scores\.T"):
        summarize_runs(per_run.T, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        summarize_runs(per_run, seed=0)  # the right layout: no warning
        summarize_runs(per_run.T, seed=0, warn_layout=False)
    one_each = per_run[:, :1]  # 5 runs of one episode: no interval width possible
    with pytest.raises(ValueError, match=r"single episode.*\(n_runs, n_episodes\).*scores\.T"), \
            pytest.warns(LayoutWarning):
        summarize_runs(one_each)
    h = summarize_runs(one_each, method="hierarchical", seed=0, warn_layout=False)
    assert h.mean_ci[1] > h.mean_ci[0]


# ---------------------------------------------------------------- records


def test_summarize_records_success_from_extras():
    recs = [rec(i, i, length=5 + i, extras={"is_success": np.bool_(i % 2)}) for i in range(6)]
    s = summarize_records(recs, seed=0)
    assert s.count == 6 and s.mean == 2.5 and s.mean_length == 7.5
    assert s.success_rate == 0.5
    assert summarize_records([rec(0, 1.0), rec(1, 2.0)], n_resamples=5).success_rate is None


def test_summarize_records_partial_success_warns():
    recs = [rec(0, 1.0, extras={"is_success": True}), rec(1, 2.0), rec(2, 3.0, extras={"is_success": False})]
    with pytest.warns(UserWarning, match="1 of 3 records have no extras\\['is_success'\\]"):
        s = summarize_records(recs, n_resamples=5)
    assert s.success_rate == 0.5


def test_summarize_records_validation():
    with pytest.raises(ValueError, match="records is empty"):
        summarize_records([])
    with pytest.raises(ValueError, match="EpisodeRecord objects, got dict"):
        summarize_records([{"return": 1.0}])


# ---------------------------------------------------------------- curves


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_moving_average_matches_naive_loop(data):
    y = data.draw(arrays(np.float64, st.integers(1, 50), elements=finite))
    w = data.draw(st.integers(1, y.size))
    xs, avg = moving_average(y, w)
    naive = [sum(y[i : i + w]) / w for i in range(y.size - w + 1)]
    np.testing.assert_allclose(avg, naive, rtol=1e-7, atol=1e-3)
    np.testing.assert_array_equal(xs, np.arange(w - 1, y.size))


def test_moving_average_positions_and_errors():
    xs, avg = moving_average([1.0, 2.0, 3.0, 4.0], 2, x=[10, 20, 30, 40])
    assert xs.tolist() == [20, 30, 40] and avg.tolist() == [1.5, 2.5, 3.5]
    with pytest.raises(ValueError, match="window must be an integer >= 1"):
        moving_average([1.0, 2.0], 0)
    with pytest.raises(ValueError, match=r"window \(3\) is larger than the number of values \(2\)"):
        moving_average([1.0, 2.0], 3)
    with pytest.raises(ValueError, match="x has shape"):
        moving_average([1.0, 2.0], 1, x=[1])
    assert smooth([1.0, 3.0, 5.0], 2)[1:].tolist() == [2.0, 4.0]
    assert np.isnan(smooth([1.0, 3.0, 5.0], 2)[0])


def test_learning_curve_axes():
    recs = [rec(i, i * 2, length=10 + i, duration=1.0, end_time=100.0 + 2 * i) for i in range(5)]
    c = learning_curve(recs, window=2)
    assert c.x.tolist() == [0, 1, 2, 3, 4]
    assert c.y.tolist() == [0, 2, 4, 6, 8]
    assert np.isnan(c.y_smoothed[0]) and c.y_smoothed[1:].tolist() == [1, 3, 5, 7]
    x, y, ys = learning_curve(recs, x="steps", window=1)
    assert x.tolist() == [10, 21, 33, 46, 60] and ys.tolist() == y.tolist()
    t = learning_curve(recs, x="time", window=1)
    assert t.x.tolist() == [1.0, 3.0, 5.0, 7.0, 9.0]  # from the first episode's start (99 s)
    with_elapsed = [r.replace(elapsed=0.5 * (r.index + 1)) for r in recs]
    assert learning_curve(with_elapsed, x="time").x.tolist() == [0.5, 1.0, 1.5, 2.0, 2.5]
    lengths = learning_curve(recs, metric="length", window=50)  # window clamped to 5
    assert lengths.y.tolist() == [10, 11, 12, 13, 14]
    assert lengths.y_smoothed[-1] == 12.0


def test_learning_curve_validation_and_default_window():
    assert [default_window(n) for n in (1, 9, 10, 250, 10**6)] == [1, 1, 1, 25, 50]
    with pytest.raises(ValueError, match="x must be one of"):
        learning_curve([rec(0, 1.0)], x="walltime")
    with pytest.raises(ValueError, match="metric must be one of"):
        learning_curve([rec(0, 1.0)], metric="reward")
    with pytest.raises(ValueError, match="records is empty"):
        learning_curve([])
    with pytest.raises(ValueError, match="window must be"):
        learning_curve([rec(0, 1.0)], window=0)


def test_aggregate_curves():
    a = aggregate_curves(
        [([0, 1, 2, 3], [np.nan, 1.0, 2.0, 3.0]), ([0, 1, 2], [3.0, 5.0, 6.0])],
        integer_grid=True, seed=0,
    )
    assert a.x.tolist() == [1, 2] and a.mean.tolist() == [3.0, 4.0] and a.n_runs == 2
    assert np.all(a.low <= a.mean) and np.all(a.mean <= a.high)
    b = aggregate_curves([([0.0, 10.0], [0.0, 10.0]), ([5.0, 20.0], [0.0, 0.0])], n_points=6)
    np.testing.assert_allclose(b.x, [5, 6, 7, 8, 9, 10])
    np.testing.assert_allclose(b.mean, b.x / 2)
    single = aggregate_curves([([0, 1], [1.0, 2.0])])
    assert single.low.tolist() == single.mean.tolist() == single.high.tolist()
    with pytest.raises(ValueError, match="do not overlap"):
        aggregate_curves([([0, 1], [0.0, 0.0]), ([2, 3], [0.0, 0.0])])
    with pytest.raises(ValueError, match="non-decreasing"):
        aggregate_curves([([1, 0], [0.0, 0.0])])


def test_aggregate_band_matches_direct_resampling():
    values = np.random.default_rng(0).normal(size=(4, 30))
    x = np.arange(30)
    a = aggregate_curves([(x, v) for v in values], integer_grid=True, n_resamples=4000, seed=1)
    idx = np.random.default_rng(2).integers(0, 4, size=(4000, 4))
    boot = values[idx].mean(axis=1)
    low, high = np.percentile(boot, [2.5, 97.5], axis=0)
    np.testing.assert_allclose(a.low, low, atol=0.1)
    np.testing.assert_allclose(a.high, high, atol=0.1)


# ---------------------------------------------------------------- purity and extras


def test_analysis_does_not_import_matplotlib():
    code = "import sys, agentreel.analysis; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_require():
    assert require("json", "plot") is json
    with pytest.raises(ImportError, match=r'pip install "agentreel\[wandb\]"') as info:
        require("agentreel_no_such_module", "wandb")
    assert info.value.name == "agentreel_no_such_module"
    assert isinstance(info.value.__cause__, ImportError)
