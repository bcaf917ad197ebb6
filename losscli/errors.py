"""Named exceptions. Every message says what is wrong, where, and how to fix it.

The CLI maps :class:`LossCliError` (and only it) to exit code 2 with one line on stderr;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class LossCliError(Exception):
    """Base class of every error caused by the user's input or options (exit code 2)."""

    exit_code = 2


class UsageError(LossCliError):
    """Bad options: unknown loss, bad parameter value, flag that no loss takes, ..."""


class InputError(LossCliError):
    """Bad data: missing or corrupt file, missing column, NaN, out-of-domain value, ..."""


class OutputError(LossCliError):
    """An output that cannot be written: disk full, closed standard output, a folder that
    cannot be written, ... (nothing partial is left behind)."""


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """Return " Did you mean 'x'?" for the closest choice, or "" when none is close."""
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""


def escape_controls(text: str) -> str:
    """``text`` safe to print on a terminal (:func:`losscli.present.text.printable`, the one
    escape of every string losscli prints): control characters, bidirectional overrides
    and lone surrogates shown as escapes (``\\x1b``, ``\\n``, ``\\u202e``)."""
    from losscli.present.text import printable

    return printable(text)
