"""The ``losscli`` command (console script) and ``python -m losscli``.

Before anything heavy loads (typer, then numpy and pyarrow), Ctrl-C and SIGTERM are taken
over so that a signal during start-up ends like one later on: one line, exit 130 or 143,
no traceback (see :mod:`losscli.interrupts`). And before numpy loads, its BLAS is told to
use one thread (:func:`one_blas_thread`), glibc's malloc to keep two arenas
(:func:`few_malloc_arenas`) and Arrow to allocate with it (:func:`system_arrow_pool`); and
the cyclic garbage collector waits until the command's body is loaded
(:mod:`losscli.collector`).
"""

from __future__ import annotations

import os

#: The BLAS thread settings numpy's bundled OpenBLAS reads when it loads.
BLAS_THREADS = "OPENBLAS_NUM_THREADS"


def one_blas_thread() -> None:
    """``OPENBLAS_NUM_THREADS=1`` unless the user set it: losscli makes no BLAS call (sums
    and products are numpy's own loops or ``einsum``, so the bits do not depend on threads),
    and OpenBLAS's threads, started when numpy is imported, spin for ~70 ms of CPU at every
    start and a few per cent of a scan on the two cores the reader and the kernels use.
    Only the command sets it: the importable API leaves the user's process alone."""
    os.environ.setdefault(BLAS_THREADS, "1")


#: glibc's setting of the most malloc arenas (``mallopt``'s ``M_ARENA_MAX``).
ARENAS = "MALLOC_ARENA_MAX"
_M_ARENA_MAX = -8


def few_malloc_arenas() -> None:
    """Two malloc arenas, as ``MALLOC_ARENA_MAX=2`` would, unless the user set it: glibc
    gives each thread that allocates (Arrow's reader pool, the workers) an arena of its
    own, whose freed chunks the others do not reuse — ~40–60 MB of a 10M-row churn job's
    peak RSS. glibc reads the variable when the process starts, so the command calls
    ``mallopt`` before any thread exists (numpy imports ctypes anyway). Elsewhere
    (not glibc) nothing. Only the command sets it, as :func:`one_blas_thread`."""
    import sys

    if ARENAS in os.environ or not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").mallopt(_M_ARENA_MAX, 2)
    except (OSError, AttributeError):  # not glibc (musl): its own allocator
        pass


#: Arrow's setting of its default memory pool, read when pyarrow first allocates.
ARROW_POOL = "ARROW_DEFAULT_MEMORY_POOL"


def system_arrow_pool() -> None:
    """Arrow's buffers from the system allocator (``ARROW_DEFAULT_MEMORY_POOL=system``)
    unless the user set it: the default (mimalloc) keeps the pages of the decoded batches it
    frees — 50–60 MB of the 10M-row churn job's peak RSS, ~30 MB of exact roc_auc at 10M
    rows and of a 10M-row regression scan, no faster (measured in pairs). ``system`` is in
    every pyarrow build (naming a pool a build lacks prints a warning). Only the command
    sets it, as :func:`one_blas_thread`."""
    os.environ.setdefault(ARROW_POOL, "system")


def entry() -> None:
    """The console script: no cyclic collection during start-up, early signal handling, one
    BLAS thread, two malloc arenas, the system allocator for Arrow, then the CLI."""
    from losscli.collector import pause
    from losscli.interrupts import install_exit_at_once

    pause()  # no cyclic collection while start-up imports (losscli.collector)
    install_exit_at_once()
    one_blas_thread()
    few_malloc_arenas()
    system_arrow_pool()
    from losscli.cli import main

    main()


if __name__ == "__main__":
    entry()
