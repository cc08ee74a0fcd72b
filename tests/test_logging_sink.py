"""LoggingSink: the tutorial's per-episode line through the standard logging module."""

from __future__ import annotations

import doctest
import importlib
import logging
import re

import gymnasium as gym
import pytest

from agentreel import LoggingSink, RecordEpisodeStatistics
from agentreel.core.records import EpisodeRecord
from agentreel.vector import RecordEpisodeStatistics as VectorRecordEpisodeStatistics

LINE = re.compile(r"^Episode (\d+): reward=(-?\d+\.\d), length=(\d+), time=(\d+\.\d\d)s$")


def test_the_seed_training_loop_logs_every_episode_without_hand_written_logging(caplog):
    env = RecordEpisodeStatistics(gym.make("CartPole-v1"), log=LoggingSink())
    env.action_space.seed(0)
    returns = []
    with caplog.at_level(logging.INFO, logger="agentreel.episodes"):
        for episode_num in range(5):
            env.reset(seed=episode_num)
            done = False
            while not done:
                _, _, terminated, truncated, info = env.step(env.action_space.sample())
                done = terminated or truncated
            returns.append(info["episode"])
    env.close()
    lines = [r for r in caplog.records if r.name == "agentreel.episodes"]
    assert len(lines) == 5 and all(r.levelno == logging.INFO for r in lines)
    for i, (record, stats) in enumerate(zip(lines, returns, strict=True)):
        match = LINE.match(record.getMessage())
        assert match, record.getMessage()
        assert int(match[1]) == i
        assert float(match[2]) == pytest.approx(stats["r"], abs=0.05)
        assert int(match[3]) == stats["l"]
        assert float(match[4]) == pytest.approx(stats["t"], abs=0.005)


def test_logger_name_level_every_and_extras(caplog):
    sink = LoggingSink("my.run", level=logging.WARNING, every=2, extra_keys=["is_success"])
    with caplog.at_level(logging.DEBUG):
        for i in range(5):
            sink.write(EpisodeRecord(index=i, episode_return=float(i), length=i + 1, duration=0.5,
                                     extras={"is_success": i > 2}))
        sink.close()
    messages = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    assert messages == [
        ("my.run", logging.WARNING, "Episode 0: reward=0.0, length=1, time=0.50s, is_success=False"),
        ("my.run", logging.WARNING, "Episode 2: reward=2.0, length=3, time=0.50s, is_success=False"),
        ("my.run", logging.WARNING, "Episode 4: reward=4.0, length=5, time=0.50s, is_success=True"),
    ]


def test_disabled_level_logs_nothing_and_custom_format(caplog):
    with caplog.at_level(logging.WARNING):
        LoggingSink().write(EpisodeRecord(index=0, episode_return=1.0, length=1))
    assert not caplog.records
    logger = logging.getLogger("custom")
    with caplog.at_level(logging.INFO, logger="custom"):
        LoggingSink(logger, format=lambda r: f"ep{r.index}").write(
            EpisodeRecord(index=7, episode_return=1.0, length=1))
    assert [r.getMessage() for r in caplog.records] == ["ep7"]
    with pytest.raises(ValueError):
        LoggingSink(every=0)


def test_vector_statistics_name_the_sub_env(caplog):
    envs = VectorRecordEpisodeStatistics(gym.make_vec("CartPole-v1", num_envs=2),
                                         log=LoggingSink("vec"))
    envs.reset(seed=0)
    with caplog.at_level(logging.INFO, logger="vec"):
        while len(caplog.records) < 3:
            envs.step(envs.action_space.sample())
    envs.close()
    assert all(re.match(r"^Episode \d+ \[env [01]\]: reward=", r.getMessage()) for r in caplog.records)


def test_docstring_examples():
    module = importlib.import_module("agentreel.log.logging_sink")
    assert doctest.testmod(module).failed == 0
