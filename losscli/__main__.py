"""The ``losscli`` command (console script) and ``python -m losscli``.

Before anything heavy loads (typer, then numpy and pyarrow), Ctrl-C and SIGTERM are taken
over so that a signal during start-up ends like one later on: one line, exit 130 or 143,
no traceback (see :mod:`losscli.interrupts`). And before numpy loads, its BLAS is told to
use one thread (:func:`one_blas_thread`).
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


def entry() -> None:
    """The console script: early signal handling, one BLAS thread, then the CLI."""
    from losscli.interrupts import install_exit_at_once

    install_exit_at_once()
    one_blas_thread()
    from losscli.cli import main

    main()


if __name__ == "__main__":
    entry()
