"""Keep rules: which recorded episodes' videos to keep, decided when each episode ends.

With ``keep=`` a :class:`~agentreel.RecordVideo` records episodes speculatively and,
when an episode ends, asks its rule whether to keep the video. A rule sees the
finished episode as an :class:`~agentreel.core.records.EpisodeRecord` (``index``,
``episode_return``, ``length``, ``terminated``, ``truncated``, ``env_index`` and
``extras["is_success"]`` when the final ``info`` had it) and answers with a
:class:`Verdict`: keep or not, why (written to the video's sidecar as ``"kept"``),
and which earlier videos it no longer wants (they are deleted).

Rules:

* :class:`best` ``(k)`` / :class:`worst` ``(k)``: the ``k`` highest / lowest returns so far
  (ties go to the earlier episode); at most ``k`` such videos exist at any time;
* :class:`failures` ``()``: episodes that ended ``terminated`` (and not ``is_success``);
* :class:`successes` ``()``: ``info["is_success"]`` truthy when the env reports it,
  otherwise episodes that were truncated without terminating (survived the time limit);
* :class:`new_best` ``()``: each episode whose return beats every earlier one;
* any callable ``rule(episode) -> bool``.

Rules are pure logic (no files, no gymnasium); the recorder does the file work.

Example:
    >>> from agentreel.core.records import EpisodeRecord
    >>> rule = best(2)
    >>> for i, r in enumerate([5.0, 9.0, 7.0, 1.0]):
    ...     v = rule.offer(EpisodeRecord(index=i, episode_return=r, length=3), key=i)
    ...     print(i, v.keep, v.reason, v.evict)
    0 True best(2): return 5.0 ranks 1 ()
    1 True best(2): return 9.0 ranks 1 ()
    2 True best(2): return 7.0 ranks 2 (0,)
    3 False  ()
    >>> failures().offer(EpisodeRecord(index=0, episode_return=0.0, length=9, terminated=True)).keep
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from agentreel.core.records import EpisodeRecord

__all__ = [
    "KeepRule",
    "Verdict",
    "as_keep_rule",
    "best",
    "failures",
    "is_success",
    "new_best",
    "successes",
    "worst",
]

Score = Callable[[EpisodeRecord], float]


@dataclass(frozen=True)
class Verdict:
    """A rule's answer for one finished episode.

    Attributes:
        keep: keep this episode's video.
        reason: why, in a few words (the sidecar's ``"kept"`` field).
        evict: keys of videos kept earlier that must go now.
    """

    keep: bool
    reason: str = ""
    evict: tuple[Hashable, ...] = ()


#: The answer "do not keep" (shared: a verdict is immutable, and most episodes get it).
_DROP = Verdict(False)


class KeepRule:
    """Base class: decide, for each finished episode, whether its video stays.

    Subclasses implement :meth:`offer`. A rule may be stateful (``best(k)``
    remembers what it kept); share one instance to rank episodes of several
    recorders together (the vector wrapper's ``per_env=True`` does).
    """

    def offer(self, episode: EpisodeRecord, key: Hashable = None) -> Verdict:
        """Judge ``episode``; ``key`` names its video in later :attr:`Verdict.evict` lists."""
        raise NotImplementedError

    def drops(self, episode_return: float, length: int) -> bool:
        """True when :meth:`offer` would certainly drop an episode with this return and
        length and change nothing by it (so a caller may skip building its record and
        offering it); ``False`` when that cannot be told without the record."""
        return False

    def forget(self, key: Hashable) -> None:  # noqa: B027 - optional for stateless rules
        """The video of ``key`` is gone (failed to be written): free its place."""

    def rename(self, key: Hashable, new_key: Hashable) -> None:  # noqa: B027 - stateless rules
        """The video of ``key`` is now named ``new_key`` (later evictions name that)."""

    def __call__(self, episode: EpisodeRecord) -> bool:
        """``rule(episode)`` is ``rule.offer(episode).keep`` (this updates a stateful rule)."""
        return self.offer(episode).keep


def _score_of(by: str | Score) -> tuple[str, Score]:
    if callable(by):
        return getattr(by, "__name__", "score"), by
    if by in ("return", "episode_return"):
        return "return", lambda ep: float(ep.episode_return)
    if by == "length":
        return "length", lambda ep: float(ep.length)
    raise ValueError(f"by= must be 'return', 'length' or a callable(episode) -> float, got {by!r}")


def _fmt(value: float) -> str:
    return str(round(float(value), 6))


class _Ranked(KeepRule):
    """The ``k`` episodes with the highest (``sign=1``) or lowest (``sign=-1``) score."""

    name = ""
    sign = 1.0

    def __init__(self, k: int, *, by: str | Score = "return") -> None:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"{self.name}(k) needs a whole number k >= 1, got {k!r}")
        self.k = k
        self.by = by
        self._label, self._score = _score_of(by)
        self._seq = 0
        # (sort key, arrival, key, score), best first; sort key = -sign * score
        self._kept: list[tuple[float, int, Hashable, float]] = []

    @property
    def kept(self) -> list[Hashable]:
        """The keys currently kept, best first."""
        return [entry[2] for entry in self._kept]

    def drops(self, episode_return: float, length: int) -> bool:
        """Whether an episode scoring worse than (or as well as) the ``k``-th kept is
        dropped: ties go to the earlier episode, so the rank is known from the score alone.

        >>> r = best(1); _ = r.offer(EpisodeRecord(index=0, episode_return=3.0, length=1))
        >>> r.drops(3.0, 1), r.drops(3.5, 1), best(1, by=lambda e: 0.0).drops(0.0, 1)
        (True, False, False)
        """
        if self.by in ("return", "episode_return"):
            score = float(episode_return)
        elif self.by == "length":
            score = float(length)
        else:  # a callable of the record
            return False
        if score != score:  # nan: never kept
            return True
        kept = self._kept
        return len(kept) >= self.k and -self.sign * score >= kept[-1][0]

    def offer(self, episode: EpisodeRecord, key: Hashable = None) -> Verdict:
        score = float(self._score(episode))
        if math.isnan(score):
            return _DROP
        entry = (-self.sign * score, self._seq, key, score)
        self._seq += 1
        if len(self._kept) >= self.k and entry >= self._kept[-1]:
            return _DROP  # not better than the k-th kept (ties go to the earlier one)
        self._kept.append(entry)
        self._kept.sort()
        evicted = tuple(e[2] for e in self._kept[self.k:])
        del self._kept[self.k:]
        rank = self._kept.index(entry) + 1
        reason = f"{self!r}: {self._label} {_fmt(score)} ranks {rank}"
        return Verdict(True, reason, evicted)

    def forget(self, key: Hashable) -> None:
        self._kept = [e for e in self._kept if e[2] != key]

    def rename(self, key: Hashable, new_key: Hashable) -> None:
        self._kept = [(a, b, new_key if k == key else k, d) for a, b, k, d in self._kept]

    def __repr__(self) -> str:
        by = "" if self.by in ("return", "episode_return") else f", by={self._label!r}"
        return f"{self.name}({self.k}{by})"


class best(_Ranked):  # noqa: N801 - reads as a phrase: keep=best(3)
    """Keep the videos of the ``k`` highest-return episodes seen so far.

    When a better episode arrives, the video it displaces is deleted, so at most
    ``k`` exist at any time. ``by="length"`` or ``by=callable(episode)`` ranks by
    something else.

    >>> r = best(1)
    >>> r(EpisodeRecord(index=0, episode_return=3.0, length=1)), r(EpisodeRecord(index=1, episode_return=2.0, length=1))
    (True, False)
    """

    name = "best"
    sign = 1.0


class worst(_Ranked):  # noqa: N801
    """Keep the videos of the ``k`` lowest-return episodes seen so far (see :class:`best`)."""

    name = "worst"
    sign = -1.0


def is_success(episode: EpisodeRecord) -> bool | None:
    """The env's own verdict, ``extras["is_success"]``, as a bool; ``None`` when not reported.

    >>> is_success(EpisodeRecord(index=0, episode_return=0, length=1, extras={"is_success": 1.0}))
    True
    """
    value = episode.extras.get("is_success")
    if value is None:
        return None
    try:
        return bool(value)
    except Exception:  # an array or other odd value: not a verdict
        return None


class failures(KeepRule):  # noqa: N801
    """Keep episodes that ended in a terminal state (``terminated``), unless the env says success.

    For envs that report ``info["is_success"]``, a terminated episode with a truthy
    ``is_success`` is not a failure (e.g. reaching a goal ends the episode).
    """

    def offer(self, episode: EpisodeRecord, key: Hashable = None) -> Verdict:
        if episode.terminated and not is_success(episode):
            return Verdict(True, "failures(): terminated")
        return _DROP

    def __repr__(self) -> str:
        return "failures()"


class successes(KeepRule):  # noqa: N801
    """Keep successful episodes.

    Success is ``info["is_success"]`` of the final step when the env reports it
    (Gymnasium-Robotics, many SB3 envs); otherwise an episode that was truncated
    without terminating, i.e. survived until the time limit (CartPole's meaning).
    """

    def offer(self, episode: EpisodeRecord, key: Hashable = None) -> Verdict:
        reported = is_success(episode)
        if reported is not None:
            return Verdict(True, "successes(): is_success") if reported else Verdict(False)
        if episode.truncated and not episode.terminated:
            return Verdict(True, "successes(): truncated, not terminated")
        return _DROP

    def __repr__(self) -> str:
        return "successes()"


class new_best(KeepRule):  # noqa: N801
    """Keep each episode whose return beats every earlier one (a record of progress).

    The first episode is kept; earlier records are never deleted.

    >>> r = new_best()
    >>> [r(EpisodeRecord(index=i, episode_return=x, length=1)) for i, x in enumerate([1, 3, 2, 4])]
    [True, True, False, True]
    """

    def __init__(self, *, by: str | Score = "return") -> None:
        self.by = by
        self._label, self._score = _score_of(by)
        self.best_score: float | None = None

    def offer(self, episode: EpisodeRecord, key: Hashable = None) -> Verdict:
        score = float(self._score(episode))
        if math.isnan(score):
            return _DROP
        previous = self.best_score
        if previous is None:
            self.best_score = score
            return Verdict(True, f"new_best(): first episode, {self._label} {_fmt(score)}")
        if score > previous:
            self.best_score = score
            return Verdict(True, f"new_best(): {self._label} {_fmt(score)} beats {_fmt(previous)}")
        return _DROP

    def __repr__(self) -> str:
        return "new_best()"


class _CallableRule(KeepRule):
    """Wraps a plain ``rule(episode) -> bool``."""

    def __init__(self, fn: Callable[[EpisodeRecord], Any]) -> None:
        self.fn = fn
        self.name = getattr(fn, "__name__", type(fn).__name__)

    def offer(self, episode: EpisodeRecord, key: Hashable = None) -> Verdict:
        if self.fn(episode):
            return Verdict(True, f"{self.name}(episode) is true")
        return _DROP

    def __repr__(self) -> str:
        return f"keep={self.name}"


def as_keep_rule(rule: object) -> KeepRule | None:
    """``None``, a :class:`KeepRule`, or a plain callable turned into one; else ``TypeError``.

    >>> as_keep_rule(lambda ep: ep.length > 10)
    keep=<lambda>
    """
    if rule is None or isinstance(rule, KeepRule):
        return rule
    if callable(rule):
        return _CallableRule(rule)
    raise TypeError(
        "keep= must be a rule such as agentreel.clips.keep.best(3) or a callable(episode) -> bool, "
        f"got {type(rule).__name__}"
    )
