"""RecordVideo(replay=True) creates nothing for an episode until it has ended and is kept,
and still behaves as live recording: trigger calls, names, cut-short episodes, sidecars."""

from __future__ import annotations

import json
import os

import gymnasium as gym
import pytest

from agentreel import RecordVideo
from agentreel.clips.claims import CLAIMS_FOLDER
from agentreel.clips.keep import best
from agentreel.clips.keeper import PENDING_FOLDER
from videotools import assert_same_pictures, decode, decode_count, mp4s


def play(env, steps_per_episode, *, first_seed=0):
    """Seeded first reset, then unseeded; ``None`` plays an episode to its end, ``n`` cuts
    it short after ``n`` steps (the next reset or close() ends it)."""
    for i, steps in enumerate(steps_per_episode):
        env.reset(seed=first_seed if i == 0 else None)
        taken, done = 0, False
        while not done and (steps is None or taken < steps):
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            taken += 1
            done = terminated or truncated


class CountingDiscrete(gym.spaces.Discrete):
    """A Discrete space that counts how often it is pickled."""

    pickled: list[int] = []

    def __reduce_ex__(self, protocol):
        self.pickled.append(protocol)
        return super().__reduce_ex__(protocol)


def sidecars(folder):
    return {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}


def test_a_keep_rule_opens_no_stream_and_leaves_no_file_for_the_episodes_it_drops(tmp_path):
    """Of six episodes the rule keeps two: two streams are opened, two names claimed, and
    the dropped episodes leave nothing in the folder, its hidden folder or the claims."""
    ends = []
    env = RecordVideo(gym.make("CartPole-v1"), tmp_path, replay=True, sidecar=True,
                      keep=lambda episode: episode.index in (2, 4), on_episode_end=ends.append)
    env.action_space.seed(5)
    play(env, [None] * 6)
    claimed = sorted(os.listdir(tmp_path / CLAIMS_FOLDER))
    opened = env._replay_engine.opened
    env.close()
    assert opened == 2
    assert len(claimed) == 2 and all("rl-video-episode-" in c for c in claimed)
    assert mp4s(tmp_path) == {"rl-video-episode-2.mp4", "rl-video-episode-4.mp4"}
    assert not (tmp_path / PENDING_FOLDER).exists()
    assert [os.path.basename(e.video) if e.video else None for e in ends] == [
        None, None, "rl-video-episode-2.mp4", None, "rl-video-episode-4.mp4", None]
    assert [v.name for v in env.saved_videos] == ["rl-video-episode-2", "rl-video-episode-4"]


def record(folder, steps_per_episode, *, replay, every=1, stop=False, **kwargs):
    """Record with ``episode_trigger=lambda e: e % every == 0``; ``stop``: stop_recording()
    after the last episode's steps. Returns the env, the trigger's calls, the saved videos
    and ``env.recording`` before and after that stop."""
    calls, saved, ends = [], [], []

    def trigger(episode_id):
        calls.append(episode_id)
        return episode_id % every == 0

    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env = RecordVideo(env, folder, episode_trigger=trigger, replay=replay, sidecar=True,
                      on_video_saved=saved.append, on_episode_end=ends.append, **kwargs)
    env.action_space.seed(11)
    play(env, steps_per_episode)
    recording_before_stop = env.recording
    if stop:
        env.stop_recording()
    recording_after_stop = env.recording
    env.close()
    env.episode_records = [{**e.to_dict(), "end_time": None, "duration": None,
                            "video": e.video and os.path.basename(e.video)} for e in ends]
    return env, calls, saved, (recording_before_stop, recording_after_stop)


def test_every_fifth_episode_with_replay_matches_live_recording(tmp_path):
    plan = [None] * 11
    live, live_calls, live_saved, _ = record(tmp_path / "live", plan, replay=False, every=5)
    replayed, calls, saved, _ = record(tmp_path / "replay", plan, replay=True, every=5)
    assert calls == live_calls == list(range(11))       # asked once per episode, at reset
    names = ["rl-video-episode-0", "rl-video-episode-5", "rl-video-episode-10"]
    assert [v.name for v in saved] == [v.name for v in live_saved] == names
    assert [v.step_id for v in saved] == [v.step_id for v in live_saved]
    assert sidecars(tmp_path / "replay") == sidecars(tmp_path / "live")
    assert replayed._replay_engine.opened == 3
    assert replayed.episode_records == live.episode_records and len(live.episode_records) == 11
    assert [e["video"] for e in live.episode_records][:6] == [
        "rl-video-episode-0.mp4", None, None, None, None, "rl-video-episode-5.mp4"]
    for name in names:
        assert_same_pictures(tmp_path / "live" / f"{name}.mp4",
                             tmp_path / "replay" / f"{name}.mp4")


@pytest.mark.parametrize("how", ["close", "stop_recording"])
def test_episodes_cut_short_become_incomplete_videos_as_in_live_recording(tmp_path, how):
    """Episode 1 is cut short by a reset after 3 steps; episode 3's video is cut short by
    close() or stop_recording() after 4 steps: both are written, tagged incomplete."""
    plan = [None, 3, None, 4]
    stop = how == "stop_recording"
    _, _, live_saved, live_state = record(tmp_path / "live", plan, replay=False, stop=stop)
    replayed, _, saved, state = record(tmp_path / "replay", plan, replay=True, stop=stop)
    assert state == live_state == ((True, False) if stop else (True, True))
    names = [f"rl-video-episode-{i}" for i in range(4)]
    assert sorted(v.name for v in saved) == sorted(v.name for v in live_saved) == names
    tags = {name: side["tags"] for name, side in sidecars(tmp_path / "replay").items()}
    assert sidecars(tmp_path / "replay") == sidecars(tmp_path / "live")
    assert [tags[name].get("incomplete", False) for name in names] == [False, True, False, True]
    assert decode_count(tmp_path / "replay" / "rl-video-episode-1.mp4") == 4  # reset + 3 steps
    assert decode_count(tmp_path / "replay" / "rl-video-episode-3.mp4") == 5  # reset + 4 steps
    for name in names:
        assert_same_pictures(tmp_path / "live" / f"{name}.mp4",
                             tmp_path / "replay" / f"{name}.mp4")


def test_cut_short_episodes_under_a_keep_rule_leave_nothing(tmp_path):
    plan = [None, 3, None, 2]                             # 1 cut by a reset, 3 by close()
    live, _, live_saved, _ = record(tmp_path / "live", plan, replay=False, keep=best(5))
    replayed, _, saved, state = record(tmp_path / "replay", plan, replay=True, keep=best(5))
    assert state[0] is True
    assert [v.name for v in saved] == [v.name for v in live_saved] == [
        "rl-video-episode-0", "rl-video-episode-2"]
    assert mp4s(tmp_path / "replay") == mp4s(tmp_path / "live")
    assert sidecars(tmp_path / "replay") == sidecars(tmp_path / "live")
    assert replayed._replay_engine.opened == 2
    assert not (tmp_path / "replay" / PENDING_FOLDER).exists()
    assert replayed.episode_records == live.episode_records and len(live.episode_records) == 2


def test_the_agents_action_space_is_never_pickled_for_the_replayer(tmp_path):
    """Pickling the env's live action space (to send a kept episode to the replayer)
    materialised its ``__dict__`` and slowed every later ``sample()``/``contains()`` of the
    agent's loop by ~2.6k instructions a CartPole step; the replayer decodes the actions
    with its own env's space, so none is sent. A counting space subclass shows it."""
    import pickle

    pickled = CountingDiscrete.pickled
    pickled.clear()
    env = gym.make("CartPole-v1")
    env.unwrapped.action_space = CountingDiscrete(2)
    env = RecordVideo(env, tmp_path, replay=True, keep=lambda episode: episode.index == 1,
                      sidecar=True)
    env.action_space.seed(2)
    play(env, [None] * 3)
    env.close()
    assert mp4s(tmp_path) == {"rl-video-episode-1.mp4"}
    assert decode_count(tmp_path / "rl-video-episode-1.mp4") == env.saved_videos[0].frames > 1
    assert pickled == []
    pickle.dumps(env.unwrapped.action_space)   # (the counter works)
    assert len(pickled) == 1


def _threads_and_policies(pid: int) -> dict[int, int]:
    return {int(tid): os.sched_getscheduler(int(tid)) for tid in os.listdir(f"/proc/{pid}/task")}


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="Linux scheduling classes")
def test_the_replay_process_runs_only_in_idle_cpu_time(tmp_path):
    """The replayer (and the threads it starts to render and encode) takes a core only when
    nothing else wants it; ``nice 10`` still took a share of the agent's core beside the
    many threads of software OpenGL (HalfCheetah's loop ran at 0.62-0.72x)."""
    env = RecordVideo(gym.make("CartPole-v1"), tmp_path, episode_trigger=lambda e: True,
                      replay=True)
    env._replay_engine.start()
    # From its start: its imports and GL set-up would otherwise compete with the loop.
    starting = _threads_and_policies(env._replay_engine._process.pid)
    env.action_space.seed(0)
    env.reset(seed=0)
    done = False
    while not done:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        done = terminated or truncated
    env._replay_engine.flush()  # the episode was rendered and encoded: every thread started
    process = env._replay_engine._process
    policies = _threads_and_policies(process.pid)
    env.close()
    assert decode(tmp_path / "rl-video-episode-0.mp4").count >= 9
    assert len(policies) > 1  # the encoder's threads too
    assert set(policies.values()) == {os.SCHED_IDLE}, policies
    assert set(starting.values()) == {os.SCHED_IDLE}, starting


def test_step_id_counts_as_gymnasiums_with_cut_short_and_autoreset_episodes(tmp_path):
    # replay=True counts steps from the log (the agent's loop counts nothing itself):
    # step_id must still read as Gymnasium's RecordVideo's after every call, through
    # episodes cut short by reset() and episodes an Autoreset wrapper restarts.
    def envs(autoreset):
        def make(render_mode=None):
            env = gym.make("CartPole-v1", render_mode=render_mode)
            return gym.wrappers.Autoreset(env) if autoreset else env
        peer = gym.wrappers.RecordVideo(make("rgb_array"), str(tmp_path / f"peer{autoreset}"),
                                        episode_trigger=lambda e: False)
        ours = RecordVideo(make(), str(tmp_path / f"ours{autoreset}"), replay=True,
                           episode_trigger=lambda e: False)
        return peer, ours

    for autoreset in (False, True):
        peer, ours = envs(autoreset)
        for env in (peer, ours):
            env.action_space.seed(5)
        seen = []
        for env in (peer, ours):
            ids = [env.step_id]
            env.reset(seed=1)
            for plan in (None, 7, None, 3, None):  # None: to the end (and beyond, autoreset)
                steps = 0
                while True:
                    _, _, terminated, truncated, _ = env.step(env.action_space.sample())
                    steps += 1
                    ids.append(env.step_id)
                    if plan is not None and steps == plan:
                        env.reset()
                        break
                    if terminated or truncated:
                        if autoreset:
                            env.step(env.action_space.sample())  # the autoreset step
                            ids.append(env.step_id)
                        else:
                            env.reset()
                        ids.append(env.step_id)
                        break
            env.close()
            seen.append(ids)
        assert seen[0] == seen[1] and seen[1][-1] > 40


@pytest.mark.parametrize("replay", [False, True])
def test_a_subclass_that_overrides_step_has_its_step_called(tmp_path, replay):
    from agentreel import RecordReplay

    calls = []

    class Counting(RecordVideo):
        def step(self, action):
            calls.append(action)
            return super().step(action)

    class CountingReplay(RecordReplay):
        def step(self, action):
            calls.append(action)
            return super().step(action)

    env = Counting(gym.make("CartPole-v1"), str(tmp_path / "v"), replay=True,
                   episode_trigger=lambda e: False) if replay else \
        CountingReplay(gym.make("CartPole-v1"), tmp_path / "r")
    env.reset(seed=0)
    for _ in range(5):
        env.step(0)
    env.close()
    assert calls == [0] * 5
    if not replay:
        from agentreel.replay import read_replay
        assert read_replay(tmp_path / "r").episodes == []  # (unfinished: not logged)
