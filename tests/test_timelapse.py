"""agentreel.report.timelapse: a run's videos joined in episode order, labelled by agentreel's font."""

from __future__ import annotations

import doctest
import json

import numpy as np
import pytest

from agentreel.app.run import record_run
from agentreel.base.text import auto_scale, text_mask
from agentreel.core.records import EpisodeRecord
from agentreel.log import JsonlSink
from agentreel.report import Run, timelapse
from agentreel.report.timelapse import fit_frame, make_timelapse, part_label
from agentreel.video import VideoEngine
from videotools import decode


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("timelapse") / "run"
    # every 2nd of 5 episodes: the tutorial's periodic recording, in small
    return record_run("CartPole-v1", episodes=5, every=2, out=str(out), policy="random", seed=2,
                      progress=False, report=False).out


def test_docstring_examples():
    assert doctest.testmod(timelapse).failed == 0


def test_timelapse_decodes_to_the_sum_of_its_parts_with_labels(run_folder, tmp_path):
    run = Run(run_folder)
    assert [v.episode for v in run.videos] == [0, 2, 4]
    out = tmp_path / "timelapse.mp4"
    saved = make_timelapse(run, out)
    parts = [decode(v.path) for v in run.videos]
    whole = decode(out)
    assert whole.count == sum(p.count for p in parts) == saved.frames
    assert (whole.width, whole.height) == (parts[0].width, parts[0].height)
    assert whole.fps == pytest.approx(parts[0].fps)
    assert [p["frames"] for p in saved.tags["parts"]] == [p.count for p in parts]

    scale = auto_scale(whole.height)
    start = 0
    for video, part in zip(run.videos, parts, strict=True):
        text = part_label(video, whole.width, scale)
        assert text == f"EPISODE {video.episode}  RETURN {video.episode_return:.1f}"
        mask = text_mask(text, scale)
        top = left = 2 * scale  # margin + padding of the label box
        for i in (start, start + part.count - 1):  # first and last frame of each part
            grey = whole.frames[i].mean(axis=2)
            region = grey[top : top + mask.shape[0], left : left + mask.shape[1]]
            agree = np.mean((region > 128) == mask)
            assert agree > 0.9, (text, i, agree)
            # without the label that corner is CartPole's white background
            assert part.frames[i - start][top : top + mask.shape[0], left:].mean() > 200
        start += part.count


def test_unlabelled_timelapse_matches_its_parts(run_folder, tmp_path):
    run = Run(run_folder)
    out = tmp_path / "plain.mp4"
    make_timelapse(run, out, labels=False)
    whole = decode(out)
    first = decode(run.videos[0].path)
    diff = np.abs(whole.frames[0].astype(int) - first.frames[0].astype(int))
    assert diff.mean() < 3


def _write_part(folder, name, episode, frame, count, fps=10.0):
    engine = VideoEngine(backend="thread")
    stream = engine.open(folder / f"{name}.mp4", fps=fps, sidecar=True,
                         tags={"name": name, "episode_id": episode, "step_id": -1})
    for _ in range(count):
        stream.add_frame(frame)
    stream.finish(tags={"episode_return": float(episode), "episode_length": count - 1})
    stream.wait()
    engine.close()


def test_videos_of_other_sizes_are_scaled_and_padded_to_the_first(tmp_path):
    sink = JsonlSink(tmp_path / "episodes.jsonl")
    for i in range(2):
        sink.write(EpisodeRecord(index=i, episode_return=float(i), length=3))
    sink.close()
    _write_part(tmp_path, "a-episode-0", 0, np.full((48, 64, 3), 100, np.uint8), 4)
    _write_part(tmp_path, "a-episode-1", 1, np.full((32, 32, 3), 200, np.uint8), 3)
    assert json.loads((tmp_path / "a-episode-1.json").read_text())["width"] == 32
    saved = make_timelapse(tmp_path, tmp_path / "out.mp4", labels=False)
    whole = decode(tmp_path / "out.mp4")
    assert whole.count == 7 == saved.frames and (whole.width, whole.height) == (64, 48)
    assert abs(whole.frames[0].mean() - 100) < 4
    second = whole.frames[5].mean(axis=2)
    assert second[:, 12:52].mean() > 190  # the 32x32 part scaled to 48x48, centred
    assert second[:, :6].mean() < 10 and second[:, -6:].mean() < 10  # black bars


def test_fit_frame_keeps_the_aspect_ratio():
    wide = np.full((10, 40, 3), 255, np.uint8)
    out = fit_frame(wide, 20, 20)
    assert out.shape == (20, 20, 3)
    rows = np.flatnonzero(out[:, 10, 0])
    assert rows.tolist() == [7, 8, 9, 10, 11]  # a 20x5 band in the middle
    same = np.zeros((4, 6, 3), np.uint8)
    assert fit_frame(same, 6, 4) is same


def test_a_run_without_videos_is_a_clear_error(tmp_path):
    sink = JsonlSink(tmp_path / "episodes.jsonl")
    sink.write(EpisodeRecord(index=0, episode_return=1.0, length=1))
    sink.close()
    with pytest.raises(ValueError, match="no videos"):
        make_timelapse(tmp_path, tmp_path / "t.mp4")


def test_the_timelapse_never_overwrites_a_part(run_folder):
    run = Run(run_folder)
    with pytest.raises(ValueError, match="overwrite"):
        make_timelapse(run, run.videos[0].path)
