"""SB3 training with agentreel.sb3.VecVideoRecorder against SB3's, rendering only, and nothing.

The variants, each run in a fresh child process (``python bench/sb3_recorders.py
child ...``) so that the peak RSS and the CPU seconds of the process tree (the agent,
agentreel's encoder process, moviepy's ffmpeg) belong to one variant; variants
alternate (reversed on odd repeats), medians over repeats:

* ``none``: no wrapper, nothing rendered;
* ``images-only`` (the physical floor of any recorder of these frames): a bench wrapper
  that renders exactly the sub-env images the recorders take, at the same steps
  (``venv.get_images()``: the 4 sub-envs rendered), and throws them away;
* ``render-only``: the same with ``venv.render()``, i.e. plus SB3's ``tile_images``
  (what SB3's recorder pays per frame before it keeps the frame);
* ``agentreel``: ``agentreel.sb3.VecVideoRecorder``;
* ``replay``: ``agentreel.sb3.VecVideoRecorder(..., replay=True)``: the training process
  renders nothing (each sub-env's episodes are logged; its per-step cost is inside the
  sub-envs' ``step``, so the bench counts it under "envs"), and a background replay
  process (a child of the agent: its CPU is in the tree's) renders and encodes the clips;
* ``sb3``: ``stable_baselines3.common.vec_env.VecVideoRecorder`` (moviepy).

Every variant counts the sub-env renders it caused (``get_images`` calls of the
``DummyVecEnv``), so the table shows that the floor renders the same frames.

Workloads (issue 15):

* ``training``: PPO (``MlpPolicy``, ``n_steps=512``, one torch thread) on 4 CartPole-v1
  envs (``DummyVecEnv``), ``learn(20_000)`` (PPO rounds up to whole rollouts: 20,480 env
  steps = 5,120 vector steps). "A video every 2,000 steps": SB3's trigger receives the
  VecEnv's step count (``step_id``, +1 per ``step()`` of all 4 envs), so 2,000 env steps
  are 500 vector steps: ``record_video_trigger=lambda s: s % 500 == 0``, SB3's default
  ``video_length=200``: clips start at vector steps 0, 500, 1000, ... and hold 201
  tiled frames each (vector steps s..s+200), i.e. 201 of every 500 vector steps are
  rendered (40 %), 4 CartPole renders each. Measured over ``learn()`` + ``close()``
  (until every video is on disk): wall time, CPU seconds of the agent process, CPU
  seconds of the process tree (agent + encoder or ffmpeg; the figure to read when the
  machine is shared), peak RSS of the tree and its growth from the first to the second
  half of the run.
* ``long clip``: one clip with ``video_length=1000`` (1,001 tiled 1200x800 frames),
  random actions, started at ``reset()``: peak RSS of the process tree per variant.

    python bench/sb3_recorders.py              # 20,000 steps, 3 repeats of each (~30 min)
    python bench/sb3_recorders.py --repeats 1  # 20,000 steps once (11 min at load 3-9)
    python bench/sb3_recorders.py --quick      # 8,000 steps, 1 repeat (4.5 min at load 3-6)
    python bench/sb3_recorders.py --profile agentreel   # cProfile of one training child
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

from common import Row, child_print, load, median, print_table, quiet, run_child

VARIANTS = ("none", "images-only", "render-only", "agentreel", "replay", "sb3")
LABELS = {"none": "no recording", "images-only": "sub-env renders only (floor)",
          "render-only": "venv.render() only (SB3's tiling)",
          "agentreel": "agentreel.sb3.VecVideoRecorder",
          "replay": "agentreel.sb3.VecVideoRecorder(replay=True)", "sb3": "SB3 VecVideoRecorder"}
CLIP_VARIANTS = ("images-only", "agentreel", "replay", "sb3")
MB = 1024 * 1024
N_ENVS = 4
EVERY_ENV_STEPS = 2_000
EVERY = EVERY_ENV_STEPS // N_ENVS  # the trigger counts vector steps
VIDEO_LENGTH = 200
LONG_CLIP = 1_000


LOOP_CPU = {"env": 0.0, "renders": 0.0, "total": 0.0}  # training thread's CPU seconds


def _counting_dummy_vec_env():
    """A ``DummyVecEnv`` that counts the sub-env images it renders and the training
    thread's CPU seconds spent rendering them and stepping the envs."""
    from stable_baselines3.common.vec_env import DummyVecEnv

    class CountingDummyVecEnv(DummyVecEnv):
        sub_env_renders = 0

        def get_images(self):  # type: ignore[override]
            start = time.thread_time()
            images = super().get_images()
            LOOP_CPU["renders"] += time.thread_time() - start
            CountingDummyVecEnv.sub_env_renders += len(images)
            return images

        def step_wait(self):  # type: ignore[override]
            start = time.thread_time()
            out = super().step_wait()
            LOOP_CPU["env"] += time.thread_time() - start
            return out

        def reset(self):  # type: ignore[override]
            start = time.thread_time()
            out = super().reset()
            LOOP_CPU["env"] += time.thread_time() - start
            return out

    return CountingDummyVecEnv


def _timed(venv):
    """The outermost wrapper: the training thread's CPU seconds in ``reset``/``step``
    (env + renders + recorder), so the recorder's own share is total - env - renders."""
    from stable_baselines3.common.vec_env import VecEnvWrapper

    class Timed(VecEnvWrapper):
        def reset(self):
            start = time.thread_time()
            out = self.venv.reset()
            LOOP_CPU["total"] += time.thread_time() - start
            return out

        def step_wait(self):
            start = time.thread_time()
            out = self.venv.step_wait()
            LOOP_CPU["total"] += time.thread_time() - start
            return out

        def close(self):
            start = time.thread_time()
            self.venv.close()
            LOOP_CPU["total"] += time.thread_time() - start

    return Timed(venv)


def _render_only(venv, trigger, video_length: int, tile: bool):
    """SB3's recorder schedule, rendering the same frames and keeping none; ``tile``:
    ``venv.render()`` (SB3's ``tile_images`` of them), else only ``get_images()``."""
    from stable_baselines3.common.vec_env import VecEnvWrapper

    class RenderOnly(VecEnvWrapper):
        def __init__(self) -> None:
            super().__init__(venv)
            self.step_id = 0
            self.frames = 0
            self.recording = False

        def reset(self):
            obs = self.venv.reset()
            if trigger(self.step_id):
                self._start()
            return obs

        def step_wait(self):
            out = self.venv.step_wait()
            self.step_id += 1
            if self.recording:
                self._capture()
                if self.frames > video_length:
                    self.recording = False
            elif trigger(self.step_id):
                self._start()
            return out

        def _start(self) -> None:
            self.recording, self.frames = True, 0
            self._capture()

        def _capture(self) -> None:
            if tile:
                self.venv.render()  # the 4 renders and SB3's tiling, thrown away
            else:
                self.venv.get_images()  # the 4 renders, thrown away
            self.frames += 1

    return RenderOnly()


def _venv(variant: str, folder: str, trigger, video_length: int):
    from stable_baselines3.common.env_util import make_vec_env

    venv = make_vec_env("CartPole-v1", n_envs=N_ENVS, seed=0, vec_env_cls=_counting_dummy_vec_env(),
                        env_kwargs={"render_mode": "rgb_array"})
    if variant in ("render-only", "images-only"):
        return _render_only(venv, trigger, video_length, tile=variant == "render-only")
    if variant in ("agentreel", "replay"):
        from agentreel.sb3 import VecVideoRecorder

        return VecVideoRecorder(venv, folder, trigger, video_length=video_length,
                                replay=variant == "replay")
    if variant == "sb3":
        from stable_baselines3.common.vec_env import VecVideoRecorder as SB3VecVideoRecorder

        return SB3VecVideoRecorder(venv, folder, trigger, video_length=video_length)
    return venv


def _every(step: int) -> bool:
    return step % EVERY == 0


def _first(step: int) -> bool:
    return step == 0


def child(workload: str, variant: str, steps: int, folder: str, profile: str = "") -> None:
    """One run (in the child process)."""
    quiet()
    import contextlib
    import io

    import numpy as np
    import torch

    torch.set_num_threads(1)
    if workload == "training":
        from stable_baselines3 import PPO

        venv = _timed(_venv(variant, folder, _every, VIDEO_LENGTH))
        model = PPO("MlpPolicy", venv, n_steps=512, seed=0, verbose=0)

        def work() -> None:
            model.learn(steps)
    else:
        venv = _timed(_venv(variant, folder, _first, LONG_CLIP))

        def work() -> None:
            venv.reset()  # the clip starts here, at step 0
            rng = np.random.default_rng(0)
            for _ in range(LONG_CLIP):
                venv.step(rng.integers(0, 2, size=N_ENVS))
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU time: load-independent
    tree_start, own_start, start = _tree_cpu_seconds(), time.process_time(), time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # SB3's recorder prints per video
        if profiler is not None:
            profiler.enable()
        work()
        loop_seconds = time.perf_counter() - start
        venv.close()  # agentreel: waits until every video is on disk
        if profiler is not None:
            profiler.disable()
    seconds = time.perf_counter() - start
    own_cpu = time.process_time() - own_start
    tree_cpu = _tree_cpu_seconds() - tree_start
    if profiler is not None:
        profiler.dump_stats(profile)
    videos = sorted(f for f in os.listdir(folder) if f.endswith(".mp4"))
    inner = venv
    while hasattr(inner, "venv"):
        inner = inner.venv
    child_print({"seconds": seconds, "loop_seconds": loop_seconds, "cpu": tree_cpu,
                 "own_cpu": own_cpu, "videos": len(videos), "loop_cpu": dict(LOOP_CPU),
                 "vector_steps": vector_steps(workload, steps),
                 "renders": int(type(inner).sub_env_renders)})


def vector_steps(workload: str, steps: int) -> int:
    """Vector steps the run took (PPO rounds ``steps`` up to whole rollouts)."""
    if workload != "training":
        return LONG_CLIP
    rollout = 512 * N_ENVS
    return -(-steps // rollout) * rollout // N_ENVS


def _tree_cpu_seconds() -> float:
    """CPU seconds (user + system) of this process, its live children (agentreel's encoder)
    and its reaped ones (moviepy's ffmpeg): the fair measure on a shared, overloaded machine."""
    import resource

    import psutil

    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    for proc in psutil.Process().children(recursive=True):
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def _recorder_cpu(res: dict) -> float:
    """Training-thread CPU seconds of the wrapper itself (no env step, no sub-env render)."""
    loop = res["loop_cpu"]
    return loop["total"] - loop["env"] - loop["renders"]


def _fmt(res: dict) -> str:
    loop = res["loop_cpu"]
    return (f"{res['seconds']:.1f} s wall (loop {res['loop_seconds']:.1f} s), {res['cpu']:.1f} s CPU tree, "
            f"{res['own_cpu']:.1f} s CPU agent, {res['videos']} videos, "
            f"training thread in env calls: {loop['total']:.2f} s CPU = envs {loop['env']:.2f} + "
            f"renders {loop['renders']:.2f} + recorder {_recorder_cpu(res):.2f}, "
            f"{res['renders']} sub-env renders / {res['vector_steps']} vector steps, "
            f"peak {res['peak_rss'] / MB:,.0f} MB "
            f"(halves {res['rss_first_half'] / MB:,.0f} / {res['rss_second_half'] / MB:,.0f}), "
            f"load {res['load']:.2f}")


def run(quick: bool = False, repeats: int | None = None) -> list[Row]:
    """Both workloads, variants alternating; returns the table rows."""
    repeats = repeats or (1 if quick else 3)
    steps = 8_000 if quick else 20_000
    results: dict[tuple[str, str], list[dict]] = {}
    print(f"# sb3: load average before {load():.2f}; PPO learn({steps}) on {N_ENVS} CartPole envs, "
          f"trigger step % {EVERY} == 0 (vector steps = every {EVERY_ENV_STEPS} env steps), "
          f"video_length={VIDEO_LENGTH}; long clip video_length={LONG_CLIP}", flush=True)
    for workload, variants in (("training", VARIANTS), ("long clip", CLIP_VARIANTS)):
        for rep in range(repeats):
            for variant in (variants if rep % 2 == 0 else variants[::-1]):
                folder = tempfile.mkdtemp(prefix="agentreel-sb3-bench-")
                try:
                    res = run_child("sb3_recorders", [workload.replace(" ", "-"), variant, steps, folder])
                finally:
                    shutil.rmtree(folder, ignore_errors=True)
                res["load"] = load()
                results.setdefault((workload, variant), []).append(res)
                print(f"#   {workload} {variant}: {_fmt(res)}", flush=True)
    rows = _training_rows(results, steps) + _clip_rows(results)
    print(f"# sb3: load average after {load():.2f}", flush=True)
    return rows


def _training_rows(results: dict[tuple[str, str], list[dict]], steps: int) -> list[Row]:
    def med(variant: str, key: str) -> float:
        return median([r[key] for r in results[("training", variant)]])

    rows: list[Row] = []
    for key, what in (("cpu", "CPU s, process tree"), ("own_cpu", "CPU s, agent process"),
                      ("seconds", "wall s")):
        none, floor = med("none", key), med("images-only", key)
        for variant in VARIANTS:
            value = med(variant, key)
            over_none = (value / none - 1) * 100
            over_floor = (value / floor - 1) * 100
            agentreel = variant in ("agentreel", "replay")
            rows.append(Row(
                "sb3", LABELS[variant],
                f"PPO learn({steps}) + close, {what}" + ("" if variant == "none" else
                                                          f" ({over_none:+.0f} % vs none"
                                                          + ("" if variant == "images-only" else
                                                             f", {over_floor:+.0f} % vs floor") + ")"),
                value, "s",
                vs_peer=value / med("sb3", key) if agentreel else None,
                vs_limit=value / floor if variant not in ("none", "images-only") else None,
                target="<= 5 % vs none" if agentreel else "",
                met=over_none <= 5 if agentreel else None))
    frames = med("images-only", "renders") / N_ENVS
    renders = median([r["loop_cpu"]["renders"] for r in results[("training", "images-only")]])
    rows.append(Row("sb3", LABELS["images-only"], f"training thread CPU in the {N_ENVS} sub-env "
                    f"renders, per recorded frame ({frames:.0f} frames)", renders / frames * 1000, "ms"))
    for variant in ("render-only", "agentreel", "replay", "sb3"):
        own = median([_recorder_cpu(r) for r in results[("training", variant)]]) / frames * 1000
        rows.append(Row("sb3", LABELS[variant], "training thread CPU in the wrapper itself (not env "
                        "steps, not sub-env renders), per recorded frame", own, "ms",
                        vs_limit=own / (renders / frames * 1000)))
    for variant in VARIANTS:
        runs = results[("training", variant)]
        growth = median([r["rss_second_half"] - r["rss_first_half"] for r in runs]) / MB
        peak = med(variant, "peak_rss") / MB
        rows.append(Row("sb3", LABELS[variant], f"peak RSS of the tree, training "
                        f"(2nd-half growth {growth:+.0f} MB)", peak, "MB",
                        vs_peer=peak / (med("sb3", "peak_rss") / MB)
                        if variant in ("agentreel", "replay") else None))
    return rows


def _clip_rows(results: dict[tuple[str, str], list[dict]]) -> list[Row]:
    def med(variant: str, key: str) -> float:
        return median([r[key] for r in results[("long clip", variant)]])

    floor = med("images-only", "peak_rss") / MB
    rows = []
    for variant in CLIP_VARIANTS:
        peak = med(variant, "peak_rss") / MB
        rows.append(Row("sb3", LABELS[variant], f"peak RSS of the tree, one {LONG_CLIP}-step clip "
                        f"(+{peak - floor:,.0f} MB over renders only; CPU {med(variant, 'cpu'):.1f} s)",
                        peak, "MB",
                        vs_peer=peak / (med("sb3", "peak_rss") / MB)
                        if variant in ("agentreel", "replay") else None,
                        vs_limit=peak / floor if variant != "images-only" else None))
    return rows


def profile(variant: str, steps: int, out: str) -> None:
    """cProfile of one training child (agent process only), top functions by own time."""
    import pstats

    folder = tempfile.mkdtemp(prefix="agentreel-sb3-bench-")
    try:
        res = run_child("sb3_recorders", ["training", variant, steps, folder, out])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    res["load"] = load()
    print(f"# {variant}: {_fmt(res)}")
    stats = pstats.Stats(out)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)


if __name__ == "__main__" and sys.argv[1:2] == ["child"]:
    child(sys.argv[2].replace("-", " "), sys.argv[3], int(sys.argv[4]), sys.argv[5],
          sys.argv[6] if len(sys.argv) > 6 else "")
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--profile", choices=VARIANTS, help="cProfile one training child instead")
    args = parser.parse_args()
    quiet()
    if args.profile:
        profile(args.profile, 8_000 if args.quick else 20_000,
                os.path.join(tempfile.gettempdir(), f"sb3-bench-{args.profile}.prof"))
    else:
        print_table(run(args.quick, args.repeats))
