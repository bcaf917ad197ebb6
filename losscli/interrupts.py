"""Ctrl-C and SIGTERM in the ``losscli`` command: one line on stderr, exit 130 or 143, no
traceback, no temporary file left — at any moment of the run. Standard library only.

Two stages, both installed by the command only (importing ``losscli`` as a library never
touches its host's signals):

1. :func:`install_exit_at_once`, the very first thing the console script does
   (``losscli/__main__.py``), before typer, numpy and pyarrow load: nothing needs cleaning
   up yet, so a signal prints its line and ends the process at once.
2. :func:`install_raising`, when :func:`losscli.cli.main` starts: SIGINT raises
   KeyboardInterrupt and SIGTERM :class:`Terminated` (a KeyboardInterrupt too), so every
   ``finally`` and ``except BaseException`` on the way out runs — the atomic writers remove
   their temporary files — and the CLI reports it with :func:`interrupted`.

A signal the parent made the process ignore (``nohup``, ``trap '' INT``) stays ignored.
"""

from __future__ import annotations

# _signal is the C module: ``signal`` itself first loads ``enum`` (milliseconds during
# which Ctrl-C would still end in a traceback).
import _signal as signal
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Exit code and word per signal, as a shell reports them (128 + the signal number).
SIGNAL_EXITS = {signal.SIGINT: (130, "interrupted"), signal.SIGTERM: (143, "terminated")}

_seen: int | None = None  # the signal that interrupted the run, once one did
_cleanups: list[Any] = []  # run before an interrupted command exits (see on_interrupt)
_reported = False
_owned = False  # whether install_raising took the signals (the command, not a library host)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt so that the same cleanups run."""


def _ignored(signum: int) -> bool:
    return signal.getsignal(signum) == signal.SIG_IGN


def on_interrupt(cleanup: Any) -> None:
    """Run ``cleanup()`` before an interrupted command exits, whatever the stack was doing
    (the atomic writers remove their temporary files: a signal can land between a file's
    creation and the ``try`` that would remove it)."""
    _cleanups.append(cleanup)


def _clean_up() -> None:
    for cleanup in _cleanups:
        try:
            cleanup()
        except BaseException:  # on the way out: the next cleanup still runs
            pass


def exit_at_once(signum: int, frame: Any = None) -> None:
    """A handler for when nothing needs cleaning up but what :func:`on_interrupt` holds:
    one line on stderr, then exit now."""
    _clean_up()
    code, what = SIGNAL_EXITS.get(signum, (128 + signum, "stopped"))
    if not _reported:
        try:
            os.write(2, f"losscli: {what}\n".encode())
        except OSError:
            pass
    os._exit(code)


def install_exit_at_once() -> None:
    """Stage 1: every handled signal ends the process at once with its line and code."""
    for signum in SIGNAL_EXITS:
        if not _ignored(signum):
            signal.signal(signum, exit_at_once)


_held = 0  # depth of held() sections
_pending: int | None = None  # a signal that arrived inside one


def _raise(signum: int, frame: Any = None) -> None:
    global _seen, _pending
    if _seen is None:
        _seen = signum
    if _held:
        _pending = _pending or signum  # raised when the section ends
        return
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


class held:
    """A section that a signal must not cut in half (a cluster's processes half started,
    then never stopped, leak their semaphores): Ctrl-C or SIGTERM arriving inside it is
    raised when it ends, so the ``finally`` that undoes the section runs. Only in the
    command (stage 2): a library host's own handlers are left alone. Use as ``with held():``.
    """

    def __enter__(self) -> held:
        global _held
        _held += 1
        return self

    def __exit__(self, *exc: Any) -> None:
        global _held, _pending
        _held -= 1
        if _held == 0 and _pending is not None and exc[0] is None:
            signum, _pending = _pending, None
            raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def install_raising() -> None:
    """Stage 2: signals raise KeyboardInterrupt / :class:`Terminated` in the main thread."""
    global _owned, _previous_hook
    _owned = True
    for signum in SIGNAL_EXITS:
        if not _ignored(signum):
            signal.signal(signum, _raise)
    _previous_hook = sys.unraisablehook
    sys.unraisablehook = _unraisable


_previous_hook: Any = None


def _unraisable(unraisable: Any) -> None:
    """A KeyboardInterrupt that landed where Python cannot raise it (a weakref callback, a
    ``__del__``, the import lock's cleanup) would be printed as "Exception ignored" and
    lost: raise the signal again instead, so that it interrupts at the next line."""
    exc = unraisable.exc_value
    if isinstance(exc, KeyboardInterrupt):
        signal.raise_signal(_seen or signal.SIGINT)
        return
    _previous_hook(unraisable)


def seen() -> int | None:
    """The signal that interrupted the run (by the stage-2 handlers), or None."""
    return _seen


def interrupted(exc: BaseException | None = None) -> int:
    """Report an interrupt (one line on stderr; in the command, once) and return its exit
    code: 143 for SIGTERM, 130 for Ctrl-C. In the command the process is finishing from
    here on: a second signal ends it at once instead of raising in the middle of the
    cleanup."""
    global _reported
    signum = _seen or (signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)
    code, what = SIGNAL_EXITS[signum]
    if not _reported:
        if _owned:  # the command: once, and the process is on its way out
            install_exit_at_once()
            _reported = True
        try:
            sys.stderr.write(f"losscli: {what}\n")
            sys.stderr.flush()
        except (OSError, ValueError, AttributeError):
            pass
    return code


def reported() -> bool:
    """Whether an interrupt was reported (the run ends with 130 or 143)."""
    return _reported


def exit_now(code: int) -> None:
    """End an interrupted run: flush what was printed, then exit without the interpreter's
    finalisation. (CPython remembers a KeyboardInterrupt raised while an extension module
    ran Python code — pyarrow's or numpy's import — even when it was handled, and at a
    normal exit kills the process with SIGINT instead of returning ``code``.)"""
    _clean_up()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(code)


def finishing() -> None:
    """The command is done with its work: a signal from here on just ends it (stage 1)."""
    if _owned:
        install_exit_at_once()
