"""Large frames on few CPUs: ``preset="auto"`` encodes them at the fastest x264 step.

Issue 16 / issue 13 item 13: on 2 CPUs the encoder shares the machine with the agent's
loop, and its work grows with the pixels. A video of pistonball's 880×560 frames is
encoded at the last ``AUTO_LADDER`` level (no B-frames: what ``mediainfo`` shows in
the file's x264 settings), a 600×400 video at the usual level; with 8 CPUs nothing
changes. Every video still holds every frame, with PSNR > 30 dB.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pettingzoo")

from pettingzoo.butterfly import pistonball_v6  # noqa: E402

from agentreel.video import VideoEngine, presets  # noqa: E402
from videotools import decode, psnr, x264_settings  # noqa: E402


def pistonball_frames(steps: int) -> list[np.ndarray]:
    env = pistonball_v6.parallel_env(render_mode="rgb_array", max_cycles=steps)
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    frames = [env.render()]
    while env.agents:
        env.step({a: rng.uniform(-1, 1, (1,)).astype(np.float32) for a in env.agents})
        frames.append(env.render())
    env.close()
    return frames


@pytest.mark.parametrize(("cpus", "large_bframes"), [(2, 0), (8, 3)])
def test_auto_encodes_large_frames_at_the_fastest_step(tmp_path, monkeypatch, cpus, large_bframes):
    monkeypatch.setattr(presets, "usable_cpus", lambda: cpus)
    frames = pistonball_frames(12)
    engine = VideoEngine(backend="process")
    try:
        large = engine.open(str(tmp_path / "large.mp4"), fps=20)
        small = engine.open(str(tmp_path / "small.mp4"), fps=20)
        for frame in frames:
            large.add_frame(frame)
            small.add_frame(frame[:400, :600])
        assert large.wait(timeout=60).error is None
        assert small.wait(timeout=60).error is None
    finally:
        engine.close()
    assert f" bframes={large_bframes} " in x264_settings(tmp_path / "large.mp4")
    assert " bframes=3 " in x264_settings(tmp_path / "small.mp4")
    for name, want in (("large.mp4", frames), ("small.mp4", [f[:400, :600] for f in frames])):
        video = decode(tmp_path / name)
        assert video.count == len(want)
        worst = min(psnr(got, ref) for got, ref in zip(video.frames, want, strict=True))
        assert worst > 30, f"{name}: PSNR {worst:.1f} dB"
