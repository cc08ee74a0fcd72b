"""Background work that yields to the agent: Linux's idle scheduling class.

A process that renders replays beside the agent's loop should take a core only when
nothing else wants it. This module imports nothing from agentreel.

Example:
    >>> import subprocess, sys
    >>> child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(2)"])
    >>> run_in_idle_time(child.pid) in ("idle", "")
    True
    >>> child.kill(); child.wait() != 0
    True
"""

from __future__ import annotations

import contextlib
import os

__all__ = ["run_in_idle_time"]


def run_in_idle_time(pid: int | None = None) -> str:
    """Let this process (or process ``pid``) use only CPU time nothing else wants; returns
    how (``"idle"``, ``"nice"``, or ``""`` when ``pid``'s could not be lowered).

    Linux's ``SCHED_IDLE`` class for every thread of the process (threads started later,
    such as software OpenGL's or x264's, inherit it): a replay process then takes a core
    only when it would otherwise sit idle, where ``nice 10`` still took a share of the
    agent's core beside its many rendering threads. Elsewhere: ``nice 10``.
    """
    policy = getattr(os, "SCHED_IDLE", None)
    if policy is not None:
        try:
            threads = [int(tid) for tid in os.listdir(f"/proc/{pid or 'self'}/task")]
        except OSError:
            threads = [pid or 0]  # (0: the calling thread)
        try:
            for tid in threads:
                with contextlib.suppress(ProcessLookupError):  # (a thread that just ended)
                    os.sched_setscheduler(tid, policy, os.sched_param(0))
            return "idle"
        except OSError:
            pass
    if pid is not None:
        return ""  # (another process's nice value cannot be set portably)
    with contextlib.suppress(OSError):
        os.nice(10)
    return "nice"
