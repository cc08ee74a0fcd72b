"""Run folders read back (videos joined to episodes), the HTML report and notebook display."""

from __future__ import annotations

import doctest
import importlib
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest

from agentreel.analysis import summarize_records
from agentreel.app.run import record_run
from agentreel.core.records import EpisodeRecord
from agentreel.log import JsonlSink
from agentreel.report import Run, find_videos, render_report, write_report
from agentreel.report.html import learning_curve_html


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    out = tmp_path_factory.mktemp("single") / "run"
    return record_run("CartPole-v1", episodes=3, out=str(out), policy="random", seed=7,
                      progress=False, report=False)


@pytest.fixture(scope="module")
def vector(tmp_path_factory):
    out = tmp_path_factory.mktemp("vector") / "run"
    return record_run("CartPole-v1", episodes=3, out=str(out), policy="random", seed=11,
                      progress=False, report=False, num_envs=2)


class _Page(HTMLParser):
    """Collects tags and attributes of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def parse(html: str) -> list[tuple[str, dict[str, str | None]]]:
    page = _Page()
    page.feed(html)
    return page.tags


@pytest.mark.parametrize("module", ["agentreel.report.folder", "agentreel.report.html",
                                    "agentreel.report.svg", "agentreel.report.notebook"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_single_env_videos_join_their_episodes_in_order(single):
    run = Run(single.out)
    assert [r.index for r in run.records] == [0, 1, 2]
    assert [v.episode for v in run.videos] == [0, 1, 2]
    for video, record in zip(run.videos, run.records, strict=True):
        assert video.record is record
        assert video.whole_episode
        assert video.episode_return == record.episode_return
        assert video.frames == record.length + 1
        assert video.duration == pytest.approx(video.frames / video.fps)
        assert video.caption == (f"episode {record.index} · return {record.episode_return:.1f} "
                                 f"· length {record.length}")
    assert run.video_for(1) is run.videos[1] and run.video_for(99) is None


def test_per_env_videos_join_the_kth_episode_of_their_sub_env(vector):
    run = Run(vector.out)
    assert len(run.records) >= 3
    assert {r.env_index for r in run.records} <= {0, 1}
    # the job removes the clips of episodes cut short when it stops: every video is joined
    assert len(run.videos) == len(run.records)
    for video in run.videos:
        assert re.fullmatch(r"CartPole-v1-env-[01]-episode-\d+", video.name)
        record = video.record
        assert record is not None and record.env_index == video.env_index
        own = [r for r in run.records if r.env_index == video.env_index]
        assert own.index(record) == video.episode_id
        assert video.episode_return == record.episode_return
        assert video.episode_length == record.length == video.frames - 1
    assert [v.record for v in run.videos] == run.records  # episode (log) order


def _sidecar(folder: Path, name: str, **tags) -> None:
    (folder / f"{name}.mp4").write_bytes(b"")
    (folder / f"{name}.json").write_text(json.dumps({
        "path": f"{name}.mp4", "frames": 5, "fps": 10.0, "width": 4, "height": 4,
        "format": "mp4", "tags": {"name": name, **tags}}))


def test_join_rules_on_hand_made_sidecars(tmp_path):
    sink = JsonlSink(tmp_path / "episodes.jsonl")
    for i, env in enumerate([0, 1, 0, 1]):
        sink.write(EpisodeRecord(index=i, episode_return=float(10 * i), length=i + 1, env_index=env))
    sink.close()
    _sidecar(tmp_path, "v-env-1-episode-1", episode_id=1, step_id=-1, env_index=1,
             episode_return=30.0, episode_length=4)
    _sidecar(tmp_path, "tiled-episode-1", episode_id=1, step_id=-1)  # counts sub-env 0
    _sidecar(tmp_path, "v-step-3", episode_id=0, step_id=3)  # a step-triggered clip
    (tmp_path / "ghost.json").write_text(json.dumps({"path": "ghost.mp4", "frames": 1, "fps": 1}))
    (tmp_path / "notes.json").write_text('{"hello": 1}')
    (tmp_path / "broken.json").write_text("{")
    assert sorted(v.name for v in find_videos(tmp_path)) == [
        "tiled-episode-1", "v-env-1-episode-1", "v-step-3"]
    run = Run(tmp_path)
    by_name = {v.name: v for v in run.videos}
    assert by_name["v-env-1-episode-1"].record.index == 3
    assert by_name["tiled-episode-1"].record.index == 2
    step = by_name["v-step-3"]
    assert step.record.index == 0 and not step.whole_episode
    assert "from step 3" in step.caption and "return 0.0" in step.caption
    assert [v.name for v in run.videos] == ["v-step-3", "tiled-episode-1", "v-env-1-episode-1"]


def test_empty_or_missing_run_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no episodes found"):
        Run(tmp_path)
    with pytest.raises(FileNotFoundError, match="no run folder"):
        Run(tmp_path / "nope")


def test_report_is_self_contained_and_links_videos_relative_to_the_page(single, vector, tmp_path):
    page = write_report([single.out, vector.out], tmp_path / "site" / "report.html")
    html = page.read_text(encoding="utf-8")
    tags = parse(html)
    # nothing is fetched from a network: no external scripts, styles, images or fonts
    for tag, attrs in tags:
        for key in ("src", "href"):
            value = attrs.get(key) or ""
            assert not re.match(r"^(https?:)?//", value), (tag, key, value)
    assert not [a for t, a in tags if t == "script" and a.get("src")]
    assert not [a for t, a in tags if t == "link" and a.get("rel") == "stylesheet"]
    assert "<style>" in html and "<script>" in html
    videos = [a for t, a in tags if t == "video"]
    assert len(videos) == len(Run(single.out).videos) + len(Run(vector.out).videos)
    for attrs in videos:
        assert "controls" in attrs and "muted" in attrs and attrs["preload"] == "metadata"
        src = attrs["src"]
        assert not src.startswith(("/", "file:")), src
        assert (page.parent / unquote(src)).resolve().is_file()
    # every video is captioned with episode, return and length
    for video in Run(single.out).videos:
        assert (f"<b>Episode {video.episode}</b> · return <b>{video.episode_return:.1f}</b> · "
                f"length <b>{video.episode_length}</b>") in html
    # the summary table shows summarize_records' numbers, and an aggregate line
    summary = summarize_records(Run(single.out).records, seed=0)
    assert f"<td>{summary.mean:.2f}</td>" in html and f"<td>{summary.iqm:.2f}</td>" in html
    assert f"[{summary.mean_ci[0]:.2f}, {summary.mean_ci[1]:.2f}]" in html
    assert "all 2 runs (mean of run means)" in html
    # sortable by return, in the table and the gallery
    assert [a.get("data-sort-key") for t, a in tags if t == "th"].count("return") == 2
    assert sum(1 for t, a in tags if t == "figure" and "data-return" in a) == len(videos)
    assert "data:image/svg+xml;base64," in html  # matplotlib's curve, embedded


def test_report_without_matplotlib_draws_its_own_svg(single, monkeypatch):
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    run = Run(single.out)
    figure = learning_curve_html([run])
    assert figure.startswith("<svg") and figure.count("<polyline") == 2
    html = render_report([run], page_dir=run.folder)
    assert "<svg" in html and "data:image/svg+xml" not in html
    with pytest.raises(ImportError):
        learning_curve_html([run], engine="matplotlib")


def test_report_page_next_to_the_videos_uses_bare_names(single):
    page = Run(single.out).report()
    assert page == Path(single.out) / "report.html"
    assert 'src="CartPole-v1-episode-0.mp4"' in page.read_text()


def test_report_needs_an_html_path(single, tmp_path):
    with pytest.raises(ValueError, match=".html"):
        write_report([single.out], tmp_path / "report.txt")


def test_notebook_display_of_a_run_and_a_video(single, tmp_path):
    from agentreel.report.notebook import show_video, video_src

    run = Run(single.out)
    html = run._repr_html_()
    assert "<table" in html and html.count("<video") == 3
    assert "data:video/mp4;base64," in html and "mean return" in html
    one = run.videos[0]._repr_html_()
    assert one.count("<video") == 1 and "episode 0 · return" in one
    assert video_src(run.videos[0].path, embed=False).endswith("CartPole-v1-episode-0.mp4")
    assert "<video" in show_video(run.videos[0].path)._repr_html_()
    with pytest.raises(FileNotFoundError):
        show_video(tmp_path / "none.mp4")
