"""Compatibility: ``agentreel.keep`` is now :mod:`agentreel.clips.keep` (same objects)."""

from agentreel.clips.keep import (
    KeepRule,
    Verdict,
    as_keep_rule,
    best,
    failures,
    is_success,
    new_best,
    successes,
    worst,
)

__all__ = [
    "KeepRule",
    "Verdict",
    "as_keep_rule",
    "best",
    "failures",
    "is_success",
    "new_best",
    "successes",
    "worst",
]
