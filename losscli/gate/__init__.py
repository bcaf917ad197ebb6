"""The model-regression gate behind ``losscli check``: bounds, baselines and verdicts.

Three pure parts, testable without files — :mod:`~losscli.gate.bounds` turns the
``--max/--min/--rtol/--atol`` arguments into :class:`Bounds` bound to the selected loss
instances, :mod:`~losscli.gate.baseline` reads a report JSON written by ``eval --format
json`` or ``check --save``, :mod:`~losscli.gate.verdict` compares a report with both — and
:func:`check`, which strings them together around an evaluation session and saves the next
baseline atomically (:mod:`losscli.io.atomic`).

Rules (the README's "losscli check" section says the same):

* Direction comes from the loss: for a lower-is-better loss a *worsening* is an increase,
  for a higher-is-better one (r2) a decrease. Only a worsening beyond the tolerance fails;
  an improvement passes and is reported as ``improved``; a value equal to the baseline
  within the round-off below is ``same`` (never ``improved``), and a worsening within the
  tolerance is ``pass``.
* Against a baseline value ``b`` the largest allowed worsening is
  ``max(atol, rtol * |b|)`` (the ``math.isclose`` / ``pytest.approx`` rule, relative to the
  baseline). A per-loss ``--rtol NAME=V`` / ``--atol NAME=V`` replaces the global value of
  the same kind for that loss; a kind given nowhere is 0, so a baseline with no tolerance
  at all allows no worsening.
* Baseline 0: the relative change is undefined (reported as null), and ``rtol * 0 = 0``, so
  only ``atol`` applies; with no ``atol`` the value must not get worse at all.
* ``--max NAME=V`` / ``--min NAME=V`` are absolute bounds on the value, whatever the
  direction.
* Data: the report and the baseline carry a fingerprint of the targets and weights
  (:class:`~losscli.report.DataFingerprint`). When both have one and they differ, the
  baseline was computed on other data: a note in every format (``data_changed="warn"``),
  or a failure of the gate (``"fail"``). A baseline without one (an older losscli) means
  "unknown": a note on stderr, never a failure.
* Exactly at a bound passes. So that decimal bounds which float64 cannot represent exactly
  (``0.1 * 0.3``) behave as written, comparisons allow a round-off of 1e-12 relative to the
  larger magnitude involved — the same 1e-12 within which chunking may move a result.
* A loss instance is matched with the baseline by its key: canonical name and the
  parameters that differ from their defaults (huber with delta 1 is not huber with delta 2;
  a parameter a baseline entry leaves out means its default). One that is absent from the
  baseline fails, unless ``allow_missing``; a NaN value (``--nan-policy propagate``) always fails.
"""


from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from losscli.errors import InputError, UsageError
from losscli.execution import evaluate as run_and_report
from losscli.execution import report_for, run
from losscli.gate.allowance import ROUNDOFF, same_value
from losscli.gate.baseline import Baseline, BaselineLoss, load_baseline, parse_baseline
from losscli.gate.bounds import Bounds, parse_bounds
from losscli.gate.gaps import gap_method, gap_strings, judge_gaps, parse_gap_bounds
from losscli.gate.groups import MISSING, GroupCheck, bonferroni_level, check_groups, holm
from losscli.gate.verdict import (
    FAIL,
    IMPROVED,
    PASS,
    SAME,
    STATUSES,
    UNCHECKED,
    Outcome,
    Verdict,
    decide,
    judge,
    judge_paired,
    verdicts,
)
from losscli.io.atomic import guard, same_file_as, write_atomically
from losscli.present.text import format_level
from losscli.report import Report
from losscli.session import Session
from losscli.spec import DATA_FIELDS, build_spec
from losscli.vocab import DATA_CHANGED

if TYPE_CHECKING:
    from losscli.state import State

__all__ = [
    "FAIL", "IMPROVED", "PASS", "ROUNDOFF", "SAME", "STATUSES", "UNCHECKED", "Baseline",
    "BaselineLoss", "Bounds", "CheckResult", "Outcome", "Verdict", "check", "decide", "judge",
    "load_baseline", "parse_baseline", "parse_bounds", "same_value", "save_report", "verdicts",
]


@dataclass
class CheckResult:
    """What ``losscli check`` prints: the evaluation, one verdict per loss, the baseline."""

    report: Report
    verdicts: list[Verdict]
    baseline: Baseline | None = None
    saved: str | None = None  # where the report was saved, if it was
    not_saved_reason: str | None = None
    baseline_only: list[str] = field(default_factory=list)  # baseline losses not evaluated
    data_changed_policy: str = "warn"  # what other data does: "warn" or "fail"
    reference: str | None = None  # paired mode: the reference model (column or file)
    #: --group-by: every group's verdicts (failing groups first, missing ones last)
    groups: list[GroupCheck] | None = None
    #: how the groups' tests were corrected for their number (--ci), e.g. "Bonferroni ..."
    correction: str | None = None
    #: the baseline's --group-by columns when it has per-group values that this run, without
    #: --group-by, did not check (a note in every format)
    groups_unchecked: tuple[str, ...] = ()

    @property
    def data_changed(self) -> bool | None:
        """Whether the baseline was computed on other data than this run (by their
        fingerprints); None when unknown (no baseline, or one without a fingerprint)."""
        base = self.baseline.fingerprint if self.baseline is not None else None
        mine = self.report.fingerprint
        if base is None or mine is None or base.method != mine.method:
            return None
        return (base.targets, base.rows) != (mine.targets, mine.rows)

    @property
    def data_failed(self) -> bool:
        return bool(self.data_changed) and self.data_changed_policy == "fail"

    @property
    def data_text(self) -> str | None:
        """The line every format shows when the data changed, else None."""
        if not self.data_changed:
            return None
        assert self.baseline is not None and self.baseline.fingerprint is not None
        base, mine = self.baseline.fingerprint, self.report.fingerprint
        assert mine is not None
        rows = (f"{base.rows} rows, this run on {mine.rows}" if base.rows != mine.rows else
                f"{base.rows} rows like this run, but other values")
        what = ("the gate fails (--data-changed fail)" if self.data_failed else
                "are the numbers comparable? (--data-changed fail makes this fail the gate)")
        return (f"the baseline was computed on different data: targets/weights fingerprint "
                f"{base.targets} vs {mine.targets} ({rows}); {what}")

    @property
    def outcome(self) -> Outcome:
        """The verdict of the whole gate (:func:`~losscli.gate.verdict.decide`): every
        output — exit code, JSON, table, Markdown, stderr, the page — reads it."""
        return decide(self.verdicts, self.groups, data_failed=self.data_failed,
                      notes=self.notes)

    @property
    def passed(self) -> bool:
        return self.outcome.passed

    def __bool__(self) -> bool:
        """``if losscli.check(...):`` — whether every check passed."""
        return self.passed

    def __repr__(self) -> str:
        """``<CheckResult FAILED (mse): <Report ...>>``: the outcome's own words."""
        outcome = self.outcome
        what = outcome.status + (f" ({', '.join(outcome.items())})" if not outcome.passed
                                 else "")
        return f"<CheckResult {what}: {self.report!r}>"

    @property
    def failed(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.passed]

    @property
    def failed_groups(self) -> list[GroupCheck]:
        return [g for g in self.groups or [] if not g.passed]

    @property
    def notes(self) -> list[str]:
        """Things worth a line on stderr that do not change the verdict."""
        notes = []
        if self.groups_unchecked:
            assert self.baseline is not None
            cols = ", ".join(self.groups_unchecked)
            flags = " ".join(f"--group-by {c}" for c in self.groups_unchecked)
            notes.append(f"baseline '{self.baseline.path}' has per-group values for {cols}; "
                         f"they were not checked here: run with {flags} to check them")
        if self.baseline_only:
            notes.append(f"baseline also has {', '.join(self.baseline_only)}, not evaluated "
                         "here (not asked for with --loss)")
        if self.baseline is not None and self.data_changed is None:
            base_rows = self.baseline.rows
            if base_rows is not None and base_rows != self.report.rows:
                notes.append(f"the baseline was computed on {base_rows} rows, this run on "
                             f"{self.report.rows}: is it the same evaluation set?")
            if self.baseline.fingerprint is None:
                notes.append(f"baseline '{self.baseline.path}' has no data fingerprint (an older "
                             "losscli wrote it): whether it was computed on the same data is "
                             "unknown; 'check --save' writes one")
        return notes

    def to_dict(self) -> dict[str, Any]:
        """The ``--format json`` document: ``passed``, the checks, then the report's own
        fields, so that this document is itself a valid baseline."""
        base_fp = None if self.baseline is None else self.baseline.fingerprint
        outcome = self.outcome
        return {
            "passed": outcome.passed,
            "failed": outcome.failed,
            "verdict": {**outcome.to_dict(), "data_text": self.data_text},
            "data_changed": self.data_changed,
            "data_changed_policy": self.data_changed_policy,
            "baseline": None if self.baseline is None else {
                "path": self.baseline.path, "losscli_version": self.baseline.losscli_version,
                "rows": self.baseline.rows, "commit": self.baseline.commit,
                "fingerprint": None if base_fp is None else base_fp.to_dict()},
            **({"reference": self.reference} if self.reference else {}),
            **({"groups_unchecked": list(self.groups_unchecked)} if self.groups_unchecked
               else {}),
            "checks": [v.to_dict() for v in self.verdicts],
            **self._report_dict(),
        }

    def _report_dict(self) -> dict[str, Any]:
        """The report's fields; with groups, each group entry also carries its verdicts
        (``status``, ``passed``, ``checks``), missing groups are listed apart, and which
        groups failed (so that the document stays a valid baseline with groups)."""
        doc = self.report.to_dict()
        if self.groups is None or "groups" not in doc:
            return doc
        checks = {tuple(c.key.items()): c for c in self.groups}
        merged = []
        for entry in doc["groups"]:
            found = checks.get(tuple(entry["key"].items()))
            merged.append({**entry, **({} if found is None else {
                k: v for k, v in found.to_dict().items() if k not in ("key", "rows")})})
        return {**doc, "groups": merged,
                "failed_groups": [g.key for g in self.outcome.failed_groups],
                "missing_groups": [c.to_dict() for c in self.groups if c.status == MISSING],
                **({"group_correction": self.correction} if self.correction else {})}


def check(
    predictions: Any,
    targets: Any = None,
    *,
    max_: Iterable[str] = (),
    min_: Iterable[str] = (),
    rtol: Iterable[str] = (),
    atol: Iterable[str] = (),
    baseline: str | None = None,
    base_ref: str | None = None,
    allow_missing: bool = False,
    save: str | None = None,
    data_changed: str = "warn",
    reference_col: str | None = None,
    reference: Any = None,
    max_gap: Any = None,
    min_gap_ratio: Any = None,
    on_batch: Callable[[int], None] | None = None,
    **options: Any,
) -> CheckResult:
    """Evaluate, then check the values against bounds and a baseline report.

    ``options`` are those of :func:`losscli.evaluate` (validated before anything is read).
    Everything that can be wrong with the options or the baseline is reported before the
    data are read. Without ``losses``, a baseline's own losses are evaluated (with their
    parameters); without either, the default losses of the task. With ``save``, the report
    is written atomically for use as the next baseline — except when ``save`` is the
    baseline file itself and a check failed (a regression must not become the reference).

    With ``ci`` (``--ci``) a bound fails only when the whole interval of the value lies
    beyond it. With ``reference_col`` (or a ``reference`` predictions file), the candidate is
    compared with the current model's predictions on the same rows instead of a baseline:
    it fails only when it is significantly worse (paired test) by more than the tolerance.

    ``max_gap`` (``--max-gap``, ``{"mse": 0.1}`` or ``"mse=0.1"`` strings) bounds each
    loss's difference between the groups of ``group_by``, ``min_gap_ratio``
    (``--min-gap-ratio``) their ratio (:mod:`losscli.gate.gaps`).
    """
    started = time.perf_counter()  # the report's time covers opening the inputs too
    spec = build_spec(predictions, targets, where="check()", **options)
    if spec.options.reduction != "mean":
        raise UsageError("check compares mean values; drop reduction= (or use 'mean').")
    max_, min_ = _strings("max_", max_), _strings("min_", min_)
    rtol, atol = _strings("rtol", rtol), _strings("atol", atol)
    if not isinstance(allow_missing, bool):
        raise UsageError(f"allow_missing must be True or False; got {allow_missing!r}.")
    if data_changed not in DATA_CHANGED:
        raise UsageError(f"Unknown --data-changed {data_changed!r}; use one of: "
                         f"{', '.join(DATA_CHANGED)}.")
    # The one output guard, before anything is read: --save is no input, except the baseline
    # it may replace (when the check passes: see below).
    guard([*((f if f == "predictions" else f"--{f}", getattr(spec.inputs, f))
             for f in DATA_FIELDS), ("--baseline", baseline), ("--reference", reference)],
          {"--save": save}, may_replace={"--save": baseline})
    max_gap, min_gap_ratio = gap_strings("max_gap", max_gap), gap_strings("min_gap_ratio",
                                                                        min_gap_ratio)
    method = gap_method(max_gap, min_gap_ratio, spec.options.group_gap, spec.options.group_by)
    if method != spec.options.group_gap:
        spec = spec.replace_options(group_gap=method)
    paired = reference_col is not None or reference is not None
    if paired and method is not None:
        raise UsageError("--group-gap/--max-gap/--min-gap-ratio judge one model's groups; the "
                         "paired gate (--reference-col/--reference) has no gap: drop one.")
    if paired and baseline is not None:
        raise UsageError("--baseline compares with a saved report, --reference-col/--reference "
                         "with another model on the same rows: choose one.")
    if reference_col is not None and reference is not None:
        raise UsageError("--reference-col names the reference model's column in FILE, "
                         "--reference its own file: give one of them.")
    if (rtol or atol) and baseline is None and not paired:
        raise UsageError(
            "--rtol/--atol are tolerances against a baseline: add --baseline FILE "
            "(or use --max/--min for absolute bounds)."
        )
    base = load_baseline(baseline, base_ref=base_ref) if baseline is not None else None
    if base is not None and method is None and spec.options.group_by and base.gap_method():
        # the baseline recorded the gaps between its groups: this run computes them too, so
        # they are compared (as the baseline's losses are evaluated without --loss)
        method = base.gap_method()
        spec = spec.replace_options(group_gap=method)
    params = dict(spec.options.params)
    if not spec.options.losses and base is not None:
        if params:
            flags = ", ".join(f"--{k.replace('_', '-')}" for k in params)
            raise UsageError(
                f"{flags} without --loss: the losses come from baseline '{base.path}' with "
                "their own parameters. Name the losses with --loss (e.g. --loss "
                "huber:delta=2) to change a parameter."
            )
        if not base.losses:
            raise InputError(f"Baseline '{base.path}' lists no losses; name them with --loss.")
        spec = spec.replace_options(losses=tuple(base.loss_args()))
    # The session opens the inputs and resolves the loss instances before the long pass, so
    # a typo in a bound fails at once; the inputs opened are the ones evaluated (standard
    # input can be read only once).
    models = None
    if paired:
        from losscli.session import ModelInput

        ref_pred = reference if reference is not None else spec.inputs.predictions
        ref_col = (reference_col,) if reference_col is not None else ()
        models = [ModelInput("reference", ref_pred, ref_col,
                             "--reference-col" if reference_col is not None else "--pred-col"),
                  ModelInput("candidate", spec.inputs.predictions, spec.inputs.pred_col)]
    session = Session(spec, models, paired=paired)
    bounds = parse_bounds(session.instances, max_=max_, min_=min_, rtol=rtol, atol=atol)
    gap_bounds = parse_gap_bounds(session.instances, method, max_gap, min_gap_ratio)
    if paired:
        state = run(session, on_batch=on_batch)
        elapsed = time.perf_counter() - started
        report = report_for(session, state, model=1, elapsed=elapsed)  # the candidate's
        ref_report = report_for(session, state, model=0, elapsed=elapsed)
        assert session.plan.paired is not None
        alpha = 1.0 - session.plan.paired.level
        cell = state.cells[1]
        checks = [judge_paired(res, ref, bounds,
                               None if cell.paired is None else cell.paired[0][i], alpha)
                  for i, (res, ref) in enumerate(zip(report.losses, ref_report.losses))]
        result = CheckResult(report, checks, None, data_changed_policy=data_changed,
                             reference=str(reference_col or reference))
        if state.groups is not None:
            result.groups, result.correction = _paired_groups(
                state, report, ref_report, bounds, alpha)
    else:
        grouped = bool(spec.options.group_by) and spec.options.ci
        tests = len(session.instances)
        level = spec.options.ci_level
        report, state = run_and_report(
            session, on_batch=on_batch, started=started,
            group_level=(lambda n: bonferroni_level(level, n * tests)) if grouped else None)
        if spec.options.save_state is not None:
            from losscli.saved import save_state

            save_state(spec.options.save_state, session, state)
        result = CheckResult(report, [*verdicts(report, bounds, base, allow_missing=allow_missing,
                                                use_interval=spec.options.ci),
                                      *judge_gaps(report, gap_bounds, base, bounds,
                                                  use_interval=spec.options.ci)],
                             base, data_changed_policy=data_changed)
        if report.groups is not None:
            over = None
            if grouped:
                m = len(report.groups) * tests
                over = (f"Bonferroni over {len(report.groups)} "
                        f"group{'s' if len(report.groups) != 1 else ''} × {tests} "
                        f"loss{'es' if tests != 1 else ''}")
                result.correction = (f"{over}: group intervals at "
                                     f"{format_level(bonferroni_level(level, m))} each")
            result.groups = check_groups(report, bounds, base, allow_missing=allow_missing,
                                         use_interval=spec.options.ci, interval_note=over)
        elif base is not None and base.groups is not None:
            result.groups_unchecked = tuple(base.group_by)
    if base is not None:
        keys = {inst.key for inst in session.instances}
        result.baseline_only = [b.label for k, b in base.losses.items() if k not in keys]
    if save is not None:
        if base is not None and not result.passed and same_file_as(save, [base.path]) is not None:
            result.not_saved_reason = (
                f"not saving over baseline '{base.path}': a check failed, and a regression must "
                "not become the new baseline"
            )
        else:
            save_report(report, save)
            result.saved = save
    return result


def _paired_groups(state: State, report: Report, ref_report: Report, bounds: Bounds,
                   alpha: float) -> tuple[list[GroupCheck], str]:
    """The paired verdicts of every group, their p-values Holm-adjusted over all the
    (group, loss) tests, so that noise fails no group but with chance below ``alpha``."""
    assert report.groups is not None and ref_report.groups is not None
    assert state.groups is not None
    names = report.group_by
    refs = {tuple(g.key.values()): g for g in ref_report.groups}
    tests = []  # (group, loss index, candidate result, reference result, paired state)
    for g in report.groups:
        key = tuple(g.key.values())
        cells = state.groups[tuple(g.key[n] for n in names)]
        paired = cells[1].paired
        for i, (res, ref) in enumerate(zip(g.losses, refs[key].losses)):
            tests.append((g, i, res, ref, None if paired is None else paired[0][i]))
    raw = []
    for _, _, res, ref, diff in tests:
        found = None
        if diff is not None and res.value is not None and ref.value is not None:
            outcome = diff.test()
            found = None if outcome is None else outcome.p_value
        raw.append(found)
    adjusted = holm(raw)
    by_group: dict[int, list[Verdict]] = {}
    for (g, _, res, ref, diff), p in zip(tests, adjusted):
        if res.value is None or ref.value is None:
            reason = res.reason or ref.reason or "no value"
            verdict = Verdict(res.name, res.label, dict(res.params), res.higher_is_better,
                              res.value, status=UNCHECKED,
                              notes=(f"no value in this group: {reason}",))
        else:
            verdict = judge_paired(res, ref, bounds, diff, alpha, p_value=p)
        by_group.setdefault(id(g), []).append(verdict)
    out = [GroupCheck(dict(g.key), g.rows, by_group[id(g)], "checked",
                      all(v.passed for v in by_group[id(g)])) for g in report.groups]
    m = sum(p is not None for p in raw)
    return ([c for c in out if not c.passed] + [c for c in out if c.passed],
            f"Holm over {m} paired tests ({len(report.groups)} groups)")


def _strings(name: str, value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    try:
        items = list(value or ())
    except TypeError:
        items = [value]
    if not all(isinstance(v, str) for v in items):
        raise UsageError(f"{name} takes 'NAME=VALUE' strings (e.g. 'mse=0.3'); got {value!r}.")
    return items


def save_report(report: Report | dict[str, Any], path: str) -> None:
    """Write ``report`` as JSON to ``path`` atomically (see :mod:`losscli.io.atomic`)."""
    doc = report.to_dict() if isinstance(report, Report) else report

    def write(f: Any) -> None:
        json.dump(doc, f, indent=2, allow_nan=False)
        f.write("\n")

    write_atomically(path, write, flag="--save")
