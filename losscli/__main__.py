"""The ``losscli`` command (console script) and ``python -m losscli``.

Before anything heavy loads (typer, then numpy and pyarrow), Ctrl-C and SIGTERM are taken
over so that a signal during start-up ends like one later on: one line, exit 130 or 143,
no traceback (see :mod:`losscli.interrupts`).
"""

from __future__ import annotations


def entry() -> None:
    """The console script: early signal handling, then the CLI."""
    from losscli.interrupts import install_exit_at_once

    install_exit_at_once()
    from losscli.cli import main

    main()


if __name__ == "__main__":
    entry()
