"""Per-agent views of multi-agent episode records.

A multi-agent episode is one :class:`~agentreel.core.records.EpisodeRecord` whose
``episode_return`` is the team return (the sum over agents), ``length`` the
episode's length in env steps, and ``extras["agents"]`` a mapping from each
agent's id (a string) to ``{"return", "length", "terminated", "truncated"}``
plus that agent's ``info_keywords`` values (see :mod:`agentreel.pettingzoo`).

Example:
    >>> from agentreel.core.records import EpisodeRecord
    >>> rows = [EpisodeRecord(0, 3.0, 5, extras={"agents": {"a": {"return": 1.0, "length": 5},
    ...                                                      "b": {"return": 2.0, "length": 4}}}),
    ...         EpisodeRecord(1, 1.0, 2, extras={"agents": {"b": {"return": 1.0, "length": 2}}})]
    >>> is_multi_agent(rows), agent_ids(rows)
    (True, ['a', 'b'])
    >>> agent_series(rows, "b"), agent_series(rows, "a", metric="length")
    (([0, 1], [2.0, 1.0]), ([0], [5.0]))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentreel.core.records import EpisodeRecord

__all__ = ["AGENTS_KEY", "agent_ids", "agent_records", "agent_returns_text", "agent_series",
           "is_multi_agent", "summarize_agents"]

#: The ``extras`` key holding the per-agent mapping.
AGENTS_KEY = "agents"


def _agents(record: EpisodeRecord) -> dict[str, Any]:
    agents = record.extras.get(AGENTS_KEY)
    return agents if isinstance(agents, dict) else {}


def is_multi_agent(records: Sequence[EpisodeRecord]) -> bool:
    """Some record carries per-agent results."""
    return any(_agents(r) for r in records)


def agent_ids(records: Sequence[EpisodeRecord]) -> list[str]:
    """Every agent id in the records, in the order first seen."""
    seen: dict[str, None] = {}
    for record in records:
        for agent in _agents(record):
            seen.setdefault(str(agent), None)
    return list(seen)


def agent_series(records: Sequence[EpisodeRecord], agent: str,
                 metric: str = "return") -> tuple[list[int], list[float]]:
    """``(episode indices, values)`` of one agent's ``"return"`` or ``"length"``, where it played."""
    if metric not in ("return", "length"):
        raise ValueError(f"metric must be 'return' or 'length', got {metric!r}")
    index, values = [], []
    for record in records:
        entry = _agents(record).get(agent)
        if isinstance(entry, dict) and entry.get(metric) is not None:
            index.append(record.index)
            values.append(float(entry[metric]))
    return index, values


def agent_records(records: Sequence[EpisodeRecord], agent: str) -> list[EpisodeRecord]:
    """One agent's episodes as single-agent records (its return and length), for any analysis.

    >>> rec = EpisodeRecord(4, 3.0, 5, extras={"agents": {"a": {"return": 1.0, "length": 5,
    ...                                                        "terminated": True}}})
    >>> r = agent_records([rec], "a")[0]
    >>> r.index, r.episode_return, r.length, r.terminated
    (4, 1.0, 5, True)
    """
    out = []
    for record in records:
        entry = _agents(record).get(agent)
        if not isinstance(entry, dict):
            continue
        extras = {k: v for k, v in entry.items()
                  if k not in ("return", "length", "terminated", "truncated")}
        out.append(record.replace(
            episode_return=float(entry.get("return", 0.0)), length=int(entry.get("length", 0)),
            terminated=bool(entry.get("terminated", False)),
            truncated=bool(entry.get("truncated", False)), extras=extras))
    return out


def agent_returns_text(record: EpisodeRecord, *, limit: int = 8) -> str:
    """Each agent's return in one short line (``a 1.0, b 2.0``), ``+N more`` past ``limit``.

    >>> agent_returns_text(EpisodeRecord(0, 3.0, 1, extras={"agents": {"a": {"return": 1}, "b": {"return": 2}}}))
    'a 1.0, b 2.0'
    """
    parts = [f"{agent} {float(entry.get('return', 0.0)):.1f}"
             for agent, entry in _agents(record).items() if isinstance(entry, dict)]
    if len(parts) > limit:
        parts = parts[:limit] + [f"+{len(parts) - limit} more"]
    return ", ".join(parts)


def summarize_agents(records: Sequence[EpisodeRecord], *, seed: int | None = 0,
                     n_resamples: int = 2_000) -> dict[str, Any]:
    """A :class:`~agentreel.analysis.Summary` of each agent's returns (``{}`` for single-agent runs).

    >>> rows = [EpisodeRecord(i, 3.0, 5, extras={"agents": {"a": {"return": float(i), "length": 5}}})
    ...         for i in range(4)]
    >>> s = summarize_agents(rows)["a"]
    >>> s.count, s.mean, s.mean_length
    (4, 1.5, 5.0)
    """
    from agentreel.analysis.summary import summarize_records

    return {agent: summarize_records(agent_records(records, agent), seed=seed,
                                     n_resamples=n_resamples)
            for agent in agent_ids(records)}
