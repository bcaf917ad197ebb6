"""Byte streams under the readers: :class:`ByteStream` for data read once, front to back
(standard input, a FIFO, a file read in whole records), :class:`PipeReader` to read a pipe
as its bytes arrive, and :class:`Transcoded` to turn text in another encoding into UTF-8.

:class:`ByteStream` wraps any byte reader with exact-size reads (pyarrow takes a short read
for the end of the data), a ``peek`` that does not consume (format sniffing, the CSV header,
the first NDJSON object), reads of whole records (lines; for CSV, lines outside quoted
fields) with a cap on their length, and a count of the bytes consumed (the progress bar).

Memory: a stream buffers at most one block of records, or one record up to the cap; a
record longer than the cap is an :class:`~losscli.errors.InputError`, never an allocation
that grows with the input. On a pipe that pauses (``tail -f``), whole records that have
arrived are handed on at once rather than when a block is full. Where records end is
:mod:`losscli.io.records`'s to say; the rest is standard library only.
"""

from __future__ import annotations

import codecs
import os
import select
import sys
import time
from typing import Any

from losscli.errors import InputError
from losscli.io.failures import describe_size, first_line, foreign_errors, not_text
from losscli.io.records import record_end
from losscli.options import MAX_LINE_BYTES as MAX_LINE  # --max-line-bytes default

#: Seconds a pipe may stay silent before the records already received are handed on.
PAUSE = 0.05
#: Seconds records may wait on a pipe for the rest of their block, however busy it is.
MAX_DELAY = 0.25
#: Bytes of whole records the line readers take at a time.
BLOCK = 8 << 20


class PipeReader:
    """A pipe, FIFO, socket or terminal, read through its file descriptor: ``read(n)``
    returns what has arrived (waiting for at least one byte; ``b""`` at the end) and
    ``ready(timeout)`` says whether more has arrived. ``keep`` is an object to keep alive
    with the descriptor (the file object that owns it)."""

    def __init__(self, fd: int, keep: Any = None) -> None:
        self.fd = fd
        self._keep = keep
        self.closed = False

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        # At most 1 MiB: a pipe hands out 64 KiB at a time, and os.read allocates n bytes.
        return os.read(self.fd, min(n, 1 << 20) if n is not None and n > 0 else 1 << 16)

    def ready(self, timeout: float) -> bool:
        try:
            poller = select.poll()
            poller.register(self.fd, select.POLLIN | select.POLLHUP | select.POLLERR)
            return bool(poller.poll(int(timeout * 1000)))
        except (AttributeError, OSError, ValueError):  # no poll(): never report a pause
            return True

    def close(self) -> None:
        self.closed = True


class ByteStream:
    """A forward-only byte reader over ``raw`` (anything with ``read(n)``).

    ``read(n)`` returns exactly ``n`` bytes unless the data ends first; ``peek(n)`` returns
    up to ``n`` bytes without consuming them; ``read_records``/``peek_records`` whole
    records; ``bytes_read`` counts consumed bytes. ``codec`` names the compression this
    stream undoes, if any (for messages). After ``read_records``, ``paused`` says whether
    it returned early because a pipe fell silent.
    """

    def __init__(self, raw: Any, name: str, size: int | None = None) -> None:
        self._raw = raw
        self._buf = bytearray()
        self._eof = False
        self.name = name
        self.size = size  # total bytes when known (a regular file), for progress
        self.bytes_read = 0
        self.lines_read = 0  # line ends consumed by read_records (for messages)
        self.closed = False
        self.paused = False
        self.codec: str | None = None
        #: The stream whose bytes the progress counts, when this one decompresses it.
        self.raw_progress: ByteStream | None = None

    # -- the file-object surface pyarrow and numpy use ------------------------------------
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self.bytes_read

    def close(self) -> None:
        self.closed = True

    # -- filling the buffer ---------------------------------------------------------------
    def _more(self, n: int) -> bool:
        """Append up to ``n`` more bytes (at least one); False once the data has ended. A
        failing read (a truncated or corrupt compressed stream, an I/O error, text that is
        not in its encoding) is an InputError naming the stream."""
        if self._eof:
            return False
        try:
            chunk = self._raw.read(n)
        except InputError:
            raise
        except foreign_errors() as exc:
            raise self._broken(exc) from None
        if not chunk:
            self._eof = True
            return False
        self._buf += chunk
        return True

    def _broken(self, exc: BaseException) -> InputError:
        if self.codec is not None:
            return InputError(
                f"Cannot decompress '{self.name}' as {self.codec} ({first_line(exc)}): the data "
                f"is truncated or corrupt; test it (e.g. gzip -t, zstd -t) or give the "
                "uncompressed data."
            )
        return InputError(f"Cannot read '{self.name}': {first_line(exc)}.")

    def _fill(self, n: int) -> None:
        """Buffer at least ``n`` bytes, or everything up to the end of the data."""
        while len(self._buf) < n and self._more(max(n - len(self._buf), 1 << 16)):
            pass

    def _is_pipe(self) -> bool:
        """Whether the source can say when bytes have arrived (a pipe; not a file or a
        decompressor, which are read at their own pace)."""
        return hasattr(self._raw, "ready")

    def _silent(self) -> bool:
        """Whether the source is a pipe on which nothing more has arrived for PAUSE
        seconds (False for anything that cannot tell: files, decompressors)."""
        ready = getattr(self._raw, "ready", None)
        return ready is not None and not ready(PAUSE)

    def ready(self, timeout: float) -> bool:
        """Whether a read would return at once (bytes are buffered, or have arrived)."""
        if self._buf or self._eof:
            return True
        ready = getattr(self._raw, "ready", None)
        return True if ready is None else bool(ready(timeout))

    def read_some(self, n: int) -> bytes:
        """Up to ``n`` bytes, without waiting for more than the first (a pipe's pace)."""
        if not self._buf:
            self._more(n)
        take = min(n, len(self._buf))
        data = bytes(self._buf[:take])
        del self._buf[:take]
        self.bytes_read += take
        return data

    def read(self, n: int | None = -1) -> bytes:
        if n is None or n < 0:
            self._fill(sys.maxsize)
        else:
            self._fill(n)
        take = len(self._buf) if n is None or n < 0 else min(n, len(self._buf))
        data = bytes(self._buf[:take])
        del self._buf[:take]
        self.bytes_read += len(data)
        return data

    def peek(self, n: int) -> bytes:
        self._fill(n)
        return bytes(self._buf[:n])

    def peek_head(self, n: int) -> bytes:
        """Up to ``n`` bytes, not consumed; fewer when a pipe falls silent after some have
        arrived (format sniffing needs the first bytes, not a full buffer)."""
        while len(self._buf) < n and not self._eof:
            if self._buf and self._silent():
                break
            self._more(n - len(self._buf))
        return bytes(self._buf[:n])

    # -- whole records ----------------------------------------------------------------------
    def _records_end(self, size: int, max_line: int, delimiter: bytes | None) -> int:
        """How many buffered bytes make whole records: about ``size`` (cut at the last
        record end), fewer when a pipe falls silent (or has kept its records waiting for
        MAX_DELAY), 0 at the end of the data."""
        self.paused = False
        window = min(size, max_line)
        deadline = None
        while True:
            buf = self._buf
            if len(buf) >= window:
                end = record_end(buf, window, delimiter)
                if end:
                    return end
                if window >= max_line:
                    raise self._too_long(max_line, delimiter is not None)
                window = min(window * 2, max_line)
                continue
            if self._eof:
                return len(buf)
            if buf and self._is_pipe():
                deadline = deadline or time.monotonic() + MAX_DELAY
                if time.monotonic() > deadline or self._silent():
                    end = record_end(buf, len(buf), delimiter)
                    if end and buf[:end].strip():
                        self.paused = True
                        return end
            self._more(max(window - len(buf), 1 << 16))

    def _too_long(self, max_line: int, quoted: bool) -> InputError:
        quote = " (or does a quoted field never close?)" if quoted else ""
        return InputError(
            f"Line {self.lines_read + 1} of '{self.name}' is longer than "
            f"{describe_size(max_line)}, the longest line losscli reads "
            f"{'by default' if max_line == MAX_LINE else '(--max-line-bytes)'}: is this really "
            f"line-oriented text (CSV, TSV, NDJSON; see --format-in){quote}? If its rows are "
            "this long, raise the limit with --max-line-bytes (memory grows with it)."
        )

    def peek_records(self, size: int, max_line: int = MAX_LINE,
                     delimiter: bytes | None = None) -> bytes:
        """Whole records from the front (see :meth:`read_records`), not consumed."""
        return bytes(self._buf[: self._records_end(size, max_line, delimiter)])

    def read_records(self, size: int, max_line: int = MAX_LINE,
                     delimiter: bytes | None = None) -> bytes:
        """Whole records: about ``size`` bytes cut after the last line end (with a CSV
        ``delimiter``, a line end inside a quoted field does not count; see
        :func:`losscli.io.records.record_end`), fewer when a pipe falls silent (``paused`` is then True), the
        rest of the data at its end, ``b""`` after it. A record longer than ``max_line``
        bytes is an InputError naming its line."""
        end = self._records_end(size, max_line, delimiter)
        data = bytes(self._buf[:end])
        del self._buf[:end]
        self.bytes_read += end
        self.lines_read += data.count(b"\n") or data.count(b"\r")
        return data


def progress_bytes(stream: ByteStream) -> int:
    """Bytes of the original input consumed (compressed bytes for compressed input)."""
    raw = stream if stream.raw_progress is None else stream.raw_progress
    return int(raw.bytes_read)


class Transcoded:
    """Text in ``encoding`` from a :class:`ByteStream`, read as UTF-8 (``--encoding``).
    Bytes that are not text in that encoding are an InputError naming the input."""

    def __init__(self, stream: ByteStream, encoding: str) -> None:
        self._stream = stream
        self._encoding = encoding
        self._decoder = codecs.getincrementaldecoder(encoding)("strict")
        self._done = False

    def readable(self) -> bool:
        return True

    def ready(self, timeout: float) -> bool:
        return self._stream.ready(timeout)

    def read(self, n: int = -1) -> bytes:
        while not self._done:
            raw = self._stream.read_some(max(n, 1 << 16))
            try:
                text = self._decoder.decode(raw, final=not raw)
            except UnicodeDecodeError as exc:
                raise InputError(not_text(self._stream.name, exc, self._encoding,
                                          f"near byte {self._stream.bytes_read}")) from None
            self._done = not raw
            if text:
                return text.encode("utf-8")
        return b""


def open_pipe(path: str) -> PipeReader:
    """A FIFO or character device by name (``<(cmd)`` gives ``/dev/fd/N``), read as a pipe.
    Opening a FIFO waits for its writer, as ``cat`` would."""
    f = open(path, "rb", buffering=0)
    return PipeReader(f.fileno(), keep=f)


class Window:
    """At most ``limit`` bytes of an open file from where it stands (None: to its end)."""

    def __init__(self, f: Any, limit: int | None) -> None:
        self._f = f
        self._left = limit
        self.closed = False

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self._left is not None:
            n = self._left if n is None or n < 0 else min(n, self._left)
        data = self._f.read(n)
        if self._left is not None:
            self._left -= len(data)
        return bytes(data)

    def close(self) -> None:
        self.closed = True
