"""Run agentreel's benchmark suite against Gymnasium and Stable-Baselines3; print one table.

Usage::

    pip install -e ".[bench]"
    python bench/run.py            # full (about 20-30 minutes on 2 cores)
    python bench/run.py --quick    # under 5 minutes
    python bench/run.py --quick --only 1 3 --json out.json

Sections (see each module's docstring for the exact workload):

1. every-episode recording throughput and worst stall (``throughput.py``);
2. peak RSS of one long episode, child processes included (``memory.py``);
3. bytes per frame, same frames (``throughput.py``, from the runs of section 1);
4. vector recording, 4 envs tiled (``vector.py``);
5. statistics overhead per step (``stats.py``);
6. periodic recording overhead (``periodic.py``).

Every ratio is measured within this one run: peers and limits alternate with
agentreel and the medians over repeats are compared. The load average is
printed before and after each section: the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import Row, load, machine, print_table, quiet  # noqa: E402

QUICK = {
    "throughput": {"steps": 2000, "repeats": 2},
    "memory": {"lengths": [1000, 3000], "repeats": 1, "gym_max": 3000},
    "vector": {"steps": 400, "clip": 100, "repeats": 2},
    "stats": {"steps": 20000, "vector_steps": 2000, "repeats": 3},
    "periodic": {"loop_steps": 30000, "train_steps": 4096, "repeats": 2},
}
FULL = {
    "throughput": {"steps": 20000, "repeats": 3},
    "memory": {"lengths": [1000, 5000, 10000], "repeats": 1, "gym_max": None},
    "vector": {"steps": 2000, "clip": 500, "repeats": 2},
    "stats": {"steps": 100000, "vector_steps": 10000, "repeats": 5},
    "periodic": {"loop_steps": 100000, "train_steps": 20480, "repeats": 3},
}


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the selected sections, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller workloads (< 5 minutes)")
    parser.add_argument("--only", nargs="+", type=int, choices=range(1, 7), metavar="N",
                        help="run only these sections (3 comes with 1)")
    parser.add_argument("--json", help="also write the rows and the machine to this file")
    args = parser.parse_args(argv)
    quiet()
    cfg = QUICK if args.quick else FULL
    only = set(args.only or range(1, 7))
    if 3 in only:
        only.add(1)
    info = machine()
    print(f"machine: {info['nproc']} x {info['cpu']}, {info.get('memory_gb', '?')} GB; "
          f"python {info['python']}, gymnasium {info['gymnasium']}, av {info['av']}, "
          f"SB3 {info['stable_baselines3']}, moviepy {info['moviepy']}", flush=True)
    print(f"mode: {'quick' if args.quick else 'full'}; load average {info['loadavg']}", flush=True)
    rows: list[Row] = []
    loads: dict[str, list[float]] = {}
    started = time.perf_counter()
    sections = [
        (1, "throughput", lambda c: __import__("throughput").bench(**c)),
        (2, "memory", lambda c: __import__("memory").bench(**c)),
        (4, "vector", lambda c: __import__("vector").bench(**c)),
        (5, "stats", lambda c: __import__("stats").bench(**c)),
        (6, "periodic", lambda c: __import__("periodic").bench(**c)),
    ]
    for number, name, fn in sections:
        if number not in only:
            continue
        before = load()
        t = time.perf_counter()
        print(f"[{number}] {name} {cfg[name]} (load {before:.2f}) ...", end="", flush=True)
        new = fn(cfg[name])
        after = load()
        loads[name] = [round(before, 2), round(after, 2)]
        print(f" {time.perf_counter() - t:.0f} s (load {after:.2f})", flush=True)
        rows.extend(new)
    rows.sort(key=lambda r: r.section)
    print()
    print_table(rows)
    total = time.perf_counter() - started
    print(f"\ntotal {total:.0f} s; load average before/after each section: {loads}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"machine": info, "mode": "quick" if args.quick else "full",
                       "config": cfg, "loads": loads, "seconds": total,
                       "rows": [r.__dict__ for r in rows]}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
