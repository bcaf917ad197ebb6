"""The model-regression gate behind ``losscli check``: bounds, baselines and verdicts.

Pure logic over plain data, so it is testable without files: :func:`parse_bounds` turns the
``--max/--min/--rtol/--atol`` arguments into :class:`Bounds` bound to the selected loss
instances, :func:`load_baseline` reads a report JSON written by ``eval --format json`` or
``check --save``, :func:`verdicts` compares a :class:`~losscli.report.Report` with both, and
:func:`save_report` writes the next baseline atomically. :func:`check` strings them together
around :func:`losscli.api.evaluate` for the CLI and the Python API.

Rules (the README's "losscli check" section says the same):

* Direction comes from the loss: for a lower-is-better loss a *worsening* is an increase,
  for a higher-is-better one (r2) a decrease. Only a worsening beyond the tolerance fails;
  an improvement passes and is reported as ``improved``.
* Against a baseline value ``b`` the largest allowed worsening is
  ``max(atol, rtol * |b|)`` (the ``math.isclose`` / ``pytest.approx`` rule, relative to the
  baseline). A per-loss ``--rtol NAME=V`` / ``--atol NAME=V`` replaces the global value of
  the same kind for that loss; a kind given nowhere is 0, so a baseline with no tolerance
  at all allows no worsening.
* Baseline 0: the relative change is undefined (reported as null), and ``rtol * 0 = 0``, so
  only ``atol`` applies; with no ``atol`` the value must not get worse at all.
* ``--max NAME=V`` / ``--min NAME=V`` are absolute bounds on the value, whatever the
  direction.
* Exactly at a bound passes. So that decimal bounds which float64 cannot represent exactly
  (``0.1 * 0.3``) behave as written, comparisons allow a round-off of 1e-12 relative to the
  larger magnitude involved — the same 1e-12 within which chunking may move a result.
* A loss instance is matched with the baseline by canonical name and parameters (huber with
  delta 1 is not huber with delta 2). One that is absent from the baseline fails, unless
  ``allow_missing``; a NaN value (``--nan-policy propagate``) always fails.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from losscli.errors import InputError, UsageError, did_you_mean
from losscli.registry import LossInstance, LossSpec, ParamValue, _fmt, get_loss, parse_loss
from losscli.report import SCHEMA_VERSION, Report, _json_float

#: Relative slack of every comparison with a bound (float round-off, see the module doc).
ROUNDOFF = 1e-12

Key = tuple[str, tuple[tuple[str, ParamValue], ...]]

PASS, IMPROVED, FAIL, UNCHECKED = "pass", "improved", "fail", "unchecked"


# ---------------------------------------------------------------------------------------
# Bounds


@dataclass(frozen=True)
class Bounds:
    """Bounds and tolerances per loss label (``huber(delta=0.5)``), plus global tolerances."""

    max: dict[str, float] = field(default_factory=dict)
    min: dict[str, float] = field(default_factory=dict)
    rtol: dict[str, float] = field(default_factory=dict)
    atol: dict[str, float] = field(default_factory=dict)
    rtol_all: float | None = None
    atol_all: float | None = None

    def rtol_for(self, label: str) -> float | None:
        return self.rtol.get(label, self.rtol_all)

    def atol_for(self, label: str) -> float | None:
        return self.atol.get(label, self.atol_all)


def _number(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{where}: '{text}' is not a number; write e.g. '--max mse=0.3'.") from None
    if not math.isfinite(value):
        raise UsageError(f"{where}: the bound must be a finite number, got '{text}'.")
    return value


def _label_to_loss_arg(text: str) -> str:
    """``huber(delta=0.5)`` (a report label) -> ``huber:delta=0.5`` (the --loss form)."""
    m = re.fullmatch(r"\s*([^()]+?)\s*\((.*)\)\s*", text)
    return f"{m.group(1)}:{m.group(2)}" if m else text


def match_instance(name: str, instances: Sequence[LossInstance], where: str) -> LossInstance:
    """The one selected loss instance that ``name`` designates.

    ``name`` may be a label (``huber(delta=0.5)``), the ``--loss`` form (``huber:delta=0.5``),
    a canonical name or an alias (``l1``) — the last two only when one instance of that loss
    is selected. An unknown name, an unselected loss and an ambiguous name are usage errors.
    """
    labels = [inst.label for inst in instances]
    compact = name.replace(" ", "")
    for inst in instances:
        if inst.label == compact:
            return inst
    try:
        spec, inline, _ = parse_loss(_label_to_loss_arg(name))
    except UsageError as exc:
        hint = did_you_mean(compact, labels)
        raise UsageError(f"{where}: {exc}{hint if hint and hint not in str(exc) else ''}") from None
    wanted = {k: spec.param(k).coerce(v, where) for k, v in inline.items()}  # type: ignore[union-attr]
    same_loss = [inst for inst in instances if inst.name == spec.name]
    hits = [inst for inst in same_loss if all(inst.params[k] == v for k, v in wanted.items())]
    if len(hits) == 1:
        return hits[0]
    selected = ", ".join(labels) or "none"
    if not same_loss:
        raise UsageError(
            f"{where}: {spec.name} is not among the selected losses ({selected}); add "
            f"'--loss {_label_to_loss_arg(name)}' or name one of those."
            f"{did_you_mean(compact, labels)}"
        )
    choices = ", ".join(inst.label for inst in same_loss)
    if not hits:
        raise UsageError(
            f"{where}: no selected {spec.name} has those parameters; the selected ones are: "
            f"{choices}."
        )
    example = _label_to_loss_arg(hits[0].label)
    raise UsageError(
        f"{where}: '{name}' matches several selected losses ({choices}); name one with its "
        f"parameters, e.g. '{example}'."
    )


def _split_assignment(arg: str, flag: str, allow_global: bool) -> tuple[str | None, str]:
    """``NAME=V`` -> (NAME, V); a bare ``V`` -> (None, V) where a global value is allowed.
    The value follows the last ``=``, so labels such as ``huber(delta=0.5)=0.3`` work."""
    name, eq, value = arg.rpartition("=")
    if not eq:
        if allow_global:
            return None, arg
        raise UsageError(
            f"'{flag} {arg}' needs a loss name: write it as NAME=VALUE, e.g. '{flag} mse=0.3'."
        )
    if not name.strip() or not value.strip():
        raise UsageError(f"'{flag} {arg}': write it as NAME=VALUE, e.g. '{flag} mse=0.3'.")
    return name.strip(), value.strip()


def parse_bounds(
    instances: Sequence[LossInstance],
    *,
    max_: Iterable[str] = (),
    min_: Iterable[str] = (),
    rtol: Iterable[str] = (),
    atol: Iterable[str] = (),
) -> Bounds:
    """Parse ``--max NAME=V``, ``--min NAME=V``, ``--rtol [NAME=]V``, ``--atol [NAME=]V``
    against the selected ``instances``; the result is keyed by instance label."""
    per: dict[str, dict[str, float]] = {"max": {}, "min": {}, "rtol": {}, "atol": {}}
    global_: dict[str, float | None] = {"rtol": None, "atol": None}
    for kind, args in (("max", max_), ("min", min_), ("rtol", rtol), ("atol", atol)):
        flag = f"--{kind}"
        tolerance = kind in ("rtol", "atol")
        for arg in args or ():
            where = f"'{flag} {arg}'"
            name, text = _split_assignment(arg, flag, allow_global=tolerance)
            value = _number(text, where)
            if tolerance and value < 0:
                raise UsageError(f"{where}: a tolerance must be >= 0, got {text}.")
            if name is None:
                if global_[kind] is not None:
                    raise UsageError(
                        f"{flag} was given twice without a loss name ({_fmt(global_[kind])} and "  # type: ignore[arg-type]
                        f"{text}); give one global value, and NAME=VALUE for per-loss values."
                    )
                global_[kind] = value
                continue
            label = match_instance(name, instances, where).label
            if label in per[kind]:
                raise UsageError(
                    f"{where}: {label} already has {flag} {_fmt(per[kind][label])}; give one "
                    "value per loss."
                )
            per[kind][label] = value
    for label, high in per["max"].items():
        low = per["min"].get(label)
        if low is not None and low > high:
            raise UsageError(
                f"--min {_fmt(low)} is above --max {_fmt(high)} for {label}: no value can pass; "
                "swap them."
            )
    return Bounds(per["max"], per["min"], per["rtol"], per["atol"],
                  global_["rtol"], global_["atol"])


# ---------------------------------------------------------------------------------------
# Baselines


@dataclass(frozen=True)
class BaselineLoss:
    name: str
    params: dict[str, ParamValue]
    value: float | None
    label: str

    @property
    def key(self) -> Key:
        return self.name, tuple(sorted(self.params.items()))

    @property
    def loss_arg(self) -> str:
        """The ``--loss`` argument that evaluates this instance again."""
        inner = ",".join(f"{k}={_fmt(v)}" for k, v in self.params.items())
        return f"{self.name}:{inner}" if inner else self.name


@dataclass(frozen=True)
class Baseline:
    """A baseline report: its losses by key, in file order."""

    path: str
    losses: dict[Key, BaselineLoss]
    losscli_version: str | None = None
    rows: int | None = None  # rows the baseline was computed on, when it says

    def get(self, inst_or_key: LossInstance | Key) -> BaselineLoss | None:
        key = inst_or_key.key if isinstance(inst_or_key, LossInstance) else inst_or_key
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
        spec: LossSpec = get_loss(entry["name"])
    except UsageError as exc:
        raise InputError(f"{where}: {exc}") from None
    values: dict[str, ParamValue] = {}
    for p in spec.params:  # every parameter at its effective value, defaults filled in
        raw = params.get(p.name, p.default)
        try:
            values[p.name] = p.coerce(raw, f"{where} ({spec.name})")
        except UsageError as exc:
            raise InputError(str(exc)) from None
    unknown = sorted(set(params) - set(values))
    if unknown:
        raise InputError(
            f"{where}: {spec.name} has no parameter {', '.join(repr(u) for u in unknown)}; it "
            f"takes: {', '.join(values) or 'none'}."
        )
    inst = LossInstance(spec, values)
    return BaselineLoss(spec.name, values, None if value is None else float(value), inst.label)


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
    losses: dict[Key, BaselineLoss] = {}
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


# ---------------------------------------------------------------------------------------
# Verdicts


@dataclass(frozen=True)
class Verdict:
    """The outcome of every check on one loss instance.

    ``change`` is value - baseline; ``relative_change`` is change / |baseline| (None when the
    baseline is 0 or absent); ``allowed_change`` the largest worsening the tolerances allow
    and ``limit`` the worst value that still passes against the baseline.
    """

    name: str
    label: str
    params: dict[str, Any]
    higher_is_better: bool
    value: float | None
    baseline: float | None = None
    in_baseline: bool | None = None  # None: no baseline given
    change: float | None = None
    relative_change: float | None = None
    max: float | None = None
    min: float | None = None
    rtol: float | None = None
    atol: float | None = None
    allowed_change: float | None = None
    limit: float | None = None
    status: str = UNCHECKED
    reasons: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.status != FAIL

    @property
    def bound_text(self) -> str:
        """Human summary of what was checked, e.g. ``<= 0.3; <= 1.87 (baseline, rtol 0.02)``."""
        parts = []
        if self.max is not None:
            parts.append(f"<= {_fmt(self.max)}")
        if self.min is not None:
            parts.append(f">= {_fmt(self.min)}")
        if self.limit is not None:
            tol = [f"{k} {_fmt(v)}" for k, v in (("rtol", self.rtol), ("atol", self.atol)) if v]
            op = ">=" if self.higher_is_better else "<="
            parts.append(f"{op} {self.limit!r} (baseline{', ' + ', '.join(tol) if tol else ''})")
        elif self.in_baseline is False:
            parts.append("not in baseline")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "params": dict(self.params),
            "higher_is_better": self.higher_is_better,
            "value": _json_float(self.value),
            "baseline": _json_float(self.baseline),
            "in_baseline": self.in_baseline,
            "change": _json_float(self.change),
            "relative_change": _json_float(self.relative_change),
            "max": self.max,
            "min": self.min,
            "rtol": self.rtol,
            "atol": self.atol,
            "allowed_change": _json_float(self.allowed_change),
            "limit": _json_float(self.limit),
            "status": self.status,
            "passed": self.passed,
            "reasons": list(self.reasons),
        }


def _beyond(excess: float, *magnitudes: float) -> bool:
    """True when ``excess`` (how far past a bound) is more than float round-off."""
    return excess > ROUNDOFF * max(abs(m) for m in magnitudes)


def judge(
    res: Any,
    bounds: Bounds,
    baseline: Baseline | None,
    *,
    allow_missing: bool = False,
) -> Verdict:
    """The verdict on one report entry ``res`` (a :class:`LossResult`)."""
    label = res.label
    v = res.value
    reasons: list[str] = []
    failed = improved = checked = False
    nan = v is None or not math.isfinite(v)
    fields: dict[str, Any] = {"max": bounds.max.get(label), "min": bounds.min.get(label)}
    if nan:
        failed = checked = True
        reasons.append(f"{label} is {v} (NaN or infinite): nothing to compare; see --nan-policy")
    if fields["max"] is not None and not nan:
        checked = True
        if _beyond(v - fields["max"], v, fields["max"]):
            failed = True
            reasons.append(f"{label} = {v!r} is above --max {_fmt(fields['max'])}")
    if fields["min"] is not None and not nan:
        checked = True
        if _beyond(fields["min"] - v, v, fields["min"]):
            failed = True
            reasons.append(f"{label} = {v!r} is below --min {_fmt(fields['min'])}")
    if baseline is not None:
        checked = True
        entry = baseline.get((res.name, tuple(sorted(res.params.items()))))
        fields["in_baseline"] = entry is not None
        if entry is None:
            if allow_missing:
                reasons.append(f"{label} is not in baseline '{baseline.path}' (allowed by "
                               "--allow-missing)")
            else:
                failed = True
                reasons.append(f"{label} is not in baseline '{baseline.path}'; add it to the "
                               "baseline (check --save) or pass --allow-missing")
        elif entry.value is None or not math.isfinite(entry.value):
            failed = True
            reasons.append(f"the baseline value of {label} is null; regenerate the baseline")
        else:
            b = entry.value
            rtol, atol = bounds.rtol_for(label), bounds.atol_for(label)
            allowed = max(atol or 0.0, (rtol or 0.0) * abs(b))
            sign = -1.0 if res.higher_is_better else 1.0
            fields.update(baseline=b, rtol=rtol, atol=atol, allowed_change=allowed,
                          limit=b + sign * allowed)
            if not nan:
                change = v - b
                worse = sign * change  # > 0 means worse, whatever the direction
                fields.update(change=change, relative_change=change / abs(b) if b else None)
                if _beyond(worse - allowed, v, b):
                    failed = True
                    rel = f" ({change / abs(b):+.4%})" if b else " (baseline 0: only atol applies)"
                    reasons.append(
                        f"{label} got worse: {v!r} vs baseline {b!r}, change {change:+.6g}{rel}, "
                        f"more than the {allowed:.6g} allowed"
                    )
                elif _beyond(-worse, v, b):
                    improved = True
    status = FAIL if failed else IMPROVED if improved else PASS if checked else UNCHECKED
    return Verdict(
        name=res.name, label=label, params=dict(res.params), higher_is_better=res.higher_is_better,
        value=v, status=status, reasons=tuple(reasons), **fields,
    )


def verdicts(
    report: Report, bounds: Bounds, baseline: Baseline | None = None, *, allow_missing: bool = False
) -> list[Verdict]:
    """One :class:`Verdict` per loss of ``report``, in its order."""
    return [judge(res, bounds, baseline, allow_missing=allow_missing) for res in report.losses]


# ---------------------------------------------------------------------------------------
# Saving


def save_report(report: Report | dict[str, Any], path: str) -> None:
    """Write ``report`` as JSON to ``path`` atomically.

    The document goes to a temporary file in the same folder, is flushed and fsync'ed, then
    renamed over ``path`` with :func:`os.replace` (atomic on POSIX and Windows). If anything
    fails before the rename, the temporary file is removed and ``path`` is untouched: an
    interrupted run never leaves a half-written or empty baseline.
    """
    import tempfile

    doc = report.to_dict() if isinstance(report, Report) else report
    target = os.path.abspath(path)
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise UsageError(f"Cannot write '{path}': folder '{folder}' does not exist.")
    if os.path.isdir(target):
        raise UsageError(f"Cannot write '{path}': it is a directory; give a file name.")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(target)}.", suffix=".tmp")
    except OSError as exc:
        raise UsageError(f"Cannot write '{path}': {exc.strerror} in folder '{folder}'.") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2, allow_nan=False)
            f.write("\n")
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


# ---------------------------------------------------------------------------------------
# The whole check


@dataclass
class CheckResult:
    """What ``losscli check`` prints: the evaluation, one verdict per loss, the baseline."""

    report: Report
    verdicts: list[Verdict]
    baseline: Baseline | None = None
    saved: str | None = None  # where the report was saved, if it was
    not_saved_reason: str | None = None
    baseline_only: list[str] = field(default_factory=list)  # baseline losses not evaluated

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts)

    @property
    def failed(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.passed]

    @property
    def notes(self) -> list[str]:
        """Things worth a line on stderr that do not change the verdict."""
        notes = []
        if self.baseline_only:
            notes.append(f"baseline also has {', '.join(self.baseline_only)}, not evaluated "
                         "here (not asked for with --loss)")
        base_rows = self.baseline.rows if self.baseline is not None else None
        if base_rows is not None and base_rows != self.report.rows:
            notes.append(f"the baseline was computed on {base_rows} rows, this run on "
                         f"{self.report.rows}: is it the same evaluation set?")
        return notes

    def to_dict(self) -> dict[str, Any]:
        """The ``--format json`` document: ``passed``, the checks, then the report's own
        fields, so that this document is itself a valid baseline."""
        return {
            "passed": self.passed,
            "failed": [v.label for v in self.failed],
            "baseline": None if self.baseline is None else {
                "path": self.baseline.path, "losscli_version": self.baseline.losscli_version,
                "rows": self.baseline.rows},
            "checks": [v.to_dict() for v in self.verdicts],
            **self.report.to_dict(),
        }


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def check(
    predictions: Any,
    targets: Any = None,
    *,
    max_: Iterable[str] = (),
    min_: Iterable[str] = (),
    rtol: Iterable[str] = (),
    atol: Iterable[str] = (),
    baseline: str | None = None,
    allow_missing: bool = False,
    save: str | None = None,
    losses: Iterable[str] | str | None = None,
    params: dict[str, Any] | None = None,
    **evaluate_kwargs: Any,
) -> CheckResult:
    """Evaluate, then check the values against bounds and a baseline report.

    Everything that can be wrong with the options or the baseline is reported before the
    data are read. Without ``losses``, a baseline's own losses are evaluated (with their
    parameters); without either, the default losses of :func:`losscli.evaluate`. With
    ``save``, the report is written atomically for use as the next baseline — except when
    ``save`` is the baseline file itself and a check failed (a regression must not become
    the new reference).
    """
    from losscli.api import evaluate_prepared, prepare

    if evaluate_kwargs.get("reduction", "mean") != "mean":
        raise UsageError("check compares mean values; drop reduction= (or use 'mean').")
    base = load_baseline(baseline) if baseline is not None else None
    params = {k: v for k, v in (params or {}).items() if v is not None}
    if losses is None and base is not None:
        if params:
            flags = ", ".join(f"--{k.replace('_', '-')}" for k in params)
            raise UsageError(
                f"{flags} without --loss: the losses come from baseline '{base.path}' with "
                "their own parameters. Name the losses with --loss (e.g. --loss "
                "huber:delta=2) to change a parameter."
            )
        losses = base.loss_args()
        if not losses:
            raise InputError(f"Baseline '{base.path}' lists no losses; name them with --loss.")
    rtol, atol = list(rtol or ()), list(atol or ())
    if (rtol or atol) and base is None:
        raise UsageError(
            "--rtol/--atol are tolerances against a baseline: add --baseline FILE "
            "(or use --max/--min for absolute bounds)."
        )
    # Resolve the loss instances (and open the inputs) before the long pass, so a typo in a
    # bound fails at once. prepare() takes the input options only.
    import inspect
    import time

    started = time.perf_counter()  # the report's time covers opening the inputs too
    accepted = inspect.signature(prepare).parameters
    inputs, instances = prepare(
        predictions, targets, losses=losses, params=params,
        **{k: v for k, v in evaluate_kwargs.items() if k in accepted},
    )
    bounds = parse_bounds(instances, max_=max_, min_=min_, rtol=rtol, atol=atol)
    if save is not None:
        folder = os.path.dirname(os.path.abspath(save))
        if not os.path.isdir(folder):
            raise UsageError(f"Cannot write '--save {save}': folder '{folder}' does not exist.")
    # The inputs opened above are the ones evaluated (standard input can be read only once).
    report = evaluate_prepared(
        inputs, instances, _started=started,
        **{k: v for k, v in evaluate_kwargs.items() if k not in accepted})
    result = CheckResult(report, verdicts(report, bounds, base, allow_missing=allow_missing), base)
    if base is not None:
        keys = {inst.key for inst in instances}
        result.baseline_only = [b.label for k, b in base.losses.items() if k not in keys]
    if save is not None:
        if base is not None and not result.passed and _same_file(save, base.path):
            result.not_saved_reason = (
                f"not saving over baseline '{base.path}': a check failed, and a regression must "
                "not become the new baseline"
            )
        else:
            save_report(report, save)
            result.saved = save
    return result
