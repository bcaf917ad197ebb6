"""Baselines of ``losscli check``: a report JSON written by ``eval --format json`` or
``check --save``, loaded and validated; its losses keyed by :class:`LossKey`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from losscli.errors import InputError, UsageError
from losscli.registry import LossKey, key_of_entry, loss_arg
from losscli.report import SCHEMA_VERSION


@dataclass(frozen=True)
class BaselineLoss:
    """One loss entry of a baseline: its key (name and non-default parameters: a missing
    parameter means its default) and its value."""

    name: str
    params: dict[str, Any]
    value: float | None
    key: LossKey

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

    def get(self, key: LossKey) -> BaselineLoss | None:
        return self.losses.get(key)

    def loss_args(self) -> list[str]:
        return [b.loss_arg for b in self.losses.values()]


def _baseline_loss(entry: Any, i: int, path: str) -> BaselineLoss:
    where = f"Baseline '{path}', losses[{i}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise InputError(f"{where} is not a loss entry (an object with \"name\", \"params\", "
                         f"\"value\"). Regenerate the baseline with 'losscli check ... --save'.")
    params = entry.get("params", {})
    value = entry.get("value")
    if not isinstance(params, dict):
        raise InputError(f"{where}: \"params\" must be an object, got {json.dumps(params)}.")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise InputError(f"{where}: \"value\" must be a number or null, got {json.dumps(value)}.")
    try:
        key = key_of_entry(entry["name"], params, where)
    except UsageError as exc:
        raise InputError(str(exc) if str(exc).startswith(where) else f"{where}: {exc}") from None
    return BaselineLoss(key.name, dict(params), None if value is None else float(value), key)


def parse_baseline(doc: Any, path: str) -> Baseline:
    """Validate a decoded baseline document (see :func:`load_baseline`)."""
    if not isinstance(doc, dict) or "schema_version" not in doc:
        raise InputError(
            f"'{path}' is not a losscli report (no \"schema_version\"); write a baseline with "
            f"'losscli check FILE --save {path}' or 'losscli eval FILE --format json > {path}'."
        )
    version = doc["schema_version"]
    if version != SCHEMA_VERSION:
        from losscli import __version__

        made_by = doc.get("losscli_version")
        raise InputError(
            f"Baseline '{path}' has schema_version {json.dumps(version)}"
            f"{f' (written by losscli {made_by})' if made_by else ''}, but losscli "
            f"{__version__} reads schema_version {SCHEMA_VERSION}. Regenerate it with "
            f"'losscli check FILE --save {path}'."
        )
    reduction = doc.get("reduction", "mean")
    if reduction != "mean":
        raise InputError(
            f"Baseline '{path}' holds --reduction {reduction} values; check compares means. "
            f"Regenerate it without --reduction (or with --reduction mean)."
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
    return Baseline(path, losses, version_text if isinstance(version_text, str) else None,
                    rows if isinstance(rows, int) and not isinstance(rows, bool) else None)


def load_baseline(path: str) -> Baseline:
    """Read a report JSON written by ``losscli eval --format json`` or ``check --save``.

    A missing file, malformed JSON, a document that is not a report, or one with another
    ``schema_version`` is an :class:`InputError` naming the file and the fix.
    """
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise InputError(
            f"Baseline file not found: '{path}'. Write one with "
            f"'losscli check FILE --save {path}'."
        ) from None
    except IsADirectoryError:
        raise InputError(f"Baseline '{path}' is a directory; give a report JSON file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Cannot read baseline '{path}': {exc}.") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"Baseline '{path}' is not valid JSON ({exc.msg} at line {exc.lineno}, column "
            f"{exc.colno}); it may be truncated. Regenerate it with 'losscli check FILE --save "
            f"{path}'."
        ) from None
    return parse_baseline(doc, path)
