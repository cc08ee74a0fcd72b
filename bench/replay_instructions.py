"""Instructions per step of the replay rows (callgrind): repeatable on a loaded machine.

CartPole-v1 (or ``--env``), random policy (``replay_bench.loop``): for each row the loop runs under
``valgrind --tool=callgrind`` for N steps and for 0 steps (after the same warm-up);
the difference over N is the row's instructions per step, printed with its ratio to
the plain loop (a ratio of speeds: plain / row). OpenBLAS runs one thread (its idle
threads' spinning would add noise) and hashing is seeded. Needs valgrind; takes a few
minutes.

Usage::

    python bench/replay_instructions.py               # 3000 steps, every row
    python bench/replay_instructions.py --rows plain RecordReplay --steps 1000
    MUJOCO_GL=egl python bench/replay_instructions.py --env HalfCheetah-v5 --steps 1000
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile

ROWS = ("plain", "no-op wrapper", "RecordReplay", "replay video")


def child(row: str, steps: int, env_id: str = "CartPole-v1") -> None:
    """Warm up, then run ``steps`` steps of ``row`` (what callgrind counts)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import gymnasium as gym
    from replay_bench import ENVS, loop
    from replay_bench import make as make_env

    from agentreel import RecordReplay, RecordVideo
    from agentreel.keep import best

    def make():
        _, max_steps, kwargs, _ = ENVS[env_id]
        env = make_env(env_id, None, max_steps, kwargs)
        folder = tempfile.mkdtemp(prefix="replay-ir-")
        return {"plain": lambda: env, "no-op wrapper": lambda: gym.Wrapper(env),
                "RecordReplay": lambda: RecordReplay(env, folder),
                "replay video": lambda: RecordVideo(env, folder, keep=best(3), replay=True)}[row]()

    env = make()
    loop(env, 200)
    env.close()
    env = make()
    if steps:
        loop(env, steps)
    env.close()


def instructions(row: str, steps: int, env_id: str) -> int:
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "callgrind.out")
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                        sys.executable, os.path.abspath(__file__), "--child", row, str(steps),
                        env_id],
                       check=True, capture_output=True, env={**os.environ, "PYTHONHASHSEED": "0",
                                                 "OPENBLAS_NUM_THREADS": "1"})
        with open(out) as handle:
            text = handle.read()
    match = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
    if match is None:
        raise RuntimeError("no instruction total in callgrind's output")
    return int(match.group(1))


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=ROWS)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--env", default="CartPole-v1",
                        choices=("CartPole-v1", "ALE/Pong-v5", "HalfCheetah-v5"),
                        help="episodes as in replay_bench.py (Pong 200, HalfCheetah 50 steps)")
    args = parser.parse_args()
    per_step = {row: (instructions(row, args.steps, args.env) - instructions(row, 0, args.env))
                / args.steps for row in args.rows}
    plain = per_step.get("plain")
    print(f"{f'row ({args.env}, instructions per step)':<44}{'Ir/step':>10}{'x plain':>9}")
    for row, count in per_step.items():
        ratio = f"{plain / count:9.3f}" if plain else ""
        print(f"{row:<44}{count:>10.0f}{ratio}")


if __name__ == "__main__":
    main()
