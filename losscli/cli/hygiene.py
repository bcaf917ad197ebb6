"""Process hygiene of the command line: errors as one stderr line and an exit code, a closed
or vanished stdout, Ctrl-C and SIGTERM, glibc's allocator, and the entry point's wrapper
around Typer (:func:`main`). Exit codes: 0 success, 1 a check failed, 2 usage, input or
output error (one line on stderr), 130 Ctrl-C, 143 SIGTERM (one line on stderr, temporary
files removed)."""

from __future__ import annotations

import os
import sys
from typing import Any

import typer

from losscli.present.text import stderr_line


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one line on stderr and return the Exit to raise. Control characters in the
    message (it may quote names from a file) are shown escaped."""
    stderr_line(message, kind="error")
    return typer.Exit(code)



def run_guarded(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``fn``; turn input/usage/output errors into one stderr line and exit code 2, a
    closed stdout pipe (``| head``) into a quiet exit 0, Ctrl-C and SIGTERM into one line
    and exit 130/143 (see :mod:`losscli.interrupts`)."""
    from losscli.errors import LossCliError
    from losscli.interrupts import interrupted, seen

    try:
        return fn(*args, **kwargs)
    except LossCliError as exc:
        raise fail(str(exc), exc.exit_code) from None
    except BrokenPipeError:
        silence_stdout()
        raise typer.Exit(0) from None
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (interrupts.Terminated)
        raise typer.Exit(interrupted(exc)) from None
    except OSError as exc:  # the environment, not the input: still one line, never a traceback
        if seen() is not None:
            raise typer.Exit(interrupted()) from None
        raise fail(os_error_text(exc)) from None
    except Exception:
        if seen() is not None:  # what a signal's KeyboardInterrupt became (see _main)
            raise typer.Exit(interrupted()) from None
        raise


def os_error_text(exc: OSError) -> str:
    """An operating-system error that no boundary turned into a LossCliError, as one line:
    ``Cannot write to standard output: No space left on device.``"""
    import errno

    from losscli.io.atomic import os_reason

    if exc.filename is not None:
        return f"{os_reason(exc)}: '{exc.filename}'."
    if exc.errno in (errno.ENOSPC, errno.EBADF, errno.EDQUOT, errno.EFBIG, errno.EIO):
        return f"Cannot write to standard output: {os_reason(exc)}."
    return f"{os_reason(exc)}."


class ClosedStdout:
    """``sys.stdout`` when file descriptor 1 was closed (``>&-``): every write fails with
    EBADF, which the output boundaries report as one line (exit 2). Commands that write
    only files (``--output``) still work."""

    encoding = "utf-8"
    errors = "strict"

    def write(self, data: Any) -> int:
        import errno

        raise OSError(errno.EBADF, "standard output is closed")

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    @property
    def buffer(self) -> ClosedStdout:
        return self

    @property
    def closed(self) -> bool:
        return False


def _guard_closed_stdout() -> None:
    """With file descriptor 1 closed, the next file opened would get it, and anything
    printed would land in that file. Hold it with /dev/null, and fail writes instead."""
    try:
        os.fstat(1)
        return
    except OSError:
        pass
    fd = os.open(os.devnull, os.O_WRONLY)
    if fd != 1:
        os.dup2(fd, 1)
        os.close(fd)
    sys.stdout = ClosedStdout()  # type: ignore[assignment]


def _fd_identity(fd: int) -> tuple[int, int] | None:
    import os

    try:
        st = os.fstat(fd)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _devnull_identity() -> tuple[int, int] | None:
    import os

    st = os.stat(os.devnull)
    return st.st_dev, st.st_ino


def silence_stdout() -> None:
    """Point file descriptor 1 at /dev/null: what is still buffered for stdout (a reader
    that went away, a full disk) is dropped quietly at exit instead of raising again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass


def keep_freed_memory() -> None:
    """Ask glibc to keep freed chunk-sized blocks instead of returning them to the OS.

    Every chunk allocates and frees temporaries of the same few MB; by default glibc unmaps
    or trims them and the next chunk page-faults fresh zeroed memory, which made the
    kernels 3x slower (measured: 0.24 s -> 0.07 s of compute for 10M rows, 3 losses).
    Peak memory is unchanged: the same blocks are reused. Only the CLI process does this;
    the library never changes its host's allocator.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to tune
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 32 << 20)  # glibc's maximum
    mallopt(m_trim_threshold, 64 << 20)


def main(app: typer.Typer) -> None:
    """Entry point: Typer's parsing, with its usage errors shortened to one stderr line;
    Ctrl-C and SIGTERM end with one line and exit 130/143 (:mod:`losscli.interrupts`)."""
    from losscli.interrupts import exit_now, finishing, install_raising, interrupted, reported

    install_raising()
    try:
        code = _main(app)
        finishing()  # from here on a signal ends the process at once, with its one line
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM (interrupts.Terminated)
        code = interrupted(exc)
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away after we were done: not an error
        silence_stdout()
    except OSError as exc:  # buffered output that cannot go out (a full disk)
        stderr_line(os_error_text(exc), kind="error")
        silence_stdout()
        code = 2
    if reported():
        exit_now(code)
    sys.exit(code)


def _main(app: typer.Typer) -> int:
    """Run the command; its exit code."""
    from losscli.interrupts import interrupted, seen

    _guard_closed_stdout()
    keep_freed_memory()
    if not sys.warnoptions:
        # Library warnings (numpy on an old NPY header, pyarrow, dask) are not losscli's
        # messages: stderr carries one line per problem. -W or PYTHONWARNINGS still show them.
        import warnings

        warnings.simplefilter("ignore")
    # typer converts parameters through pydantic, whose plugin loader scans every installed
    # package's entry points (~10 ms of each start-up, each TAB); losscli uses no plugins.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    command = typer.main.get_command(app)
    stdout_before = _fd_identity(1)
    try:
        code = command.main(prog_name="losscli", standalone_mode=False)
    except SystemExit as exc:
        # rich's Console.on_broken_pipe points stdout at /dev/null and exits 1 when the reader
        # went away (`losscli --help | head -1`): not an error. Any other exit stands.
        if exc.code != 1 or stdout_before == _fd_identity(1) or (
                _fd_identity(1) != _devnull_identity()):
            raise
        code = 0
    except typer.Exit as exc:  # raised outside a command's own handling
        code = exc.exit_code
    except BrokenPipeError:  # e.g. `losscli --help | head -1`: not an error
        silence_stdout()
        code = 0
    except OSError as exc:  # e.g. --help to a full disk: one line, not a traceback
        stderr_line(os_error_text(exc), kind="error")
        silence_stdout()
        code = 2
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM outside a command's own handling
        code = interrupted(exc)
    except (EOFError, typer.Abort):  # end of input at a prompt: as Ctrl-C
        code = interrupted()
    except Exception as exc:
        if seen() is not None:
            # A signal's KeyboardInterrupt that Python wrapped on the way (an interrupt in a
            # class body's __set_name__ becomes a RuntimeError): an interrupt, not a bug.
            return interrupted()
        message = getattr(exc, "format_message", None)
        if message is None or not hasattr(exc, "exit_code"):
            raise  # a bug: keep the traceback
        if not message().strip() and hasattr(exc, "show"):  # no arguments: show the help
            exc.show()
            return int(exc.exit_code)
        # Parse errors carry no context: name the subcommand from the arguments instead.
        sub = next((a for a in sys.argv[1:] if a in getattr(command, "commands", {})), None)
        where = f"losscli {sub}" if sub else "losscli"
        from losscli.errors import escape_controls

        sys.stderr.write(f"losscli: error: {escape_controls(' '.join(message().split()))} "
                         f"(see '{where} --help')\n")
        code = exc.exit_code
    if seen() is not None:  # typer turns a KeyboardInterrupt into a silent exit 130
        code = interrupted()
    return code if isinstance(code, int) else 0
