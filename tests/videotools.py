"""Test helpers: decode videos with PyAV, compare pictures, and small deterministic envs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

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


def wait_gone(pid: int, timeout: float = 20.0) -> None:
    """Wait until process ``pid`` has exited (e.g. an encoder whose parent was killed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} still alive {timeout} s after its parent died")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB between two uint8 pictures of one size."""
    diff = a.astype(np.float64) - b.astype(np.float64)
    mse = float(np.mean(diff * diff))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def x264_settings(path: str | os.PathLike[str]) -> str:
    """The encoder settings x264 writes into an MP4 (its version SEI)."""
    with open(path, "rb") as fh:
        data = fh.read()
    start = data.index(b"options: ")
    return data[start:data.index(b"\x00", start)].decode("ascii", "replace")


def assert_same_pictures(a_path: str | os.PathLike[str], b_path: str | os.PathLike[str]) -> None:
    """Two MP4s of the same frames: equal counts, and equal pictures when x264 encoded
    both with the same settings. ``preset="auto"`` adapts to the machine's load (a loaded
    machine moves it a step faster), so two recordings of the same frames may differ in
    settings; their pictures are then within 40 dB PSNR of each other (two encodes of
    one CartPole episode at neighbouring levels: 48 dB)."""
    a, b = decode(a_path), decode(b_path)
    assert a.count == b.count, (a.count, b.count)
    if x264_settings(a_path) == x264_settings(b_path):
        assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames, strict=True))
    else:
        worst = min(psnr(x, y) for x, y in zip(a.frames, b.frames, strict=True))
        assert worst > 40, f"pictures differ: worst PSNR {worst:.1f} dB"


def mp4s(folder: str | os.PathLike[str]) -> set[str]:
    """The names of the finished .mp4 files in a folder."""
    return {f for f in os.listdir(folder) if f.endswith(".mp4")}


def play_episodes(env: gym.Env, episodes: int, action: Any = 0) -> None:
    """Run ``episodes`` whole episodes of ``env``, always taking ``action``."""
    for _ in range(episodes):
        env.reset()
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(action)
            done = terminated or truncated


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


def decode_count(path: str | os.PathLike[str]) -> int:
    """Frames decodable from the start of a (possibly truncated) video; 0 if unreadable."""
    count = 0
    try:
        with av.open(os.fspath(path)) as container:
            for _ in container.decode(container.streams.video[0]):
                count += 1
    except (av.error.FFmpegError, IndexError, OSError):
        pass
    return count


def _boxes(data: bytes, start: int = 0, end: int | None = None):
    """Complete ISO-BMFF boxes in ``data[start:end]`` as (type, body_start, box_end)."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        header = 8
        if size == 1:
            if pos + 16 > end:
                return
            size, header = int.from_bytes(data[pos + 8:pos + 16], "big"), 16
        if size < header or pos + size > end:
            return  # a torn box: the writer was killed while writing it
        yield kind, pos + header, pos + size
        pos += size


def complete_fragment_samples(path: str | os.PathLike[str]) -> tuple[int, int]:
    """``(fragments, samples)`` of a fragmented MP4 counting only complete moof+mdat pairs.

    This is what "playable up to its last fragment" means precisely: every sample
    of every fragment whose ``moof`` and ``mdat`` boxes are both complete on disk.
    """
    with open(path, "rb") as fh:
        data = fh.read()
    fragments = samples = 0
    pending = None
    for kind, body, end in _boxes(data):
        if kind == b"moof":
            pending = 0
            for child, cbody, cend in _boxes(data, body, end):
                if child != b"traf":
                    continue
                for leaf, lbody, _ in _boxes(data, cbody, cend):
                    if leaf == b"trun":
                        pending += int.from_bytes(data[lbody + 4:lbody + 8], "big")
        elif kind == b"mdat" and pending is not None:
            fragments += 1
            samples += pending
            pending = None
    return fragments, samples


def ctrl_c_at(marker: str, script: str | os.PathLike[str], *args: str,
              env: dict[str, str] | None = None, prefix: bool = False,
              timeout: float = 120) -> tuple[list[str], str]:
    """Run ``python script *args`` in its own process group; once it prints the line
    ``marker`` (a line starting with it, with ``prefix``), send SIGINT to the group, as a terminal's Ctrl-C does, and wait for the exit.
    Returns the stdout lines up to the marker and the whole stderr. Asserts the
    program ended by ``KeyboardInterrupt``."""
    proc = subprocess.Popen([sys.executable, os.fspath(script), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    lines: list[str] = []
    try:
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.append(line.strip())
            if lines[-1] == marker or (prefix and lines[-1].startswith(marker)):
                break
        else:
            raise AssertionError(f"no {marker!r} line: {lines} {proc.stderr.read()}")  # type: ignore[union-attr]
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode in (1, -signal.SIGINT) and "KeyboardInterrupt" in err, err
    return lines, err

