"""Tests for agentreel.report.plots (needs the "plot" extra: matplotlib)."""

from __future__ import annotations

import importlib
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from agentreel.core.records import EpisodeRecord

pytest.importorskip("matplotlib")

from agentreel.report import plots  # noqa: E402
from agentreel.report.plots import plot_learning_curve, save_figure  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make_run(seed: int, n: int = 40) -> list[EpisodeRecord]:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(10, 50, size=n)
    return [
        EpisodeRecord(
            index=i,
            episode_return=float(i + rng.normal(0, 3)),
            length=int(lengths[i]),
            duration=0.1,
            end_time=1000.0 + 0.5 * i + 0.01 * seed,
        )
        for i in range(n)
    ]


def test_one_run_png(tmp_path):
    path = tmp_path / "curve.png"
    fig = plot_learning_curve(make_run(0), window=5, path=path)
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 1000
    ax = fig.axes[0]
    assert len(ax.lines) == 2  # raw values and moving average
    assert ax.get_xlabel() == "episode" and ax.get_ylabel() == "episode return"
    assert not list(tmp_path.glob(".curve-*"))  # no temporary file left behind


def test_three_runs_svg(tmp_path):
    path = tmp_path / "sub" / "curves.svg"  # missing folder is created
    runs = [make_run(s, n) for s, n in ((0, 40), (1, 35), (2, 50))]
    fig = plot_learning_curve(runs, x="steps", labels=["a", "b", "c"], path=path)
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    ax = fig.axes[0]
    assert len(ax.lines) == 4  # three runs' moving averages and their mean
    assert len(ax.collections) == 1  # the confidence band
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:3] == ["a", "b", "c"] and legend[3].startswith("mean of 3 runs")


def test_three_runs_mean_only_and_episode_grid():
    runs = [make_run(s, n) for s, n in ((0, 40), (1, 35), (2, 50))]
    fig = plot_learning_curve(runs, show_runs=False, window=5)
    (mean_line,) = fig.axes[0].lines
    x = mean_line.get_xdata()
    assert x[0] == 4 and x[-1] == 34  # episodes every run reached, once windows are full


@pytest.mark.parametrize("x", ["episodes", "steps", "time"])
@pytest.mark.parametrize("metric", ["return", "length"])
def test_all_axes_and_metrics(x, metric):
    fig = plot_learning_curve([make_run(0), make_run(1)], x=x, metric=metric, title="t")
    ax = fig.axes[0]
    assert ax.get_title() == "t" and metric in ax.get_ylabel()
    assert len(ax.lines) == 3


def test_draws_into_given_axes(tmp_path):
    from matplotlib.figure import Figure

    fig = Figure()
    left, right = fig.subplots(1, 2)
    out = plot_learning_curve(make_run(3), ax=right, path=tmp_path / "c.pdf")
    assert out is fig
    assert len(right.lines) == 2 and len(left.lines) == 0
    assert (tmp_path / "c.pdf").read_bytes().startswith(b"%PDF")


def test_errors(tmp_path):
    run = make_run(0)
    with pytest.raises(ValueError, match="image format"):
        plot_learning_curve(run, path=tmp_path / "curve.jpeg")
    with pytest.raises(ValueError, match=r"got 1 label\(s\) for 2 run\(s\)"):
        plot_learning_curve([run, run], labels=["only one"])
    with pytest.raises(ValueError, match="runs is empty"):
        plot_learning_curve([])
    with pytest.raises(ValueError, match="run 1 has no episodes"):
        plot_learning_curve([run, []])
    with pytest.raises(ValueError, match="x must be one of"):
        plot_learning_curve(run, x="wall")
    with pytest.raises(ValueError, match="item 0 is a dict"):
        plot_learning_curve([{"return": 1.0}])
    fig = plot_learning_curve(run)
    with pytest.raises(ValueError, match="image format"):
        save_figure(fig, tmp_path / "noext")


def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    reloaded = importlib.reload(plots)  # the module imports without matplotlib
    with pytest.raises(ImportError, match=r'pip install "agentreel\[plot\]"'):
        reloaded.plot_learning_curve(make_run(0))
