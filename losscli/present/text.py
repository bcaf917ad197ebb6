"""Text formatting, escaping and terminal facts in one module: the one boundary every
string from data or from the user passes on its way to a terminal or a text format.

**Escaping.** :func:`printable` is the only escape for text output. Every string that comes
from data or from the user — class labels, group keys, column and model names, paths,
fields recorded in a saved state or a baseline — goes through it where it is rendered as
text: the table, Markdown, CSV cells, the lines on stderr (errors, notes, ``check
failed: …``) and the terminal pictures. Control characters (ESC and so every escape
sequence, BEL, CR, LF, the rest of C0 and C1, DEL), bidirectional embeddings, overrides and
isolates (U+202A–U+202E, U+2066–U+2069), other invisible format characters, lone surrogates
(undecodable bytes of a file name) and the line/paragraph separators are shown as
``\\n``/``\\r``/``\\t``/``\\xNN``/``\\uNNNN`` text: data can neither drive the terminal nor
fake a line, and every string stays one line. Where the output is a format of its own the
format's rule applies instead: HTML escapes markup after :func:`printable`
(:func:`losscli.present.markup.escape`), JSON keeps the raw value (``json.dumps`` writes it as
``\\u001b``).

**Numbers.** :func:`format_value` is how every value is shown — tables, Markdown, the
terminal pictures and the page (6 significant digits); :func:`full_precision` every digit
(the shortest text that round-trips the float: CSV cells and the page's hover titles),
:func:`format_count` a row count, and
:func:`format_level` a confidence level (never rounded up to ``100%``).
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from typing import IO, Any

__all__ = [
    "DIGITS",
    "cells",
    "char_cells",
    "format_count",
    "format_level",
    "format_value",
    "full_precision",
    "input_paths",
    "interval_methods",
    "intervals_text",
    "is_terminal",
    "methods_text",
    "printable",
    "printable_lines",
    "stderr_line",
    "terminal_columns",
]

#: Significant digits of every value shown (tables, Markdown, pictures, the page); JSON and
#: CSV keep every digit.
DIGITS = 6

#: Unicode categories shown escaped: controls, format characters (the bidirectional
#: overrides and isolates, zero-width characters), lone surrogates, line and paragraph
#: separators.
_UNSAFE = ("Cc", "Cf", "Cs", "Zl", "Zp")
#: Characters of those categories kept: the zero-width joiner of emoji sequences.
_KEEP = "\u200d"
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# every character that may need a look (a fast first test: most text has none)
_SUSPECT = re.compile(r"[^\x20-\x7e]")


def _shown(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    if ch == _KEEP or unicodedata.category(ch) not in _UNSAFE:
        return ch
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(value: object) -> str:
    """``value`` as text safe on a terminal and in a one-line text cell: every control
    character, bidirectional override, invisible format character and lone surrogate shown
    as an escape (``\\x1b``, ``\\n``, ``\\u202e``), so that names read from a file cannot
    drive the terminal or fake a line. Printable text (any script, emoji) is unchanged."""
    text = value if isinstance(value, str) else str(value)
    if not _SUSPECT.search(text):
        return text
    return "".join(_shown(ch) for ch in text)


def printable_lines(text: str) -> str:
    """A text of several lines made safe line by line: the line breaks stay, everything
    else :func:`printable` would escape is escaped (the last guard of a text format's
    whole output; names inside it are escaped where they were placed)."""
    return "\n".join(printable(line) for line in text.split("\n"))


def stderr_line(text: str, *, kind: str = "", stream: IO[str] | None = None) -> None:
    """One line on stderr, ``losscli: [KIND: ]TEXT``, with ``text`` escaped: the form of
    every message losscli prints besides its output."""
    out = stream or sys.stderr
    out.write(f"losscli: {kind + ': ' if kind else ''}{printable(text)}\n")
    out.flush()


# ---------------------------------------------------------------------------------------
# numbers

def format_value(value: float | None) -> str:
    """A value as tables and Markdown show it: rounded to :data:`DIGITS` significant digits
    (``1.83814``), never cut short by the layout; ``—`` for none. JSON and CSV keep the
    full precision (the shortest repr that round-trips)."""
    return "—" if value is None else f"{float(value):.{DIGITS}g}"


def full_precision(value: float | None) -> str:
    """Every digit: the shortest text that round-trips the float (CSV cells and the
    page's hover titles; never what a table, a picture or the page prints); ``—`` for
    None."""
    return "—" if value is None else repr(float(value))


def format_count(value: float) -> str:
    """A row count or a sum of weights, in full: ``1,234`` when whole, else the float."""
    v = float(value)
    if v.is_integer() and abs(v) < 2**53:
        return f"{int(v):,}"
    return repr(v)


def format_level(level: Any, *, sep: str = "") -> str:
    """A confidence level as a percentage with the digits it needs: ``95%``, ``99.9%``,
    ``99.9833%`` — never ``100%`` for a level below 1 (a Bonferroni-corrected level is
    close to, but not, certainty). ``sep`` goes before the ``%`` (the pictures' ``95 %``)."""
    try:
        p = float(level) * 100
    except (TypeError, ValueError):
        return "?"
    for digits in range(7):
        text = f"{p:.{digits}f}"
        exact = abs(float(text) - p) <= 1e-9 * abs(p)
        if (exact or digits >= 4) and (float(text) != 100.0 or p >= 100.0):
            return (text.rstrip("0").rstrip(".") if "." in text else text) + sep + "%"
    return f"{p!r}{sep}%"


def interval_methods(intervals: Iterable[dict[str, Any] | None],
                     labels: Sequence[str] | None = None) -> tuple[Any, dict[str, list[str]]]:
    """The level the ``intervals`` share (None when they differ or none has one) and every
    method they use, each with the ``labels`` (their losses) that use it, in order."""
    seen: dict[str, list[str]] = {}
    levels: list[Any] = []
    for i, iv in enumerate(intervals):
        if not iv or iv.get("method") in (None, "n/a"):
            continue
        names = seen.setdefault(str(iv["method"]), [])
        if labels and labels[i] not in names:
            names.append(labels[i])
        if iv.get("level") is not None and iv["level"] not in levels:
            levels.append(iv["level"])
    return (levels[0] if len(levels) == 1 else None), dict(sorted(seen.items()))


def methods_text(methods: dict[str, list[str]]) -> str:
    """``normal`` or, when several methods are mixed, which loss has which:
    ``normal for mse, mae; wilson for accuracy``."""
    if len(methods) <= 1:
        return ", ".join(methods) or "none"
    return "; ".join(f"{m} for {', '.join(printable(x) for x in names)}" if names else m
                     for m, names in methods.items())


def intervals_text(intervals: Iterable[dict[str, Any] | None], level: Any = None, *,
                   labels: Sequence[str] | None = None) -> str:
    """What intervals a table shows: ``95% intervals: normal, wilson``, naming every method
    used (with ``labels``, each interval's loss, it says which loss has which method when
    several are mixed: ``normal for mse; wilson for accuracy``). ``level`` overrides the
    level the intervals record."""
    shared, methods = interval_methods(intervals, labels)
    level = shared if level is None else level
    head = f"{format_level(level)} intervals" if level is not None else "intervals"
    return f"{head}: {methods_text(methods)}"


def input_paths(*inputs: Any) -> list[str]:
    """The paths of the ``inputs`` dicts of reports (role → ``{"path": ...}``), each once,
    in order: what the ``files:`` line shows (escaped where it is shown)."""
    seen: list[str] = []
    for found in inputs:
        if not isinstance(found, dict):
            continue
        for ref in found.values():
            if isinstance(ref, dict) and "path" in ref and str(ref["path"]) not in seen:
                seen.append(str(ref["path"]))
    return seen


# ---------------------------------------------------------------------------------------
# terminal facts

def is_terminal(stream: IO[str]) -> bool:
    """Whether ``stream`` is a terminal to style (colour, frames); ``NO_COLOR`` says no."""
    return hasattr(stream, "isatty") and stream.isatty() and not os.environ.get("NO_COLOR")


def terminal_columns(stream: IO[str]) -> int | None:
    """The columns of the terminal ``stream`` is (None when it is not one, or says none)."""
    try:
        if hasattr(stream, "isatty") and stream.isatty():
            return os.get_terminal_size(stream.fileno()).columns or None
    except (OSError, ValueError, AttributeError):
        pass
    return None


def char_cells(ch: str) -> int:
    """Terminal columns taken by one character (0 for combining and format characters)."""
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def cells(text: str) -> int:
    """Terminal columns taken by ``text`` (wide East Asian characters count 2)."""
    if text.isascii():
        return len(text)
    return sum(char_cells(ch) for ch in text)
