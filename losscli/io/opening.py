"""Bytes from where they are: a file (plain or compressed, told by its first bytes), a
pipe, and the layers over them: decompression (:func:`decompress`) and transcoding to UTF-8
(:func:`transcode`). Each returns a :class:`~losscli.io.stream.ByteStream`; a failure to
open is an :class:`~losscli.errors.InputError` naming the file.

pyarrow is imported inside the functions (its decompressors).
"""

from __future__ import annotations

import codecs
import os
import stat
from typing import Any

from losscli.errors import InputError
from losscli.io.detect import sniff_compression, suffix_codec
from losscli.io.failures import first_line, foreign_errors
from losscli.io.stream import ByteStream, Transcoded

UTF8 = "utf-8"


def is_pipe(path: str) -> bool:
    """Whether ``path`` is a FIFO, socket or character device (``<(cmd)``, ``/dev/stdin``
    on a pipe): something to read once, front to back, as standard input is."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)


def open_raw(path: str) -> Any:
    """A regular file as a pyarrow ``OSFile`` (its ``tell()`` is the progress in bytes)."""
    import pyarrow as pa

    try:
        return pa.OSFile(path)
    except foreign_errors() as exc:
        raise InputError(f"Cannot open '{path}': {first_line(exc)}.") from None


def check_codec(path: str, head: bytes) -> str | None:
    """The compression of a file, told by its first bytes; a name that promises one
    (``.gz``) the bytes do not hold is an InputError."""
    codec = sniff_compression(head)
    named = suffix_codec(path)
    if named is not None and codec != named:
        found = f"{codec}-compressed" if codec else "not compressed"
        raise InputError(
            f"'{path}' is named like a {named} file, but its first bytes say it is {found}; "
            f"rename it to match its content (e.g. drop the '{os.path.splitext(path)[1]}'), or "
            "recompress it."
        )
    return codec


def file_stream(path: str, encoding: str = UTF8, opener: Any = None,
                size: int | None = None) -> tuple[ByteStream, Any]:
    """A regular file as a byte stream, decompressed when its bytes are compressed and
    transcoded to UTF-8 from ``encoding``; and the raw file (for progress). ``opener``: for
    an object in storage, a function returning a new pyarrow input stream of its bytes as
    stored (``path`` is then what messages show, ``size`` its size)."""
    raw = open_raw(path) if opener is None else opener()
    plain = ByteStream(raw, path, os.path.getsize(path) if opener is None else size)
    codec = check_codec(path, plain.peek(8))
    stream = decompress(plain, codec) if codec else plain
    return transcode(stream, encoding), raw


def decompress(stream: ByteStream, codec: str) -> ByteStream:
    """``stream``'s bytes, decompressed with ``codec`` (gzip, bz2, zstd, lz4)."""
    import pyarrow as pa

    try:
        inner = pa.CompressedInputStream(pa.PythonFile(stream, mode="r"), codec)
    except foreign_errors() as exc:
        raise InputError(f"Cannot decompress '{stream.name}' as {codec}: {first_line(exc)}.") \
            from None
    out = ByteStream(inner, stream.name)
    out.codec = codec
    out.raw_progress = stream
    return out


def transcode(stream: ByteStream, encoding: str) -> ByteStream:
    """``stream`` as UTF-8 when its text is in ``encoding`` (unchanged for UTF-8)."""
    if codecs.lookup(encoding).name == UTF8:
        return stream
    out = ByteStream(Transcoded(stream, encoding), stream.name, None)
    out.raw_progress = stream if stream.raw_progress is None else stream.raw_progress
    return out
