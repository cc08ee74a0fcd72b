"""The folder the tutorial's training script writes (Gymnasium's names, no sidecars, no log).

``timelapse``, ``report`` and ``summary`` read it as it is; with ``log=`` added the videos
join their episodes by their names; the messages say what is missing and how to get it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agentreel import read_episodes
from agentreel.report import Run, render_report
from agentreel.report.timelapse import make_timelapse
from videotools import decode

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "train_with_periodic_recording.py"


def agentreel(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agentreel.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def run_script(text: str, cwd: Path) -> None:
    script = cwd / "train.py"
    script.write_text(text)
    proc = subprocess.run([sys.executable, str(script)], cwd=cwd, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.fixture(scope="module")
def tutorial(tmp_path_factory) -> Path:
    """The tutorial's script as it is: cartpole-training/ with 4 videos and nothing else."""
    root = tmp_path_factory.mktemp("tutorial")
    run_script(SCRIPT.read_text(), root)
    folder = root / "cartpole-training"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"training-episode-{i}.mp4" for i in (0, 250, 500, 750))
    return folder


@pytest.fixture(scope="module")
def tutorial_with_log(tmp_path_factory) -> Path:
    """The script with ``log=`` added (and scaled down to 300 episodes, every 100th recorded)."""
    root = tmp_path_factory.mktemp("tutorial-log")
    text = SCRIPT.read_text()
    text = text.replace("num_training_episodes = 1_000", "num_training_episodes = 300")
    text = text.replace("training_period = 250", "training_period = 100")
    text = text.replace("env = RecordEpisodeStatistics(env)",
                        'env = RecordEpisodeStatistics(env, log="cartpole-training")')
    assert 'log="cartpole-training"' in text
    run_script(text, root)
    folder = root / "cartpole-training"
    assert not list(folder.glob("*.json"))  # no sidecars
    return folder


def test_timelapse_of_the_tutorial_folder_without_log_or_sidecars(tutorial, tmp_path):
    out = tmp_path / "timelapse.mp4"
    proc = agentreel("timelapse", str(tutorial), "-o", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stdout and "4 videos" in proc.stdout
    assert "log=" in proc.stderr  # says what a log would add
    parts = [decode(tutorial / f"training-episode-{i}.mp4").count for i in (0, 250, 500, 750)]
    assert decode(out).count == sum(parts)
    saved = make_timelapse(tutorial, tmp_path / "again.mp4")
    assert [part["label"] for part in saved.tags["parts"]] == [
        f"EPISODE {i}" for i in (0, 250, 500, 750)]


def test_report_of_the_tutorial_folder_is_a_gallery(tutorial, tmp_path):
    page = tmp_path / "report.html"
    proc = agentreel("report", str(tutorial), "-o", str(page), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "4 videos" in proc.stdout
    html = page.read_text()
    assert html.count("<video ") == 4
    for i in (0, 250, 500, 750):
        assert f"training-episode-{i}.mp4" in html and f"<b>Episode {i}</b>" in html
    assert "log=" in html and "RecordEpisodeStatistics(env, log=FOLDER)" in html


def test_summary_of_the_tutorial_folder_says_what_is_missing(tutorial, tmp_path):
    proc = agentreel("summary", str(tutorial), cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert "no episode log" in line and "log=" in line and "4 video" in line


def test_with_log_the_videos_join_their_episodes_without_sidecars(tutorial_with_log, tmp_path):
    run = Run(tutorial_with_log)
    records = read_episodes(tutorial_with_log)
    assert len(records) == 300 and not run.notes
    assert [v.episode for v in run.videos] == [0, 100, 200]
    for video in run.videos:
        record = records[video.episode]
        assert video.record is record or video.record == record
        assert video.whole_episode and video.display_return == record.episode_return
        assert video.frames == record.length + 1 == decode(video.path).count
        assert (video.width, video.height, video.fps) == (600, 400, 50.0)
    html = render_report([run], page_dir=tutorial_with_log)
    assert re.search(r"3 videos, 300 episodes", html)
    # The episode table links each recorded episode, and only those.
    start = html.index('<table class="episodes">')
    table = html[start:html.index("</table>", start)]
    assert table.count('<a href="#run-0-video-') == 3
    # The best/worst line links an episode only when it was recorded (the agent is random,
    # so episode 0, 100 or 200 may be the best or the worst one).
    extremes = re.search(r'<p class="extremes">(.*?)</p>', html).group(1)
    for anchor, index in re.findall(r'<a href="#(run-0-video-\d)">episode (\d+)</a>', extremes):
        assert run.videos[int(anchor[-1])].episode == int(index)
    linked = {int(i) for i in re.findall(r'episode (\d+)</a>', extremes)}
    named = {int(i) for i in re.findall(r'episode (\d+)', extremes)}
    assert linked == named & {0, 100, 200}

    out = tmp_path / "timelapse.mp4"
    proc = agentreel("timelapse", str(tutorial_with_log), "-o", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert decode(out).count == sum(v.frames for v in run.videos)
    labels = [p["label"] for p in make_timelapse(run, tmp_path / "again.mp4").tags["parts"]]
    assert labels == [f"EPISODE {i}  RETURN {records[i].episode_return:.1f}" for i in (0, 100, 200)]


def test_step_clips_join_the_episode_that_holds_their_step(tmp_path):
    import gymnasium as gym

    from agentreel import RecordEpisodeStatistics, RecordVideo

    folder = tmp_path / "clips"
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env = RecordVideo(env, str(folder), name_prefix="train", step_trigger=lambda s: s % 60 == 0,
                      video_length=10)
    env = RecordEpisodeStatistics(env, log=str(folder))
    for seed in range(8):
        env.reset(seed=seed)
        done = False
        while not done:
            *_, terminated, truncated, _ = env.step(env.action_space.sample())
            done = terminated or truncated
    env.close()
    records = read_episodes(folder)
    run = Run(folder)
    starts = [sum(r.length for r in records[:i]) for i in range(len(records))]
    assert run.videos and all(not v.whole_episode for v in run.videos)
    last = max(v.step_id for v in run.videos)
    for video in run.videos:  # clips of 11 frames; close() cuts the last one short
        assert video.step_id % 60 == 0 and (video.frames == 11 or video.step_id == last)
        assert decode(video.path).count == video.frames
        i = max(j for j, start in enumerate(starts) if start <= video.step_id)
        assert video.record == records[i]
    assert "clip from step 60" in render_report([run], page_dir=folder)


def test_videos_with_other_names_and_no_sidecar_are_named_in_a_note(tutorial_with_log, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(tutorial_with_log, folder)
    shutil.copy(folder / "training-episode-0.mp4", folder / "my best run.mp4")
    run = Run(folder)
    assert len(run.videos) == 3
    (note,) = run.notes
    assert "my best run.mp4" in note and "sidecar=True" in note
    proc = agentreel("report", str(folder), cwd=tmp_path)
    assert proc.returncode == 0 and "sidecar=True" in proc.stderr


def test_an_empty_folder_says_what_to_record(tmp_path):
    (tmp_path / "empty").mkdir()
    for command in ("summary", "report", "timelapse"):
        proc = agentreel(command, "empty", cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        (line,) = proc.stderr.strip().splitlines()
        assert "no episodes found" in line and "log=" in line
