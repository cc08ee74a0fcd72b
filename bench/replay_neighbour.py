"""How much a renderer in idle CPU time slows the agent on the other core.

``RecordVideo(replay=True)`` renders kept episodes in a background process of Linux's
``SCHED_IDLE`` class: it only gets CPU time no other process wants. On a 2-core
machine whose agent keeps one core busy, it still runs on the other core, and shares
the caches and memory with the agent. This measures that effect without agentreel:
the HalfCheetah-v5 random-policy loop (50-step episodes, no rendering) alone, beside a
``SCHED_IDLE`` Python busy loop, and beside a ``SCHED_IDLE`` process that steps and
renders HalfCheetah (MuJoCo with ``MUJOCO_GL=egl``: software rendering here) without
pause, in rotated order. Prints CPU µs per step of the agent (median over repeats), its
ratio to the loop alone, and "paired": the median of each repeat's ratio to the loop
alone in the same repeat (this VM's speed drifts by tens of percent within minutes).

Usage::

    MUJOCO_GL=egl python bench/replay_neighbour.py              # 3000 steps, 4 repeats
    MUJOCO_GL=egl python bench/replay_neighbour.py --steps 1000 --repeats 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("MUJOCO_GL", "egl")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

_IDLE = "import os; os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))\n"
NEIGHBOURS = {
    "alone": None,
    "busy loop (SCHED_IDLE)": _IDLE + "while True: pass\n",
    "renderer (SCHED_IDLE)": _IDLE + (
        "import gymnasium as gym\n"
        "env = gym.make('HalfCheetah-v5', render_mode='rgb_array')\n"
        "env.reset(seed=0)\n"
        "while True:\n"
        "    env.step(env.action_space.sample())\n"
        "    env.render()\n"),
}


def agent_loop(env, steps: int) -> float:
    """CPU seconds per step of ``replay_bench.loop`` (the random-policy loop)."""
    from replay_bench import loop

    start = time.process_time()
    done, _ = loop(env, steps)
    return (time.process_time() - start) / done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=4)
    args = parser.parse_args()
    import gymnasium as gym

    env = gym.make("HalfCheetah-v5", max_episode_steps=50)
    agent_loop(env, 300)  # warm up
    names = list(NEIGHBOURS)
    per_step: dict[str, list[float]] = {name: [] for name in names}
    for repeat in range(args.repeats):
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            code = NEIGHBOURS[name]
            neighbour = None
            if code is not None:
                neighbour = subprocess.Popen([sys.executable, "-c", code],
                                             stderr=subprocess.DEVNULL)
                time.sleep(3)  # (the renderer's start-up)
            try:
                per_step[name].append(agent_loop(env, args.steps))
            finally:
                if neighbour is not None:
                    neighbour.kill()
                    neighbour.wait()
    alone = statistics.median(per_step["alone"])
    print(f"HalfCheetah-v5 agent loop, {args.steps} steps, median of {args.repeats}; "
          f"load {os.getloadavg()[0]:.2f}")
    for name in names:
        median = statistics.median(per_step[name])
        paired = statistics.median(a / b for a, b in zip(per_step["alone"], per_step[name],
                                                         strict=True))
        print(f"{name:24s} CPU {median * 1e6:7.1f} us/step  x alone {alone / median:.2f}  "
              f"paired {paired:.2f}")


if __name__ == "__main__":
    main()
