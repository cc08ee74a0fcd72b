"""The package re-layout of issue 13 item 6: old top-level module -> new module path.

``python tools/relayout.py --rewrite PATH...`` rewrites references to old module paths
(imports, ``"agentreel.x:y"`` strings, patch targets, ``agentreel/x.py`` file names) in
the given files or folders to the new paths. It is idempotent, so it can be re-run on
code written against the old layout (e.g. a branch merged after the move).
The compatibility modules at the old public paths and ``tests/test_compat_paths.py``
are left alone. ``--move`` (run once, in the commit that moved the files) does the ``git mv``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "agentreel"

#: old module (under ``agentreel.``) -> its new package (under ``agentreel.``).
MOVES: dict[str, str] = {
    # base layer: small helpers that import nothing of agentreel's
    "env_kinds": "base", "extras": "base", "hooks": "base", "media_html": "base",
    "safe_files": "base", "text": "base", "tiling": "base", "triggers": "base",
    # records and core layers: what an episode and a video are, episode accounting
    "records": "core", "videofiles": "core", "episode_tracker": "core",
    "multi_agent_tracker": "core", "sub_env": "core",
    # clips (core and recording layers): which steps become clips, and which are kept
    "claims": "clips", "keep": "clips", "keeper": "clips", "overlay": "clips",
    "recorder": "clips", "video_wrapper": "clips",
    # wrappers layer: the Gymnasium wrappers
    "statistics": "wrappers", "recording": "wrappers", "episode_videos": "wrappers",
    # report layer
    "agent_plots": "report", "compare_plots": "report", "compare_tables": "report",
    "export_marl_eval": "report", "notebook": "report", "plots": "report",
    "run_groups": "report", "sidebyside": "report", "timelapse": "report",
    # app layer: the CLI's commands and what they set up (cli.py stays: the entry point)
    "cli_compare": "app", "cli_export": "app", "cli_pettingzoo": "app",
    "cli_render": "app", "env_setup": "app", "policies": "app", "run": "app",
}

_NAMES = "|".join(sorted(MOVES, key=len, reverse=True))
_DOTTED = re.compile(rf"\bagentreel\.({_NAMES})\b(?![\w/])")
_FILE = re.compile(rf"\bagentreel/({_NAMES})\.py\b")
_FROM = re.compile(rf"^(\s*)from agentreel import ({_NAMES})\b(?!\s*,)", re.M)
_FROM_MANY = re.compile(rf"^\s*from agentreel import .*\b({_NAMES})\b.*$", re.M)


def rewrite(text: str) -> str:
    text = _DOTTED.sub(lambda m: f"agentreel.{MOVES[m[1]]}.{m[1]}", text)
    text = _FILE.sub(lambda m: f"agentreel/{MOVES[m[1]]}/{m[1]}.py", text)
    return _FROM.sub(lambda m: f"{m[1]}from agentreel.{MOVES[m[2]]} import {m[2]}", text)


#: Files that name the old paths on purpose: the compatibility modules and their test.
KEEP_OLD_PATHS = {*(SRC / f"{old}.py" for old in MOVES), ROOT / "tests" / "test_compat_paths.py",
                  Path(__file__).resolve()}


def files_under(paths: list[str]):
    for name in paths:
        path = Path(name)
        found = [p for p in path.rglob("*")
                 if p.suffix in {".py", ".md", ".toml", ".cfg", ".txt", ".ini"}
                 or p.name == "run"] if path.is_dir() else [path]
        yield from (p for p in found if p.resolve() not in KEEP_OLD_PATHS)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--move"]:
        for old, package in MOVES.items():
            target = SRC / package
            target.mkdir(exist_ok=True)
            subprocess.run(["git", "mv", str(SRC / f"{old}.py"), str(target / f"{old}.py")],
                           check=True, cwd=ROOT)
        return 0
    if argv[:1] == ["--rewrite"]:
        for path in files_under(argv[1:]):
            old = path.read_text(encoding="utf-8")
            new = rewrite(old)
            if new != old:
                path.write_text(new, encoding="utf-8")
                print(f"rewrote {path}")
            for line in _FROM_MANY.finditer(new):
                print(f"{path}: edit by hand: {line[0].strip()}")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
