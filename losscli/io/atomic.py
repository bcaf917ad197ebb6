"""Write a file so that it is either the old file or the whole new one, never half of one.

The content goes to a temporary file in the same folder (:class:`AtomicTarget`), is flushed
and fsync'ed, then renamed over the target with :func:`os.replace` (atomic on POSIX and
Windows). If anything fails before the rename — a full disk, an error, Ctrl-C, SIGTERM —
the temporary file is removed and the target is untouched: an interrupted run never
leaves a half-written or empty file.

A target that is not a regular file (a FIFO, ``/dev/fd/N``, ``/dev/full``, a terminal) is
not replaced but written directly (:func:`is_special`): renaming over it would be wrong.

:func:`guard` is the one output guard: every command calls it once, before any data is
read, with all the files it reads and all the files it writes (``--output``, ``--save``,
``--save-state``, ``--html``, any future one). An output is refused when it is the same
file as any input or as another output — the same device and inode (symbolic and hard
links resolved), or for files not yet written the same path once folders, ``..`` and
symbolic links are resolved — and when its folder does not take a file.

Standard library only.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import IO, Any

from losscli.errors import OutputError, UsageError
from losscli.interrupts import on_interrupt

#: Temporary files that exist (or are about to): a name is recorded *before* the file is
#: created, so that an interrupt at any moment finds it (:func:`discard_all`).
_LIVE: set[str] = set()


def discard_all() -> None:
    """Remove every temporary file not yet renamed into place (on the way out of an
    interrupted command: see :func:`losscli.interrupts.on_interrupt`)."""
    for tmp in list(_LIVE):
        _LIVE.discard(tmp)
        try:
            os.unlink(tmp)
        except OSError:
            pass


on_interrupt(discard_all)


def _create_temp(folder: str, base: str) -> str:
    """Create an empty ``.BASE.XXXXXXXX.tmp`` in ``folder`` (mode 0o600) and return its path."""
    for _ in range(100):
        tmp = os.path.join(folder, f".{base}.{os.urandom(4).hex()}.tmp")
        _LIVE.add(tmp)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            _LIVE.discard(tmp)
            continue
        except OSError:  # not created (an interrupt, though, may come after it was: kept)
            _LIVE.discard(tmp)
            raise
        os.close(fd)
        return tmp
    raise FileExistsError(errno.EEXIST, "no free temporary file name", folder)


def check_writable(path: str, flag: str = "") -> str:
    """The absolute path of a file that may be written: its folder exists and it is not a
    directory. Raises UsageError naming ``flag`` (e.g. ``--save``) and the fix."""
    what = f"{flag} '{path}'" if flag else f"'{path}'"
    target = os.path.abspath(path)
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise UsageError(f"Cannot write {what}: folder '{folder}' does not exist.")
    if os.path.isdir(target):
        raise UsageError(f"Cannot write {what}: it is a directory; give a file name.")
    return target


def is_special(path: str) -> bool:
    """True when ``path`` is not an ordinary file to be replaced: it exists and is not a
    regular file (a FIFO, a device), or it lies under /dev or /proc (``/dev/stdout``,
    ``/dev/fd/N``: an already open file, which a rename would not reach). Such a target is
    written directly."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        return True
    resolved = os.path.realpath(path)
    return any(p.startswith(("/dev/", "/proc/")) for p in (os.path.abspath(path), resolved))


def same_file_as(path: str, others: Iterable[str]) -> str | None:
    """The first of ``others`` that is the same file as ``path`` (same device and inode,
    symbolic links followed), or None. Paths that do not exist match nothing."""
    mine = _identity(path)
    if mine is None:
        return None
    return next((other for other in others if _identity(other) == mine), None)


def _identity(path: Any) -> tuple[int, int] | None:
    """(device, inode) of the regular file ``path`` (links followed), or None."""
    try:
        st = os.stat(path)
    except (OSError, ValueError, TypeError):
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None


def _where(path: str) -> str:
    """Where a file not yet written will be: its absolute path with ``..`` and symbolic
    links (of its folders, or a dangling link itself) resolved."""
    return os.path.realpath(os.path.abspath(path))


def _input_files(spec: str) -> list[str]:
    """The local files an input reads: a file itself, every file of a folder, every file
    a pattern matches (:mod:`losscli.io.paths`). Standard input, object storage and paths
    that do not exist read nothing here."""
    from losscli.io.dataset import scheme_of
    from losscli.io.paths import local_files

    if spec == "-" or scheme_of(spec) is not None:
        return []
    try:
        return [full for full, _ in local_files(spec)[1]]
    except (OSError, ValueError):
        return []


#: The inputs of the last :func:`guard` call (role, as given, file, identity) and the input
#: each output flag may replace: every :class:`AtomicTarget` (every regular-file writer) is
#: checked against them again, so a writer that a command forgot to declare to the guard
#: still cannot replace an input.
_RUN: tuple[list[tuple[str, str, str, tuple[int, int]]], dict[str, Any]] = ([], {})


def guard(inputs: Iterable[tuple[str, Any]], outputs: Mapping[str, str | None], *,
          may_replace: Mapping[str, str | None] | None = None) -> None:
    """The one output guard (see the module doc), called once per command before any
    data is read. ``inputs``: (what it is — ``predictions``, ``--targets``, ``--baseline``
    ... — , path) for every file, folder or pattern read (None, arrays and ``-`` are
    skipped); ``outputs``: flag → path for every file written (None or ``-``: not written).
    ``may_replace``: flag → the one input that output may replace (``check --save`` over
    its ``--baseline``: a policy of the gate). Raises UsageError (exit 2) with one line
    naming the output, what it collides with, and the fix."""
    global _RUN
    allowed = {flag: _identity(path) for flag, path in (may_replace or {}).items()
               if isinstance(path, str)}
    files: list[tuple[str, str, str, tuple[int, int]]] = []  # role, given, file, identity
    for role, spec in inputs:
        if not isinstance(spec, str):
            continue
        for full in _input_files(spec):
            found = _identity(full)
            if found is not None:
                files.append((role, spec, full, found))
    seen: list[tuple[str, str, tuple[int, int] | None, str]] = []  # flag, path, identity, where
    for flag, path in outputs.items():
        if path is None or path == "-":
            continue
        # A FIFO or a device (/dev/stdout) is written directly and destroys nothing; but
        # /dev/fd/N or /proc/self/fd/N may be an open regular file: compared by identity.
        special = is_special(path)
        if not special:
            check_writable(path, flag)
        found = _identity(path)
        where = "" if special else _where(path)
        _refuse_input(flag, path, found, files, allowed)
        for other, other_path, other_id, other_where in seen:
            if (found is not None and found == other_id) or (where and where == other_where):
                raise UsageError(f"{flag} '{path}' and {other} '{other_path}' are the same "
                                 "file; give them different files.")
        seen.append((flag, path, found, where))
    _RUN = (files, allowed)
    for flag, path, _, where in seen:  # the folder takes a file: tried now, not after the run
        if where:
            AtomicTarget(path, flag).discard()


def _refuse_input(flag: str, path: str, found: tuple[int, int] | None,
                  files: list[tuple[str, str, str, tuple[int, int]]],
                  allowed: Mapping[str, Any]) -> None:
    """UsageError when the output ``path`` (identity ``found``) is one of the input
    ``files`` (and not the one input ``flag`` may replace)."""
    if found is None or allowed.get(flag) == found:
        return
    for role, spec, full, identity in files:
        # stat'ed again: a file since removed (its inode reused by another) is no input
        if found == identity and _identity(full) == found:
            inside = "" if _where(full) == _where(spec) else f" (a file of {role} '{spec}')"
            what = f"'{full}'{inside}" if inside else f"'{spec}' ({role})"
            raise UsageError(f"{flag or 'The output'} '{path}' is the input file {what}: writing "
                             f"there would destroy the input. Give another "
                             f"{flag or 'output'} file.")


def os_reason(exc: OSError) -> str:
    """``No space left on device`` — the short reason of an OS error, without errno."""
    if exc.errno == errno.EBADF:
        return "it is closed"
    return exc.strerror or str(exc) or type(exc).__name__


class AtomicTarget:
    """A temporary file beside ``path`` (``.NAME.XXXX.tmp``, in the same folder so the
    rename stays on one file system) that :meth:`commit` renames over ``path`` and
    :meth:`discard` removes. ``tmp`` is its path, to be opened and written by the caller.
    Keeps an existing file's permissions (a new one gets 0o666 & ~umask)."""

    def __init__(self, path: str, flag: str = "") -> None:
        self.path = path
        # Through symbolic links: the file a link points to is replaced, not the link.
        self.target = os.path.realpath(check_writable(path, flag))
        _refuse_input(flag, path, _identity(self.target), *_RUN)  # the guard's inputs, again
        folder = os.path.dirname(self.target)
        try:
            self.tmp = _create_temp(folder, os.path.basename(self.target))
        except OSError as exc:
            what = f"{flag} '{path}'" if flag else f"'{path}'"
            raise UsageError(f"Cannot write {what}: {os_reason(exc)} in folder '{folder}'; "
                             "choose a folder you can write to.") from None
        self.done = False

    def commit(self) -> None:
        """Make the written temporary file the target (fsync'ed first)."""
        try:
            fd = os.open(self.tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.chmod(self.tmp, _file_mode(self.target))
            os.replace(self.tmp, self.target)
        except OSError as exc:
            self.discard()
            raise OutputError(f"Cannot write '{self.path}': {os_reason(exc)}.") from None
        self.done = True
        _LIVE.discard(self.tmp)
        _fsync_dir(os.path.dirname(self.target))

    def discard(self) -> None:
        """Remove the temporary file (the target is left as it was). Idempotent."""
        if not self.done:
            self.done = True
            try:
                os.unlink(self.tmp)
            except OSError:
                pass
            _LIVE.discard(self.tmp)


@contextmanager
def atomic_file(path: str, mode: str = "w", flag: str = "") -> Iterator[IO[Any]]:
    """``with atomic_file(path) as f: f.write(...)``: ``path`` is replaced only when the
    block completes. A write that fails (a full disk) is an OutputError naming ``path``;
    an exception or interrupt inside the block leaves ``path`` as it was. A FIFO or device
    (:func:`is_special`) is written directly."""
    if is_special(path):
        _refuse_input(flag, path, _identity(path), *_RUN)  # /dev/fd/N: an input, perhaps
        try:
            with open(path, mode, encoding=None if "b" in mode else "utf-8") as f:
                yield f
        except OSError as exc:
            raise OutputError(f"Cannot write '{path}': {os_reason(exc)}.") from None
        return
    target = AtomicTarget(path, flag)
    try:
        try:
            with open(target.tmp, mode, encoding=None if "b" in mode else "utf-8") as f:
                yield f
        except OSError as exc:
            raise OutputError(f"Cannot write '{path}': {os_reason(exc)}.") from None
        target.commit()
    finally:
        target.discard()  # no-op after a commit


def write_atomically(path: str, write: Callable[[IO[Any]], None], mode: str = "w",
                     flag: str = "") -> None:
    """Call ``write(f)`` on a temporary file and rename it over ``path`` on success."""
    with atomic_file(path, mode, flag) as f:
        write(f)


def append_text(path: str, text: str, flag: str = "") -> None:
    """Append ``text`` to ``path`` (a file another program shows, such as GitHub's
    ``$GITHUB_STEP_SUMMARY``: replacing it would drop what others wrote). Declared to
    :func:`guard` like every output; refused when it is one of the guard's inputs. A
    failed write is one OutputError naming ``path``."""
    check_writable(path, flag)
    _refuse_input(flag, path, _identity(path), *_RUN)  # the guard's inputs, again
    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        raise OutputError(f"Cannot write {flag + ' ' if flag else ''}'{path}': "
                          f"{os_reason(exc)}.") from None


def _file_mode(target: str) -> int:
    """Keep an existing file's permissions; a new file gets the usual 0o666 & ~umask."""
    try:
        return os.stat(target).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_dir(folder: str) -> None:
    """Make the rename itself durable (best effort: not every platform can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
