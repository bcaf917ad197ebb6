"""Baselines of ``losscli check``: a report JSON written by ``eval --format json`` or
``check --save``, loaded and validated; its losses keyed by :class:`LossKey`.

A baseline is foreign input, so loading is total: whatever the file holds — a directory,
a FIFO, ``/dev/zero``, bytes that are not UTF-8, JSON nested ten thousand deep, numbers no
float can hold, ``NaN`` literals, a document of another shape — the result is a
:class:`Baseline` or an :class:`~losscli.errors.InputError` naming the file and the fix
(tests/test_baselines.py fuzzes it).

Versions: a document's ``schema_version`` may be any version up to this losscli's
:data:`~losscli.report.SCHEMA_VERSION` (fields added since are optional: an additive
change keeps the version); a newer one is refused with a message saying so.
"""

from __future__ import annotations

import json
import math
import os
import reprlib
import stat
from dataclasses import dataclass, replace
from typing import Any

from losscli.errors import InputError, UsageError
from losscli.registry import LossKey, key_of_entry, loss_arg
from losscli.report import FINGERPRINT_METHOD, SCHEMA_VERSION, DataFingerprint

#: The largest baseline read: a report of a few losses is a few kB.
MAX_BASELINE_BYTES = 64 << 20

_brief = reprlib.Repr()
_brief.maxstring = _brief.maxother = 40
_brief.maxlevel = 2


def brief(value: Any) -> str:
    """A short, one-line rendering of a JSON value for messages (never the whole of it)."""
    return _brief.repr(value).replace("\n", "\\n")


@dataclass(frozen=True)
class BaselineLoss:
    """One loss entry of a baseline: its key (name and non-default parameters: a missing
    parameter means its default) and its value."""

    name: str
    params: dict[str, Any]
    value: float | None
    key: LossKey
    #: The gap between its groups the baseline recorded (``--group-gap``): (method, value);
    #: None when it has none (or the gap was n/a)
    gap: tuple[str, float] | None = None

    @property
    def label(self) -> str:
        return self.key.label

    @property
    def loss_arg(self) -> str:
        """The ``--loss`` argument that evaluates this instance again."""
        return loss_arg(self.key)


@dataclass(frozen=True)
class Baseline:
    """A baseline report: its losses by key, in file order."""

    path: str
    losses: dict[LossKey, BaselineLoss]
    losscli_version: str | None = None
    rows: int | None = None  # rows the baseline was computed on, when it says
    fingerprint: DataFingerprint | None = None  # the data it was computed on, when it says
    #: A baseline of a --group-by run: its key columns and, per group key, its losses
    group_by: tuple[str, ...] = ()
    groups: dict[tuple[Any, ...], dict[LossKey, BaselineLoss]] | None = None
    #: ``--baseline git:REF:PATH``: the full hash of the commit it was read at
    commit: str | None = None

    def get(self, key: LossKey) -> BaselineLoss | None:
        return self.losses.get(key)

    def group(self, key: tuple[Any, ...]) -> Baseline | None:
        """The baseline of one group (its losses), None when the baseline has no such
        group."""
        if self.groups is None or key not in self.groups:
            return None
        return Baseline(self.path, self.groups[key], self.losscli_version)

    def gap_method(self) -> str | None:
        """The method of the gaps between groups the baseline recorded (one run computes one
        kind), None when it recorded none."""
        return next((b.gap[0] for b in self.losses.values() if b.gap is not None), None)

    def loss_args(self) -> list[str]:
        return [b.loss_arg for b in self.losses.values()]


def _regenerate(path: str) -> str:
    return f"Regenerate it with 'losscli check FILE --save {path}'."


def _baseline_loss(entry: Any, i: int, path: str, within: str = "") -> BaselineLoss:
    where = f"Baseline '{path}', {within}losses[{i}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise InputError(f"{where} is not a loss entry (an object with \"name\", \"params\", "
                         f"\"value\"). {_regenerate(path)}")
    params = entry.get("params", {})
    value = entry.get("value")
    if not isinstance(params, dict):
        raise InputError(f"{where}: \"params\" must be an object, got {brief(params)}.")
    number = None if value is None else finite_number(value)
    if value is not None and number is None:
        raise InputError(f"{where}: \"value\" must be a finite number or null, got "
                         f"{brief(value)}.")
    try:
        key = key_of_entry(entry["name"], params, where)
    except UsageError as exc:
        raise InputError(str(exc) if str(exc).startswith(where) else f"{where}: {exc}") from None
    except OverflowError:
        raise InputError(f"{where}: a parameter of {brief(entry['name'])} is too large for a "
                         f"float. {_regenerate(path)}") from None
    return BaselineLoss(key.name, dict(params), number, key, _gap(entry, where, path))


#: The gap methods a baseline may record (:mod:`losscli.gaps`).
GAP_METHODS = ("difference", "ratio")


def _gap(entry: dict[str, Any], where: str, path: str) -> tuple[str, float] | None:
    """A loss entry's ``group_gap`` (written by ``--group-gap``) as (method, value); None
    when absent or n/a (a null value)."""
    gap = entry.get("group_gap")
    if gap is None:
        return None
    method = gap.get("method") if isinstance(gap, dict) else None
    if method not in GAP_METHODS:
        raise InputError(f"{where}: \"group_gap\" must be an object with \"method\" one of "
                         f"{', '.join(GAP_METHODS)}, got {brief(gap)}. {_regenerate(path)}")
    value = gap.get("value")
    number = None if value is None else finite_number(value)
    if value is not None and number is None:
        raise InputError(f"{where}: \"group_gap\" \"value\" must be a finite number or null, "
                         f"got {brief(value)}. {_regenerate(path)}")
    return None if number is None else (method, number)


def finite_number(value: Any) -> float | None:
    """``value`` as a finite float, or None when it is not a number (or no float holds it)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _fingerprint(doc: dict[str, Any], path: str) -> DataFingerprint | None:
    """The baseline's data fingerprint; None when it has none (an older losscli) or one of
    another method (then the data are unknown, never "changed")."""
    found = doc.get("fingerprint")
    if found is None:
        return None
    where = f"Baseline '{path}', \"fingerprint\""
    if not isinstance(found, dict):
        raise InputError(f"{where} must be an object, got {brief(found)}. {_regenerate(path)}")
    method = found.get("method", FINGERPRINT_METHOD)
    if method != FINGERPRINT_METHOD:
        return None
    targets, rows = found.get("targets"), found.get("rows")
    if not (isinstance(targets, str) and len(targets) == 16
            and all(c in "0123456789abcdef" for c in targets)):
        raise InputError(f"{where}: \"targets\" must be 16 hex digits, got {brief(targets)}. "
                         f"{_regenerate(path)}")
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
        raise InputError(f"{where}: \"rows\" must be a row count, got {brief(rows)}. "
                         f"{_regenerate(path)}")
    return DataFingerprint(targets, rows, method)


def parse_baseline(doc: Any, path: str) -> Baseline:
    """Validate a decoded baseline document (see :func:`load_baseline`)."""
    if not isinstance(doc, dict) or "schema_version" not in doc:
        raise InputError(
            f"'{path}' is not a losscli report (no \"schema_version\"); write a baseline with "
            f"'losscli check FILE --save {path}' or 'losscli eval FILE --format json > {path}'."
        )
    version = doc["schema_version"]
    made_by = doc.get("losscli_version")
    made_by = f" (written by losscli {made_by[:40]})" if isinstance(made_by, str) else ""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InputError(f"Baseline '{path}' has schema_version {brief(version)}{made_by}: not "
                         f"a losscli report's. {_regenerate(path)}")
    if version > SCHEMA_VERSION:
        from losscli import __version__

        raise InputError(
            f"Baseline '{path}' has schema_version {version}{made_by}, newer than losscli "
            f"{__version__} reads (up to {SCHEMA_VERSION}). Upgrade losscli, or regenerate the "
            f"baseline with this one: 'losscli check FILE --save {path}'."
        )
    if isinstance(doc.get("models"), list) and "reference" in doc:
        raise InputError(
            f"'{path}' is not an eval/check report: it is a compare report (a value per "
            "model). Give a baseline of one model: 'losscli eval FILE --format json > "
            f"{path}' or 'losscli check FILE --save {path}'."
        )
    reduction = doc.get("reduction", "mean")
    if reduction != "mean":
        raise InputError(
            f"Baseline '{path}' holds --reduction {brief(reduction)} values; check compares "
            "means. Regenerate it without --reduction (or with --reduction mean)."
        )
    entries = doc.get("losses")
    if not isinstance(entries, list):
        raise InputError(f"Baseline '{path}' has no \"losses\" list; it is not a losscli report.")
    losses: dict[LossKey, BaselineLoss] = {}
    for i, entry in enumerate(entries):
        loss = _baseline_loss(entry, i, path)
        if loss.key in losses:
            raise InputError(f"Baseline '{path}' lists {loss.label} twice (losses[{i}]); keep one.")
        losses[loss.key] = loss
    version_text = doc.get("losscli_version")
    rows = doc.get("rows")
    group_by, groups = _groups(doc, path)
    return Baseline(path, losses, version_text if isinstance(version_text, str) else None,
                    rows if isinstance(rows, int) and not isinstance(rows, bool) else None,
                    _fingerprint(doc, path), group_by, groups)


def _groups(doc: dict[str, Any], path: str) -> tuple[tuple[str, ...],
                                                     dict[tuple[Any, ...],
                                                          dict[LossKey, BaselineLoss]] | None]:
    """The groups of a baseline written by a --group-by run (none: ``(), None``)."""
    found, names = doc.get("groups"), doc.get("group_by")
    if found is None:
        return (), None
    where = f"Baseline '{path}', \"groups\""
    if not (isinstance(names, list) and names and all(isinstance(n, str) for n in names)):
        raise InputError(f"Baseline '{path}' has \"groups\" but no \"group_by\" list of "
                         f"column names. {_regenerate(path)}")
    if not isinstance(found, list):
        raise InputError(f"{where} must be a list, got {brief(found)}. {_regenerate(path)}")
    groups: dict[tuple[Any, ...], dict[LossKey, BaselineLoss]] = {}
    for i, entry in enumerate(found):
        at = f"{where}[{i}]"
        key = entry.get("key") if isinstance(entry, dict) else None
        if not (isinstance(key, dict) and set(key) == set(names) and all(
                v is None or isinstance(v, str | int | float) for v in key.values())):
            raise InputError(f"{at} has no \"key\" object of the columns {', '.join(names)} "
                             f"(strings, numbers, booleans or null). {_regenerate(path)}")
        entries = entry.get("losses")
        if not isinstance(entries, list):
            raise InputError(f"{at} has no \"losses\" list. {_regenerate(path)}")
        losses: dict[LossKey, BaselineLoss] = {}
        for j, item in enumerate(entries):
            loss = _baseline_loss(item, j, path, f"groups[{i}].")
            losses[loss.key] = loss
        group_key = tuple(key[n] for n in names)
        if group_key in groups:
            raise InputError(f"{at}: the group {brief(key)} is listed twice. "
                             f"{_regenerate(path)}")
        groups[group_key] = losses
    return tuple(names), groups


class _BadNumber(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise _BadNumber(f"{name}, which is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _BadNumber(f"the number {text[:30]}{'…' if len(text) > 30 else ''}, too large "
                         "for a float")
    return value


def _bounded_int(text: str) -> int:
    # A float holds up to ~1.8e308 (309 digits); longer integers are no report's numbers
    # (and Python refuses to parse more than 4300 digits at all).
    if len(text.lstrip("-")) > 309:
        raise _BadNumber(f"an integer of {len(text.lstrip('-'))} digits, too large for a float")
    return int(text)


def _read(path: str) -> str:
    """The text of ``path``: at most :data:`MAX_BASELINE_BYTES`, UTF-8 (a BOM is allowed).
    A FIFO or ``/dev/fd/N`` is read like a file (``--baseline <(...)``)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"Baseline file not found: '{path}'. Write one with "
                         f"'losscli check FILE --save {path}'.") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"Cannot read baseline '{path}': {getattr(exc, 'strerror', exc)}.") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"Baseline '{path}' is a directory; give a report JSON file.")
    too_big = (f"Baseline '{path}' is larger than {MAX_BASELINE_BYTES >> 20} MiB: not a "
               "losscli report (one is a few kB). Give the JSON that 'losscli check --save' or "
               "'losscli eval --format json' wrote.")
    if stat.S_ISREG(info.st_mode) and info.st_size > MAX_BASELINE_BYTES:
        raise InputError(too_big)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BASELINE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"Cannot read baseline '{path}': {exc.strerror or exc}.") from None
    if len(data) > MAX_BASELINE_BYTES:
        raise InputError(too_big)
    return _decode(data, path)


def _decode(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"Baseline '{path}' is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}): not a losscli report. {_regenerate(path)}"
        ) from None


def load_baseline(path: str, *, base_ref: str | None = None) -> Baseline:
    """Read a report JSON written by ``losscli eval --format json`` or ``check --save``:
    a file, or a file committed to git (``git:REF:PATH``, ``git:merge-base:PATH`` with
    ``base_ref``: :mod:`losscli.gate.gitref`; the baseline records the commit).

    Anything that is not such a report — a missing or unreadable file, a directory, more
    than 64 MiB, text that is not UTF-8 or not JSON, NaN/Infinity literals, numbers too
    large for a float, nesting too deep, a document of another shape or of a newer
    ``schema_version`` — is an :class:`InputError` naming the file and the fix.
    """
    from losscli.gate import gitref

    commit = None
    if gitref.is_git_spec(path):
        if base_ref is not None and gitref.parse_spec(path)[0] != gitref.MERGE_BASE:
            raise UsageError(f"--base-ref names the branch of git:merge-base:PATH; --baseline "
                             f"'{path}' names its ref itself. Drop --base-ref, or use "
                             "git:merge-base:PATH.")
        found = gitref.read_git_file(path, base_ref=base_ref, limit=MAX_BASELINE_BYTES)
        text, commit = _decode(found.data, path), found.commit
    elif base_ref is not None:
        raise UsageError(f"--base-ref applies to --baseline git:merge-base:PATH, not to the "
                         f"file '{path}'.")
    else:
        text = _read(path)
    doc = decode_report(text, path)
    base = parse_baseline(doc, path)
    return base if commit is None else replace(base, commit=commit)


def decode_report(text: str, path: str) -> Any:
    """The JSON document of a baseline's ``text``, strictly: NaN/Infinity literals, numbers
    too large for a float and nesting too deep are each an :class:`InputError` naming
    ``path`` (then :func:`parse_baseline` validates its shape)."""
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float,
                          parse_int=_bounded_int)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"Baseline '{path}' is not valid JSON ({exc.msg} at line {exc.lineno}, column "
            f"{exc.colno}); it may be truncated. {_regenerate(path)}"
        ) from None
    except _BadNumber as exc:
        raise InputError(f"Baseline '{path}' holds {exc}: not a losscli report. "
                         f"{_regenerate(path)}") from None
    except RecursionError:
        raise InputError(f"Baseline '{path}' is JSON nested too deeply to be a losscli report. "
                         f"{_regenerate(path)}") from None


def parse_report_bytes(data: bytes, path: str) -> tuple[Any, Baseline]:
    """A report read from elsewhere (``losscli history``: a file at one commit): its
    document and its :class:`Baseline`, through the same decoding and validation as
    :func:`load_baseline`."""
    doc = decode_report(_decode(data, path), path)
    return doc, parse_baseline(doc, path)
