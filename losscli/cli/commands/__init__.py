"""The declarations of the commands, one module each (``evaluate``, ``check``, ``compare``,
``merge``, ``inspect_file``, ``losses``, ``history``), listed in :data:`losscli.cli.COMMANDS`
and imported only when that command is parsed, completed or shows its help: its arguments,
its options (declared in :mod:`losscli.spec` and :mod:`losscli.cli.options`, added by
:func:`~losscli.cli.options.with_options`) and the few lines that sort them. Its body —
the Python API called once, the result handed to :func:`~losscli.cli.after.after_run`,
the one place that prints it, draws the pictures and writes the HTML page — is the ``run``
of its module in :mod:`losscli.cli.run`, imported when the command runs (:func:`body`):
``losscli eval --<TAB>`` loads no pyarrow, ``losscli eval`` never the gate, the
comparison, git history or the pictures.

This package holds what the commands share: the FILE argument's help and reading
(:func:`input_file`), the one output guard's call (:func:`guard_outputs`) and
``--plot``/``--html``'s request (:func:`pictures_wanted`). Only the standard library, the
errors and the output guard load here.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

from losscli.cli import COMMANDS
from losscli.errors import UsageError
from losscli.io.atomic import guard


def body(name: str) -> Callable[..., Any]:
    """The body of command ``name`` (``run`` of its module in :data:`losscli.cli.COMMANDS`),
    imported now: when the command runs, not when it is parsed or completed. Start-up ends
    here: the garbage collector resumes (:func:`losscli.collector.resume`)."""
    from losscli.collector import resume

    run: Callable[..., Any] = importlib.import_module(COMMANDS[name].body).run
    resume()
    return run


def pictures_wanted(kwargs: dict[str, Any]) -> tuple[bool, str | None]:
    """Pop ``--plot``/``--html`` from a command's options; when either is given, ask the
    evaluation for what the pictures draw: the distributions (sketches) and a calibration
    state. Returns (plot, html)."""
    plot, html = bool(kwargs.pop("plot", False)), kwargs.pop("html", None)
    if plot or html is not None:
        kwargs["distribution"] = True
        kwargs["calibration"] = True
    return plot, html


#: The flag of each file an input option names (what an output must not overwrite).
INPUT_FLAGS = {"predictions": "predictions", "targets": "--targets", "weights": "--weights",
               "var": "--var", "positive": "--positive", "negative": "--negative",
               "baseline": "--baseline", "reference": "--reference"}


def guard_outputs(inputs: list[tuple[str, Any]], outputs: dict[str, str | None],
                  kwargs: dict[str, Any], *, may_replace: dict[str, str | None] | None = None
                  ) -> None:
    """Before any data is read: the one output guard (:func:`losscli.io.atomic.guard`)
    over ``inputs`` (what, path) plus the data options of ``kwargs`` (targets, weights...),
    and every file the command writes (``outputs``: flag → path)."""
    if outputs.get("--html") == "-":
        raise UsageError("--html takes a file name ('-' is not one); to print the page, give "
                         "--html /dev/stdout.")
    named = [(flag, kwargs.get(name)) for name, flag in INPUT_FLAGS.items() if name in kwargs]
    guard([*inputs, *named], outputs, may_replace=may_replace)


MANY_HELP = (
    "A folder, a quoted glob ('preds/**/*.parquet') or a URI (s3://bucket/preds/) is one "
    "input of many files, read in path order. "
)
STDIN_HELP = MANY_HELP + (
    "'-' (or nothing, when stdin is a pipe) reads standard input: CSV, TSV, NDJSON, Arrow "
    "stream and NPY stream in chunks; Parquet and Feather are first copied to a temporary "
    "file (disk, not memory; TMPDIR sets where)."
)


def input_file(file: str | None, *others: str | None, command: str = "eval") -> str:
    """The FILE argument: '-' (standard input) when it is missing and stdin is not a
    terminal."""
    if file is None:
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError(f"Missing FILE: give a file, or '-' to read standard input, e.g. "
                             f"cat preds.csv | losscli {command} - (see 'losscli {command} "
                             "--help').")
        file = "-"
    if [file, *others].count("-") > 1:
        raise UsageError("Standard input ('-') can feed only one of FILE, --targets and "
                         "--weights; give the others as files.")
    return file
