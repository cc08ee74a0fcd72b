"""Speed-up of parallel evaluation: ``--workers 2`` against ``--workers 1``.

Runs the same N episodes with the same seeds through
:func:`agentreel.evaluate.evaluate` on local worker processes, once with one
worker and once with two (alternating, ``--repeats`` times each), checks that
both give the same returns, and prints the wall-clock times, the ratio and
the load average before and after. "cores busy" is the workers' own CPU
time (not their encoders') over the wall time: near 2 with two workers on an
idle machine; much less means the workers waited for a CPU (a loaded machine). Both sides pay the same fixed costs
(spawning workers, merging, no report), so the ratio is the parallel speed-up
of the whole job as a user sees it.

    python bench/evaluate_bench.py                       # 16 CartPole episodes, demo policy
    python bench/evaluate_bench.py --episodes 32 --every 4 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

from agentreel.evaluate import evaluate


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def once(args: argparse.Namespace, workers: int) -> tuple[float, list[float], float]:
    with tempfile.TemporaryDirectory() as root:
        started = time.perf_counter()
        result = evaluate(args.env, episodes=args.episodes, workers=workers, policy=args.policy,
                          seed=args.seed, every=args.every, out=os.path.join(root, "run"),
                          progress=False, report=False)
        seconds = time.perf_counter() - started
    busy = sum(shard.cpu_seconds for shard in result.shards)
    return seconds, [r.episode_return for r in result.records], busy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--episodes", type=int, default=16)
    parser.add_argument("--policy", default="demo")
    parser.add_argument("--every", type=int, default=1, help="record every K-th episode")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)

    print(f"{args.env}, {args.episodes} episodes, policy {args.policy}, video every "
          f"{args.every}, {os.cpu_count()} CPUs; load average before: {load()}")
    times: dict[int, list[float]] = {1: [], 2: []}
    outcomes: dict[int, list[float]] = {}
    for repeat in range(args.repeats):
        for workers in (1, 2):
            seconds, returns, busy = once(args, workers)
            times[workers].append(seconds)
            outcomes.setdefault(workers, returns)
            if returns != outcomes[1]:
                print("returns differ between 1 and 2 workers", file=sys.stderr)
                return 1
            steps = sum(returns) if args.env.startswith("CartPole") else None
            rate = f", {steps / seconds:,.0f} steps/s" if steps else ""
            print(f"  repeat {repeat + 1}: --workers {workers}: {seconds:6.2f} s{rate}; workers' "
                  f"CPU {busy:.2f} s ({busy / seconds:.2f} cores busy)")
    one, two = statistics.median(times[1]), statistics.median(times[2])
    print(f"median: --workers 1 {one:.2f} s, --workers 2 {two:.2f} s, speed-up {one / two:.2f}x; "
          f"identical returns; load average after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
