"""The HTML report in a real browser: headless Chromium (Debian's package) driven by playwright.

Opens the report from disk (``file://``, no server, no network) and checks that
nothing logs an error, that every video loads (``readyState >= 2``) with the
duration its sidecar promises (frames / fps, within one frame), and that
clicking the Return header sorts the episode table and the gallery. Saves a
screenshot to ``test-artifacts/report.png``.

Skipped only outside CI when Chromium or playwright is missing; with ``CI`` set
in the environment a missing browser is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agentreel.app.run import record_run
from agentreel.report import Run, write_report

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("AGENTREEL_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _png_pixels(data: bytes):
    """The RGB pixels of a PNG (PyAV decodes it; no Pillow needed)."""
    import io

    import av

    with av.open(io.BytesIO(data)) as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24").astype(float)


def _browser_or_skip():
    problem = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "playwright is not installed (pip install playwright)"
        sync_playwright = None
    if problem is None and not os.path.exists(CHROMIUM):
        problem = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the browser test must run in CI: {problem}")
        pytest.skip(problem)
    return sync_playwright


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    single = record_run("CartPole-v1", episodes=3, out=str(root / "runs" / "single"),
                        policy="random", seed=3, progress=False, report=False)
    vector = record_run("CartPole-v1", episodes=3, out=str(root / "runs" / "vector"),
                        policy="random", seed=5, progress=False, report=False, num_envs=2)
    page = write_report([Run(single.out, name="random policy"), Run(vector.out, name="2 envs")],
                        root / "report.html", title="agentreel report: CartPole-v1")
    return page


def test_report_in_headless_chromium(report):
    sync_playwright = _browser_or_skip()
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(report.resolve().as_uri())

            videos = page.locator("video")
            assert videos.count() >= 5
            page.wait_for_function(
                "Array.from(document.querySelectorAll('video')).every(v => v.readyState >= 2)",
                timeout=30_000,
            )
            info = page.evaluate(
                "Array.from(document.querySelectorAll('video')).map(v => ({"
                "duration: v.duration, frames: +v.dataset.frames, fps: +v.dataset.fps,"
                "state: v.readyState, error: v.error && v.error.code}))"
            )
            for video in info:
                assert video["error"] is None
                assert abs(video["duration"] - video["frames"] / video["fps"]) <= 1 / video["fps"] + 1e-3

            # item 10 of issue 14: every card shows a poster (loaded, not blank) before play
            posters = page.evaluate("""async () => Promise.all(
                Array.from(document.querySelectorAll('video')).map(async v => {
                    if (!v.poster) return null;
                    const img = new Image();
                    img.src = v.poster;
                    await img.decode();
                    const canvas = document.createElement('canvas');
                    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
                    const ctx = canvas.getContext('2d');
                    ctx.drawImage(img, 0, 0);
                    const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
                    let sum = 0, sq = 0, n = 0;
                    for (let i = 0; i < px.length; i += 4) {
                        const g = (px[i] + px[i + 1] + px[i + 2]) / 3; sum += g; sq += g * g; n++;
                    }
                    const mean = sum / n;
                    return {width: img.naturalWidth, mean, std: Math.sqrt(sq / n - mean * mean)};
                }))""")
            assert len(posters) == videos.count() and None not in posters, posters
            for poster in posters:
                assert poster["width"] > 0 and poster["std"] > 5 and poster["mean"] > 20, poster
            card = _png_pixels(videos.first.screenshot())  # what the unplayed card shows
            assert card.mean() > 100 and card.std() > 5, (card.mean(), card.std())

            section = page.locator("#run-0")
            header = section.locator("th[data-sort-key=return]")

            def column(selector: str) -> list[float]:
                return [float(x) for x in section.locator(selector).evaluate_all(
                    "els => els.map(e => e.getAttribute('data-return'))")]

            header.click()
            assert header.get_attribute("aria-sort") == "descending"
            returns = column("table.episodes tbody tr")
            assert returns == sorted(returns, reverse=True) and len(returns) == 3
            assert column(".gallery figure") == sorted(column(".gallery figure"), reverse=True)
            header.click()
            assert header.get_attribute("aria-sort") == "ascending"
            returns = column("table.episodes tbody tr")
            assert returns == sorted(returns)
            assert column(".gallery figure") == sorted(column(".gallery figure"))

            header.click()  # best first, for the screenshot
            page.wait_for_function(
                "Array.from(document.querySelectorAll('video')).every(v => v.readyState >= 2)")
            page.wait_for_timeout(300)
            artifacts = ROOT / "test-artifacts"
            artifacts.mkdir(exist_ok=True)
            page.screenshot(path=str(artifacts / "report.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert all(url.startswith(("file:", "data:")) for url in requests), requests
    assert (ROOT / "test-artifacts" / "report.png").stat().st_size > 10_000

