"""The built-in SVG learning curve (drawn when matplotlib is missing): read the drawn SVG back."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from agentreel.core.records import EpisodeRecord
from agentreel.report.svg import nice_ticks, svg_learning_curve

SVG = "{http://www.w3.org/2000/svg}"


def _records(returns: list[float]) -> list[EpisodeRecord]:
    return [EpisodeRecord(index=i, episode_return=r, length=int(r) or 1)
            for i, r in enumerate(returns)]


def _drawing(svg: str) -> tuple[dict[str, float], list[tuple[float, float]], list[str], list[str]]:
    """The plot frame, every plotted point, the x tick labels and the y tick labels."""
    root = ET.fromstring(svg)
    frame = root.find(f"{SVG}rect")
    assert frame is not None
    box = {k: float(frame.get(k)) for k in ("x", "y", "width", "height")}
    points = []
    for line in root.iter(f"{SVG}polyline"):
        for pair in line.get("points").split():
            a, b = pair.split(",")
            points.append((float(a), float(b)))
    for dot in root.iter(f"{SVG}circle"):
        points.append((float(dot.get("cx")), float(dot.get("cy"))))
    below = box["y"] + box["height"]
    xlabels = [t.text for t in root.iter(f"{SVG}text")
               if t.get("text-anchor") == "middle" and "transform" not in t.attrib
               and below < float(t.get("y")) < below + 30]
    ylabels = [t.text for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "end"]
    return box, points, xlabels, ylabels


def _inside(box: dict[str, float], point: tuple[float, float]) -> bool:
    x, y = point
    return (box["x"] - 0.05 <= x <= box["x"] + box["width"] + 0.05
            and box["y"] - 0.05 <= y <= box["y"] + box["height"] + 0.05)


@pytest.mark.parametrize("episodes", [10, 7, 13, 1, 2, 101])
def test_every_point_of_the_curve_is_inside_the_frame(episodes):
    returns = [float(10 + (i * 37) % 23) for i in range(episodes)]
    for labels in (None, ["demo"]):
        box, points, xlabels, _ = _drawing(svg_learning_curve([_records(returns)], labels=labels))
        assert points
        outside = [p for p in points if not _inside(box, p)]
        assert not outside, f"{len(outside)} points outside the frame {box}: {outside[:3]}"
        # the x axis reaches the last episode: its last tick is at or beyond it
        assert float(xlabels[-1]) >= episodes - 1


def test_ten_episodes_axis_reaches_episode_nine():
    box, points, xlabels, _ = _drawing(svg_learning_curve([_records([20.0 + i for i in range(10)])]))
    assert xlabels[0] == "0" and float(xlabels[-1]) >= 9
    assert max(x for x, _ in points) <= box["x"] + box["width"] + 0.05


@pytest.mark.parametrize("value", [500.0, 0.0, -3.0, 0.25, 1e6])
def test_all_equal_returns_give_distinct_labels_and_a_centred_line(value):
    box, points, _, ylabels = _drawing(svg_learning_curve([_records([value] * 10)]))
    assert len(ylabels) >= 2 and len(set(ylabels)) == len(ylabels), ylabels
    assert all(_inside(box, p) for p in points)
    # the flat line is drawn inside the frame, away from its edges
    ys = {round(y, 1) for _, y in points}
    assert len(ys) == 1
    (y,) = ys
    assert box["y"] < y < box["y"] + box["height"]


def test_tick_labels_are_distinct_for_small_steps():
    _, _, _, ylabels = _drawing(svg_learning_curve([_records([499.5, 500.0, 500.5, 500.2])]))
    assert len(set(ylabels)) == len(ylabels), ylabels


@pytest.mark.parametrize("low,high", [(0, 9), (0, 23), (3, 3), (499, 501), (-7.5, 2.2), (0, 1e-3)])
def test_nice_ticks_cover_the_range(low, high):
    ticks = nice_ticks(low, high)
    assert ticks[0] <= low and ticks[-1] >= high
    assert ticks == sorted(set(ticks))
