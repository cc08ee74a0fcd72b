"""When to record: schedules are pure functions of an episode or step id.

``capped_cubic_video_schedule`` is Gymnasium's default episode trigger (the same
ids fire), so a wrapper built with no trigger behaves like Gymnasium's.

Schedules are small objects that combine with ``|`` (either fires) and ``&``
(both fire); a plain ``callable(id) -> bool`` works wherever a schedule does,
and combines with one too.

Example:
    >>> [i for i in range(30) if capped_cubic_video_schedule(i)]
    [0, 1, 8, 27]
    >>> capped_cubic_video_schedule(2000)
    True
    >>> schedule = first(2) | every(10)
    >>> [i for i in range(25) if schedule(i)]
    [0, 1, 10, 20]
    >>> [i for i in range(40) if (every(5) & (lambda i: i > 20))(i)]
    [25, 30, 35]
"""

from __future__ import annotations

from collections.abc import Callable

Trigger = Callable[[int], bool]


class Schedule:
    """A trigger that combines with ``|`` and ``&``; subclasses implement ``__call__``."""

    def __call__(self, ident: int) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def __or__(self, other: Trigger) -> Schedule:
        return AnyOf(self, check_schedule(other))

    def __ror__(self, other: Trigger) -> Schedule:
        return AnyOf(check_schedule(other), self)

    def __and__(self, other: Trigger) -> Schedule:
        return AllOf(self, check_schedule(other))

    def __rand__(self, other: Trigger) -> Schedule:
        return AllOf(check_schedule(other), self)


def check_schedule(trigger: object) -> Trigger:
    """A callable to combine with, or a ``TypeError`` that says what was given."""
    if not callable(trigger):
        raise TypeError(f"can only combine a schedule with a callable(id) -> bool, got {trigger!r}")
    return trigger  # type: ignore[return-value]


class AnyOf(Schedule):
    """Fires when any of its parts fires."""

    def __init__(self, *parts: Trigger) -> None:
        self.parts = parts

    def __call__(self, ident: int) -> bool:
        return any(part(ident) for part in self.parts)

    def __repr__(self) -> str:
        return " | ".join(map(repr, self.parts))


class AllOf(Schedule):
    """Fires when all of its parts fire."""

    def __init__(self, *parts: Trigger) -> None:
        self.parts = parts

    def __call__(self, ident: int) -> bool:
        return all(part(ident) for part in self.parts)

    def __repr__(self) -> str:
        return "(" + " & ".join(map(repr, self.parts)) + ")"


class every(Schedule):  # noqa: N801 - reads as a phrase: every(100)
    """Every ``n``-th id, starting at ``offset`` (0, n, 2n, ...)."""

    def __init__(self, n: int, offset: int = 0) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"every(n) needs a whole number n >= 1, got {n!r}")
        self.n, self.offset = n, offset

    def __call__(self, ident: int) -> bool:
        return ident >= self.offset and (ident - self.offset) % self.n == 0

    def __repr__(self) -> str:
        return f"every({self.n})" if not self.offset else f"every({self.n}, offset={self.offset})"


class first(Schedule):  # noqa: N801
    """The first ``n`` ids (0 .. n-1)."""

    def __init__(self, n: int) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"first(n) needs a whole number n >= 0, got {n!r}")
        self.n = n

    def __call__(self, ident: int) -> bool:
        return 0 <= ident < self.n

    def __repr__(self) -> str:
        return f"first({self.n})"


class at(Schedule):  # noqa: N801
    """Exactly the given ids."""

    def __init__(self, *ids: int) -> None:
        flat = ids[0] if len(ids) == 1 and not isinstance(ids[0], int) else ids
        self.ids = frozenset(int(i) for i in flat)

    def __call__(self, ident: int) -> bool:
        return ident in self.ids

    def __repr__(self) -> str:
        return f"at({sorted(self.ids)})"


class capped_cubic(Schedule):  # noqa: N801
    """Gymnasium's default: 0, 1, 8, 27, ..., 729, then every 1000th."""

    def __call__(self, ident: int) -> bool:
        return capped_cubic_video_schedule(ident)

    def __repr__(self) -> str:
        return "capped_cubic()"


class logarithmic(Schedule):  # noqa: N801
    """Ids 0, 1, then the powers of ``base`` rounded down: dense early, sparse later.

    >>> [i for i in range(100) if logarithmic(2)(i)]
    [0, 1, 2, 4, 8, 16, 32, 64]
    """

    def __init__(self, base: float = 10.0) -> None:
        if not isinstance(base, (int, float)) or base <= 1:
            raise ValueError(f"logarithmic(base) needs base > 1, got {base!r}")
        self.base = float(base)

    def __call__(self, ident: int) -> bool:
        if ident in (0, 1):
            return True
        if ident < 1:
            return False
        power = 1.0
        while power * self.base <= ident + 1e-9:
            power *= self.base
            if int(power) == ident:
                return True
        return False

    def __repr__(self) -> str:
        return f"logarithmic({self.base:g})"


def capped_cubic_video_schedule(episode_id: int) -> bool:
    """True at perfect cubes below 1000 (0, 1, 8, ..., 729), then every 1000th id."""
    if episode_id < 1000:
        root = round(episode_id ** (1.0 / 3.0))
        return root**3 == episode_id
    return episode_id % 1000 == 0


def check_trigger(name: str, trigger: object) -> Trigger | None:
    """Validate a trigger argument early: ``None`` or a callable taking an int.

    >>> check_trigger("episode_trigger", None) is None
    True
    >>> check_trigger("episode_trigger", 5)
    Traceback (most recent call last):
    ...
    TypeError: episode_trigger must be a callable taking an int id (e.g. lambda episode_id: episode_id % 10 == 0), got int
    """
    if trigger is None or callable(trigger):
        return trigger  # type: ignore[return-value]
    raise TypeError(
        f"{name} must be a callable taking an int id "
        f"(e.g. lambda episode_id: episode_id % 10 == 0), got {type(trigger).__name__}"
    )


def fires(name: str, trigger: Trigger | None, ident: int) -> bool:
    """Call a trigger, turning its failure into an error that names it."""
    if trigger is None:
        return False
    try:
        return bool(trigger(ident))
    except Exception as exc:  # the user's code: say which trigger failed and on which id
        raise RuntimeError(f"{name} raised {type(exc).__name__} for id {ident}: {exc}") from exc
