"""The ``agentreel`` command line."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``agentreel`` command."""
    print("agentreel: the record command lands with the video engine.", file=sys.stderr)
    return 0
