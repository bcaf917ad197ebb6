"""Which format a path or a byte stream holds: by extension (:func:`detect_format`), or by
its first bytes (:func:`sniff_format`, :func:`sniff_compression`) for standard input.

The extension tables are :mod:`losscli.vocab`'s; this module adds the magic bytes. Standard
library only.
"""

from __future__ import annotations

import os

from losscli.vocab import COMPRESSED_SUFFIXES, EXTENSIONS

#: Leading bytes of the binary formats.
MAGIC = (
    (b"\x93NUMPY", "npy"),
    (b"PAR1", "parquet"),
    (b"ARROW1", "feather"),
    (b"\xff\xff\xff\xff", "arrow"),  # Arrow IPC stream: continuation marker, then a schema
)
#: Leading bytes of the compressions pyarrow can undo, and pyarrow's codec names.
COMPRESSION_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"\x04\x22\x4d\x18", "lz4"),
)


#: The codec each compression suffix names.
SUFFIX_CODECS = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".lz4": "lz4"}


def is_compressed(path: str) -> bool:
    """Whether ``path`` ends with a compression suffix (``.csv.gz``)."""
    return path.lower().endswith(COMPRESSED_SUFFIXES)


def suffix_codec(path: str) -> str | None:
    """The codec a path's compression suffix names (``x.csv.gz``: gzip), or None."""
    lower = path.lower()
    return next((c for s, c in SUFFIX_CODECS.items() if lower.endswith(s)), None)


def could_be_magic(head: bytes) -> bool:
    """Whether ``head`` is too short to rule out a magic number it begins (a pipe that
    paused after a few bytes): then more bytes are needed before sniffing."""
    return any(len(head) < len(m) and m.startswith(head)
               for m, _ in (*MAGIC, *COMPRESSION_MAGIC))


def detect_format(path: str) -> str | None:
    """The format named by a path's extension (``.csv.gz`` counts as csv), or None."""
    lower = path.lower()
    for suffix in COMPRESSED_SUFFIXES:
        if lower.endswith(suffix):
            lower = lower[: -len(suffix)]
            break
    return EXTENSIONS.get(os.path.splitext(lower)[1])


def sniff_compression(head: bytes) -> str | None:
    """The codec of data that starts with ``head`` (None when it is not compressed)."""
    for magic, codec in COMPRESSION_MAGIC:
        if head.startswith(magic):
            return codec
    return None


def sniff_format(head: bytes) -> str | None:
    """The format of data that starts with ``head`` (None when it cannot be told)."""
    for magic, fmt in MAGIC:
        if head.startswith(magic):
            return fmt
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if not text:
        return None
    if text[:1] in (b"{", b"["):
        return "ndjson"
    first = text.split(b"\n", 1)[0]
    if b"\t" in first and b"," not in first:
        return "tsv"
    return "csv"
