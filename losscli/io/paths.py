"""The one path resolver: what a path the user gave names, before anything is read.

The rule, for a local path and for an object-storage key alike:

* a path that **exists** (a file, a folder, an object, a prefix with objects under it) is
  taken **literally**, whatever characters its name holds (``x[ab].parquet``, ``*.csv``,
  ``a b?``);
* only a path that does **not** exist and contains a glob character (``*``, ``?``, ``[``)
  is a **pattern** (:func:`glob_match`: ``*`` and ``?`` within one folder, ``**`` across
  folders, ``[...]`` a character class; a ``[`` without its ``]`` is itself);
* the files found in a folder, or matched by a pattern, are paths, never patterns again:
  they are opened as they are (:func:`resolve_local` is not called on them).

:func:`resolve_local` and :func:`resolve_remote` say which of these a path is
(:class:`Resolved`); :func:`local_files` lists a folder's or a pattern's files. The report
records an input that was a pattern (``"pattern": true``).

Standard library only (a remote filesystem is passed in).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from losscli.errors import InputError

#: The characters that can make a missing path a pattern.
GLOB_CHARS = re.compile(r"[*?\[]")

FILE, FOLDER, PATTERN, MISSING = "file", "folder", "pattern", "missing"


@dataclass(frozen=True)
class Resolved:
    """What a path names: ``kind`` is ``file``, ``folder``, ``pattern`` or ``missing``;
    ``path`` the path itself (local: as given, ``file://`` removed)."""

    path: str
    kind: str

    @property
    def pattern(self) -> bool:
        return self.kind == PATTERN


def has_glob(text: str) -> bool:
    """Whether ``text`` holds a glob character (``*``, ``?``, ``[``)."""
    return GLOB_CHARS.search(text) is not None


def local_path(spec: str) -> str:
    """A local spec without its ``file://`` prefix."""
    return spec[len("file://"):] if spec.startswith("file://") else spec


def resolve_local(spec: str) -> Resolved:
    """What the local path ``spec`` names (see the module doc). A symbolic link counts
    as existing (a dangling one is a file that cannot be opened, not a pattern)."""
    path = local_path(spec)
    try:
        exists = os.path.lexists(path)
    except (ValueError, OSError):  # an embedded NUL: nothing by that name
        exists = False
    if exists:
        return Resolved(path, FOLDER if os.path.isdir(path) else FILE)
    return Resolved(path, PATTERN if has_glob(path) else MISSING)


def resolve_remote(path: str, info: Callable[[str], Any]) -> Resolved:
    """What the object-storage ``path`` (``bucket/key``) names. ``info(path)`` is the
    filesystem's ``get_file_info``: an existing object (a key holding ``[`` included) is a
    file, an existing prefix a folder; only a missing path with glob characters is a
    pattern."""
    import pyarrow.fs as pafs

    kind = info(path.rstrip("/") or path).type
    if kind == pafs.FileType.File:
        return Resolved(path, FILE)
    if kind == pafs.FileType.Directory:
        return Resolved(path, FOLDER)
    return Resolved(path, PATTERN if has_glob(path) else MISSING)


def static_prefix(pattern: str, is_folder: Callable[[str], bool] | None = None) -> str:
    """The folder a pattern is matched under: its leading folders before the first one
    that holds a glob character — or, with ``is_folder``, that holds one but does not exist
    as a folder (an existing folder is literal): ``preds/**/*.parquet`` → ``preds``."""
    parts = pattern.split("/")
    out: list[str] = []
    for part in parts[:-1]:
        if has_glob(part) and (is_folder is None or not is_folder("/".join([*out, part]))):
            break
        out.append(part)
    return "/".join(out)


def _bracket(pattern: str, i: int) -> tuple[str, int] | None:
    """The character class starting at ``pattern[i] == '['`` as a regex and the index after
    its ``]``; None when it has no closing ``]`` (then ``[`` is itself). As in fnmatch:
    ``[!...]`` negates, a ``]`` right after ``[`` or ``[!`` is a member."""
    j = i + 1
    if j < len(pattern) and pattern[j] == "!":
        j += 1
    if j < len(pattern) and pattern[j] == "]":
        j += 1
    end = pattern.find("]", j)
    if end < 0:
        return None
    body = pattern[i + 1:end]
    negate = body.startswith("!")
    if negate:
        body = body[1:]
    if "/" in body:  # a class never matches a folder separator: literal text then
        return None
    members = ""
    k = 0
    while k < len(body):
        if k + 2 < len(body) and body[k + 1] == "-":
            lo, hi = body[k], body[k + 2]
            if lo <= hi:
                members += f"{re.escape(lo)}-{re.escape(hi)}"
            k += 3
        else:
            members += re.escape(body[k])
            k += 1
    if not members:
        return ("[^/]" if negate else "(?!)"), end + 1
    return (f"[^/{members}]" if negate else f"[{members}]"), end + 1


def glob_regex(pattern: str) -> str:
    """A regular expression for ``pattern`` over relative posix paths: ``**/`` any number
    of folders, ``**`` anything, ``*`` and ``?`` within one folder name, ``[...]`` one
    character of a class. Built without recursion, so any text is a valid pattern."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and (found := _bracket(pattern, i)) is not None:
            out.append(found[0])
            i = found[1]
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def glob_match(relative: str, pattern: str) -> bool:
    """Whether the relative posix path ``relative`` matches ``pattern`` (:func:`glob_regex`)."""
    return re.fullmatch(glob_regex(pattern), relative, flags=re.DOTALL) is not None


def walk(root: str, depth: int | None = None) -> Iterator[tuple[str, str]]:
    """Every file under the folder ``root`` as (its path, its path relative to ``root`` with
    posix separators), folders in sorted order; ``depth``: at most that many folders down.
    Names are never interpreted."""
    base = root.rstrip(os.sep).count(os.sep)
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        if depth is not None and folder.rstrip(os.sep).count(os.sep) - base >= depth:
            dirs.clear()
        for name in sorted(names):
            full = os.path.join(folder, name)
            yield full, os.path.relpath(full, root).replace(os.sep, "/")


def local_files(spec: str) -> tuple[Resolved, list[tuple[str, str]]]:
    """What ``spec`` names and its files as (path, path relative to the input root): a file
    alone (relative: its name), a folder's files, the files a pattern matches (relative to
    the pattern's static folder). A missing path has no files."""
    found = resolve_local(spec)
    path = found.path
    if found.kind == FILE:
        return found, [(path, os.path.basename(path))]
    if found.kind == FOLDER:
        return found, list(walk(path))
    if found.kind == MISSING:
        return found, []
    root = static_prefix(path, os.path.isdir)
    pattern = path[len(root):].lstrip("/") if root else path
    if not root:
        root = "/" if path.startswith("/") else "."
        pattern = pattern.lstrip("/")
    if not os.path.isdir(root):
        return found, []
    try:
        regex = re.compile(glob_regex(pattern), re.DOTALL)
    except re.error as exc:  # not expected: glob_regex escapes everything it does not build
        raise InputError(f"Cannot read the pattern '{spec}': {exc}. Quote the path, or "
                         "rename the file.") from None
    depth = None if "**" in pattern else pattern.count("/")  # no deeper than it can match
    return found, [(full, rel) for full, rel in walk(root, depth) if regex.fullmatch(rel)]
