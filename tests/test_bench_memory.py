"""The benchmarks' memory sampler counts pages shared between processes once."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from common import TreeSampler  # noqa: E402

SHARED = 96 * 2**20

CHILD = textwrap.dedent(f"""
    import mmap, os, sys, time
    ring = mmap.mmap(-1, {SHARED})          # MAP_SHARED, anonymous: like the video rings
    ring.write(b"x" * {SHARED})
    if os.fork() == 0:
        total = sum(ring[i] for i in range(0, {SHARED}, 4096))  # map every page here too
        print("ready", flush=True)
        time.sleep(60)
        os._exit(0)
    time.sleep(60)
""")


@pytest.mark.skipif(not Path("/proc/self/smaps_rollup").exists(), reason="needs Linux's PSS")
def test_a_ring_shared_by_two_processes_of_the_tree_is_counted_once():
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.2)
        sampled = TreeSampler(child.pid).sample()
    finally:
        import psutil

        for proc in psutil.Process(child.pid).children(recursive=True):
            proc.kill()
        child.kill()
        child.wait()
        child.stdout.close()
    # each process maps all 96 MB: summed RSS would be > 192 MB; shared once, ~96 MB + two
    # interpreters' own pages
    assert SHARED < sampled < 1.4 * SHARED


def test_the_sampler_keeps_its_own_cpu_share_small():
    # Reading PSS of a big process costs the kernel ~15 ms; at the 20 ms base interval the
    # sampler would take ~40 % of a core from the processes it measures.
    sampler = TreeSampler(1, interval=0.02, max_share=0.05)
    assert sampler.pause_after(0.001) == 0.02  # cheap samples: the base interval
    assert sampler.pause_after(0.015) == pytest.approx(0.285)
    cost = 0.015
    assert cost / (cost + sampler.pause_after(cost)) == pytest.approx(0.05)
