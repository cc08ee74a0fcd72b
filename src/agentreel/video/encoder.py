"""One video file being written with PyAV: encode, then finish atomically.

This module is used inside the encoder (a worker process or thread); callers
use :class:`agentreel.video.VideoEngine` instead.

While recording, frames go to ``NAME.EXT.partial`` in the target folder. For
MP4 that file is a *fragmented* MP4 (``empty_moov`` + a fragment about every
second), so if everything is killed it still decodes up to its last fragment.
:meth:`VideoFileWriter.finish` then remuxes it (stream copy, no re-encode)
into a normal ``+faststart`` MP4 inside a private temporary folder (``mkdtemp``,
mode 0700, next to the video) and ``os.replace``-s that onto ``NAME.EXT``: a reader
never sees a half file under the final name. WebM and GIF are written to
``NAME.EXT.partial`` and renamed. ``NAME.EXT.partial`` is created exclusively
(``O_EXCL | O_NOFOLLOW``, :mod:`agentreel.base.safe_files`): a link planted there is
removed, never written through; a link at ``NAME.EXT`` is replaced by the rename.

Most RL episodes are shorter than that first fragment, and until it is written
a fragmented file holds nothing decodable anyway. So an MP4 keeps its encoded
packets in memory until the video reaches a fragment's duration and only then
opens the fragmented ``.partial``; if it finishes before, the final MP4 is
written straight from memory (no ``.partial``, no remux).

Example (normally the engine does this for you)::

    >>> import numpy as np, tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> w = VideoFileWriter(os.path.join(folder, "a.mp4"), fps=30, format="mp4",
    ...                     width=64, height=48)
    >>> for _ in range(3):
    ...     w.write(np.zeros((48, 64, 3), np.uint8))
    >>> w.finish()
    3
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from fractions import Fraction
from typing import IO

import av
import numpy as np
from av.codec.context import Flags
from av.video.reformatter import Interpolation, VideoReformatter

__all__ = [
    "AUTO_LADDER",
    "DEFAULT_PRESET",
    "DEFAULT_QUALITY",
    "FORMATS",
    "PARTIAL_SUFFIX",
    "VideoFileWriter",
    "fps_fraction",
    "quality_range",
    "sidecar_path",
]

from agentreel.base.safe_files import open_exclusive
from agentreel.core.videofiles import check_format
from agentreel.video.spec import (
    AUTO_LADDER,
    DEFAULT_PRESET,
    DEFAULT_QUALITY,
    FORMATS,
    PARTIAL_SUFFIX,
    fps_fraction,
    quality_range,
    sidecar_path,
)

#: Chroma is subsampled by taking one pixel of each 2x2 block ("point") rather
#: than averaging them ("bilinear", swscale's default): the RGB→yuv420p
#: conversion is most of the encoder's cost and this cuts it by about a third
#: (BENCHMARKS.md, "Engine measurements"). Luma is untouched (same size); colour
#: edges may shift by at most one pixel, invisible at normal viewing sizes.
#: ``FULL_CHR_H_INP`` makes swscale compute U and V for every input pixel with
#: its SIMD routine and then pick one of each pair, instead of its plain-C
#: half-width routine: 43 % fewer conversion instructions (16.0M → 9.1M per
#: 1200×800 frame under callgrind; BENCHMARKS.md, "Vector recording, fourth round").
CHROMA_INTERPOLATION = Interpolation.POINT | Interpolation.FULL_CHR_H_INP

#: Keyframe interval in seconds (x264 default is 250 frames; moviepy uses that).
_GOP_SECONDS = 250 / 30
#: Fragment duration of the partial MP4, microseconds (~1 s of video). Shorter
#: MP4s never get a partial file: their packets stay in memory until finish.
_FRAGMENT_US = 1_000_000


class VideoFileWriter:
    """Encode RGB frames of one size into ``path`` (written atomically).

    Args:
        path: final file name; nothing is created under it until :meth:`finish`.
        fps: frames per second (``pts`` = frame index, time base ``1/fps``).
        format: ``"mp4"`` (H.264/yuv420p), ``"webm"`` (VP9/yuv420p) or ``"gif"``.
        width, height: frame size; must be even for mp4/webm.
        quality: CRF (mp4: 0–51, default 23; webm: 4–63, default 32; ignored for gif).
        preset: x264 preset for mp4.
        x264_params: extra ``key=value:key=value`` x264 options for mp4 (applied
            after the preset), e.g. one of :data:`AUTO_LADDER`'s.
    """

    def __init__(
        self,
        path: str,
        *,
        fps: float | Fraction,
        format: str = "mp4",
        width: int,
        height: int,
        quality: int | None = None,
        preset: str = DEFAULT_PRESET,
        x264_params: str | None = None,
    ) -> None:
        check_format(format)
        self.path = os.fspath(path)
        self.partial_path = self.path + PARTIAL_SUFFIX
        self.format = format
        self.fps = fps_fraction(fps)
        self.width = int(width)
        self.height = int(height)
        self.frames = 0
        self._reformatter = VideoReformatter()
        quality = DEFAULT_QUALITY[format] if quality is None else int(quality)
        self._container: av.container.OutputContainer | None = None
        self._stream: av.video.stream.VideoStream | None = None
        #: MP4 packets held in memory until the fragmented partial is opened
        #: (``None`` once it is, and always for webm/gif).
        self._packets: list[av.Packet] | None = None
        #: ``NAME.EXT.partial``, created exclusively (see the module docstring).
        self._file: IO[bytes] | None = None
        #: Frame count at which the video reaches one fragment's duration.
        self._direct_limit = math.ceil(Fraction(_FRAGMENT_US, 1_000_000) * self.fps)
        if format == "mp4":
            self._codec = self._mp4_encoder(quality, preset, x264_params)
            self._packets = []
        else:
            self._container = self._open(quality)
            if self._stream is None:
                raise RuntimeError("the output container was opened without a video stream")
            self._codec = self._stream.codec_context
        self._closed = False

    # -- setup ---------------------------------------------------------------
    def _mp4_encoder(
        self, quality: int, preset: str, x264_params: str | None
    ) -> av.video.codeccontext.VideoCodecContext:
        """An x264 encoder of its own: MP4 files are opened later, if at all."""
        cc = av.CodecContext.create("libx264", "w")
        options = {"preset": preset, "crf": str(quality), "g": str(self._gop())}
        if x264_params:
            options["x264-params"] = x264_params
        cc.options = options
        cc.framerate = self.fps
        # What OutputContainer.add_stream sets (a CRF encode, no bit-rate target).
        cc.bit_rate = 0
        cc.bit_rate_tolerance = 128000
        cc.flags |= Flags.global_header  # SPS/PPS as extradata (MP4's avcC box)
        self._pix_fmt = "yuv420p"
        self._configure(cc)
        return cc

    def _open(self, quality: int) -> av.container.OutputContainer:
        """Open ``NAME.EXT.partial`` with its encoding stream (webm and gif)."""
        rate, gop = self.fps, self._gop()
        if self.format == "webm":
            container = av.open(self._partial_file(), "w", format="webm")
            stream = container.add_stream("libvpx-vp9", rate=rate)
            stream.options = {
                "deadline": "realtime",
                "cpu-used": "8",
                "crf": str(quality),
                "b": "0",
                "row-mt": "1",
                "g": str(gop),
            }
            self._pix_fmt = "yuv420p"
        else:
            container = av.open(self._partial_file(), "w", format="gif")
            stream = container.add_stream("gif", rate=rate)
            self._pix_fmt = "rgb8"
        stream.time_base = Fraction(1) / rate
        self._configure(stream.codec_context)
        self._stream = stream
        return container

    def _partial_file(self) -> IO[bytes]:
        """Create ``NAME.EXT.partial`` exclusively, never through a link."""
        self._file = open_exclusive(self.partial_path)
        return self._file

    def _close_file(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            file.close()

    def _gop(self) -> int:
        """Keyframe interval in frames (:data:`_GOP_SECONDS` at this frame rate)."""
        return max(1, round(float(self.fps) * _GOP_SECONDS))

    def _configure(self, cc: av.video.codeccontext.VideoCodecContext) -> None:
        """Set the size, pixel format, time base, threads and colour tags of an encoder."""
        cc.width = self.width
        cc.height = self.height
        cc.pix_fmt = self._pix_fmt
        cc.time_base = Fraction(1) / self.fps
        # Frame threading: smaller files than the default slice threading at the
        # same speed (BENCHMARKS.md), and one thread is what the encoder process has.
        cc.thread_type = "FRAME"
        cc.thread_count = 1
        if self._pix_fmt == "yuv420p":
            # swscale converts with BT.601 limited range; say so in the file so
            # players do not guess BT.709 for large frames.
            with contextlib.suppress(AttributeError, TypeError, ValueError):
                cc.colorspace = 6  # SMPTE 170M (BT.601)
                cc.color_primaries = 6
                cc.color_trc = 6
                cc.color_range = 1  # MPEG (limited)

    def _open_fragmented(self) -> None:
        """Open the fragmented ``.partial`` MP4 and write the buffered packets to it."""
        container = av.open(
            self._partial_file(),
            "w",
            format="mp4",
            options={
                # Fragments every ~1 s (cut anywhere, not only at keyframes,
                # so we can keep a long GOP and small files): a killed
                # recording decodes from the start up to its last fragment.
                "movflags": "empty_moov+default_base_moof",
                "frag_duration": str(_FRAGMENT_US),
                # Hand each fragment to the OS at once (not when the 32 KB
                # I/O buffer fills), so a SIGKILL loses at most ~1 s.
                "flush_packets": "1",
            },
        )
        self._container = container
        self._stream = _add_h264_stream(container, self._codec)
        packets, self._packets = self._packets or [], None
        self._mux(packets)

    # -- frames --------------------------------------------------------------
    def convert(self, rgb: np.ndarray) -> av.VideoFrame:
        """Convert an RGB uint8 ``(H, W, 3)`` array to an encoder-ready frame.

        The array is only read during this call (it may be a shared-memory
        slot that is reused right afterwards).
        """
        src = av.VideoFrame.from_numpy_buffer(rgb, format="rgb24")
        frame = self._reformatter.reformat(
            src, format=self._pix_fmt, interpolation=CHROMA_INTERPOLATION, threads=1
        )
        if frame is src:  # no conversion happened: detach from the buffer
            frame = av.VideoFrame.from_ndarray(np.array(rgb), format="rgb24")
        return frame

    def encode(self, frame: av.VideoFrame) -> None:
        """Encode a frame from :meth:`convert` as the next frame of the video."""
        frame.pts = self.frames
        frame.time_base = self._codec.time_base
        self._mux(self._codec.encode(frame))
        self.frames += 1
        if self._packets is not None and self.frames >= self._direct_limit:
            self._open_fragmented()  # one fragment's worth: from now on as crash-safe as before

    def write(self, rgb: np.ndarray) -> None:
        """Convert and encode one RGB frame."""
        self.encode(self.convert(rgb))

    def _mux(self, packets: list[av.Packet]) -> None:
        """Keep ``packets`` in memory, or write them to the open ``.partial`` file."""
        if self._packets is not None:
            self._packets.extend(packets)
            return
        container = self._container
        if container is None:
            raise RuntimeError("packets to write but no open output file")
        for packet in packets:
            packet.stream = self._stream
            container.mux(packet)

    # -- ending --------------------------------------------------------------
    def close_partial(self) -> None:
        """Flush and close the partial file, leaving it in place (crash path).

        The ``.partial`` file is then a complete, decodable video holding every
        frame written so far (an MP4 still held in memory is written out now);
        the final name is not touched.
        """
        if self._closed:
            return
        self._closed = True
        try:
            self._mux(self._codec.encode(None))
            if self._packets is not None:
                self._open_fragmented()
        finally:
            try:
                if self._container is not None:
                    self._container.close()
            finally:
                self._close_file()

    def finish(self) -> int:
        """Complete the file and move it onto :attr:`path`; return the frame count."""
        if self._packets is not None and not self._closed:
            # Shorter than a fragment: write the final MP4 from memory.
            self._closed = True
            self._mux(self._codec.encode(None))
            packets, self._packets = self._packets, None
            self._write_final(lambda tmp: _write_faststart(packets, self._codec, tmp))
            return self.frames
        self.close_partial()
        if self.format == "mp4":
            self._write_final(lambda tmp: _remux_faststart(self.partial_path, tmp))
            _remove(self.partial_path)
        else:
            os.replace(self.partial_path, self.path)
        return self.frames

    def _write_final(self, write: Callable[[str], None]) -> None:
        """Let ``write(tmp)`` write the final MP4 under a temporary name, then move it onto :attr:`path`.

        ``+faststart`` makes FFmpeg reopen the file by name, so it cannot be handed an
        exclusively created file object; the temporary lives in a private folder
        (``mkdtemp``: mode 0700, a fresh name) where nobody else can plant a link.
        """
        folder, name = os.path.split(self.path)
        private = tempfile.mkdtemp(prefix=f".{name}.", suffix=".faststart", dir=folder or ".")
        try:
            tmp = os.path.join(private, name)
            write(tmp)
            os.replace(tmp, self.path)
        finally:
            shutil.rmtree(private, ignore_errors=True)

    def abort(self) -> None:
        """Stop and delete everything written (no final file, no partial)."""
        if not self._closed:
            self._closed = True
            if self._container is not None:
                with contextlib.suppress(Exception):
                    self._container.close()
        self._close_file()
        self._packets = None
        _remove(self.partial_path)
        _remove(self.path + ".faststart" + PARTIAL_SUFFIX)


@functools.cache
def _h264_template() -> av.video.stream.VideoStream:
    """An H.264 stream of an MP4 that is never written: the template of output streams.

    PyAV makes a codec-copy stream only from another stream; every field that
    matters is then overwritten from the real encoder by :func:`_add_h264_stream`.
    """
    return av.open(io.BytesIO(), "w", format="mp4").add_stream("libx264")


def _add_h264_stream(
    container: av.container.OutputContainer, codec: av.video.codeccontext.VideoCodecContext
) -> av.video.stream.VideoStream:
    """Add a stream to ``container`` that muxes the packets of the (open) encoder ``codec``."""
    stream = container.add_stream_from_template(_h264_template())
    out = stream.codec_context
    out.width, out.height, out.pix_fmt = codec.width, codec.height, codec.pix_fmt
    out.time_base, out.framerate = codec.time_base, codec.framerate
    out.colorspace, out.color_range = codec.colorspace, codec.color_range
    out.color_primaries, out.color_trc = codec.color_primaries, codec.color_trc
    out.extradata = codec.extradata  # SPS/PPS (global header): the avcC box
    stream.time_base = codec.time_base
    return stream


def _write_faststart(
    packets: list[av.Packet], codec: av.video.codeccontext.VideoCodecContext, dst_path: str
) -> None:
    """Write the packets of ``codec`` as a regular ``+faststart`` MP4.

    x264's B-frame reordering delay gives the first packets a negative dts; the
    muxer writes that as an edit list, so the first frame is at 0 as in
    :func:`_remux_faststart`'s output.
    """
    with av.open(dst_path, "w", format="mp4", options={"movflags": "+faststart"}) as dst:
        stream = _add_h264_stream(dst, codec)
        for packet in packets:
            packet.stream = stream
            dst.mux(packet)


def _remux_faststart(src_path: str, dst_path: str) -> None:
    """Copy the packets of a fragmented MP4 into a regular ``+faststart`` MP4."""
    with av.open(src_path, "r", format="mp4") as src:
        in_stream = src.streams.video[0]
        with av.open(dst_path, "w", format="mp4", options={"movflags": "+faststart"}) as dst:
            out_stream = dst.add_stream_from_template(in_stream)
            # The fragmented file has no edit list, so B-frame reordering delay
            # shows up as a first pts > 0. Shift it back to 0 (the muxer then
            # writes negative dts as an edit list) so frame i is at i / fps.
            offset = None
            for packet in src.demux(in_stream):
                if packet.dts is None:  # demuxer's end-of-stream marker
                    continue
                if offset is None:
                    offset = packet.pts if packet.pts is not None else 0
                if packet.pts is not None:
                    packet.pts -= offset
                packet.dts -= offset
                packet.stream = out_stream
                dst.mux(packet)


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)
