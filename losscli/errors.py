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


def _letters(word: str) -> str:
    return "".join(sorted(word.replace("_", "")))


def suggest(key: str, names: list[str]) -> str:
    """`` Did you mean 'x'?`` (or ``'x' or 'y'``) for names that are plausibly what was
    meant, else "". A short name is an acronym: one letter changed names another metric
    (``mcc`` is not ``mce``), so for four letters or fewer only keystroke slips are
    suggested (``mea``: ``mae``, ``msee``: ``mse``, ``hubr``: ``huber``); a longer one may be
    a typo (close by difflib's ratio, at least 0.8), or a name with a suffix too many or too
    few (``accuracy_scor``)."""
    import difflib

    if len(key.replace("_", "")) <= 4:
        # keystroke slips only: letters swapped, a key pressed twice, a letter left out
        slips = {key[:i] + key[i + 1:] for i in range(1, len(key)) if key[i] == key[i - 1]}
        close = [n for n in names if len(n) <= 6 and (
            (len(n) == len(key) and _letters(n) == _letters(key)) or n in slips
            or (len(n) == len(key) + 1 and any(n[:i] + n[i + 1:] == key for i in range(len(n)))))]
    else:
        close = difflib.get_close_matches(key, names, n=3, cutoff=0.8)
        if not close:
            close = [n for n in sorted(names, key=len, reverse=True) if len(n) >= 5 and (
                key.startswith(n) or n.startswith(key))][:1]
    close = list(dict.fromkeys(close))
    if not close:
        return ""
    return " Did you mean " + " or ".join(f"'{n}'" for n in close[:3]) + "?"
