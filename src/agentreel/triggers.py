"""When to record: schedules are pure functions of an episode or step id.

``capped_cubic_video_schedule`` is Gymnasium's default episode trigger (the same
ids fire), so a wrapper built with no trigger behaves like Gymnasium's.

Example:
    >>> [i for i in range(30) if capped_cubic_video_schedule(i)]
    [0, 1, 8, 27]
    >>> capped_cubic_video_schedule(2000)
    True
"""

from __future__ import annotations

from collections.abc import Callable

Trigger = Callable[[int], bool]


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
