"""Handing back to the system the memory a scan freed but its allocators keep, once a thread
has no more rows to read (:func:`release_unused`).

Both allocators under a scan keep what is freed for the next allocation: Arrow's pool
(mimalloc) keeps the pages of each thread's decoded batches, glibc's malloc the chunks freed
between the pieces of a state that grows (the exact ROC state's sorted runs, merged as they
come). Reused while the scan runs, they are dead weight once it ends: at the end of a 10M-row
exact roc_auc, ~40 MB of Arrow pages of the finished reader threads and ~30–50 MB of free
glibc chunks were still resident while the state's last merge ran. Releasing them after every
batch instead re-faulted each batch's pages (100M rows: +1 s of system time), so it is done
once per thread, when it runs out of work.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

#: Scans of at least this many rows release (:mod:`losscli.execution`): a smaller one leaves
#: little behind, and ``malloc_trim`` walks every free chunk of the process — ~70 ms in a
#: process whose heap holds 1.6 GB of small holes (the API runs in its user's process).
RELEASE_ROWS = 1 << 22

_trim: Callable[[int], int] | None = None
_looked = False


def _malloc_trim() -> Callable[[int], int] | None:
    global _trim, _looked
    if not _looked:
        _looked = True
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                _trim = ctypes.CDLL(None).malloc_trim
            except (OSError, AttributeError):  # not glibc (musl): nothing to trim
                _trim = None
    return _trim


def release_unused() -> None:
    """Return the free memory of Arrow's pool (this thread's heap, and what threads that
    ended left) and of glibc's malloc (every arena: ``malloc_trim(0)``) to the system. Only
    what is free: nothing changes for the data, and the allocators keep their settings."""
    pa = sys.modules.get("pyarrow")  # never imported here for this
    if pa is not None:
        pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
