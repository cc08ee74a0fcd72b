"""Planning a parallel evaluation: which worker runs which episodes, with which seeds.

Episode ``i`` of a run with base seed ``S`` always gets seed ``S + i`` (for
``reset()`` and the action space; :func:`agentreel.app.run.episode_seed`), so its
outcome depends only on ``i``: the same episodes give the same returns however
they are split across workers, machines or retries.

Example:
    >>> plan_shards(7, 3)
    [(0, 1, 2), (3, 4), (5, 6)]
    >>> plan_shards(2, 4)  # never an empty shard
    [(0,), (1,)]
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PARTS_DIR", "ShardTask", "plan_shards", "check_count"]

#: The hidden folder inside a run folder where workers write while the run is going.
#: ``read_episodes`` and the report do not look into sub-folders, so a run folder is
#: readable at any time; the driver merges and removes this folder at the end.
PARTS_DIR = ".agentreel-parts"


def check_count(name: str, value: object, minimum: int = 1) -> int:
    """``value`` if it is an ``int >= minimum`` (not a bool), else a ``ValueError`` naming ``name``.

    >>> check_count("--workers", 2)
    2
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def plan_shards(episodes: int, workers: int) -> list[tuple[int, ...]]:
    """Split episode indices ``0 .. episodes-1`` into at most ``workers`` contiguous shards.

    Shard sizes differ by at most one; the first shards get the extra episodes.
    """
    check_count("episodes", episodes)
    check_count("workers", workers)
    count = min(episodes, workers)
    size, extra = divmod(episodes, count)
    shards = []
    start = 0
    for k in range(count):
        stop = start + size + (1 if k < extra else 0)
        shards.append(tuple(range(start, stop)))
        start = stop
    return shards


@dataclass(frozen=True)
class ShardTask:
    """Everything a worker needs to run its episodes (picklable, sent to the worker).

    Attributes:
        env_id: the Gymnasium id.
        policy: a policy spec (see :mod:`agentreel.app.policies`).
        out: the run folder (absolute; on a shared filesystem for a cluster).
        shard: the shard's number ``k``.
        attempt: 0 for the first run of the shard, 1 for the rerun of what a dead
            worker left unfinished.
        indices: the global episode indices to run, in order.
        seed: the run's base seed (episode ``i`` gets ``seed + i``).
        every: record a video of episode ``i`` when ``i % every == 0``.
        video_format: ``mp4``, ``webm`` or ``gif``.
        token: a random string the driver wrote to ``PARTS_DIR/token``; a worker
            that cannot read it back is not looking at the driver's folder.
    """

    env_id: str
    policy: str
    out: str
    shard: int
    attempt: int
    indices: tuple[int, ...]
    seed: int
    every: int = 1
    video_format: str = "mp4"
    token: str = ""

    @property
    def name(self) -> str:
        """``shard-{k}-attempt-{a}``: the stem of this task's log file and staging folder."""
        return f"shard-{self.shard}-attempt-{self.attempt}"

    def records_video(self, index: int) -> bool:
        """True when episode ``index`` is to be recorded."""
        return index % self.every == 0
