"""How much memory a join's key index needs, and how much the process may still allocate:
the check made before the targets of ``--id-col`` are read (:mod:`losscli.io.join`), and
its one-line error with the ways out."""

from __future__ import annotations

import math
import os
from typing import Any

from losscli.errors import InputError, UsageError
from losscli.io.base import TEXT_FORMATS

#: Bytes per value of a target row while the index is built, at least: each column is read
#: in chunks and then concatenated (2 × 8 bytes), and the index of a key column holds about
#: 20 bytes per number key (its values, sorted values, rows) and 24 + its length per text
#: key (the text, offsets, hash, rows; counted here for 16 characters), more while the
#: hashes are sorted.
BYTES_PER_VALUE = 16
BYTES_PER_KEY = 32
BYTES_PER_TEXT_KEY = 48

#: Environment variable: the bytes the process may allocate, instead of what the system
#: says (``64M``, ``2G``, ``1500000``): tests, and a job sharing its machine.
MEMORY_LIMIT_ENV = "LOSSCLI_MEMORY_LIMIT"


def index_bytes(rows: int, columns: int, text_keys: int = 0) -> int:
    """The least memory (bytes) an index of ``rows`` target rows of ``columns`` columns
    (keys and values) takes to build, ``text_keys`` of the key columns text."""
    return rows * (BYTES_PER_VALUE * columns + BYTES_PER_KEY
                   + (BYTES_PER_TEXT_KEY - BYTES_PER_KEY) * min(text_keys, 1)
                   + BYTES_PER_TEXT_KEY * max(text_keys - 1, 0))


def _limit_from_env() -> int | None:
    """``LOSSCLI_MEMORY_LIMIT`` in bytes (None when unset); a value that is not a size is a
    usage error (never silently ignored)."""
    text = os.environ.get(MEMORY_LIMIT_ENV, "").strip()
    if not text:
        return None
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    unit = text[-1].upper()
    try:
        value = float(text[:-1]) * scale[unit] if unit in scale else float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise UsageError(f"{MEMORY_LIMIT_ENV}={text!r} is not a memory size: give bytes, or a "
                         "number with K, M, G or T (e.g. 2G), or unset it.")
    return int(value)


def free_memory() -> int | None:
    """Bytes this process may still allocate, at most: ``LOSSCLI_MEMORY_LIMIT`` when set
    (bytes, or with K/M/G/T), else the least of its address-space limit (``ulimit -v``)
    less what it maps already, the memory the system says is available (with free swap),
    and the cgroup's limit less its use; None when none of them is known (not Linux)."""
    override = _limit_from_env()
    if override is not None:
        return override
    found: list[int] = []
    try:
        import resource  # not on Windows

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            with open("/proc/self/status") as f:
                size = next(int(line.split()[1]) * 1024 for line in f
                            if line.startswith("VmSize:"))
            found.append(soft - size)
    except (ImportError, OSError, StopIteration, ValueError):
        pass
    try:
        with open("/proc/meminfo") as f:
            info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f
                    if line.split(":")[0] in ("MemAvailable", "SwapFree")}
        if "MemAvailable" in info:
            found.append(info["MemAvailable"] + info.get("SwapFree", 0))
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        if limit != "max":
            with open("/sys/fs/cgroup/memory.current") as f:
                found.append(int(limit) - int(f.read().strip()))
    except (OSError, ValueError):
        pass
    return max(0, min(found)) if found else None


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def index_too_big(where: str, rows: int | None, need: int | None,
                  free: int | None, keys: tuple[str, ...] = ("id",)) -> InputError:
    """The error for a key index that does not fit in memory."""
    size = ("" if need is None or rows is None else
            f": it needs at least {_size(need)} ({rows} rows)")
    room = "" if free is None else f", {'but' if size else 'and'} only {_size(free)} can be allocated"
    return InputError(
        f"The key index of {where} for --id-col does not fit in memory{size}{room}. Sort the "
        "predictions and the targets by the key and evaluate them row by row without "
        "--id-col (streamed, no index), join them upstream (e.g. DuckDB: COPY (SELECT ... "
        f"JOIN ... USING ({', '.join(keys)})) TO 'joined.parquet') and pass the targets' columns in the "
        "predictions file, or join fewer rows at a time (split the files by key range).")


def text_columns(source: Any, key_columns: tuple[str, ...]) -> int:
    """How many of the key columns are text (for the memory estimate): every column of a
    CSV or TSV file, else those whose type says so."""
    if source.format in TEXT_FORMATS[:2]:
        return len(key_columns)
    try:
        types = {c: str(t).lower() for c, t in source.column_types().items()}
    except Exception:  # a source that cannot tell without reading: estimated as numbers
        return 0
    return sum(any(w in types.get(c, "") for w in ("str", "utf8", "binary", "object"))
               for c in key_columns)
