"""Frame validation: turn whatever ``render()`` returned into an encodable frame.

Runs on the caller's thread so that a bad frame raises at once, with a message
that says what is wrong and how to fix it, instead of failing at save time.

>>> import numpy as np
>>> normalize_frame(np.zeros((3, 5), dtype=np.float32)).shape   # gray, odd size
(4, 6, 3)
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["FrameError", "normalize_frame"]


class FrameError(ValueError):
    """A frame that cannot be recorded; the message names the problem and the fix."""


def _describe(frame: np.ndarray) -> str:
    return f"array of shape {tuple(frame.shape)} and dtype {frame.dtype}"


def _as_array(frame: Any) -> np.ndarray:
    if isinstance(frame, np.ndarray):
        return frame
    if frame is None:
        raise FrameError(
            "got None instead of a frame: the environment's render() returned None. "
            "Create it with render_mode='rgb_array' (e.g. gym.make(env_id, render_mode='rgb_array'))."
        )
    if isinstance(frame, (list, tuple)):
        raise FrameError(
            f"got a {type(frame).__name__} of {len(frame)} items instead of one frame "
            "(a '*_list' render mode returns every frame since the last call). "
            "Pass one (H, W, 3) uint8 array at a time, e.g. frames[-1]."
        )
    if hasattr(frame, "__array__") or hasattr(frame, "__array_interface__"):
        return np.asarray(frame)
    raise FrameError(
        f"got {type(frame).__name__}, expected a numpy array of shape (H, W, 3) and dtype uint8."
    )


def _to_uint8(frame: np.ndarray) -> np.ndarray:
    dtype = frame.dtype
    if dtype == np.uint8:
        return frame
    if dtype == np.bool_:
        return frame.astype(np.uint8) * np.uint8(255)
    if np.issubdtype(dtype, np.integer):
        if frame.size:
            lo, hi = int(frame.min()), int(frame.max())
            if lo < 0 or hi > 255:
                raise FrameError(
                    f"integer frame ({_describe(frame)}) has values in [{lo}, {hi}], outside "
                    "0..255. Scale it to 0..255 and convert with frame.astype(np.uint8)."
                )
        return frame.astype(np.uint8)
    if np.issubdtype(dtype, np.floating):
        if frame.size:
            finite = np.isfinite(frame)
            if not finite.all():
                raise FrameError(
                    f"float frame ({_describe(frame)}) contains NaN or infinity. "
                    "Replace them (np.nan_to_num) and pass values in [0, 1] or a uint8 array."
                )
            low, high = float(frame.min()), float(frame.max())
            if low < 0.0 or high > 1.0:
                hint = (
                    " It looks like 0..255 data: use frame.astype(np.uint8)."
                    if low >= 0.0 and high <= 255.0
                    else ""
                )
                raise FrameError(
                    f"float frame ({_describe(frame)}) has values in [{low:g}, {high:g}]; float "
                    f"frames must lie in [0, 1] (they are scaled by 255).{hint}"
                )
        return (frame * 255.0 + 0.5).astype(np.uint8)
    raise FrameError(
        f"unsupported dtype {dtype} ({_describe(frame)}); use uint8 (0..255), "
        "bool, or float in [0, 1]."
    )


def _to_rgb(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return np.repeat(frame[:, :, None], 3, axis=2)
    if frame.ndim == 3:
        channels = frame.shape[2]
        if channels == 3:
            return frame
        if channels == 1:
            return np.repeat(frame, 3, axis=2)
        if channels == 4:
            return frame[:, :, :3]
        if frame.shape[0] in (1, 3, 4):
            raise FrameError(
                f"got an {_describe(frame)}, which looks channels-first; frames must be "
                "(H, W, 3). Use frame.transpose(1, 2, 0)."
            )
    raise FrameError(
        f"got an {_describe(frame)}; a frame must be (H, W, 3) RGB, (H, W, 4) RGBA, or "
        "(H, W) / (H, W, 1) grayscale. For a batch of frames, pass them one at a time."
    )


def normalize_frame(frame: Any, *, expected_shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Return ``frame`` as a C-contiguous uint8 ``(H, W, 3)`` array with even H and W.

    Accepted input:

    * ``(H, W, 3)`` RGB, ``(H, W, 4)`` RGBA (alpha is dropped), ``(H, W)`` or
      ``(H, W, 1)`` grayscale/depth (replicated to RGB);
    * dtype uint8; bool (True → 255); other integer types with values in
      0..255; float with finite values in [0, 1] (scaled ×255, rounded).

    Odd heights/widths are padded by one row/column at the bottom/right that
    *replicates the edge pixels* (H.264 in yuv420p needs even sizes; a copied
    edge is invisible where a black line would not be). A frame that is
    already uint8, RGB, even-sized and contiguous is returned as is (no copy).

    Args:
        frame: the frame (a numpy array or anything with ``__array__``).
        expected_shape: the normalised shape of the clip's first frame; a frame
            that normalises to another shape raises :class:`FrameError`.

    Raises:
        FrameError: for None, lists of frames, unsupported shapes or dtypes,
            floats outside [0, 1] or non-finite, integers outside 0..255, and a
            size change; the message says what was received and how to fix it.

    >>> import numpy as np
    >>> normalize_frame(np.ones((4, 4, 4), np.uint8)).shape          # RGBA
    (4, 4, 3)
    >>> int(normalize_frame(np.full((2, 2), True))[0, 0, 0])          # bool
    255
    >>> normalize_frame(np.zeros((2, 2, 3), np.uint8), expected_shape=(4, 4, 3))
    Traceback (most recent call last):
    ...
    agentreel.video.frames.FrameError: frame size changed: ...
    """
    arr = _as_array(frame)
    if arr.ndim in (2, 3) and 0 in arr.shape[:2]:
        raise FrameError(f"got an empty frame ({_describe(arr)}); H and W must be at least 1.")
    rgb = _to_rgb(arr)  # shape check before the (costlier) value checks
    rgb = _to_uint8(rgb)
    height, width = rgb.shape[:2]
    pad_h, pad_w = height % 2, width % 2
    if pad_h or pad_w:
        rgb = np.pad(rgb, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    elif not rgb.flags.c_contiguous:
        rgb = np.ascontiguousarray(rgb)
    if expected_shape is not None and tuple(rgb.shape) != tuple(expected_shape):
        raise FrameError(
            f"frame size changed: this video started with frames of shape "
            f"{tuple(expected_shape)} but got {tuple(rgb.shape)} (input {_describe(arr)}). "
            "All frames of one video must have the same size: resize the frame or start a "
            "new video."
        )
    return rgb
