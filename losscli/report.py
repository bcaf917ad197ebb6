"""The result of an evaluation as plain data: a Report turns into a dict, JSON or DataFrame."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from losscli.stats.intervals import Interval

#: Quantiles every --distribution reports (``max`` is the exact maximum).
QUANTILES = (0.5, 0.9, 0.99, 0.999)


def quantile_name(level: float) -> str:
    """``p50``, ``p99.9``, ``max`` for 1."""
    if level >= 1.0:
        return "max"
    return "p" + format(level * 100, ".10g")


if TYPE_CHECKING:
    from losscli.registry import LossInstance, LossKey
    from losscli.state import Cell

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class LossResult:
    """One loss instance's value. ``value`` is None under ``--reduction none``."""

    name: str
    params: dict[str, Any]
    value: float | None
    higher_is_better: bool
    key: LossKey
    #: A breakdown beside the value: per class / label / output, a bound, etc.
    details: dict[str, Any] | None = None
    #: With --ci: {"low", "high", "level", "method"[, "reason", "n_eff"]} (low/high None and
    #: a reason where no interval is valid).
    interval: dict[str, Any] | None = None
    #: With --distribution: {"relative_accuracy", "rows", "quantiles": {"p50": ...}}.
    distribution: dict[str, Any] | None = None
    #: Why there is no value (a group without rows, or with one class only, ...): only in
    #: per-group results, where one group's lack stops nothing.
    reason: str | None = None
    #: --group-gap: the gap between the groups (losscli.gaps.group_gap), overall results only
    group_gap: dict[str, Any] | None = None

    @classmethod
    def of(cls, inst: LossInstance, value: float | None,
           details: dict[str, Any] | None = None,
           interval: dict[str, Any] | None = None,
           distribution: dict[str, Any] | None = None,
           reason: str | None = None) -> LossResult:
        params = {k: v for k, v in inst.params.items() if v is not None}  # None: "auto"
        return cls(inst.name, params, value, inst.spec.higher_is_better, inst.key, details,
                   interval, distribution, reason)

    @property
    def label(self) -> str:
        return self.key.label

    @property
    def direction(self) -> str:
        """``lower``, ``higher`` or ``none`` (informational: no better direction)."""
        from losscli.registry import direction_of

        return direction_of(self.name, self.higher_is_better)

    @property
    def column(self) -> str:
        return self.key.column

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "params": dict(self.params),
            "value": json_float(self.value),
            "higher_is_better": self.higher_is_better,
            # only for an informational value (threshold_at_fpr): no better direction
            **({"direction": "none"} if self.direction == "none" else {}),
            "label": self.label,
            **({"details": _json_safe(self.details)} if self.details else {}),
            **({"interval": self.interval} if self.interval else {}),
            **({"distribution": self.distribution} if self.distribution else {}),
            **({"reason": self.reason} if self.reason else {}),
            **({"group_gap": _json_safe(self.group_gap)} if self.group_gap else {}),
        }


@dataclass(frozen=True)
class GroupResult:
    """The losses of one group (``--group-by``): its key (column -> value, None for null),
    the rows evaluated and skipped, one result per loss instance."""

    key: dict[str, Any]
    rows: int
    rows_skipped: int
    losses: list[LossResult]
    #: --confusion: {"labels": [...], "counts": [[...]], "loss": ...} (None: not asked)
    confusion: dict[str, Any] | None = None

    def result(self, label: str) -> LossResult:
        return next(r for r in self.losses if r.label == label)

    def to_dict(self) -> dict[str, Any]:
        return {"key": dict(self.key), "rows": self.rows,
                **({"rows_skipped": self.rows_skipped} if self.rows_skipped else {}),
                "losses": [res.to_dict() for res in self.losses],
                **({"confusion": self.confusion} if self.confusion else {})}


#: How the data fingerprint is computed: a reader meeting another method cannot compare
#: fingerprints (it treats the data as unknown, never as changed).
FINGERPRINT_METHOD = "sum64-splitmix64"


@dataclass(frozen=True)
class DataFingerprint:
    """Which data a report was computed on: ``targets`` is the sum mod 2^64 of a 64-bit
    hash of each row's target value(s) and weight, as 16 hex digits (the same for any row
    order or chunking); ``rows`` how many rows were read."""

    targets: str
    rows: int
    method: str = FINGERPRINT_METHOD

    def to_dict(self) -> dict[str, Any]:
        return {"targets": self.targets, "rows": self.rows, "method": self.method}


@dataclass
class Report:
    """What ``losscli eval`` prints and ``losscli.evaluate`` returns."""

    inputs: dict[str, Any]
    rows: int
    rows_skipped: int
    reduction: str
    losses: list[LossResult]
    elapsed_seconds: float = 0.0
    output: str | None = None  # where per-row losses went under reduction "none"
    notes: list[str] = field(default_factory=list)  # how the values were read (stderr too)
    ci: dict[str, Any] | None = None  # --ci: level, method, replicates, seed
    per_row: dict[str, Any] | None = field(default=None, repr=False)  # API, reduction "none"
    fingerprint: DataFingerprint | None = None  # None: not computed, or no targets
    #: The model's state the values came from (losscli.state.Cell: the sketches of
    #: --distribution, the calibration bins): what the pictures of --plot/--html draw.
    #: Not part of to_dict.
    cell: Cell | None = field(default=None, repr=False, compare=False)
    #: --group-by: the key columns, and one result per group, ordered by key (or by value
    #: with --sort value)
    group_by: tuple[str, ...] = ()
    groups: list[GroupResult] | None = None
    #: --confusion: the confusion matrix (losscli.reporting.confusion_dict), None: not asked
    confusion: dict[str, Any] | None = None

    def __getitem__(self, key: str) -> float | None:
        """Value by label (``huber(delta=0.5)``), ``--loss`` form, column name or, when
        unambiguous, by name or alias — the same matching as everywhere a loss is named."""
        return self.result(key).value

    def result(self, name: str) -> LossResult:
        from losscli.errors import UsageError
        from losscli.registry import find_instance

        try:
            return find_instance(name, self.losses, "report[...]")  # type: ignore[arg-type, return-value]
        except UsageError as exc:
            raise KeyError(str(exc)) from None

    def to_dict(self) -> dict[str, Any]:
        from losscli import __version__

        return {
            "schema_version": SCHEMA_VERSION,
            "losscli_version": __version__,
            "inputs": self.inputs,
            "rows": self.rows,
            "rows_skipped": self.rows_skipped,
            "reduction": self.reduction,
            "losses": [res.to_dict() for res in self.losses],
            "elapsed_seconds": round(self.elapsed_seconds, 6),
            **({"output": self.output} if self.output else {}),
            **({"notes": list(self.notes)} if self.notes else {}),
            **({"ci": dict(self.ci)} if self.ci else {}),
            **({"fingerprint": self.fingerprint.to_dict()} if self.fingerprint else {}),
            **({"confusion": self.confusion} if self.confusion else {}),
            **({"group_by": list(self.group_by),
                "groups": [g.to_dict() for g in self.groups]} if self.groups is not None
               else {}),
        }

    def to_json(self, indent: int | None = 2) -> str:
        import json

        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def to_dataframe(self) -> Any:
        """The report in long form, one row per value (like fairlearn's
        ``MetricFrame.by_group``, stacked): ``scope`` (``"overall"`` or ``"group"``), one
        column per ``--group-by`` key (None on overall rows; a null key is None too, told
        apart by ``scope``), ``class`` (None, or the class label of a per-class value),
        ``name``, ``label``, ``column``, ``params``, ``value``, ``ci_low``/``ci_high`` (with
        ``--ci``; per-class rows have none), ``higher_is_better`` and ``rows``.
        ``df[df.scope == "overall"]`` is one row per loss, as the table shows. A key column
        named like one of those columns is ``group_NAME`` (``group_label``)."""
        import pandas as pd

        from losscli.grouping import key_columns

        classes = self.inputs.get("classes") if isinstance(self.inputs, dict) else None
        records: list[dict[str, Any]] = []
        fixed = ["scope", "class", "name", "label", "column", "params", "value", "ci_low",
                 "ci_high", "higher_is_better", "rows", "direction"]
        names = key_columns(self.group_by, fixed)  # a key named like a field: group_NAME

        def add(scope: str, key: dict[str, Any], rows: int, results: list[LossResult]) -> None:
            for r in results:
                base = {"scope": scope, **{n: key.get(k) for n, k in zip(names, self.group_by)},
                        "name": r.name, "label": r.label, "column": r.column,
                        "params": dict(r.params), "higher_is_better": r.higher_is_better,
                        **({"direction": "none"} if r.direction == "none" else {}),
                        "rows": rows}
                iv = r.interval or {}
                records.append({**base, "class": None, "value": r.value,
                                "ci_low": iv.get("low"), "ci_high": iv.get("high")})
                per_class = (r.details or {}).get("per_class") or {}
                labels = {class_key(c): c for c in classes or []}  # the label as read
                for name, value in per_class.items():
                    label: Any = labels.get(name, name)
                    records.append({**base, "class": label, "value": value,
                                    "ci_low": None, "ci_high": None})

        add("overall", {}, self.rows, self.losses)
        for g in self.groups or []:
            add("group", g.key, g.rows, g.losses)
        columns = ["scope", *names, "class", "name", "label", "column", "params",
                   "value", "ci_low", "ci_high", "higher_is_better", "rows"]
        return pd.DataFrame.from_records(records, columns=columns)

    def __repr__(self) -> str:
        """One line a loss: ``<Report 1000 rows: mse=1.83814, mae=1.07006>``."""
        shown = ", ".join(f"{r.label}={_short(r.value)}" for r in self.losses[:8])
        more = f", … {len(self.losses) - 8} more" if len(self.losses) > 8 else ""
        groups = f", {len(self.groups)} groups" if self.groups is not None else ""
        return f"<Report {self.rows} rows{groups}: {shown}{more}>"

    def _repr_html_(self) -> str:
        """A notebook's table: one row per loss, its interval with --ci (escaped HTML)."""
        from html import escape

        ci = any(r.interval for r in self.losses)
        head = "<tr><th>loss</th><th>value</th>" + ("<th>interval</th>" if ci else "") + \
            "<th>better</th></tr>"
        body = []
        for r in self.losses:
            iv = r.interval or {}
            cell = (f"<td>[{_short(iv.get('low'))}, {_short(iv.get('high'))}]</td>"
                    if ci else "")
            body.append(f"<tr><td>{escape(r.label)}</td><td>{_short(r.value)}</td>{cell}"
                        f"<td>{r.direction}</td></tr>")
        caption = escape(f"{self.rows} rows" + (f", {len(self.groups)} groups by "
                                                 f"{', '.join(self.group_by)}"
                                                 if self.groups is not None else ""))
        return (f"<table><caption>{caption}</caption><thead>{head}</thead><tbody>"
                f"{''.join(body)}</tbody></table>")


def _short(value: Any) -> str:
    """6 significant digits, as the table prints; n/a for None."""
    return "n/a" if value is None else f"{value:.6g}"


def class_key(label: Any) -> str:
    """The key of class ``label`` in a JSON object (``details.per_class``): the label as
    written when it is text, else its JSON spelling (``3``, ``true``, ``null``). Raw: a
    label is escaped only where it is printed."""
    import json

    return label if isinstance(label, str) else json.dumps(label)


def json_float(value: float | None) -> float | None:
    """JSON has no NaN or infinity: those (possible under --nan-policy propagate) become null."""
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    return float(value)


def _json_safe(value: Any) -> Any:
    """Details for JSON: floats through :func:`json_float` (NaN/inf → null), recursively."""
    if isinstance(value, float):
        return json_float(value)
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def interval_dict(iv: Interval) -> dict[str, Any]:
    """An interval (:class:`losscli.stats.intervals.Interval`) as the report's JSON carries it."""
    out: dict[str, Any] = {"low": None if iv.low is None else json_float(iv.low),
                           "high": None if iv.high is None else json_float(iv.high),
                           "level": iv.level, "method": iv.method}
    if iv.reason:
        out["reason"] = iv.reason
    if math.isfinite(iv.n_eff):
        out["n_eff"] = iv.n_eff
    if iv.resampling:
        out["resampling"] = iv.resampling
    return out
