"""The installed package's version, read from its metadata (one source: pyproject.toml)."""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("agentreel")
except metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
