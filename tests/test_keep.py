"""Outcome-aware keep rules: the pure rules, and RecordVideo(keep=...) on disk (single and vector)."""

from __future__ import annotations

import json
import os
import threading
import time
import warnings

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentreel import RecordEpisodeStatistics, RecordVideo, read_episodes
from agentreel.clips.keep import KeepRule, as_keep_rule, best, failures, new_best, successes, worst
from agentreel.clips.keeper import PENDING_FOLDER
from agentreel.core.records import EpisodeRecord
from agentreel.vector import RecordVideo as VectorRecordVideo
from videotools import decode, mp4s


def ep(index: int, ret: float = 0.0, *, terminated: bool = False, truncated: bool = False,
       **extras) -> EpisodeRecord:
    return EpisodeRecord(index=index, episode_return=ret, length=3, terminated=terminated,
                         truncated=truncated, extras=extras)


class ScoreEnv(gym.Env):
    """Small random episodes: reward = action + noise, random length, ends terminated or truncated.

    Frames are 32x32 and encode the step so videos can be checked; ``info["is_success"]``
    is reported on the last step when ``report_success`` is set.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(self, render_mode="rgb_array", seed: int = 0, report_success: bool = False,
                 returns: list[float] | None = None):
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Discrete(100)
        self.action_space = gym.spaces.Discrete(3)
        self.rng = np.random.default_rng(seed)
        self.report_success = report_success
        self.returns = list(returns) if returns is not None else None
        self.t = 0
        self.length = 1
        self.episodes = -1

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.episodes += 1
        self.t = 0
        self.length = int(self.rng.integers(2, 9))
        self.end_terminated = bool(self.rng.integers(0, 2))
        return 0, {}

    def step(self, action):
        self.t += 1
        if self.returns is not None:  # a fixed return per episode, paid on the first step
            reward = self.returns[self.episodes % len(self.returns)] if self.t == 1 else 0.0
        else:
            reward = float(action) + float(self.rng.normal(0, 0.5))
        done = self.t >= self.length
        info = {}
        if done and self.report_success:
            info["is_success"] = self.episodes % 3 == 0
        return self.t, reward, done and self.end_terminated, done and not self.end_terminated, info

    def render(self):
        frame = np.zeros((32, 32, 3), np.uint8)
        frame[..., 0] = (self.t * 25) % 256
        frame[..., 1] = (self.episodes * 40) % 256
        return frame


def run(env, episodes: int, seed: int = 0) -> None:
    env.action_space.seed(seed)
    for _ in range(episodes):
        env.reset()
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            done = terminated or truncated



def visible(folder):
    """The folder's entries, without the hidden name-claims folder (kept until exit)."""
    return sorted(f for f in os.listdir(folder) if f != ".agentreel-claims")

class FolderWatch:
    """Polls a folder in a background thread; remembers the most videos/sidecars seen at once."""

    def __init__(self, folder):
        self.folder = folder
        self.max_videos = 0
        self.max_sidecars = 0
        self.polls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            names = os.listdir(self.folder)
            self.max_videos = max(self.max_videos, sum(n.endswith(".mp4") for n in names))
            self.max_sidecars = max(self.max_sidecars, sum(n.endswith(".json") for n in names))
            self.polls += 1
            time.sleep(0.0005)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


# -- the rules, pure ------------------------------------------------------------------------------


def test_best_keeps_top_k_evicts_displaced_and_ranks():
    rule = best(3)
    verdicts = [rule.offer(ep(i, r), key=i) for i, r in enumerate([5, 1, 9, 7, 7, 2, 10])]
    assert [v.keep for v in verdicts] == [True, True, True, True, True, False, True]
    assert [v.evict for v in verdicts] == [(), (), (), (1,), (0,), (), (4,)]
    assert verdicts[3].reason == "best(3): return 7.0 ranks 2"
    assert verdicts[4].reason == "best(3): return 7.0 ranks 3"  # a tie ranks after the earlier 7
    assert verdicts[6].reason == "best(3): return 10.0 ranks 1"
    assert rule.kept == [6, 2, 3]


def test_worst_keeps_lowest_returns():
    rule = worst(2)
    keep = [rule.offer(ep(i, r), key=i).keep for i, r in enumerate([5, 1, 9, 0, 3])]
    assert keep == [True, True, False, True, False]
    assert rule.kept == [3, 1]
    assert worst(2).offer(ep(0, 0.0)).reason == "worst(2): return 0.0 ranks 1"


def test_best_by_length_and_validation():
    rule = best(1, by="length")
    assert rule.offer(EpisodeRecord(index=0, episode_return=0, length=4), key=0).keep
    v = rule.offer(EpisodeRecord(index=1, episode_return=0, length=9), key=1)
    assert v.keep and v.evict == (0,) and v.reason == "best(1, by='length'): length 9.0 ranks 1"
    with pytest.raises(ValueError, match="k >= 1"):
        best(0)
    with pytest.raises(ValueError, match="by="):
        best(2, by="speed")
    assert not best(2).offer(ep(0, float("nan"))).keep


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-5, 5), max_size=40), st.integers(1, 5))
def test_best_always_holds_the_top_k_with_earlier_winning_ties(returns, k):
    rule = best(k)
    held: set[int] = set()
    for i, r in enumerate(returns):
        v = rule.offer(ep(i, r), key=i)
        held -= set(v.evict)
        if v.keep:
            held.add(i)
        assert len(held) <= k
    expected = sorted(range(len(returns)), key=lambda i: (-returns[i], i))[:k]
    assert held == set(expected) == set(rule.kept)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(st.integers(-4, 4).map(float), st.just(float("nan"))), max_size=40),
       st.integers(1, 4), st.sampled_from(["best", "worst", "best-length"]))
def test_drops_says_drop_exactly_when_offer_would_and_skipping_changes_nothing(returns, k, kind):
    # RecordVideo(replay=True) skips the record and the offer of an episode the rule
    # drops(): a rule asked that way must keep and evict exactly what a rule offered
    # every episode keeps and evicts.
    def make():
        return {"best": best(k), "worst": worst(k), "best-length": best(k, by="length")}[kind]
    offered, skipping = make(), make()
    for i, value in enumerate(returns):
        record = EpisodeRecord(index=i, episode_return=value,
                               length=int(value) + 5 if value == value else 5)
        verdict = offered.offer(record, key=i)
        if skipping.drops(record.episode_return, record.length):
            assert not verdict.keep and not verdict.evict
            continue
        assert skipping.offer(record, key=i) == verdict
    assert skipping.kept == offered.kept
    # (a rule ranking by a callable cannot tell without the record)
    assert not best(1, by=lambda e: 0.0).drops(0.0, 1)


def test_failures_successes_new_best_and_callables():
    assert failures().offer(ep(0, terminated=True)).reason == "failures(): terminated"
    assert not failures()(ep(0, truncated=True))
    assert not failures()(ep(0, terminated=True, is_success=True))  # reaching a goal is no failure
    assert successes()(ep(0, is_success=1.0))
    assert not successes()(ep(0, truncated=True, is_success=False))  # the env's word wins
    assert successes().offer(ep(0, truncated=True)).reason == "successes(): truncated, not terminated"
    assert not successes()(ep(0, terminated=True, truncated=True))
    rule = new_best()
    reasons = [rule.offer(ep(i, r)).reason for i, r in enumerate([2, 1, 5, 5])]
    assert reasons == ["new_best(): first episode, return 2.0", "", "new_best(): return 5.0 beats 2.0", ""]

    def long_ones(e):
        return e.length > 2

    custom = as_keep_rule(long_ones)
    assert isinstance(custom, KeepRule) and custom.offer(ep(0)).reason == "long_ones(episode) is true"
    assert as_keep_rule(None) is None
    with pytest.raises(TypeError, match="keep="):
        as_keep_rule(3)


# -- RecordVideo(keep=...) on disk ------------------------------------------------------------------


def test_best3_over_50_episodes_keeps_exactly_the_top3_and_never_more_than_3_on_disk(tmp_path):
    folder = tmp_path / "videos"
    env = ScoreEnv(seed=7)
    env = RecordVideo(env, str(folder), keep=best(3), sidecar=True)
    counts_at_save: list[int] = []
    env.add_hooks(on_video_saved=lambda v: counts_at_save.append(len(mp4s(folder))))
    env = RecordEpisodeStatistics(env, log=str(tmp_path / "episodes.jsonl"))
    with FolderWatch(folder) as watch:
        run(env, 50)
        env.close()
    assert watch.polls > 10
    assert watch.max_videos <= 3 and watch.max_sidecars <= 3
    assert counts_at_save and max(counts_at_save) <= 3

    log = read_episodes(tmp_path / "episodes.jsonl")
    assert len(log) == 50
    top3 = sorted(log, key=lambda r: (-r.episode_return, r.index))[:3]
    assert mp4s(folder) == {f"rl-video-episode-{r.index}.mp4" for r in top3}
    assert not os.path.exists(folder / PENDING_FOLDER)  # nothing speculative left behind
    for record in top3:
        name = f"rl-video-episode-{record.index}"
        assert decode(folder / f"{name}.mp4").count == record.length + 1  # reset frame + steps
        side = json.loads((folder / f"{name}.json").read_text())
        assert side["tags"]["kept"].startswith("best(3): return ")
        assert side["tags"]["episode_return"] == pytest.approx(record.episode_return)
    # the best episode's reason names its return as it was when kept
    best_side = json.loads((folder / f"rl-video-episode-{top3[0].index}.json").read_text())
    assert f"return {round(top3[0].episode_return, 6)}" in best_side["tags"]["kept"]
    saved = env.env.saved_videos  # RecordVideo under RecordEpisodeStatistics
    assert {v.name for v in saved} == {f"rl-video-episode-{r.index}" for r in top3}
    assert all(v.kept and os.path.exists(v.path) for v in saved)


def test_best1_with_rising_returns_evicts_videos_still_being_encoded(tmp_path):
    # Every episode beats the last: each new video displaces one that may still be encoding.
    returns = [float(i) for i in range(12)]
    env = RecordVideo(ScoreEnv(returns=returns), str(tmp_path), keep=best(1), sidecar=True)
    with FolderWatch(tmp_path) as watch:
        run(env, 12)
        env.close()
    assert watch.max_videos <= 1 and watch.max_sidecars <= 1
    assert mp4s(tmp_path) == {"rl-video-episode-11.mp4"}
    assert visible(tmp_path) == ["rl-video-episode-11.json", "rl-video-episode-11.mp4"]
    assert [v.name for v in env.saved_videos] == ["rl-video-episode-11"]


def test_failures_keeps_only_terminated_episodes(tmp_path):
    folder = tmp_path / "v"
    env = RecordEpisodeStatistics(RecordVideo(ScoreEnv(seed=3), str(folder), keep=failures()),
                                  log=str(tmp_path / "log.jsonl"))
    run(env, 20)
    env.close()
    log = read_episodes(tmp_path / "log.jsonl")
    terminated = {r.index for r in log if r.terminated}
    assert 0 < len(terminated) < 20
    assert mp4s(folder) == {f"rl-video-episode-{i}.mp4" for i in terminated}


def test_successes_uses_is_success_and_on_episode_end_sees_every_episode(tmp_path):
    records: list[EpisodeRecord] = []
    env = RecordVideo(ScoreEnv(seed=1, report_success=True), str(tmp_path), keep=successes(),
                      on_episode_end=records.append)
    run(env, 7)
    env.close()
    assert [r.index for r in records] == list(range(7))
    assert [r.extras["is_success"] for r in records] == [i % 3 == 0 for i in range(7)]
    assert mp4s(tmp_path) == {"rl-video-episode-0.mp4", "rl-video-episode-3.mp4",
                              "rl-video-episode-6.mp4"}
    assert [os.path.basename(r.video) if r.video else None for r in records] == [
        "rl-video-episode-0.mp4", None, None, "rl-video-episode-3.mp4", None, None,
        "rl-video-episode-6.mp4"]


def test_callable_rule_and_trigger_narrow_the_candidates(tmp_path):
    env = RecordVideo(ScoreEnv(returns=[1.0, 8.0, 3.0, 9.0]), str(tmp_path),
                      episode_trigger=lambda i: i % 2 == 1, keep=lambda e: e.episode_return > 8.5)
    run(env, 8)
    env.close()
    assert mp4s(tmp_path) == {"rl-video-episode-3.mp4", "rl-video-episode-7.mp4"}


def test_an_episode_cut_short_is_discarded_and_step_clips_are_not_judged(tmp_path):
    env = RecordVideo(ScoreEnv(returns=[5.0]), str(tmp_path), keep=best(5),
                      step_trigger=lambda s: s == 3, episode_trigger=lambda i: i == 0)
    env.action_space.seed(0)
    env.reset()
    env.step(0)  # episode 0 is recording...
    env.reset()  # ...and is cut short: no outcome, no video
    env.step(0)
    env.step(0)  # step 2
    env.step(0)  # step 3: a step clip starts; it is not judged
    env.close()
    assert mp4s(tmp_path) == {"rl-video-step-3.mp4"}
    assert not os.path.exists(tmp_path / PENDING_FOLDER)


def test_vector_per_env_best_ranks_all_sub_envs_together(tmp_path):
    envs = gym.vector.SyncVectorEnv([lambda s=s: ScoreEnv(seed=s) for s in range(3)])
    records: list[EpisodeRecord] = []
    envs = VectorRecordVideo(envs, str(tmp_path), per_env=True, keep=best(2), sidecar=True,
                             on_episode_end=records.append)
    envs.action_space.seed(0)
    envs.reset(seed=0)
    with FolderWatch(tmp_path) as watch:
        for _ in range(60):
            envs.step(envs.action_space.sample())
        envs.close()
    assert watch.max_videos <= 2
    finished = list(records)
    assert len(finished) > 10 and {r.env_index for r in finished} == {0, 1, 2}
    top2 = sorted(finished, key=lambda r: -r.episode_return)[:2]
    assert mp4s(tmp_path) == {f"rl-video-env-{r.env_index}-episode-{r.index}.mp4" for r in top2}
    for r in top2:
        name = f"rl-video-env-{r.env_index}-episode-{r.index}"
        assert decode(tmp_path / f"{name}.mp4").count == r.length + 1
        assert json.loads((tmp_path / f"{name}.json").read_text())["tags"]["kept"].startswith("best(2)")


@pytest.mark.parametrize("mode", [gym.vector.AutoresetMode.NEXT_STEP, gym.vector.AutoresetMode.SAME_STEP])
def test_vector_tiled_failures_judges_sub_env_0(tmp_path, mode):
    envs = gym.vector.SyncVectorEnv([lambda s=s: ScoreEnv(seed=s, report_success=True)
                                     for s in range(2)], autoreset_mode=mode)
    records: list[EpisodeRecord] = []
    envs = VectorRecordVideo(envs, str(tmp_path), keep=failures(), on_episode_end=records.append)
    envs.action_space.seed(0)
    envs.reset(seed=0)
    for _ in range(40):
        envs.step(envs.action_space.sample())
    envs.close()
    assert records and all(r.env_index is None for r in records)
    assert [r.extras.get("is_success") for r in records] == [i % 3 == 0 for i in range(len(records))]
    failed = {r.index for r in records if r.terminated and not r.extras["is_success"]}
    assert failed and mp4s(tmp_path) == {f"rl-video-episode-{i}.mp4" for i in failed}


def test_failing_callbacks_are_loud_and_the_loop_goes_on(tmp_path, caplog):
    def boom(_):
        raise RuntimeError("callback broke")

    env = RecordVideo(ScoreEnv(), str(tmp_path), episode_trigger=lambda i: True,
                      on_video_saved=boom, on_episode_end=boom)
    with pytest.warns(RuntimeWarning, match="callback broke") as caught, caplog.at_level("ERROR"):
        run(env, 3)
        env.close()
    messages = [str(w.message) for w in caught]
    assert any("on_episode_end" in m for m in messages)
    assert any("on_video_saved" in m for m in messages)
    assert any(r.exc_info for r in caplog.records if "callback broke" in r.getMessage())
    assert len(mp4s(tmp_path)) == 3


def test_no_keep_means_no_hidden_folder_and_hooks_can_be_added(tmp_path):
    seen = []
    env = RecordVideo(ScoreEnv(), str(tmp_path), episode_trigger=lambda i: i < 2)
    env.add_hooks(on_video_saved=seen.append, on_episode_end=seen.append)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run(env, 3)
        env.close()
    assert visible(tmp_path) == ["rl-video-episode-0.mp4", "rl-video-episode-1.mp4"]
    assert sum(isinstance(s, EpisodeRecord) for s in seen) == 3
    assert sum(not isinstance(s, EpisodeRecord) for s in seen) == 2
    assert env.keep is None
    with pytest.raises(TypeError, match="on_video_saved must be callable"):
        env.add_hooks(on_video_saved=5)


def test_docstring_examples():
    import doctest

    import agentreel.clips.keep
    import agentreel.clips.recorder

    for module in (agentreel.clips.keep, agentreel.clips.recorder):
        assert doctest.testmod(module).failed == 0
