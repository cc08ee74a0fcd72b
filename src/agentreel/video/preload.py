"""Load the encoder (PyAV) in a background thread while the encoder process already works.

Importing PyAV takes most of an encoder process's start-up (a few hundred ms). The
encoder process starts :class:`EncoderLoader` first and meanwhile takes frames out of the
callers' rings (:mod:`agentreel.video.worker`), so the first recorded steps never wait
for that import. The thread backend loads it at once (:meth:`EncoderLoader.now`).

>>> loader = EncoderLoader.now()
>>> loader.loaded, loader.get().__name__
(True, 'VideoFileWriter')
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

__all__ = ["EncoderLoader"]


class EncoderLoader:
    """The encoder's :class:`~agentreel.video.encoder.VideoFileWriter` class, once imported."""

    def __init__(self, on_done: Callable[[], object] | None = None) -> None:
        self._on_done = on_done
        self._done = threading.Event()
        self._writer: Any = None
        self._error: BaseException | None = None

    @classmethod
    def now(cls) -> EncoderLoader:
        """Import in this thread, now."""
        loader = cls()
        loader._load()
        return loader

    @classmethod
    def in_background(cls, on_done: Callable[[], object] | None = None) -> EncoderLoader:
        """Start importing in a daemon thread; :attr:`loaded` tells when it is done,
        and ``on_done()`` is called then (on that thread)."""
        loader = cls(on_done)
        threading.Thread(target=loader._load, name="agentreel-encoder-import",
                         daemon=True).start()
        return loader

    def _load(self) -> None:
        try:
            from agentreel.video.encoder import VideoFileWriter

            self._writer = VideoFileWriter
        except BaseException as exc:  # reported by get(), on the thread that needs it
            self._error = exc
        finally:
            self._done.set()
            if self._on_done is not None:
                self._on_done()

    @property
    def loaded(self) -> bool:
        """True once the import finished (or failed: :meth:`get` then raises)."""
        return self._done.is_set()

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the import to finish; True when it has."""
        return self._done.wait(timeout)

    def get(self) -> Any:
        """The writer class (waits for the import); re-raises the import's error."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._writer
