"""Test helpers: decode videos with PyAV, compare pictures, and small deterministic envs."""

from __future__ import annotations

import os
from dataclasses import dataclass

import av
import gymnasium as gym
import numpy as np


@dataclass
class Decoded:
    """What a decoded video file holds."""

    frames: list[np.ndarray]
    width: int
    height: int
    pix_fmt: str
    fps: float
    codec: str

    @property
    def count(self) -> int:
        return len(self.frames)


def decode(path: str | os.PathLike[str]) -> Decoded:
    """Decode every frame of a video file to RGB arrays."""
    with av.open(os.fspath(path)) as container:
        stream = container.streams.video[0]
        pix_fmt = stream.codec_context.pix_fmt or ""
        fps = float(stream.average_rate or stream.guessed_rate or 0)
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        return Decoded(frames, stream.codec_context.width, stream.codec_context.height,
                       pix_fmt, fps, stream.codec_context.name)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB between two uint8 pictures of one size."""
    diff = a.astype(np.float64) - b.astype(np.float64)
    mse = float(np.mean(diff * diff))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def mp4s(folder: str | os.PathLike[str]) -> set[str]:
    """The names of the finished .mp4 files in a folder."""
    return {f for f in os.listdir(folder) if f.endswith(".mp4")}


class PatternEnv(gym.Env):
    """A tiny env whose frames say which step they show.

    Each episode lasts ``length`` steps (reward 1 each, then ``terminated``). The
    frame at step ``k`` of the episode is a solid colour that encodes ``k``, on a
    ``height`` x ``width`` canvas, as ``rgb_array`` (or gray/float/RGBA variants).
    """

    metadata = {"render_modes": ["rgb_array", "rgb_array_list"], "render_fps": 25}

    def __init__(self, length: int = 5, height: int = 48, width: int = 64,
                 render_mode: str | None = "rgb_array", kind: str = "rgb",
                 render_fps: object = 25) -> None:
        self.length = length
        self.height, self.width = height, width
        self.render_mode = render_mode
        self.kind = kind
        self.metadata = dict(self.metadata, render_fps=render_fps)
        self.observation_space = gym.spaces.Discrete(10_000)
        self.action_space = gym.spaces.Discrete(2)
        self.t = 0
        self.episode = -1
        self._list: list[np.ndarray] = []

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        self.episode += 1
        self._list = [self.picture()]
        return 0, {}

    def step(self, action):
        self.t += 1
        if self.render_mode == "rgb_array_list":
            self._list.append(self.picture())
        return self.t, 1.0, self.t >= self.length, False, {}

    def picture(self) -> np.ndarray:
        """The current frame (RGB uint8 unless ``kind`` asks otherwise)."""
        level = (self.t * 37 + self.episode * 11) % 200 + 30
        rgb = np.zeros((self.height, self.width, 3), np.uint8)
        rgb[..., 0] = level
        rgb[..., 1] = 255 - level
        rgb[: self.height // 2, : self.width // 2, 2] = 200  # a block so orientation matters
        if self.kind == "gray":
            return rgb[..., 0].copy()
        if self.kind == "float":
            return rgb.astype(np.float32) / 255.0
        if self.kind == "rgba":
            return np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
        return rgb

    def render(self):
        if self.render_mode == "rgb_array_list":
            frames, self._list = self._list, []
            return frames
        return self.picture()
