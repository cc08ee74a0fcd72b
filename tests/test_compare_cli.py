"""``agentreel compare``, ``plot --profile/--iqm-curve`` and side-by-side videos, on recorded runs.

The runs (``helpers.compare_runs``): ``random`` and ``demo`` (CartPole's controller) on
CartPole-v1 with seeds 0, 10, 20 (episode 0 of each run has a video), and on Pendulum-v1.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agentreel.cli import main
from agentreel.report.folder import RunFolder
from agentreel.report.run_groups import load_group, run_task
from helpers.compare_runs import recorded_runs
from videotools import decode, psnr


@pytest.fixture(scope="module")
def runs() -> dict[str, dict[str, list[Path]]]:
    return recorded_runs()


def _all(runs, algorithm):
    return [str(p) for paths in runs[algorithm].values() for p in paths]


def test_compare_prints_tables_probability_and_verdict(runs, capsys):
    code = main(["compare", *_all(runs, "random"), "--vs", *_all(runs, "demo"),
                 "--norm", "CartPole-v1=0:500", "--norm", "Pendulum-v1=-1600:0"])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["task", "algorithm", "runs"]
    assert "IQM [95% CI]" in lines[0] and "optimality gap [95% CI]" in lines[0]
    assert any(line.startswith("CartPole-v1") and "random" in line for line in lines)
    assert any(line.startswith("Pendulum-v1") for line in lines)
    assert any(line.startswith("all tasks") for line in lines)
    # demo balances the pole (return 500, normalised 1.0) on every CartPole run
    demo_cartpole = next(line for line in lines if line.strip().startswith("demo"))
    assert "1.00 [1.00, 1.00]" in demo_cartpole
    assert any(line.startswith("P(demo > random) = ") for line in lines)
    verdict = next(line for line in lines if line.startswith("demo "))
    assert " of 2 tasks; P(demo>random) = " in verdict and "IQM difference +" in verdict


def test_compare_json_markdown_latex_carry_the_same_numbers(runs, capsys):
    args = ["compare", *_all(runs, "random"), "--vs", *_all(runs, "demo"), "--seed", "3"]
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["algorithms"] == ["random", "demo"]
    assert data["tasks"] == ["CartPole-v1", "Pendulum-v1"] and data["unit"] == "run"
    versus = data["versus"][0]
    poi = versus["probability_of_improvement"]
    assert 0.5 < poi["point"] <= 1.0 and poi["ci"][0] <= poi["point"] <= poi["ci"][1]
    assert versus["iqm_difference"]["point"] > 0
    cartpole_demo = next(r for r in data["per_task"]
                         if r["task"] == "CartPole-v1" and r["algorithm"] == "demo")
    assert cartpole_demo["iqm"]["point"] == 500.0 and cartpole_demo["n_runs"] == 3
    assert main([*args, "--markdown"]) == 0
    markdown = capsys.readouterr().out
    assert markdown.startswith("| task | algorithm | runs | IQM [95% CI]")
    assert f"P(demo > random) = {poi['point']:.2f} [{poi['ci'][0]:.2f}, {poi['ci'][1]:.2f}]" in markdown
    assert main([*args, "--latex"]) == 0
    latex = capsys.readouterr().out
    assert latex.startswith("\\begin{table}") and "\\toprule" in latex and "\\bottomrule" in latex
    assert "CartPole-v1 & random & 3 & " in latex


def test_groups_from_folder_names_and_labels(runs, capsys):
    cartpole = [*map(str, runs["random"]["CartPole-v1"]), *map(str, runs["demo"]["CartPole-v1"])]
    assert main(["compare", *cartpole, "--json"]) == 0  # labels from the folder names
    assert json.loads(capsys.readouterr().out)["algorithms"] == ["random-CartPole", "demo-CartPole"]
    assert main(["compare", "--label", "rnd", *cartpole[:3], "--label", "ctl", *cartpole[3:],
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["algorithms"] == ["rnd", "ctl"]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agentreel.cli", *args], capture_output=True,
                          text=True, timeout=120)


def test_bad_input_is_one_line_and_exit_2(runs, tmp_path):
    random_cp = [str(p) for p in runs["random"]["CartPole-v1"]]
    demo_pendulum = [str(p) for p in runs["demo"]["Pendulum-v1"]]
    cases = {
        "need at least 2 runs": ["compare", random_cp[0]],
        "several tasks": ["compare", random_cp[0], demo_pendulum[0]],
        "share no seeds": ["compare", random_cp[0], "--vs", str(runs["demo"]["CartPole-v1"][1]),
                           "--video", str(tmp_path / "x.mp4")],
    }
    for words, args in cases.items():
        result = _cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("agentreel: error: "), result.stderr
        assert words in lines[0], lines[0]
        assert result.stdout == ""
    assert not (tmp_path / "x.mp4").exists()


def test_side_by_side_video_matches_its_sources_and_holds_the_shorter(runs, tmp_path, capsys):
    out = tmp_path / "ab.mp4"
    a = [str(p) for p in runs["random"]["CartPole-v1"]]
    b = [str(p) for p in runs["demo"]["CartPole-v1"]]
    assert main(["compare", *a, "--vs", *b, "--video", str(out), "--pairs", "largest-gap",
                 "--json"]) == 0
    (info,) = json.loads(capsys.readouterr().out)["videos"]
    source_a, source_b = decode(info["a"]), decode(info["b"])
    # demo plays 500 steps, random far fewer: A's last frame is held
    assert source_a.count < source_b.count == 501
    # the labels' running return: CartPole pays 1 per step, so frame k shows k
    side_b = json.loads(Path(info["b"]).with_suffix(".json").read_text())
    assert side_b["tags"]["running_returns"] == [float(k) for k in range(501)]
    video = decode(out)
    side = json.loads(out.with_suffix(".json").read_text())
    layout = side["tags"]["layout"]
    length_b = int(RunFolder(Path(info["b"]).parent).video_for(0).display_length)
    assert video.count == length_b + 1 == max(source_a.count, source_b.count)
    top, w, gap = layout["header"], layout["width"], layout["gap"]
    assert (video.width, video.height) == (2 * w + gap, layout["height"] + top)
    for i, frame in enumerate(video.frames):
        left = frame[top:, :w]
        right = frame[top:, w + gap : 2 * w + gap]
        want_a = source_a.frames[min(i, source_a.count - 1)]
        assert psnr(left, want_a) > 30, (i, psnr(left, want_a))
        assert psnr(right, source_b.frames[i]) > 30, (i, psnr(right, source_b.frames[i]))
    # the "ended" mark: red ink in A's label strip on held frames only, never in B's
    def red(strip: np.ndarray) -> bool:
        return bool(((strip[..., 0] > 180) & (strip[..., 1] < 120)).any())

    assert red(video.frames[-1][:top, :w]) and red(video.frames[source_a.count][:top, :w])
    assert not red(video.frames[source_a.count - 1][:top, :w])
    assert not any(red(f[:top, w + gap :]) for f in video.frames[:-1])


def test_pairs_best_and_worst_pick_other_seeds(runs):
    from agentreel.report.run_groups import episode_pairs

    a = load_group("random", runs["random"]["CartPole-v1"])
    b = load_group("demo", runs["demo"]["CartPole-v1"])
    gaps = [abs(p.gap) for p in episode_pairs(a, b, "largest-gap", count=3)]
    assert gaps == sorted(gaps, reverse=True) and len(gaps) == 3
    best = episode_pairs(a, b, "best", count=3)
    worst = episode_pairs(a, b, "worst", count=3)
    assert [p.key for p in best] == [p.key for p in reversed(worst)]
    assert all(p.a.record.seed == p.b.record.seed for p in best)
    assert {run_task(p.a_run) for p in best} == {"CartPole-v1"}


@pytest.mark.parametrize("kind", ["--profile", "--iqm-curve"])
def test_plot_profile_and_iqm_curve_draw_both_groups(runs, tmp_path, kind, capsys):
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    out = tmp_path / "plot.png"
    assert main(["plot", *_all(runs, "random"), "--vs", *_all(runs, "demo"), kind,
                 "-o", str(out)]) == 0
    image = imread(out)[..., :3]
    assert image.shape[0] > 200 and image.shape[1] > 300

    def share(rgb: tuple[float, float, float]) -> float:  # matplotlib's C0 blue, C1 orange
        return float((np.abs(image - np.array(rgb)).max(axis=-1) < 0.08).mean())

    assert share((0.12, 0.47, 0.71)) > 0.001 and share((1.0, 0.5, 0.05)) > 0.001


def test_report_of_labelled_runs_has_the_comparison_and_pair_videos(runs, tmp_path, capsys):
    page = tmp_path / "page" / "report.html"
    a = [str(p) for p in runs["random"]["CartPole-v1"]]
    b = [str(p) for p in runs["demo"]["CartPole-v1"]]
    assert main(["report", "--label", "random", *a, "--label", "demo", *b, "-o", str(page)]) == 0
    html = page.read_text()
    section = html[html.index('<section id="comparison">'):]
    section = section[: section.index("</section>")]
    assert "demo beats random on 1 of 1 task; P(demo&gt;random) = 1.00" in section
    assert "IQM [95% CI]" in section and "optimality gap [95% CI]" in section
    pytest.importorskip("matplotlib")
    assert 'alt="performance profiles"' in section
    assert section.count("<video ") == 2
    for k in (1, 2):
        assert f'src="report-pair-{k}.mp4"' in section
        video = decode(page.parent / f"report-pair-{k}.mp4")
        assert video.count == 501  # demo's 500 steps + the reset frame
    assert html.index('id="summary"') < html.index('id="comparison"') < html.index('id="run-0"')
