"""Write a file so that it is either the old file or the whole new one, never half of one.

The content goes to a temporary file in the same folder, is flushed and fsync'ed, then
renamed over the target with :func:`os.replace` (atomic on POSIX and Windows). If anything
fails before the rename — a full disk, an error, Ctrl-C — the temporary file is removed and
the target is untouched: an interrupted run never leaves a half-written or empty file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

from losscli.errors import UsageError


def check_writable(path: str, flag: str = "") -> str:
    """The absolute path of a file that may be written: its folder exists and it is not a
    directory. Raises UsageError naming ``flag`` (e.g. ``--save``) and the fix."""
    what = f"{flag} {path}".strip()
    target = os.path.abspath(path)
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise UsageError(f"Cannot write '{what}': folder '{folder}' does not exist.")
    if os.path.isdir(target):
        raise UsageError(f"Cannot write '{what}': it is a directory; give a file name.")
    return target


@contextmanager
def atomic_file(path: str, mode: str = "w", flag: str = "") -> Iterator[IO]:
    """``with atomic_file(path) as f: f.write(...)``: ``path`` is replaced only when the
    block completes. Keeps an existing file's permissions (a new one gets 0o666 & ~umask)."""
    target = check_writable(path, flag)
    folder = os.path.dirname(target)
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(target)}.",
                                   suffix=".tmp")
    except OSError as exc:
        raise UsageError(f"Cannot write '{path}': {exc.strerror} in folder '{folder}'.") from None
    try:
        with open(fd, mode, encoding=None if "b" in mode else "utf-8") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _file_mode(target))
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(folder)


def write_atomically(path: str, write: Callable[[IO], None], mode: str = "w",
                     flag: str = "") -> None:
    """Call ``write(f)`` on a temporary file and rename it over ``path`` on success."""
    with atomic_file(path, mode, flag) as f:
        write(f)


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
