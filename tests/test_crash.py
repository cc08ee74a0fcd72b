"""Crash tests: a recording run killed at random moments loses nothing it finished.

A child process (tests/helpers/recording_child.py) records every episode of a
PatternEnv with RecordVideo (sidecars on) over RecordEpisodeStatistics(log=dir) and
prints ``DONE k`` after each episode. We kill it at a random moment (seeded) and check:

* every video under a final name decodes completely, with the frame count of its
  sidecar and of its episode (length + 1);
* every episode reported done is in monitor.csv and in episodes.jsonl, with no torn line;
* every ``.partial`` left over decodes at least every frame of its complete fragments
  (complete ``moof`` + ``mdat`` pairs); when only the agent was killed, the encoder
  closed it cleanly: it decodes every frame and at least one;
* when only the agent was killed, every episode it finished has its final video;
* a restarted run in the same folder runs to the end, warns before replacing a
  finished video, keeps the crashed run's unfinished recordings (moved aside) and
  leaves no claims, partials or temporary files of its own.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from videotools import complete_fragment_samples, decode, decode_count, play_episodes, wait_gone

HELPERS = Path(__file__).parent / "helpers"
CHILD = str(HELPERS / "recording_child.py")
LENGTH = 40  # frames per episode video: LENGTH + 1; fps 20 -> a fragment every 20 frames
TRIALS = 20


class Child:
    """A recording child whose stdout lines are collected by a thread."""

    def __init__(self, video_dir: Path, log_dir: Path, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, CHILD, str(video_dir), str(log_dir), "--length", str(LENGTH), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )
        self.lines: list[str] = []
        self.stderr = ""
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._err_reader = threading.Thread(target=self._read_err, daemon=True)
        self._err_reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            if not line.endswith("\n"):  # torn by the SIGKILL: never a whole report
                break
            self.lines.append(line.strip())
            if line.startswith("READY"):
                self._ready.set()
        self._ready.set()

    def _read_err(self) -> None:
        self.stderr = self.proc.stderr.read()

    def wait_ready(self, timeout: float = 60) -> int:
        assert self._ready.wait(timeout), "child never got ready"
        ready = [line for line in self.lines if line.startswith("READY")]
        assert ready, f"child failed: {self.finish()}"
        return int(ready[0].split()[1])

    def finish(self, timeout: float = 60) -> str:
        self.proc.wait(timeout)
        self._reader.join(timeout)
        self._err_reader.join(timeout)
        return self.stderr

    @property
    def done(self) -> list[int]:
        return [int(line.split()[1]) for line in self.lines if line.startswith("DONE")]


def check_logs(log_dir: Path, done: list[int], length: int = LENGTH) -> None:
    """Every reported episode in both logs; every line whole."""
    csv_text = (log_dir / "monitor.csv").read_text()
    assert csv_text.endswith("\n"), "torn last row in monitor.csv"
    lines = csv_text.splitlines()
    assert lines[0].startswith("#") and lines[1] == "r,l,t"
    rows = [line.split(",") for line in lines[2:]]
    assert all(len(row) == 3 and int(row[1]) == length for row in rows), rows
    assert len(rows) >= len(done)
    jsonl = (log_dir / "episodes.jsonl").read_text()
    assert jsonl == "" or jsonl.endswith("\n"), "torn last line in episodes.jsonl"
    records = [json.loads(line) for line in jsonl.splitlines()]
    assert {r["index"] for r in records} >= set(done)
    assert len(records) in (len(rows), len(rows) - 1)  # killed between the two writes at most


def check_final_videos(folder: Path, length: int = LENGTH) -> dict[str, int]:
    """Every final video decodes completely with its sidecar's and its episode's frame count."""
    counts = {}
    for video in sorted(folder.glob("*.mp4")):
        frames = decode(video).count
        assert frames == length + 1, (video.name, frames)
        sidecar = video.with_suffix(".json")
        if sidecar.exists():
            meta = json.loads(sidecar.read_text())
            assert meta["frames"] == frames and meta["tags"]["episode_length"] + 1 == frames
        counts[video.name] = frames
    return counts


def check_partials(folder: Path, encoder_survived: bool) -> dict[str, tuple[int, int]]:
    """Every unfinished recording is playable up to its last complete fragment."""
    found = {}
    for partial in sorted(folder.rglob("*.partial")):
        if partial.name.endswith(".faststart.partial"):
            # The remux's temporary copy: its fragmented source is still there, or the
            # final file already is.
            source = Path(str(partial).replace(".faststart.partial", ".partial"))
            final = Path(str(partial).replace(".faststart.partial", ""))
            assert source.exists() or final.exists(), partial
            continue
        if partial.suffix == ".partial" and partial.name.endswith(".json.partial"):
            continue  # a sidecar being written: its video is complete
        fragments, samples = complete_fragment_samples(partial)
        frames = decode_count(partial)
        assert frames >= samples, (partial.name, frames, samples)
        if encoder_survived:
            assert frames >= 1 and frames == samples, (partial.name, frames, samples)
        found[partial.name] = (frames, samples)
    return found


def run_trial(trial: int, root: Path) -> dict:
    rng = random.Random(7000 + trial)
    kill_after = rng.uniform(0.05, 1.3)
    whole_group = trial % 2 == 1  # odd: the encoder dies too (kill -9 of the process group)
    keep = trial % 4 == 3
    video_dir, log_dir = root / "videos", root / "log"
    extra = ["--keep"] if keep else []
    child = Child(video_dir, log_dir, *extra)
    encoder = child.wait_ready()
    time.sleep(kill_after)
    if whole_group:
        os.killpg(child.proc.pid, signal.SIGKILL)
    else:
        child.proc.send_signal(signal.SIGKILL)
    child.finish()
    assert child.proc.returncode == -signal.SIGKILL
    wait_gone(encoder)
    done = child.done

    check_logs(log_dir, done)
    finals = check_final_videos(video_dir)
    partials = check_partials(video_dir, encoder_survived=not whole_group)
    if not whole_group:
        # The encoder outlives the agent: every video the agent finished is complete.
        if keep:
            pending = video_dir / ".agentreel-pending"
            complete = set(finals) | {p.name for p in pending.glob("*.mp4")}
            assert len(complete) >= min(len(done), 1) if done else True
        else:
            assert {f"rl-video-episode-{k}.mp4" for k in done} <= set(finals)
    if keep:
        assert len(finals) <= 3

    # A restarted run in the same folder (logs elsewhere: monitor.csv is restarted, SB3-style).
    before = {name: (video_dir / name).read_bytes() for name in partials
              if (video_dir / name).exists()}
    restart = Child(video_dir, root / "log2", "--episodes", "2", *extra)
    err = restart.finish()
    assert restart.proc.returncode == 0 and "CLOSED" in restart.lines, err
    if not keep and {"rl-video-episode-0.mp4", "rl-video-episode-1.mp4"} & set(finals):
        assert "overwrit" in err
    check_final_videos(video_dir)
    for name, data in before.items():  # the crashed run's unfinished recordings are kept
        moved = [p for p in video_dir.glob("*.partial") if p.read_bytes() == data]
        assert moved, f"{name} was lost by the restarted run"
    assert not (video_dir / ".agentreel-claims").exists()
    for k in range(2):
        if not keep:
            assert decode(video_dir / f"rl-video-episode-{k}.mp4").count == LENGTH + 1
    return {"trial": trial, "kill_after": round(kill_after, 3), "group": whole_group,
            "keep": keep, "done": len(done), "finals": len(finals), "partials": partials}


def test_sigkill_at_random_moments_loses_nothing_finished(tmp_path):
    """20 seeded trials, three at a time (the children mostly sleep between steps)."""
    results, failures = [], []
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        futures = {pool.submit(run_trial, t, tmp_path / f"t{t}"): t for t in range(TRIALS)}
        for future in concurrent.futures.as_completed(futures):
            try:
                results.append(future.result())
            except Exception as exc:  # collect every failing trial, not just the first
                failures.append(f"trial {futures[future]}: {type(exc).__name__}: {exc}")
    for result in sorted(results, key=lambda r: r["trial"]):
        print(result)
    assert not failures, "\n".join(failures)
    # The kills must have hit the interesting moments, not only the quiet ones.
    assert sum(r["done"] for r in results) > 0
    assert any(r["partials"] for r in results)


def _run_until_episodes(tmp_path: Path, episodes: int) -> tuple[Child, int]:
    child = Child(tmp_path / "videos", tmp_path / "log", "--length", "60")
    encoder = child.wait_ready()
    deadline = time.monotonic() + 30
    while len(child.done) < episodes and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)  # in the middle of the next episode
    return child, encoder


def test_sigterm_finishes_finished_videos_and_closes_the_open_one(tmp_path):
    """SIGTERM kills the agent like SIGKILL (no handler is installed: Python's default);
    the encoder sees its parent gone and still completes every video the agent
    finished and closes the open recording as a complete, decodable .partial."""
    child, encoder = _run_until_episodes(tmp_path, 2)
    child.proc.send_signal(signal.SIGTERM)
    child.finish()
    assert child.proc.returncode == -signal.SIGTERM
    wait_gone(encoder)
    done = child.done
    check_logs(tmp_path / "log", done, length=60)
    finals = check_final_videos(tmp_path / "videos", length=60)
    assert {f"rl-video-episode-{k}.mp4" for k in done} <= set(finals)
    partials = check_partials(tmp_path / "videos", encoder_survived=True)
    assert len(partials) == 1 and next(iter(partials.values()))[0] >= 1


def test_ctrl_c_closes_every_video_under_its_final_name(tmp_path):
    """Ctrl-C (SIGINT to the whole process group): KeyboardInterrupt unwinds the loop,
    the interpreter exits normally and the engine's exit handler finishes the open
    clip; the encoder ignores SIGINT. Nothing is left unfinished."""
    child, encoder = _run_until_episodes(tmp_path, 2)
    os.killpg(child.proc.pid, signal.SIGINT)
    err = child.finish()
    # Python exits an uncaught KeyboardInterrupt by re-raising SIGINT after the atexit handlers.
    assert child.proc.returncode in (1, -signal.SIGINT) and "KeyboardInterrupt" in err
    wait_gone(encoder)
    done = child.done
    check_logs(tmp_path / "log", done, length=60)
    videos = tmp_path / "videos"
    assert not list(videos.rglob("*.partial")), "Ctrl-C left an unfinished file"
    assert not (videos / ".agentreel-claims").exists()
    finals = sorted(videos.glob("*.mp4"))
    assert len(finals) == len(done) + 1  # the interrupted episode's clip is closed too
    for video in finals:
        meta = json.loads(video.with_suffix(".json").read_text())
        assert decode(video).count == meta["frames"] >= 1


def test_restart_takes_over_stale_claims_and_keeps_old_partials(tmp_path):
    """Leftovers of a killed run: a stale claim, a .partial, a stale sidecar and a
    keep rule's pending folder. The restarted run neither crashes on them nor
    truncates the old partial, and a sidecar never describes a different file."""
    from agentreel.clips.claims import CLAIMS_FOLDER

    videos = tmp_path / "videos"
    claims = videos / CLAIMS_FOLDER
    claims.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (claims / "rl-video-episode-0.mp4").write_text(f"{dead.pid} {os.uname().nodename}\n")
    (claims / "rl-video-episode-1.mp4").write_text("")  # torn claim (its writer died at once)
    os.utime(claims / "rl-video-episode-1.mp4", (time.time() - 60, time.time() - 60))
    (videos / "rl-video-episode-0.mp4.partial").write_bytes(b"old partial")
    (videos / "rl-video-episode-1.json").write_text('{"frames": 999}')
    (videos / "rl-video-episode-1.mp4").write_bytes(b"old video")
    (videos / ".agentreel-pending").mkdir()
    (videos / ".agentreel-pending" / "rl-video-episode-0.mp4.partial").write_bytes(b"x")
    child = Child(videos, tmp_path / "log", "--episodes", "2", "--length", "5")
    err = child.finish()
    assert child.proc.returncode == 0, err
    assert "overwriting" in err and "another live recorder" not in err
    assert (videos / f"rl-video-episode-0.crashed-{dead.pid}.mp4.partial").read_bytes() == b"old partial"
    assert decode(videos / "rl-video-episode-1.mp4").count == 6
    assert json.loads((videos / "rl-video-episode-1.json").read_text())["frames"] == 6
    assert not claims.exists()


def test_a_stale_sidecar_never_describes_a_new_video(tmp_path):
    """A restarted run without sidecars replaces an old video: its old sidecar must go
    (it would describe the new file with the old frame count)."""
    from agentreel.clips.recorder import ClipRecorder
    from agentreel.core.episode_tracker import EpisodeEnd

    (tmp_path / "v-episode-0.json").write_text('{"frames": 999}')
    (tmp_path / "v-episode-0.mp4").write_bytes(b"old")
    rec = ClipRecorder(tmp_path, name_prefix="v", episode_trigger=lambda i: True)
    rec.begin_episode()
    rec.capture(__import__("numpy").zeros((8, 8, 3), "uint8"))
    rec.end_episode(EpisodeEnd(0.0, 0, 0.0, terminated=True, truncated=False))
    rec.close()
    assert decode(tmp_path / "v-episode-0.mp4").count == 1
    assert not (tmp_path / "v-episode-0.json").exists()


def test_a_dead_writers_claim_is_stale_even_when_its_pid_was_reused(tmp_path):
    """Process ids are reused (pid_max is 32768 on many machines): a claim whose pid now
    belongs to another live process (here: this test's own pid, with another start
    time) must be taken over, not honoured as a live writer's. A claim with the right
    start time is live; an old-format claim without one keeps the pid-only check."""
    from agentreel.clips.claims import CLAIMS_FOLDER, NameClaims, process_start

    folder = tmp_path / "videos"
    claims = folder / CLAIMS_FOLDER
    claims.mkdir(parents=True)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        host = os.uname().nodename
        start = process_start(live.pid)
        assert start, "this platform has no /proc start times"
        (claims / "reused.mp4").write_text(f"{live.pid} {host} {int(start) - 1}\n")
        (claims / "live.mp4").write_text(f"{live.pid} {host} {start}\n")
        (claims / "old-format.mp4").write_text(f"{live.pid} {host}\n")
        names = NameClaims(str(folder))
        got = {n: os.path.basename(names.claim(str(folder / f"{n}.mp4")))
               for n in ("reused", "live", "old-format")}
        names.release_all()
    finally:
        live.kill()
        live.wait()
    assert got["reused"] == "reused.mp4"  # the stale claim was taken over
    assert got["live"] == f"live-{os.getpid()}.mp4"  # a live writer's name is not taken
    assert got["old-format"] == f"old-format-{os.getpid()}.mp4"


# --------------------------------------------------------------------------- issue 12
def test_a_clip_cut_short_by_reset_or_close_is_marked_incomplete(tmp_path):
    """Issue 12.5: a whole-episode clip cut short by reset()/close() kept
    episode_return/episode_length in its sidecar, as if the episode were complete."""
    from agentreel import RecordVideo
    from videotools import PatternEnv

    events = []
    env = RecordVideo(PatternEnv(length=5), str(tmp_path), episode_trigger=lambda i: True,
                      sidecar=True, on_video_saved=events.append)
    env.reset()
    env.step(0)
    env.step(0)
    env.reset()  # episode 0 cut short after 2 of 5 steps
    for _ in range(5):
        env.step(0)  # episode 1 complete
    env.reset()
    env.step(0)
    env.close()  # episode 2 cut short by close()
    tags = {k: json.loads((tmp_path / f"rl-video-episode-{k}.json").read_text())["tags"]
            for k in range(3)}
    for k in (0, 2):
        assert tags[k]["incomplete"] is True
        assert "episode_return" not in tags[k] and "episode_length" not in tags[k]
    assert tags[1]["episode_length"] == 5 and "incomplete" not in tags[1]
    by_id = {e.episode_id: e for e in events}
    assert by_id[0].episode_length is None and by_id[1].episode_length == 5


def _outside(tmp_path: Path) -> dict[str, Path]:
    """Files outside the video and log folders that planted links point at."""
    outside = tmp_path / "outside"
    outside.mkdir()
    targets = {}
    for name in ("faststart", "sidecar_partial", "final_video", "final_sidecar", "monitor",
                 "jsonl"):
        targets[name] = outside / f"{name}.txt"
        targets[name].write_text(f"precious {name}\n")
    targets["dangling"] = outside / "created-by-agentreel"
    return targets


def test_planted_symlinks_are_never_written_through(tmp_path):
    """Issue 12.6: symlinks planted at NAME.mp4.faststart.partial, NAME.json.partial, a
    dangling NAME.mp4.partial, the final NAME.mp4/NAME.json, monitor.csv and
    episodes.jsonl made agentreel overwrite, truncate or create files outside the folder."""
    from agentreel import RecordEpisodeStatistics, RecordVideo
    from videotools import PatternEnv

    targets = _outside(tmp_path)
    videos = tmp_path / "videos"
    videos.mkdir()
    # Episode 0: 31 frames at 25 fps, longer than one fragment, so it is remuxed through
    # NAME.mp4.faststart.partial; episode 1: short, written from memory through the same name.
    os.symlink(targets["faststart"], videos / "rl-video-episode-0.mp4.faststart.partial")
    os.symlink(targets["sidecar_partial"], videos / "rl-video-episode-0.json.partial")
    os.symlink(targets["dangling"], videos / "rl-video-episode-1.mp4.partial")
    os.symlink(targets["final_video"], videos / "rl-video-episode-1.mp4")
    os.symlink(targets["final_sidecar"], videos / "rl-video-episode-1.json")
    env = RecordVideo(PatternEnv(length=30), str(videos), episode_trigger=lambda i: True,
                      sidecar=True)
    play_episodes(env, 2)
    env.close()
    for name, target in targets.items():
        if name == "dangling":
            assert not target.exists(), "a file was created through a dangling link"
        else:
            assert target.read_text() == f"precious {name}\n", f"{name} was written through"
    for k in range(2):
        video = videos / f"rl-video-episode-{k}.mp4"
        assert not video.is_symlink() and decode(video).count == 31
        sidecar = videos / f"rl-video-episode-{k}.json"
        assert not sidecar.is_symlink() and json.loads(sidecar.read_text())["frames"] == 31

    # Log files: a planted link is refused with a clear error, nothing is truncated.
    for name, key in (("monitor.csv", "monitor"), ("episodes.jsonl", "jsonl")):
        log = tmp_path / f"log-{key}"
        log.mkdir()
        os.symlink(targets[key], log / name)
        try:
            RecordEpisodeStatistics(PatternEnv(), log=str(log))
        except OSError as exc:
            assert "symbolic link" in str(exc) and name in str(exc), exc
        else:
            raise AssertionError(f"a symlink at {name} was accepted")
        assert targets[key].read_text() == f"precious {key}\n"
    # A keep rule's hidden folder planted as a link to a folder outside: replaced.
    from agentreel.clips.keep import best

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    kept = tmp_path / "kept"
    kept.mkdir()
    os.symlink(elsewhere, kept / ".agentreel-pending")
    env = RecordVideo(PatternEnv(length=3), str(kept), keep=best(1))
    play_episodes(env, 2)
    env.close()
    assert os.listdir(elsewhere) == [] and len(list(kept.glob("*.mp4"))) == 1
    # A FIFO planted at monitor.csv would block the open for ever: refused at once.
    fifo_log = tmp_path / "log-fifo"
    fifo_log.mkdir()
    os.mkfifo(fifo_log / "monitor.csv")
    try:
        RecordEpisodeStatistics(PatternEnv(), log=str(fifo_log))
    except OSError as exc:
        assert "FIFO" in str(exc), exc
    else:
        raise AssertionError("a FIFO at monitor.csv was accepted")


def _claims_child(folder: Path, kind: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run([sys.executable, str(HELPERS / "claims_junk_child.py"),
                               str(folder), kind], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"{kind} in the claims folder hung the recorder") from exc


def test_junk_in_the_claims_folder_never_blocks_or_fails_a_reset(tmp_path):
    """Issue 12.7: a FIFO in .agentreel-claims hung reset() forever, a symlink to
    /dev/zero was read until MemoryError, a directory raised IsADirectoryError and
    1,000 forged claims made reset() raise FileExistsError. Each is planted for real;
    every video must still be recorded, and nothing outside the folder touched."""
    results = {}
    for kind in ("fifo", "devzero", "directory", "forged", "linkedfolder"):
        folder = tmp_path / kind
        proc = _claims_child(folder, kind)
        assert proc.returncode == 0 and "CLOSED" in proc.stdout, (kind, proc.stderr[-2000:])
        saved = [line.split() for line in proc.stdout.splitlines() if line.startswith("SAVED")]
        assert len(saved) == 2 and all(int(frames) == 4 for _, _, frames in saved), saved
        for _, name, _ in saved:
            assert decode(folder / name).count == 4
        results[kind] = [name for _, name, _ in saved]
    assert results["fifo"][1] == "rl-video-episode-1.mp4"
    assert results["linkedfolder"] == ["rl-video-episode-0.mp4", "rl-video-episode-1.mp4"]
    assert os.listdir(tmp_path / "outside") == []  # no claim was written through the link
    assert os.path.exists("/dev/zero") and Path("/dev/zero").is_char_device()
