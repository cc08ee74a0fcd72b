"""``agentreel record`` with real Atari (ale-py) and MuJoCo environments, as a newcomer runs it.

ale-py (it ships its ROMs) and MuJoCo come with the ``test`` extra. Outside CI these tests
are skipped when a package is missing; with ``CI`` set they fail instead.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from agentreel import read_episodes
from agentreel.report import Run
from videotools import decode


def need(module: str) -> None:
    try:
        importlib.import_module(module)
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(f"{module} is missing in CI: it comes with pip install -e '.[test]'")
        pytest.skip(f"{module} is not installed (pip install -e '.[test]')")


def headless_env(**changes: str | None) -> dict[str, str]:
    """This process's environment with no display and no GL choice, plus ``changes``."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MUJOCO_GL", "PYOPENGL_PLATFORM")}
    for key, value in changes.items():
        if value is not None:
            env[key] = value
    return env


def agentreel(*args: str, cwd: Path, env: dict | None = None,
              prelude: str = "") -> subprocess.CompletedProcess:
    """The command as its console script runs it (its own folder first on ``sys.path``)."""
    launcher = cwd.parent / f"{cwd.name}-bin" / "agentreel"
    launcher.parent.mkdir(exist_ok=True)
    launcher.write_text(f"import sys\n{prelude}\nfrom agentreel.cli import main\n"
                        "if __name__ == '__main__':\n    sys.exit(main())\n")
    return subprocess.run([sys.executable, str(launcher), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env=env or headless_env())


def one_line_error(proc: subprocess.CompletedProcess, *texts: str, noise: bool = False) -> str:
    """Exit 2 and one ``agentreel: error:`` line (after what a library itself printed: ``noise``)."""
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    if noise:  # MuJoCo's compiler and glfw write their own warnings to stderr
        assert sum(line.startswith("agentreel:") for line in lines) == 1, proc.stderr
        lines = lines[-1:]
    assert len(lines) == 1 and lines[0].startswith("agentreel: error:"), proc.stderr
    for text in texts:
        assert text in lines[0], lines[0]
    return lines[0]


def check_pong_run(folder: Path, steps: int) -> None:
    (record,) = read_episodes(folder)
    assert record.length == steps and record.truncated
    assert record.video == "ALE-Pong-v5-episode-0.mp4"
    video = decode(folder / "ALE-Pong-v5-episode-0.mp4")
    assert video.count == steps + 1
    assert (video.width, video.height) == (160, 210)
    assert sorted(p.name for p in folder.glob("*.mp4")) == ["ALE-Pong-v5-episode-0.mp4"]


# -- item 1: Atari by its plain id, --import, a missing package --------------------------------


def test_atari_by_its_plain_id(tmp_path):
    need("ale_py")
    proc = agentreel("record", "ALE/Pong-v5", "-n", "1", "--max-episode-steps", "40", "--seed", "0",
                     "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "agentreel-runs" / "ALE-Pong-v5-001"
    check_pong_run(folder, 40)
    assert len(Run(folder).videos) == 1 and (folder / "report.html").exists()


def test_module_colon_id_gives_files_named_by_the_plain_id(tmp_path):
    need("ale_py")
    proc = agentreel("record", "ale_py:ALE/Pong-v5", "-n", "1", "--max-episode-steps", "20",
                     "--seed", "0", "-q", "--no-report", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    check_pong_run(tmp_path / "agentreel-runs" / "ALE-Pong-v5-001", 20)


def test_atari_without_its_package_names_the_pip_install_and_leaves_nothing(tmp_path):
    proc = agentreel("record", "ALE/Pong-v5", "-n", "1", "-q", cwd=tmp_path,
                     prelude="sys.modules['ale_py'] = None  # as if ale-py were not installed")
    one_line_error(proc, "pip install ale-py")
    assert not (tmp_path / "agentreel-runs").exists()


@pytest.mark.parametrize(("env_id", "install"), [
    ("MiniGrid-Empty-5x5-v0", "pip install minigrid"),
    ("FetchReach-v4", "pip install gymnasium-robotics"),
    ("dm_control/cartpole-swingup-v0", "shimmy"),
])
def test_other_plugin_ids_name_their_package_when_it_is_missing(tmp_path, env_id, install):
    blocked = "; ".join(f"sys.modules[{m!r}] = None"
                        for m in ("minigrid", "gymnasium_robotics", "shimmy"))
    proc = agentreel("record", env_id, "-n", "1", "-q", cwd=tmp_path, prelude=blocked)
    one_line_error(proc, install)


def test_import_option_registers_your_own_environments(tmp_path):
    (tmp_path / "myenvs.py").write_text(textwrap.dedent("""\
        import gymnasium as gym
        gym.register("MyCartPole-v0", entry_point="gymnasium.envs.classic_control:CartPoleEnv",
                     max_episode_steps=12)
    """))
    proc = agentreel("record", "MyCartPole-v0", "--import", "myenvs", "--import", "json", "-n", "2",
                     "--policy", "random", "--seed", "1", "-o", "mine", "-q", "--no-report",
                     cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    records = read_episodes(tmp_path / "mine")
    assert len(records) == 2 and all(r.length <= 12 for r in records)
    for record in records:
        assert decode(tmp_path / "mine" / record.video).count == record.length + 1

    proc = agentreel("record", "MyCartPole-v0", "--import", "nosuchmodule_xyz", "-q", cwd=tmp_path)
    one_line_error(proc, "--import nosuchmodule_xyz")
    proc = agentreel("record", "MyCartPole-v0", "-q", cwd=tmp_path)
    one_line_error(proc, "MyCartPole-v0")
    assert not (tmp_path / "agentreel-runs").exists()


# -- item 2: MuJoCo on a machine with no display -----------------------------------------------


def test_mujoco_records_headless_without_mujoco_gl(tmp_path):
    need("mujoco")
    proc = agentreel("record", "HalfCheetah-v5", "-n", "2", "--max-episode-steps", "15",
                     "--seed", "0", "-o", "cheetah", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    records = read_episodes(tmp_path / "cheetah")
    assert [r.length for r in records] == [15, 15]
    for record in records:
        video = decode(tmp_path / "cheetah" / record.video)
        assert video.count == 16
        frame = np.asarray(video.frames[-1], dtype=float)
        assert frame.std() > 10  # a rendered scene, not a blank frame


def test_mujoco_with_an_unusable_gl_backend_is_one_line_naming_the_fix(tmp_path):
    need("mujoco")
    proc = agentreel("record", "HalfCheetah-v5", "-n", "1", "--max-episode-steps", "5", "-q",
                     cwd=tmp_path, env=headless_env(MUJOCO_GL="glfw"))
    one_line_error(proc, "MUJOCO_GL=egl", "libosmesa6", noise=True)
    assert not (tmp_path / "agentreel-runs").exists()
