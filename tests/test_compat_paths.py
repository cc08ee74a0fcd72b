"""Module paths from before the package layout (issue 13 item 6) still work.

Each public module that moved left a compatibility module at its old path; importing a
name from either path gives the same object. The package's public names, the console
entry point and the public packages import as before, and the package root stays lazy.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

import agentreel

ROOT = Path(__file__).resolve().parents[1]

#: Old public module path -> the module that now defines its names.
MOVED_PUBLIC = {
    "agentreel.keep": "agentreel.clips.keep",
    "agentreel.notebook": "agentreel.report.notebook",
    "agentreel.overlay": "agentreel.clips.overlay",
    "agentreel.plots": "agentreel.report.plots",
    "agentreel.policies": "agentreel.app.policies",
    "agentreel.recording": "agentreel.wrappers.recording",
    "agentreel.records": "agentreel.core.records",
    "agentreel.statistics": "agentreel.wrappers.statistics",
    "agentreel.text": "agentreel.base.text",
    "agentreel.timelapse": "agentreel.report.timelapse",
    "agentreel.triggers": "agentreel.base.triggers",
}


@pytest.mark.parametrize("old_path", sorted(MOVED_PUBLIC))
def test_old_module_path_gives_the_same_objects(old_path):
    old, new = importlib.import_module(old_path), importlib.import_module(MOVED_PUBLIC[old_path])
    assert old is not new and old.__all__
    for name in old.__all__:
        assert getattr(old, name) is getattr(new, name), f"{old_path}.{name}"
    if hasattr(new, "__all__"):
        assert sorted(old.__all__) == sorted(new.__all__)


def test_documented_old_imports():
    from agentreel.base import triggers
    from agentreel.clips import keep
    from agentreel.keep import best
    from agentreel.triggers import at, capped_cubic, every, first, logarithmic
    assert best is keep.best
    assert (at, capped_cubic, every, first, logarithmic) == (
        triggers.at, triggers.capped_cubic, triggers.every, triggers.first, triggers.logarithmic)
    policies = importlib.import_module("agentreel.policies")
    assert callable(policies.cartpole_controller)  # --policy agentreel.policies:cartpole_controller


def test_package_root_names_resolve_to_their_modules():
    from agentreel.core.records import EpisodeRecord, VideoSaved
    from agentreel.wrappers.recording import RecordVideo
    from agentreel.wrappers.statistics import RecordEpisodeStatistics
    assert agentreel.RecordVideo is RecordVideo
    assert agentreel.RecordEpisodeStatistics is RecordEpisodeStatistics
    assert (agentreel.EpisodeRecord, agentreel.VideoSaved) == (EpisodeRecord, VideoSaved)
    for name in agentreel.__all__:
        assert getattr(agentreel, name) is not None, name


@pytest.mark.parametrize("package", ["agentreel.analysis", "agentreel.evaluate", "agentreel.log",
                                     "agentreel.pettingzoo", "agentreel.replay",
                                     "agentreel.report", "agentreel.sb3", "agentreel.trackers",
                                     "agentreel.vector", "agentreel.video"])
def test_public_packages_import(package):
    assert importlib.import_module(package).__all__


def test_vector_wrappers():
    from agentreel.vector import RecordEpisodeStatistics, RecordVideo
    assert RecordEpisodeStatistics.__module__ == "agentreel.vector.statistics"
    assert RecordVideo.__module__ == "agentreel.vector.recording"


def test_console_entry_point():
    scripts = re.search(r"^\[project\.scripts\]\nagentreel = \"([\w.]+):(\w+)\"",
                        (ROOT / "pyproject.toml").read_text(), re.M)
    assert scripts, "pyproject.toml has no agentreel console script"
    module_name, attr = scripts.groups()
    assert (module_name, attr) == ("agentreel.cli", "main")
    assert callable(getattr(importlib.import_module(module_name), attr))


def test_video_worker_import_does_not_load_gymnasium():
    code = "import sys, agentreel.video.worker; print('gymnasium' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"
