"""Child process for the SIGKILL test: log episodes, announce, then wait to be killed.

Usage: python kill_target.py LOG_DIR N_EPISODES READY_FILE [--forever]

Runs N episodes of a 3-step env through agentreel.RecordEpisodeStatistics with
log=LOG_DIR, starts one more episode (steps into it but does not finish it),
writes READY_FILE, and then sleeps. With --forever it instead keeps finishing
episodes as fast as it can after writing READY_FILE, so the kill lands at an
arbitrary point of a write.
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from agentreel import RecordEpisodeStatistics  # noqa: E402
from helpers.fixed_length_env import FixedLengthEnv  # noqa: E402


def main() -> None:
    log_dir, episodes, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    forever = "--forever" in sys.argv[4:]
    env = RecordEpisodeStatistics(FixedLengthEnv(length=3), log=log_dir,
                                  info_keywords=("is_success",))
    for n in range(episodes):
        env.reset(seed=n)
        for _ in range(3):
            env.step(0)
    env.reset()
    env.step(0)  # an unfinished episode
    with open(ready + ".tmp", "w") as handle:
        handle.write(str(env.episode_count))
    os.replace(ready + ".tmp", ready)
    if forever:
        while True:
            env.reset()
            for _ in range(3):
                env.step(0)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
