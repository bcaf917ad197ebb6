"""The one writer of a text format to its stream (:func:`emit`): a report, a verdict, a
comparison or a history in the format asked for. A write that fails is one
:class:`~losscli.errors.OutputError`; Markdown and CSV pass the escaping boundary
(:func:`~losscli.present.text.printable_lines`) once more as a whole."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import IO, Any

from losscli.errors import OutputError
from losscli.io.atomic import os_reason
from losscli.present.text import printable_lines

__all__ = ["emit"]


def emit(obj: Any, fmt: str, out: IO[str] | None, table: Callable[[Any, IO[str]], None],
          texts: dict[str, Callable[[Any], str]]) -> None:
    """Write ``obj`` in ``fmt``: the table renderer prints itself, the others return text.
    A write that fails (a full disk, a closed standard output) is one OutputError; a reader
    that went away (``| head``) stays a BrokenPipeError, which is not an error."""
    out = out or sys.stdout
    try:
        if fmt == "table":
            table(obj, out)
            return
        text = texts[fmt](obj)
        if fmt in ("markdown", "csv"):  # the last guard: no raw control character goes out
            text = printable_lines(text)
        out.write(text if text.endswith("\n") else text + "\n")
        out.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        name = getattr(out, "name", None)
        where = "standard output" if out is sys.stdout or name in (None, "<stdout>", 1) else (
            f"'{name}'")
        raise OutputError(f"Cannot write to {where}: {os_reason(exc)}.") from None
