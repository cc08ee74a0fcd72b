"""Shared helpers of the benchmark suite: timing, the machine, child processes, RSS.

Nothing here asserts anything: the suite measures and prints.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))


def quiet() -> None:
    """Silence the warnings that would drown the table (Gymnasium's, pygame's)."""
    warnings.filterwarnings("ignore")
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import logging

    logging.getLogger("agentreel").setLevel(logging.ERROR)


def median(values: Sequence[float]) -> float:
    """Median of a non-empty sequence (NaN when empty)."""
    return statistics.median(values) if values else float("nan")


def load() -> float:
    """The 1-minute load average."""
    return os.getloadavg()[0]


def machine() -> dict[str, Any]:
    """nproc, the CPU model, memory, Python and library versions, the load average now."""
    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        import psutil

        info["memory_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    for name in ("gymnasium", "av", "numpy", "stable_baselines3", "moviepy"):
        try:
            module = __import__(name)
            info[name] = getattr(module, "__version__", "?")
        except ImportError:
            info[name] = None
    return info


class Stopwatch:
    """Accumulates the longest single call it timed (for worst-stall figures)."""

    def __init__(self) -> None:
        self.worst = 0.0

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` and remember its duration if it is the longest so far."""
        start = time.perf_counter()
        out = fn(*args, **kwargs)
        elapsed = time.perf_counter() - start
        if elapsed > self.worst:
            self.worst = elapsed
        return out


def process_memory(proc: Any) -> int:
    """A process's memory (bytes) for summing over a tree: its PSS where Linux gives it.

    PSS (proportional set size, ``/proc/PID/smaps_rollup``) splits each page among the
    processes that map it, so a shared-memory ring mapped by the agent and its encoder
    counts once in a sum; RSS (the fallback elsewhere) counts it in each process.
    """
    try:
        with open(f"/proc/{proc.pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return int(proc.memory_info().rss)


@dataclass
class TreeSampler:
    """Samples the memory of a process and all its descendants in a background thread.

    The sum is of PSS where available (shared pages counted once, see
    :func:`process_memory`), else of RSS (an upper bound). ``peak`` is the largest sum
    seen; ``series`` holds ``(t, bytes)`` samples.

    Reading PSS makes the kernel walk every page of every process of the tree: ~12-17 ms
    of CPU per sample for a 200 MB process on this VM. Sampled every 20 ms, that took a
    third of a core away from the processes being measured (the agent and its encoder
    share the VM's two cores), so the pause after each sample stretches to keep the
    sampler's share of a core under ``max_share``.
    """

    pid: int
    interval: float = 0.02
    max_share: float = 0.05
    peak: int = 0
    series: list[tuple[float, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> TreeSampler:
        """Start sampling."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop sampling (takes one last sample)."""
        self._stop.set()
        self._thread.join()

    def sample(self) -> int:
        """Memory of the tree now (bytes); processes that vanish mid-read are skipped."""
        import psutil

        total = 0
        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                total += process_memory(proc)
        return total

    def pause_after(self, cost: float) -> float:
        """Seconds to wait after a sample that took ``cost`` seconds of CPU.

        >>> TreeSampler(1).pause_after(0.0005), TreeSampler(1).pause_after(0.015)
        (0.02, 0.285)
        """
        return round(max(self.interval, cost / self.max_share - cost), 6)

    def _run(self) -> None:
        start = time.perf_counter()
        while True:
            cpu = time.thread_time()
            rss = self.sample()
            if rss:
                self.series.append((time.perf_counter() - start, rss))
                self.peak = max(self.peak, rss)
            if self._stop.wait(self.pause_after(time.thread_time() - cpu)):
                return


def run_child(module: str, args: Sequence[str], *, sample_rss: bool = True,
              timeout: float = 1800) -> dict[str, Any]:
    """Run ``python bench/<module>.py child ARGS...``; return its JSON result plus RSS figures.

    The child prints one JSON object on its last stdout line. ``peak_rss`` is the
    peak memory (PSS where available, see :func:`process_memory`) of the child and all its
    descendants (e.g. the encoder process);
    ``rss_first_half``/``rss_second_half`` split the peak by the sampling time.
    """
    cmd = [sys.executable, os.path.join(BENCH_DIR, f"{module}.py"), "child", *map(str, args)]
    env = dict(os.environ, PYTHONWARNINGS="ignore", SDL_VIDEODRIVER="dummy",
               XDG_RUNTIME_DIR=os.environ.get("XDG_RUNTIME_DIR", "/tmp"))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    sampler = TreeSampler(proc.pid).start() if sample_rss else None
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if sampler is not None:
            sampler.stop()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-3000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    if sampler is not None:
        result["peak_rss"] = sampler.peak
        series = sampler.series
        if series:
            half = series[-1][0] / 2
            first = [r for t, r in series if t <= half]
            second = [r for t, r in series if t > half]
            result["rss_first_half"] = max(first) if first else 0
            result["rss_second_half"] = max(second) if second else 0
    return result


def helper_cpu_seconds(recorder: str) -> float:
    """CPU seconds (user + system) of the process that encodes ``recorder``'s videos.

    ``"agentreel"``: its encoder process (``/proc/PID/stat``, start-up included; call
    after the last video is complete, before the interpreter exits). Any other
    recorder: the waited-for children of this process (e.g. moviepy's ffmpeg).
    """
    if recorder == "agentreel":
        from agentreel.video.engine import default_engine

        pid = default_engine().encoder_pid
        if pid is None:
            return 0.0
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    times = os.times()
    return times.children_user + times.children_system


def cpu_note(res: dict[str, Any], steps_key: str = "steps", frames_key: str = "frames") -> str:
    """"caller X ms/step, encoder Y ms/frame, Z bytes/frame" from a child's result."""
    steps, frames = max(1, res[steps_key]), max(1, res.get(frames_key, 0))
    return (f"caller CPU {res['caller_cpu'] / steps * 1e3:5.1f} ms/step, encoder CPU "
            f"{res.get('helper_cpu', 0) / frames * 1e3:5.1f} ms/frame, "
            f"{res.get('video_bytes', 0) / frames:6.0f} bytes/frame")


def child_print(result: dict[str, Any]) -> None:
    """The child's side of :func:`run_child`: one JSON line on stdout."""
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def folder_bytes(folder: str, suffix: str = ".mp4") -> int:
    """Total size of the files ending in ``suffix`` in ``folder``."""
    return sum(
        os.path.getsize(os.path.join(folder, name))
        for name in os.listdir(folder)
        if name.endswith(suffix)
    )


@dataclass
class Row:
    """One line of the results table.

    ``value`` is in ``unit``; ``vs_peer``/``vs_limit`` are ratios (or None);
    ``target`` says what the issue asks of this line and ``met`` whether it is.
    """

    section: str
    subject: str
    metric: str
    value: float
    unit: str
    vs_peer: float | None = None
    vs_limit: float | None = None
    target: str = ""
    met: bool | None = None


def fmt_value(value: float, unit: str) -> str:
    """A compact number for the table."""
    if value != value:  # NaN
        return "n/a"
    if unit == "MB":
        return f"{value:,.0f} MB"
    if unit == "ms":
        return f"{value:.1f} ms"
    if unit == "us":
        return f"{value:.2f} us"
    if unit == "%":
        return f"{value:+.1f} %"
    if abs(value) >= 100:
        return f"{value:,.0f} {unit}".strip()
    return f"{value:.1f} {unit}".strip()


def print_table(rows: Sequence[Row], file: Any = None) -> None:
    """Print the rows as one Markdown table."""
    out = file or sys.stdout
    print("| # | subject | metric | value | vs peer | vs limit | target | met |", file=out)
    print("|---|---|---|---:|---:|---:|---|---|", file=out)
    for r in rows:
        peer = f"{r.vs_peer:.2f}x" if r.vs_peer is not None else ""
        limit = f"{r.vs_limit:.2f}x" if r.vs_limit is not None else ""
        met = {True: "yes", False: "**no**", None: ""}[r.met]
        print(f"| {r.section} | {r.subject} | {r.metric} | {fmt_value(r.value, r.unit)} | "
              f"{peer} | {limit} | {r.target} | {met} |", file=out)
