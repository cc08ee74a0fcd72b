"""Burn the step count and running return into recorded frames.

``RecordVideo(env, folder, overlay=True)`` labels every recorded frame with the
episode's step and its return so far (``STEP 12 R 23.0``). Only the video gets the
label: what ``env.render()`` returns to you is untouched. ``overlay=`` also takes an
:class:`Overlay` (to change corner, size, colours or text) or any
``callable(frame, state) -> frame``; ``state`` is an :class:`OverlayState`.

Example:
    >>> import numpy as np
    >>> frame = np.zeros((60, 160, 3), np.uint8)
    >>> out = Overlay()(frame, OverlayState(step=12, episode_return=23.0))
    >>> bool(out.any()), bool(frame.any())  # a labelled copy; the input is unchanged
    (True, False)
    >>> Overlay().text(OverlayState(step=12, episode_return=23.0))
    'STEP 12 R 23.0'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from agentreel.base.text import label

__all__ = ["Overlay", "OverlayFn", "OverlayState", "as_overlay"]


@dataclass(frozen=True)
class OverlayState:
    """What an overlay may draw for one frame.

    Attributes:
        step: steps taken in the episode so far (0 on the reset frame).
        episode_return: the sum of the episode's rewards so far.
        episode_id: the recorder's episode id, when known.
        env_index: the sub-environment, in vector recordings.
    """

    step: int
    episode_return: float
    episode_id: int | None = None
    env_index: int | None = None


OverlayFn = Callable[[np.ndarray, OverlayState], np.ndarray]


def default_text(state: OverlayState) -> str:
    """``STEP 12 R 23.0``."""
    return f"STEP {state.step} R {state.episode_return:.1f}"


class Overlay:
    """A text label in a corner of each recorded frame (agentreel's bitmap font).

    Args:
        text: ``text(state) -> str``; default ``"STEP {step} R {return:.1f}"``.
        corner: ``"top-left"``, ``"top-right"``, ``"bottom-left"`` or ``"bottom-right"``.
        scale: font scale (``None``: about 6% of the frame's height, at least 1).
        color, background: ink and box colours (RGB); ``background=None`` draws no box.
    """

    def __init__(
        self,
        text: Callable[[OverlayState], str] = default_text,
        *,
        corner: str = "top-left",
        scale: int | None = None,
        color: int | Sequence[int] = (255, 255, 255),
        background: int | Sequence[int] | None = (0, 0, 0),
    ) -> None:
        self.text = text
        self.corner = corner
        self.scale = scale
        self.color = color
        self.background = background
        label(np.zeros((8, 8, 3), np.uint8), "", corner=corner, scale=scale or 1)  # validate now

    def __call__(self, frame: np.ndarray, state: OverlayState) -> np.ndarray:
        """A labelled copy of ``frame`` (a ``uint8`` RGB array)."""
        return label(frame, self.text(state), corner=self.corner, scale=self.scale,
                     color=self.color, background=self.background)

    def __repr__(self) -> str:
        return f"Overlay(corner={self.corner!r})"


def as_overlay(overlay: object) -> OverlayFn | None:
    """``True`` → :class:`Overlay` (), ``False``/``None`` → ``None``, a callable stays.

    >>> as_overlay(True), as_overlay(None)
    (Overlay(corner='top-left'), None)
    """
    if overlay is None or overlay is False:
        return None
    if overlay is True:
        return Overlay()
    if callable(overlay):
        return overlay  # type: ignore[return-value]
    raise TypeError(
        f"overlay= must be True, False, an agentreel.clips.overlay.Overlay or a callable(frame, state), "
        f"got {type(overlay).__name__}"
    )
