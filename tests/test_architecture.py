"""The layer order of ARCHITECTURE.md, enforced: no import cycle, no upward import.

Every ``import`` of an ``agentreel`` module counts -- at module level, inside a
function (lazy imports) and under ``if TYPE_CHECKING:`` -- read from the source
with :mod:`ast`, so a cycle that only a lazy import closes is caught too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "agentreel"
ARCHITECTURE = Path(__file__).resolve().parent.parent / "ARCHITECTURE.md"

#: Lowest first. A module belongs to the layer of the longest prefix that names it;
#: it may import modules of its own layer or lower ones, never a higher one.
LAYERS: list[tuple[str, list[str]]] = [
    ("base", ["agentreel._version", "agentreel.base"]),
    ("records", ["agentreel.core.records", "agentreel.core.videofiles"]),
    ("core", ["agentreel.analysis", "agentreel.clips", "agentreel.core", "agentreel.log",
              "agentreel.video"]),
    ("recording", ["agentreel.clips.recorder", "agentreel.clips.video_wrapper",
                   "agentreel.replay"]),
    ("wrappers", ["agentreel.pettingzoo", "agentreel.sb3", "agentreel.vector",
                  "agentreel.wrappers"]),
    ("trackers", ["agentreel.trackers"]),
    ("report", ["agentreel.report"]),
    ("app", ["agentreel", "agentreel.app", "agentreel.cli", "agentreel.evaluate",
             "agentreel.pettingzoo.run"]),
]


def module_files() -> dict[str, Path]:
    mods = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        mods[".".join(parts)] = path
    return mods


def imports_of(path: Path, mods: dict[str, Path]) -> set[str]:
    """The agentreel modules ``path`` imports (``from a import b`` counts ``a.b`` if a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] == "agentreel":
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in mods else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "agentreel")
    return found


def layer_of(module: str) -> int:
    best, best_len = None, -1
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = rank, len(prefix)
    if best is None:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS and ARCHITECTURE.md")
    return best


def graph() -> dict[str, set[str]]:
    mods = module_files()
    return {m: imports_of(p, mods) - {m} for m, p in mods.items()}


def test_every_module_has_a_layer_and_imports_none_above_it():
    upward = []
    for module, targets in sorted(graph().items()):
        for target in sorted(targets):
            if layer_of(target) > layer_of(module):
                upward.append(f"{module} ({LAYERS[layer_of(module)][0]}) imports "
                              f"{target} ({LAYERS[layer_of(target)][0]})")
    assert upward == []


#: Imports the layers would allow but the design forbids: trackers are sinks and video
#: hooks and do not reach into the clip recorder.
FORBIDDEN = [("agentreel.trackers", "agentreel.clips.recorder")]


def test_no_forbidden_import():
    found = [f"{m} imports {t}" for m, targets in graph().items() for t in targets
             for low, high in FORBIDDEN
             if (m == low or m.startswith(low + ".")) and (t == high or t.startswith(high + "."))]
    assert found == []


def test_no_import_cycle():
    edges = graph()
    cycles, state = [], {}

    def visit(module: str, stack: list[str]) -> None:
        state[module] = "open"
        for target in sorted(edges.get(module, ())):
            if state.get(target) == "open":
                cycles.append(" -> ".join(stack[stack.index(target):] + [target]))
            elif target not in state:
                visit(target, stack + [target])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_architecture_md_lists_the_same_layers():
    """ARCHITECTURE.md's table has one row per layer, in this order, naming the same modules."""
    rows = re.findall(r"^\| *(\d+) *\| *`?(\w+)`? *\| *([^|]+)\|", ARCHITECTURE.read_text(), re.M)
    documented = [(name, sorted(re.findall(r"`([\w.]+)`", mods))) for _, name, mods in rows]
    assert documented == [(name, sorted(prefixes)) for name, prefixes in LAYERS]
