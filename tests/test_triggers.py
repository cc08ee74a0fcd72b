"""Schedules: Gymnasium's default and the composable trigger objects."""

from __future__ import annotations

import pytest
from gymnasium.utils.save_video import capped_cubic_video_schedule as gymnasium_schedule

from agentreel.base.triggers import (
    at,
    capped_cubic,
    capped_cubic_video_schedule,
    every,
    first,
    logarithmic,
)


def ids(trigger, n=3000):
    return [i for i in range(n) if trigger(i)]


def test_capped_cubic_fires_on_the_same_ids_as_gymnasium():
    assert ids(capped_cubic_video_schedule, 5000) == ids(gymnasium_schedule, 5000)
    assert ids(capped_cubic(), 5000) == ids(gymnasium_schedule, 5000)
    assert ids(capped_cubic_video_schedule, 1001)[:5] == [0, 1, 8, 27, 64]


def test_basic_schedules():
    assert ids(every(100), 350) == [0, 100, 200, 300]
    assert ids(every(10, offset=5), 40) == [5, 15, 25, 35]
    assert ids(first(3)) == [0, 1, 2]
    assert ids(at(4, 7)) == [4, 7]
    assert ids(at([4, 7])) == [4, 7]
    assert ids(logarithmic(10), 2000) == [0, 1, 10, 100, 1000]


def test_algebra_with_schedules_and_plain_callables():
    assert ids(first(2) | every(1000), 2500) == [0, 1, 1000, 2000]
    assert ids(every(2) & every(3), 13) == [0, 6, 12]
    assert ids(every(5) & (lambda i: i > 20), 40) == [25, 30, 35]
    assert ids((lambda i: i == 7) | first(1), 10) == [0, 7]
    assert ids((first(5) | at(9)) & every(2), 12) == [0, 2, 4]


@pytest.mark.parametrize("bad", [lambda: every(0), lambda: every(1.5), lambda: first(-1),
                                 lambda: logarithmic(1), lambda: every(2) | 3])
def test_bad_schedules_are_refused(bad):
    with pytest.raises((ValueError, TypeError)):
        bad()
