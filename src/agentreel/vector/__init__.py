"""Drop-in replacements for ``gymnasium.wrappers.vector``'s recording wrappers."""

from __future__ import annotations

__all__: list[str] = []
