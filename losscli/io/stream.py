"""Byte streams under the readers: :class:`ByteStream` for data read once, front to back
(standard input), and :class:`Prepended` to put bytes back in front of a file.

:class:`ByteStream` wraps any byte reader with exact-size reads (pyarrow takes a short read
for the end of the data), a ``peek`` that does not consume (format sniffing, the CSV header,
the first NDJSON object) and a count of the bytes consumed (the progress bar). Standard
library only.
"""

from __future__ import annotations

import sys
from typing import Any

from losscli.errors import InputError


class ByteStream:
    """A forward-only byte reader over ``raw`` (anything with ``read(n)``).

    ``read(n)`` returns exactly ``n`` bytes unless the data ends first; ``peek(n)`` returns
    up to ``n`` bytes without consuming them; ``bytes_read`` counts consumed bytes.
    """

    def __init__(self, raw: Any, name: str, size: int | None = None) -> None:
        self._raw = raw
        self._buf = bytearray()
        self._eof = False
        self.name = name
        self.size = size  # total bytes when known (a regular file), for progress
        self.bytes_read = 0
        self.closed = False
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

    def _fill(self, n: int) -> None:
        """Buffer at least ``n`` bytes, or everything up to the end of the data."""
        while len(self._buf) < n and not self._eof:
            chunk = self._raw.read(max(n - len(self._buf), 1 << 16))
            if not chunk:
                self._eof = True
                break
            self._buf += chunk

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

    def peek_lines(self, at_least: int = 1 << 16, limit: int = 64 << 20) -> bytes:
        """Complete lines from the front (at least one when there is one), not consumed."""
        size = at_least
        while True:
            self._fill(size)
            head = bytes(self._buf[:size])
            if self._eof and len(self._buf) <= size:
                return head
            cut = head.rfind(b"\n")
            if cut >= 0:
                return head[: cut + 1]
            if size >= limit:
                raise InputError(
                    f"The first line of '{self.name}' is longer than {limit >> 20} MiB; "
                    "is this really line-oriented text (CSV, TSV, NDJSON)? Check --format-in."
                )
            size *= 4

    def read_lines(self, n: int) -> bytes:
        """About ``n`` bytes, extended to the end of a line: whole lines only."""
        data = self.read(n)
        if not data or data.endswith(b"\n"):
            return data
        rest = bytearray()
        while True:
            self._fill(len(rest) + (1 << 16) if not self._buf else 1)
            if not self._buf:
                break
            cut = self._buf.find(b"\n")
            if cut >= 0:
                rest += self._buf[: cut + 1]
                del self._buf[: cut + 1]
                break
            rest += self._buf
            self._buf.clear()
        self.bytes_read += len(rest)
        return data + bytes(rest)


def progress_bytes(stream: ByteStream) -> int:
    """Bytes of the original input consumed (compressed bytes for compressed input)."""
    raw = stream if stream.raw_progress is None else stream.raw_progress
    return int(raw.bytes_read)


class Prepended:
    """A binary file-like object: ``prefix`` bytes, then the rest of ``raw``."""

    def __init__(self, prefix: bytes, raw: Any) -> None:
        self._prefix = prefix
        self._raw = raw

    def read(self, n: int = -1) -> bytes:
        if self._prefix:
            if n is None or n < 0:
                out, self._prefix = self._prefix + self._raw.read(), b""
                return out
            out, self._prefix = self._prefix[:n], self._prefix[n:]
            return out if len(out) == n else out + self._raw.read(n - len(out))
        return self._raw.read(n)

    def readable(self) -> bool:
        return True

    @property
    def closed(self) -> bool:
        return bool(self._raw.closed)

    def close(self) -> None:
        pass
