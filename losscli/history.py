"""A metric history: ``losscli history PATH`` reads a committed report (``eval --format
json``, ``check --save``) or saved state (``--save-state``) at each commit that changed
``PATH`` and returns one row per commit — its hash, date and subject — with each loss's
value (and interval, where the report has one) at that commit.

Plain data, no rendering (:mod:`losscli.present.history_text`,
:mod:`losscli.present.history_chart` draw it). Git runs through
:mod:`losscli.gate.gitref` (its one-line errors: git missing, not a repository, an unknown
ref, a shallow clone); each file is read as a baseline is
(:func:`losscli.gate.baseline.parse_report_bytes`: the same decoding and validation). A
commit whose file is not a readable report is a row that says why; a loss absent at a
commit is a blank cell.

``PATH`` is as ``git log -- PATH`` reads it: relative to the current folder. Rows are in
the order of time (oldest first); ``n`` keeps the ``n`` most recent commits.
"""

from __future__ import annotations

import os
import posixpath
import re
import tempfile
from dataclasses import dataclass, field
from typing import Any

from losscli.errors import InputError, UsageError

#: The fields of one commit in ``git log``'s output, separated by the unit separator.
_LOG_FORMAT = "%H%x1f%h%x1f%cI%x1f%s"


@dataclass(frozen=True)
class Point:
    """One loss at one commit: its value and, where the report has an interval, its
    bounds (the noise band)."""

    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "ci_low": self.ci_low, "ci_high": self.ci_high}


@dataclass(frozen=True)
class Commit:
    """One row: a commit that changed the file, and what the file held there (``error``:
    why it is not a report, or None)."""

    commit: str
    short: str
    date: str
    subject: str
    values: dict[str, Point] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self, columns: list[str]) -> dict[str, Any]:
        empty = Point(None)
        return {"commit": self.commit, "short": self.short, "date": self.date,
                "subject": self.subject, "error": self.error,
                "values": {c: self.values.get(c, empty).to_dict() for c in columns}}


@dataclass(frozen=True)
class History:
    """The history of one file: its columns (a loss label, or ``label.key=value`` per
    group with ``group_by``) in order of first appearance, and one :class:`Commit` per
    commit that changed it, oldest first."""

    path: str
    columns: list[str]
    commits: list[Commit]
    group_by: tuple[str, ...] = ()
    rev_range: str | None = None

    @property
    def has_intervals(self) -> dict[str, bool]:
        """Per column: whether any point of it has an interval."""
        return {c: any(r.values.get(c, Point(None)).ci_low is not None for r in self.commits)
                for c in self.columns}

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "rev_range": self.rev_range, "group_by": list(self.group_by),
                "columns": list(self.columns),
                "commits": [c.to_dict(self.columns) for c in self.commits]}


def _where(path: str) -> str:
    return f"losscli history '{path}'"


def _rev_range(git: Any, rev_range: str) -> str:
    """``A..B`` (or ``A..``: up to HEAD) checked: each end a commit of the repository."""
    start, sep, end = rev_range.partition("..")
    if not sep or not start or end.startswith(".") or rev_range.startswith("-"):
        raise UsageError(f"--rev-range '{rev_range}': expected A..B (e.g. main..HEAD, "
                         "v1.0..v2.0, HEAD~10..); or give -n N for the last N changes.")
    for ref in (start, end or "HEAD"):
        if git.commit_of(ref) is None:
            raise git.missing_ref(ref, f"--rev-range end {ref!r}")
    return f"{start}..{end or 'HEAD'}"


def _log(git: Any, path: str, rev_range: str | None, n: int | None) -> list[list[str]]:
    if git.commit_of("HEAD") is None:
        raise InputError(f"{git.where}: the repository '{git.top}' has no commit yet; "
                         "commit the report first.")
    args = ["log", f"--format={_LOG_FORMAT}"]
    if n is not None:
        args.append(f"--max-count={n}")
    args += [rev_range or "HEAD", "--", path]
    done = git.run(*args)
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(f"{git.where}: git log failed: {why[0] if why else 'no reason'}; "
                         "give a path inside the repository.")
    lines = done.stdout.decode("utf-8", "replace").splitlines()
    return [line.split("\x1f", 3) for line in lines if line.count("\x1f") >= 3]


def _in_repository(git: Any, path: str) -> str:
    """``path`` (relative to the current folder, or absolute) as git names it in a tree:
    relative to the repository's top folder."""
    if os.path.isabs(path):
        inside = os.path.relpath(os.path.realpath(path), os.path.realpath(git.top))
    else:
        prefix = git.run("rev-parse", "--show-prefix").stdout.decode("utf-8", "replace")
        inside = posixpath.normpath(prefix.strip() + path.replace(os.sep, "/"))
    return inside.replace(os.sep, "/")


def _batch(git: Any, objects: list[str], check: bool) -> list[tuple[bytes, int, bytes]]:
    """``git cat-file --batch[-check]`` over ``objects`` (one process for all the
    commits): per object (type, size, content) — type ``b"missing"`` when it is absent."""
    done = git.run("cat-file", "--batch-check" if check else "--batch",
                   input="".join(o + "\n" for o in objects).encode())
    if done.returncode != 0:
        raise InputError(f"{git.where}: git cat-file failed: "
                         f"{done.stderr.decode('utf-8', 'replace').strip()[:200]}.")
    out, at, found = done.stdout, 0, []
    for _ in objects:
        end = out.index(b"\n", at)
        header, at = out[at:end], end + 1
        if header.endswith((b" missing", b" ambiguous")):
            found.append((b"missing", 0, b""))
            continue
        _, kind, size = header.rsplit(b" ", 2)
        content = b"" if check else out[at:at + int(size)]
        at += 0 if check else int(size) + 1
        found.append((kind, int(size), content))
    return found


def _read_all(git: Any, commits: list[str], path: str) -> list[bytes | str]:
    """The file at each commit, or why not: two git processes whatever the number of
    commits (the sizes first: nothing larger than a report is read)."""
    from losscli.gate.baseline import MAX_BASELINE_BYTES

    inside = _in_repository(git, path)
    if "\n" in inside:
        raise UsageError(f"{git.where}: a path with a line break cannot be read from git's "
                         "history; rename the file.")
    objects = [f"{commit}:{inside}" for commit in commits]
    sizes = _batch(git, objects, check=True)
    wanted = [o for o, (kind, size, _) in zip(objects, sizes)
              if kind == b"blob" and size <= MAX_BASELINE_BYTES]
    contents = iter(_batch(git, wanted, check=False)) if wanted else iter(())
    found: list[bytes | str] = []
    for kind, size, _ in sizes:
        if kind == b"missing":
            found.append("the file is not present at this commit (deleted or moved)")
        elif kind != b"blob":
            found.append(f"a {kind.decode('ascii', 'replace')} at this commit, not a file")
        elif size > MAX_BASELINE_BYTES:
            found.append(f"larger than {MAX_BASELINE_BYTES >> 20} MiB: not a losscli report")
        else:
            found.append(next(contents)[2])
    return found


def _document(data: bytes, name: str) -> Any:
    """The report of ``data`` as a :class:`~losscli.gate.baseline.Baseline` (and its
    document): a report JSON directly, a saved state through its report (``losscli
    merge``'s)."""
    from losscli.gate.baseline import decode_report, parse_report_bytes
    from losscli.saved import FORMAT

    doc, base = None, None
    try:
        doc, base = parse_report_bytes(data, name)
    except InputError:
        try:
            found = decode_report(data.decode("utf-8-sig"), name)
        except (InputError, UnicodeDecodeError):
            found = None
        if not (isinstance(found, dict) and found.get("format") == FORMAT):
            raise
        doc = _state_report(data, name)
        from losscli.gate.baseline import parse_baseline

        base = parse_baseline(doc, name)
    return doc, base


def _state_report(data: bytes, name: str) -> dict[str, Any]:
    """The report document of a saved state's bytes (read from a private temporary file:
    :mod:`losscli.saved` reads files); its messages name ``name``."""
    from losscli.saved import merge_parts, report_of

    fd, tmp = tempfile.mkstemp(prefix="losscli-history-", suffix=".state")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        try:
            doc, state, parts = merge_parts([tmp])
            report = report_of(doc, state, parts)
        except InputError as exc:
            raise InputError(str(exc).replace(tmp, name)) from None
        result: dict[str, Any] = report.to_dict()
        return result
    finally:
        os.unlink(tmp)


def _intervals(entries: Any) -> dict[str, tuple[float | None, float | None]]:
    """The interval of each entry of a validated ``losses`` list, by its position's
    label: (low, high), numbers or None."""
    from losscli.gate.baseline import finite_number

    out: dict[str, tuple[float | None, float | None]] = {}
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        iv = entry.get("interval") if isinstance(entry, dict) else None
        if isinstance(iv, dict):
            out[str(i)] = (finite_number(iv.get("low")), finite_number(iv.get("high")))
    return out


def _points(losses: Any, entries: Any, prefix: str = "") -> dict[str, Point]:
    """Column → point of one list of validated losses (``BaselineLoss`` in file order)
    and its raw entries (for the intervals)."""
    bands = _intervals(entries)
    out = {}
    for i, loss in enumerate(losses.values()):
        low, high = bands.get(str(i), (None, None))
        if low is None or high is None:
            low = high = None
        out[loss.label + prefix] = Point(loss.value, low, high)
    return out


def _group_suffix(key: tuple[Any, ...], names: tuple[str, ...]) -> str:
    return "".join(f".{n}={'null' if v is None else v}" for n, v in zip(names, key))


def _reason(message: str, name: str) -> str:
    """A baseline's message as a row's reason: about "the file", without the advice to
    regenerate a baseline (a commit's file is history, not to be rewritten)."""
    text = message.replace(f"Baseline '{name}'", "the file").replace(f"'{name}'", "the file")
    text = re.sub(r"\s*Regenerate it with '[^']*'\.", "", text)
    return text[:1].lower() + text[1:]


def _row(meta: list[str], data: bytes | str, name: str,
         group_by: tuple[str, ...]) -> Commit:
    full, short, date, subject = meta
    if isinstance(data, str):
        return Commit(full, short, date, subject, error=data)
    try:
        doc, base = _document(data, name)
    except InputError as exc:
        return Commit(full, short, date, subject, error=_reason(str(exc), name))
    if not group_by:
        return Commit(full, short, date, subject, _points(base.losses, doc.get("losses")))
    if base.group_by != group_by:
        has = ", ".join(base.group_by) if base.group_by else "no groups"
        return Commit(full, short, date, subject, error=f"the report has {has}, not "
                      f"--group-by {', '.join(group_by)}")
    values: dict[str, Point] = {}
    raw = doc.get("groups") or []
    for i, (key, losses) in enumerate((base.groups or {}).items()):
        entries = raw[i].get("losses") if i < len(raw) else None
        values.update(_points(losses, entries, _group_suffix(key, group_by)))
    return Commit(full, short, date, subject, values)


def history(path: str, *, rev_range: str | None = None, n: int | None = None,
            group_by: tuple[str, ...] | list[str] | None = None,
            cwd: str | None = None) -> History:
    """The history of the report (or saved state) ``path`` over the commits that changed
    it: all of them reachable from HEAD, those of ``rev_range`` (``A..B``), or the ``n``
    most recent; oldest first. ``group_by``: the columns are the report's groups (a
    report without those groups is a row saying so)."""
    from losscli.gate.gitref import SHALLOW_FIX, Git

    path = os.fspath(path)
    if not path:
        raise UsageError("losscli history needs PATH: the report JSON (or saved state) "
                         "committed in this repository, e.g. metrics/report.json.")
    if rev_range is not None and n is not None:
        raise UsageError("Give --rev-range or -n, not both.")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise UsageError(f"-n must be a positive number of commits, got {n!r}.")
    groups = tuple(group_by or ())
    git = Git(path, cwd, where=_where(path), instead="")
    ranged = _rev_range(git, rev_range) if rev_range is not None else None
    metas = _log(git, path, ranged, n)
    if not metas:
        within = f" in {ranged}" if ranged else ""
        raise InputError(f"{git.where}: no commit{within} changed '{path}' (in the "
                         f"repository '{git.top}'); give the path of a committed report, "
                         "relative to the current folder (git log -- PATH lists them).")
    if git.shallow and ranged is None and (n is None or len(metas) < n):
        raise InputError(f"{git.where}: '{git.top}' is a shallow clone, so the history of "
                         f"'{path}' is cut short; {SHALLOW_FIX}.")
    metas.reverse()
    files = _read_all(git, [meta[0] for meta in metas], path)
    rows = [_row(meta, data, f"{path}@{meta[1]}", groups) for meta, data in zip(metas, files)]
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row.values))
    return History(path, list(columns), rows, groups, ranged)
