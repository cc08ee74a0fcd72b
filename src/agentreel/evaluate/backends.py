"""Where shards run: local processes (the default) or a Ray cluster.

A backend starts :func:`~agentreel.evaluate.worker.run_shard` for a
:class:`~agentreel.evaluate.plan.ShardTask` and says, for each finished job,
whether it succeeded, raised (the error is re-raised in the driver: it would
fail again), or *died* (the process vanished: SIGKILL, out of memory, a lost
node), which the driver answers by rerunning the unfinished episodes once.
Scheduling and transport are the backends' business: the standard library's
``ProcessPoolExecutor`` here, Ray there; agentreel adds no cluster code.

* :class:`LocalBackend`: one single-process ``ProcessPoolExecutor`` per shard,
  started with ``spawn`` (pygame, torch and open encoder pipes do not survive
  ``fork``), so one dead worker breaks only its own pool, not its neighbours'.
* :class:`RayBackend`: one Ray task per shard (``num_cpus=1``, Ray's own
  retries off so a retry cannot duplicate episodes). Ray is imported lazily
  (``pip install "agentreel[ray]"``). The run folder must be on a filesystem
  every node shares; workers check this and fail with a clear message.

Example:
    >>> backend = make_backend("local", workers=2)
    >>> backend.name, backend.workers
    ('local', 2)
    >>> backend.shutdown()
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import multiprocessing
import os
from dataclasses import dataclass, field
from typing import Any, Protocol

from agentreel.base.extras import require
from agentreel.evaluate.plan import ShardTask, check_count
from agentreel.evaluate.worker import ShardReport, run_shard

__all__ = ["Backend", "Job", "LocalBackend", "RayBackend", "WorkerDied", "make_backend",
           "BACKENDS"]

BACKENDS = ("local", "ray")


@dataclass(frozen=True)
class WorkerDied:
    """A job whose worker vanished before returning; ``reason`` says how."""

    reason: str


@dataclass(eq=False)
class Job:
    """One submitted shard task and the backend's handle on it."""

    task: ShardTask
    handle: Any = field(repr=False)


class Backend(Protocol):
    """What the driver needs from a backend."""

    name: str
    workers: int

    def submit(self, task: ShardTask) -> Job:
        """Start ``task``; never blocks on its completion."""

    def wait(self, jobs: list[Job], timeout: float) -> list[Job]:
        """The jobs among ``jobs`` that are finished, waiting at most ``timeout`` s for one."""

    def outcome(self, job: Job) -> ShardReport | WorkerDied:
        """A finished job's report, or how its worker died; re-raises the worker's own error."""

    def shutdown(self, *, cancel: bool = False) -> None:
        """Release resources; ``cancel``: abandon jobs still running."""


class LocalBackend:
    """Shards in local worker processes (one single-worker pool each).

    Args:
        workers: how many shards the driver plans (each runs in its own process).
        start_method: ``"spawn"`` (default) or ``"forkserver"``; not ``"fork"``.
    """

    name = "local"

    def __init__(self, workers: int, *, start_method: str = "spawn") -> None:
        self.workers = check_count("--workers", workers)
        if start_method not in ("spawn", "forkserver"):
            raise ValueError(f"start_method must be 'spawn' or 'forkserver', got {start_method!r}")
        self._context = multiprocessing.get_context(start_method)
        self._pools: list[cf.ProcessPoolExecutor] = []

    def submit(self, task: ShardTask) -> Job:
        pool = cf.ProcessPoolExecutor(max_workers=1, mp_context=self._context)
        self._pools.append(pool)
        return Job(task, (pool, pool.submit(run_shard, task)))

    def wait(self, jobs: list[Job], timeout: float) -> list[Job]:
        by_future = {job.handle[1]: job for job in jobs}
        done, _ = cf.wait(by_future, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        return [by_future[f] for f in done]

    def outcome(self, job: Job) -> ShardReport | WorkerDied:
        pool, future = job.handle
        try:
            return future.result()
        except cf.process.BrokenProcessPool:
            return WorkerDied("its process was terminated abruptly (killed, or out of memory)")
        finally:
            pool.shutdown(wait=False)
            self._pools.remove(pool)

    def shutdown(self, *, cancel: bool = False) -> None:
        pools, self._pools = self._pools, []
        for pool in pools:
            pool.shutdown(wait=not cancel, cancel_futures=cancel)


class RayBackend:
    """Shards as Ray tasks on a running cluster (``address``) or a local Ray instance.

    Args:
        workers: shards to plan; ``None``: the cluster's CPU count.
        address: a cluster address (``ray://host:10001``, ``host:6379`` or ``auto``);
            ``None``: an already initialised Ray session, else a new local instance.

    Ray is shut down by :meth:`shutdown` only if this backend started it.
    """

    name = "ray"

    def __init__(self, workers: int | None = None, *, address: str | None = None) -> None:
        self._ray = ray = require("ray", "ray")
        self._started = False
        if not ray.is_initialized():
            options: dict[str, Any] = {"logging_level": logging.WARNING}
            if address is None:
                options["include_dashboard"] = False
            try:
                ray.init(address=address, **options)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = f"the Ray cluster at {address}" if address else "a local Ray instance"
                raise RuntimeError(f"cannot start or reach {where}: {exc}") from exc
            self._started = True
        if workers is None:
            workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.workers = check_count("--workers", workers)
        self._remote = ray.remote(num_cpus=1, max_retries=0)(run_shard)
        self._running: set[Any] = set()

    def submit(self, task: ShardTask) -> Job:
        ref = self._remote.remote(task)
        self._running.add(ref)
        return Job(task, ref)

    def wait(self, jobs: list[Job], timeout: float) -> list[Job]:
        by_ref = {job.handle: job for job in jobs}
        ready, _ = self._ray.wait(list(by_ref), num_returns=len(by_ref), timeout=timeout)
        return [by_ref[ref] for ref in ready]

    def outcome(self, job: Job) -> ShardReport | WorkerDied:
        exceptions = self._ray.exceptions
        self._running.discard(job.handle)
        try:
            return self._ray.get(job.handle)
        except exceptions.RayTaskError as exc:  # the task raised: re-raise its own error
            cause = getattr(exc, "cause", None)
            if isinstance(cause, BaseException):
                raise cause from None
            raise RuntimeError(str(exc).strip().splitlines()[-1]) from None
        except exceptions.RayError as exc:  # the worker or its node died
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return WorkerDied(f"{type(exc).__name__}: {first}")

    def shutdown(self, *, cancel: bool = False) -> None:
        running, self._running = self._running, set()
        if cancel and self._ray.is_initialized():
            for ref in running:
                with contextlib.suppress(Exception):  # already finished or gone
                    self._ray.cancel(ref, force=True)
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()
            self._started = False


def make_backend(name: str, workers: int | None = None, *, address: str | None = None) -> Backend:
    """The backend called ``name`` (``local`` or ``ray``).

    Raises:
        ValueError: an unknown backend, bad ``workers``, or ``address`` with ``local``.
        ImportError: ``ray`` is not installed (the message names ``agentreel[ray]``).
    """
    if name == "local":
        if address is not None:
            raise ValueError("--address is for --backend ray (the address of a Ray cluster)")
        return LocalBackend(workers if workers is not None else min(4, os.cpu_count() or 1))
    if name == "ray":
        return RayBackend(workers, address=address)
    raise ValueError(f"unknown backend {name!r}: use one of {', '.join(BACKENDS)}")
