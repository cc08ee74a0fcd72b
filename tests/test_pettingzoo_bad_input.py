"""Wrong envs are refused at construction, with a message naming the fix."""

from __future__ import annotations

import gymnasium as gym
import pytest

pytest.importorskip("pettingzoo")

from pettingzoo.butterfly import pistonball_v6  # noqa: E402
from pettingzoo.classic import connect_four_v3  # noqa: E402

import agentreel  # noqa: E402
import agentreel.vector  # noqa: E402
from agentreel import pettingzoo as arpz  # noqa: E402

VIDEO = (arpz.RecordVideo, arpz.RecordVideoParallel)
STATS = (arpz.RecordEpisodeStatistics, arpz.RecordEpisodeStatisticsParallel)


def build(wrapper, env, folder):
    return wrapper(env, str(folder)) if wrapper in VIDEO else wrapper(env)


@pytest.mark.parametrize("wrapper", VIDEO + STATS)
def test_gymnasium_env_to_a_pettingzoo_wrapper(wrapper, tmp_path):
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    with pytest.raises(TypeError, match=r"Gymnasium env.*use agentreel\.Record"):
        build(wrapper, env, tmp_path)
    venv = gym.make_vec("CartPole-v1", num_envs=2, render_mode="rgb_array")
    with pytest.raises(TypeError, match=r"use agentreel\.vector\.Record"):
        build(wrapper, venv, tmp_path)
    with pytest.raises(AssertionError):   # PettingZoo's own wrappers assert; code catching that works
        build(wrapper, env, tmp_path)


@pytest.mark.parametrize("wrapper", [agentreel.RecordVideo, agentreel.RecordEpisodeStatistics])
@pytest.mark.parametrize("make", [connect_four_v3.env, pistonball_v6.parallel_env])
def test_pettingzoo_env_to_a_gymnasium_wrapper(wrapper, make, tmp_path):
    env = make(render_mode="rgb_array")
    kind = "RecordVideo" if wrapper is agentreel.RecordVideo else "RecordEpisodeStatistics"
    fix = f"agentreel.pettingzoo.{kind}{'Parallel' if make is pistonball_v6.parallel_env else ''}("
    with pytest.raises(TypeError) as err:
        wrapper(env, str(tmp_path)) if wrapper is agentreel.RecordVideo else wrapper(env)
    assert fix in str(err.value)


@pytest.mark.parametrize("wrapper,make,fix", [
    (arpz.RecordVideoParallel, connect_four_v3.env, "agentreel.pettingzoo.RecordVideo("),
    (arpz.RecordEpisodeStatisticsParallel, connect_four_v3.env,
     "agentreel.pettingzoo.RecordEpisodeStatistics("),
    (arpz.RecordVideo, pistonball_v6.parallel_env, "agentreel.pettingzoo.RecordVideoParallel("),
    (arpz.RecordEpisodeStatistics, pistonball_v6.parallel_env,
     "agentreel.pettingzoo.RecordEpisodeStatisticsParallel("),
])
def test_aec_and_parallel_mixed_up(wrapper, make, fix, tmp_path):
    with pytest.raises(TypeError) as err:
        build(wrapper, make(render_mode="rgb_array"), tmp_path)
    assert fix in str(err.value) and "pettingzoo.utils.conversions." in str(err.value)


@pytest.mark.parametrize("render_mode", [None, "human"])
@pytest.mark.parametrize("wrapper,make", [(arpz.RecordVideo, connect_four_v3.env),
                                          (arpz.RecordVideoParallel, pistonball_v6.parallel_env)])
def test_render_mode_without_frames(wrapper, make, render_mode, tmp_path):
    env = make(render_mode=render_mode)
    with pytest.raises(ValueError, match="such as rgb_array"):
        wrapper(env, str(tmp_path))
    assert not list(tmp_path.iterdir())   # nothing was created


def test_missing_extra_names_it(monkeypatch):
    import sys

    for name in [m for m in sys.modules if m == "agentreel.pettingzoo" or m.startswith("agentreel.pettingzoo.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pettingzoo", None)
    with pytest.raises(ImportError, match=r'pip install "agentreel\[pettingzoo\]"'):
        import agentreel.pettingzoo  # noqa: F401
