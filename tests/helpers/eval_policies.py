"""Policies for the parallel-evaluation tests (``--policy helpers.eval_policies:NAME``).

Both act like ``--policy random`` (they sample the env's action space, which the
runner seeds per episode), so their returns equal a random policy's. They kill
their own worker process with SIGKILL at the 5th step of the worker's
``KILL_EPISODE``-th episode (counted from 0 by the statistics wrapper's
``episode_count``), after waiting until the worker's finished videos are on disk
and committed, so what the worker had finished before dying is known exactly:

* :class:`KillOnce`: only the first worker to get there dies (the marker file
  named by ``$AGENTREEL_KILL_MARKER`` is created atomically; its creator dies);
  it dies in its 3rd episode, having committed 2;
* :class:`KillAlways`: every worker that gets there dies, reruns included; each
  dies in its 2nd episode, having committed 1.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from agentreel.video import default_engine


class KillOnce:
    """Random actions; SIGKILL in the worker's 3rd episode, for the first worker only."""

    once = True
    kill_episode = 2
    kill_step = 5

    def __init__(self, env: Any) -> None:
        self.env = env
        self.space = env.action_space
        self.episode = -1
        self.steps = 0

    def __call__(self, observation: Any) -> Any:
        if self.env.episode_count != self.episode:
            self.episode, self.steps = self.env.episode_count, 0
        self.steps += 1
        if (self.episode == self.kill_episode and self.steps == self.kill_step
                and self._may_die()):
            default_engine().flush()  # let finished episodes' videos (and records) land
            os.kill(os.getpid(), signal.SIGKILL)
        return self.space.sample()

    def _may_die(self) -> bool:
        if not self.once:
            return True
        try:
            fd = os.open(os.environ["AGENTREEL_KILL_MARKER"], os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return False
        os.close(fd)
        return True


class KillAlways(KillOnce):
    """Random actions; SIGKILL in the 2nd episode of every worker."""

    once = False
    kill_episode = 1
