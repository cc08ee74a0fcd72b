"""Video cards in the report show a poster frame (the video's last frame) until played."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import av
import numpy as np

from agentreel.app.run import record_run
from agentreel.report import write_report
from videotools import decode, psnr


def _posters(page: Path) -> dict[str, bytes]:
    """``src`` of each ``<video>`` -> its poster's JPEG bytes."""
    html = page.read_text()
    posters = {}
    for tag in re.findall(r"<video [^>]*>", html):
        src = re.search(r' src="([^"]+)"', tag).group(1)
        poster = re.search(r' poster="data:image/jpeg;base64,([^"]+)"', tag)
        assert poster, f"no poster on {src}"
        posters[src] = base64.b64decode(poster.group(1))
    return posters


def _jpeg_pixels(data: bytes, path: Path) -> np.ndarray:
    path.write_bytes(data)
    with av.open(str(path)) as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24")


def _shrink(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    rows = np.linspace(0, frame.shape[0] - 1, height).astype(int)
    cols = np.linspace(0, frame.shape[1] - 1, width).astype(int)
    return frame[rows][:, cols]


def test_every_video_card_has_the_last_frame_as_its_poster(tmp_path):
    run = record_run("CartPole-v1", episodes=3, out=str(tmp_path / "run"), policy="random",
                     seed=4, progress=False, report=False)
    page = write_report([run.out], tmp_path / "run" / "report.html")
    posters = _posters(page)
    assert len(posters) == 3
    for src, data in posters.items():
        picture = _jpeg_pixels(data, tmp_path / "poster.jpg")
        assert picture.shape[1] <= 320 and picture.std() > 5  # a scaled frame, not blank
        last = decode(tmp_path / "run" / src).frames[-1]
        expected = _shrink(last, picture.shape[1], picture.shape[0])
        assert psnr(picture, expected) > 20  # the episode's last frame (the pole fallen)
        first = _shrink(decode(tmp_path / "run" / src).frames[0], picture.shape[1],
                        picture.shape[0])
        assert psnr(picture, expected) > psnr(picture, first)


def test_the_poster_of_a_long_episode_is_its_last_frame(tmp_path):
    run = record_run("CartPole-v1", episodes=1, out=str(tmp_path / "run"), policy="demo",
                     seed=0, progress=False, report=False)
    from agentreel.report.posters import last_frame

    video = Path(run.out) / "CartPole-v1-episode-0.mp4"
    frames = decode(video).frames
    assert psnr(last_frame(video), frames[-1]) > 60
