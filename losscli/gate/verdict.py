"""Verdicts of ``losscli check``: one report entry judged against its bounds and its
baseline value (:class:`Verdict`), and the verdict of the whole gate (:class:`Outcome`:
every loss, every group, the data). Pure logic over plain data (the rules are in
:mod:`losscli.gate`).

**One verdict.** The gate decides once; every output reads the decision and never
re-derives it: the exit code (:attr:`Outcome.exit_code`), the JSON ``passed``/``failed``
and ``verdict``, the table's and Markdown's verdict words, the ``check failed: …`` line on
stderr (:meth:`Outcome.failure_text`) and the HTML badge (:attr:`Outcome.headline`). The
sentences that explain a verdict (:attr:`Verdict.bound_text`, its ``reasons`` and
``notes``) live on the verdict and travel in its dict, so the page shows the same words as
the table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from losscli.gate.allowance import against_baseline, same_value
from losscli.gate.allowance import beyond as _beyond
from losscli.gate.allowance import value_text as _n
from losscli.gate.baseline import Baseline
from losscli.gate.bounds import Bounds
from losscli.present.text import format_level
from losscli.registry import direction_of, format_param
from losscli.report import Report, json_float

PASS, SAME, IMPROVED, FAIL, UNCHECKED = "pass", "same", "improved", "fail", "unchecked"
#: Every status, best first: ``improved`` (better than the baseline beyond round-off),
#: ``same`` (equal to it within round-off), ``pass`` (worse, but within the tolerance; or
#: only absolute bounds checked), ``fail``, ``unchecked`` (no bound, no baseline).
STATUSES = (IMPROVED, SAME, PASS, FAIL, UNCHECKED)
#: How a status is written in the table, the page and the CSV's readers' eyes.
STATUS_TEXT = {PASS: "pass", SAME: "same", IMPROVED: "improved", FAIL: "FAIL", UNCHECKED: "—"}


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
    #: What the verdict could not use, e.g. a loss without an interval judged on its value
    #: (information, never a failure)
    notes: tuple[str, ...] = ()
    #: With --ci: the value's interval [low, high] the bounds were judged against.
    interval: tuple[float, float] | None = None
    #: Paired mode (--reference-col / --reference): the p-value of the per-row differences
    #: (candidate − reference) and their interval; ``baseline`` is then the reference's value.
    p_value: float | None = None
    diff_interval: tuple[float, float] | None = None
    paired: bool = False  # judged against a reference model on the same rows
    interval_level: str = "95%"
    #: How the interval's level was chosen when it is not the run's own, e.g.
    #: ``Bonferroni over 4 groups × 1 loss`` (a group's interval under --group-by --ci)
    interval_note: str | None = None
    gap: bool = False  # a check of the gap between groups (losscli.gate.gaps), not a loss

    @property
    def passed(self) -> bool:
        return self.status != FAIL

    @property
    def direction(self) -> str:
        """``lower``, ``higher`` or ``none`` (informational: judged by its bounds alone)."""
        return direction_of(self.name, self.higher_is_better)

    @property
    def bound_text(self) -> str:
        """Human summary of what was checked, e.g. ``<= 0.3; <= 1.87 (baseline, rtol 0.02)``
        (the baseline limit to 6 significant digits, as tables show values)."""
        parts = []
        if self.max is not None:
            parts.append(f"<= {format_param(self.max)}")
        if self.min is not None:
            parts.append(f">= {format_param(self.min)}")
        if self.limit is not None:
            tol = [f"{k} {format_param(v)}" for k, v in (("rtol", self.rtol), ("atol", self.atol)) if v]
            op = ">=" if self.higher_is_better else "<="
            against = ("baseline" if not self.paired else "reference, significant"
                       if self.p_value is not None else "reference, on the values")
            if self.interval is not None:
                against += f", whole {self.interval_level} interval"
                if self.interval_note:
                    against += f" each, {self.interval_note}"
            parts.append(f"{op} {self.limit:.6g} ({against}{', ' + ', '.join(tol) if tol else ''})")
        elif self.in_baseline is False:
            parts.append("not in baseline")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "params": dict(self.params),
            "higher_is_better": self.higher_is_better,
            **({"direction": "none"} if self.direction == "none" else {}),
            "value": json_float(self.value),
            "baseline": json_float(self.baseline),
            "in_baseline": self.in_baseline,
            "change": json_float(self.change),
            "relative_change": json_float(self.relative_change),
            "max": self.max,
            "min": self.min,
            "rtol": self.rtol,
            "atol": self.atol,
            "allowed_change": json_float(self.allowed_change),
            "limit": json_float(self.limit),
            "status": self.status,
            "passed": self.passed,
            "reasons": list(self.reasons),
            **({"notes": list(self.notes)} if self.notes else {}),
            # the sentence every format shows for what was checked (the page included)
            "bound_text": self.bound_text,
            **({"interval": list(self.interval)} if self.interval else {}),
            **({"interval_level": self.interval_level} if self.interval else {}),
            **({"interval_note": self.interval_note} if self.interval_note else {}),
            **({"gap": True} if self.gap else {}),
            **({"p_value": json_float(self.p_value)} if self.p_value is not None else {}),
            **({"diff_interval": [json_float(x) for x in self.diff_interval]}
               if self.diff_interval else {}),
        }


def judge(
    res: Any,
    bounds: Bounds,
    baseline: Baseline | None,
    *,
    allow_missing: bool = False,
    use_interval: bool = False,
    interval_note: str | None = None,
) -> Verdict:
    """The verdict on one report entry ``res`` (a :class:`LossResult`).

    ``use_interval`` (``check --ci``): a bound fails only when the whole interval of the
    value lies beyond it — its most favourable end is what is compared — so noise alone
    never fails the gate; ``improved`` needs the whole interval better than the baseline.
    ``interval_note``: how the interval's level was chosen (a group's Bonferroni level),
    said beside the level.
    """
    label = res.label
    v = res.value
    reasons: list[str] = []
    notes: list[str] = []
    failed = improved = same = checked = False
    nan = v is None or not math.isfinite(v)
    fields: dict[str, Any] = {"max": bounds.max.get(label), "min": bounds.min.get(label)}
    iv = res.interval if use_interval else None
    low = high = v
    if iv is not None and iv.get("low") is not None and iv.get("high") is not None:
        low, high = float(iv["low"]), float(iv["high"])
        fields["interval"] = (low, high)
        level = format_level(iv.get("level", 0.95))
        fields["interval_level"] = level
        if interval_note:
            fields["interval_note"] = interval_note
    elif use_interval and not nan:
        why = (iv or {}).get("reason") or "no interval"
        notes.append(f"{label}: {why}; judged on its value")
    if nan:
        failed = checked = True
        reasons.append(f"{label} is {v} (NaN or infinite): nothing to compare; see --nan-policy")
    if fields["max"] is not None and not nan:
        checked = True
        if _beyond(low - fields["max"], low, fields["max"]):  # type: ignore[operator]
            failed = True
            reasons.append(_beyond_text(label, v, "above --max", fields["max"], low, high,
                                        "interval" in fields))
        elif "interval" in fields and _beyond(v - fields["max"], v, fields["max"]):  # type: ignore[operator]
            reasons.append(f"{label} = {_n(v)} is above --max {format_param(fields['max'])}, but "
                           f"its {level} interval [{_n(low)}, {_n(high)}] reaches it: within noise")
    if fields["min"] is not None and not nan:
        checked = True
        if _beyond(fields["min"] - high, high, fields["min"]):  # type: ignore[operator]
            failed = True
            reasons.append(_beyond_text(label, v, "below --min", fields["min"], low, high,
                                        "interval" in fields))
        elif "interval" in fields and _beyond(fields["min"] - v, v, fields["min"]):  # type: ignore[operator]
            reasons.append(f"{label} = {_n(v)} is below --min {format_param(fields['min'])}, but "
                           f"its {level} interval [{_n(low)}, {_n(high)}] reaches it: within noise")
    bounded = checked  # by a bound (or its NaN): what gates an informational value
    if baseline is not None:
        checked = True
        entry = baseline.get(res.key)
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
        elif res.direction == "none" and not nan:  # informational: its change, not a gate
            checked = bounded  # unchecked ("—") unless a bound judged it
            change = v - entry.value  # type: ignore[operator]
            same = same_value(v, entry.value)  # type: ignore[arg-type]
            fields.update(baseline=entry.value, change=change,
                          relative_change=change / abs(entry.value) if entry.value else None)
            notes.append(f"{label} = {_n(v)} vs baseline {_n(entry.value)} (change "
                         f"{change:+.6g}): informational, no better direction — not gated "
                         "against the baseline; bound it with --max/--min")
        else:
            against = against_baseline(label, v, entry.value, res.higher_is_better,
                                       bounds.rtol_for(label), bounds.atol_for(label),
                                       (low, high) if "interval" in fields else None,
                                       fields.get("interval_level", ""))
            fields.update(against.fields)
            reasons.extend(against.reasons)
            failed, improved, same = failed or against.failed, against.improved, against.same
    status = (FAIL if failed else IMPROVED if improved else SAME if same else PASS if checked
              else UNCHECKED)
    return Verdict(
        name=res.name, label=label, params=dict(res.params), higher_is_better=res.higher_is_better,
        value=v, status=status, reasons=tuple(reasons), notes=tuple(notes), **fields,
    )


def _p(p: float | None) -> str:
    return "no test" if p is None else "p < 0.0001" if p < 1e-4 else f"p = {p:.3g}"


def _beyond_text(label: str, value: Any, what: str, bound: float, low: Any, high: Any,
                 interval: bool) -> str:
    whole = f": its whole interval [{_n(low)}, {_n(high)}] is {what.split()[0]} it"
    return f"{label} = {_n(value)} is {what} {format_param(bound)}{whole if interval else ''}"


def judge_paired(res: Any, reference: Any, bounds: Bounds, difference: Any,
                 alpha: float, p_value: float | None = None) -> Verdict:
    """The verdict on a candidate's loss against a reference model's on the same rows
    (``check --reference-col``): it fails only when the candidate is *significantly* worse
    (the paired test of the per-row differences, p < ``alpha``) by more than the allowance
    ``max(atol, rtol·|reference|)`` — for a mean loss, when the whole interval of the mean
    per-row difference lies beyond it. ``difference`` is the paired interval state (its
    ``test()`` and ``interval()``), None when the loss has no paired test; ``p_value``
    replaces its p-value (one adjusted for multiple tests)."""
    label, v, r = res.label, res.value, reference.value
    reasons: list[str] = []
    notes: list[str] = []
    fields: dict[str, Any] = {"max": bounds.max.get(label), "min": bounds.min.get(label),
                              "in_baseline": True, "paired": True}
    nan = v is None or r is None or not (math.isfinite(v) and math.isfinite(r))
    if not nan and direction_of(res.name, res.higher_is_better) == "none":
        alone = judge(res, bounds, None)  # its --max/--min bounds only
        return replace(alone, baseline=r, in_baseline=True, paired=True, change=v - r,
                       relative_change=(v - r) / abs(r) if r else None, notes=(
                           *alone.notes, f"{label} = {_n(v)} vs reference {_n(r)}: "
                           "informational, no better direction — not gated against the "
                           "reference; bound it with --max/--min"))
    if nan:
        return Verdict(res.name, label, dict(res.params), res.higher_is_better, v,
                       baseline=r, status=FAIL, reasons=(f"{label}: a value is NaN or "
                                                         "infinite; see --nan-policy",), **fields)
    rtol, atol = bounds.rtol_for(label), bounds.atol_for(label)
    allowed = max(atol or 0.0, (rtol or 0.0) * abs(r))
    sign = -1.0 if res.higher_is_better else 1.0
    change = v - r
    fields.update(baseline=r, rtol=rtol, atol=atol, allowed_change=allowed,
                  limit=r + sign * allowed, change=change,
                  relative_change=change / abs(r) if r else None)
    test = None if difference is None else difference.test()
    p = None if test is None else test.p_value
    if p is not None and p_value is not None:  # adjusted for multiple tests (Holm)
        p = p_value
    fields["p_value"] = p
    diff_iv = None
    # the interval of the difference: a mean loss's per-row differences, or a confusion
    # metric's joint cell bootstrap, a ranking's joint bootstrap of the shared rows (the
    # replicates' metric(model) − metric(reference))
    cells = difference is not None and difference.kind in ("confusion_paired", "ranking_paired")
    if difference is not None and (difference.moments is not None or cells) and (
            res.name not in ("rmse", "r2")):
        got = difference.interval(change if cells else difference.moments.mean())
        if got.low is not None and got.high is not None:
            diff_iv = (got.low, got.high)
            fields["diff_interval"] = diff_iv
    worse = sign * change > 0 and not same_value(v, r)
    significant = p is not None and p < alpha
    if diff_iv is not None:
        beyond = sign * (diff_iv[0] if sign > 0 else diff_iv[1]) > allowed
    else:
        beyond = _beyond(sign * change - allowed, v, r)
    status = PASS
    if p is None:
        from losscli.paired import no_paired_test

        notes.append(f"{no_paired_test(difference, label)}; judged on the values")
        significant = True
    if worse and significant and beyond:
        status = FAIL
        what = "difference" if cells else "per-row difference"
        how = (f"the whole interval of the {what} [{_n(diff_iv[0])}, {_n(diff_iv[1])}]"
               if diff_iv is not None else f"change {change:+.6g}")
        reasons.append(f"{label} is significantly worse than the reference ({_p(p)}): {_n(v)} "
                       f"vs {_n(r)}; {how} is beyond the {allowed:.6g} allowed")
    elif same_value(v, r):
        status = SAME
    elif not worse and significant and p is not None:
        status = IMPROVED
    elif worse:
        why = (f"not significant ({_p(p)}): noise" if p is not None and not significant
               else "within the allowance")
        reasons.append(f"{label} = {_n(v)} vs reference {_n(r)}: {why}")
    return Verdict(res.name, label, dict(res.params), res.higher_is_better, v, status=status,
                   reasons=tuple(reasons), notes=tuple(notes), **fields)


def verdicts(report: Report, bounds: Bounds, baseline: Baseline | None = None, *,
             allow_missing: bool = False, use_interval: bool = False) -> list[Verdict]:
    """One :class:`Verdict` per loss of ``report``, in its order."""
    return [judge(res, bounds, baseline, allow_missing=allow_missing, use_interval=use_interval)
            for res in report.losses]


# ---------------------------------------------------------------------------------------
# the verdict of the whole gate

#: The gate's outcomes: ``failed`` (exit 1), ``passed``, ``unchecked`` (nothing had a bound
#: or a baseline: evaluated only; exit 0).
PASSED, FAILED, NOTHING_CHECKED = "passed", "failed", "unchecked"
#: Most failing groups a one-line verdict names (the JSON ``failed`` has them all).
NAMED_GROUPS = 3
#: The words for a gate failed by other data (``--data-changed fail``).
OTHER_DATA = "other data than the baseline's (--data-changed fail)"


@dataclass(frozen=True)
class GroupFailure:
    """A failing group: its label (``region=east``), its key, the labels of its failing
    losses (none for a group of the baseline that the data lack: ``missing``)."""

    label: str
    key: dict[str, Any]
    losses: tuple[str, ...] = ()
    missing: bool = False

    @property
    def entries(self) -> list[str]:
        """This group's entries of the JSON ``failed`` list: ``region=east: mse``."""
        if self.missing:
            return [f"{self.label}: missing"]
        return [f"{self.label}: {loss}" for loss in self.losses]


@dataclass(frozen=True)
class Outcome:
    """The verdict of the whole gate, made once (:func:`decide`): which losses failed,
    which groups, whether other data failed it, and the notes every format shows. Every
    output reads it — the exit code, JSON, table, Markdown, the stderr line and the page."""

    losses: int  # losses judged over all rows (and gap checks: ``gaps``)
    failed_losses: tuple[str, ...] = ()
    groups: int | None = None  # groups judged, missing ones included (None: no --group-by)
    failed_groups: tuple[GroupFailure, ...] = ()
    data_failed: bool = False
    checked: bool = True  # False: no loss had a bound or a baseline (evaluated only)
    notes: tuple[str, ...] = ()
    gaps: int = 0  # gap checks between groups (their labels: ``group gap: mse``)

    @property
    def passed(self) -> bool:
        return not (self.failed_losses or self.failed_groups or self.data_failed)

    @property
    def status(self) -> str:
        return FAILED if not self.passed else PASSED if self.checked else NOTHING_CHECKED

    @property
    def exit_code(self) -> int:
        """1 when a check failed, else 0."""
        return 0 if self.passed else 1

    @property
    def failed(self) -> list[str]:
        """The failing checks, as JSON lists them: the losses over all rows (``mse``), then
        each failing group's losses (``region=east: mse``) or ``region=west: missing``."""
        return [*self.failed_losses, *(e for g in self.failed_groups for e in g.entries)]

    def items(self, name: Any = str) -> list[str]:
        """What failed, in words: each failing loss, other data, ``2 groups (a=x, a=y)``;
        ``name`` marks up each loss and group name (Markdown's code spans)."""
        out = [name(label) for label in self.failed_losses]
        if self.data_failed:
            out.append(OTHER_DATA)
        bad = self.failed_groups
        if bad:
            names = ", ".join(name(g.label) for g in bad[:NAMED_GROUPS])
            more = ", …" if len(bad) > NAMED_GROUPS else ""
            out.append(f"{len(bad)} group{'s' if len(bad) != 1 else ''} ({names}{more})")
        return out

    def failure_text(self, name: Any = str) -> str:
        """``mse, 1 group (region=east)``: the ``check failed: …`` line's words."""
        return ", ".join(self.items(name))

    @property
    def headline(self) -> str:
        """The verdict in one phrase, as the table's last line and the page's badge say
        it: ``PASSED: 2 losses``, ``FAILED: 1 of 2 losses (mse); 1 of 4 groups
        (region=east)``, ``evaluated 2 losses, no bound or baseline``."""
        n = self.losses
        noun = f"loss{'es' if n != 1 else ''}" + (f" + {self.gaps} group gap"
                                                   f"{'s' * (self.gaps != 1)}" if self.gaps else "")
        if self.status == NOTHING_CHECKED:
            return f"evaluated {n} {noun}, no bound or baseline"
        if self.passed:
            return f"PASSED: {n} {noun}"
        parts = []
        if self.failed_losses:
            parts.append(f"{len(self.failed_losses)} of {n} {noun} "
                         f"({', '.join(self.failed_losses)})")
        if self.data_failed:
            parts.append("other data than the baseline's")
        bad = self.failed_groups
        if bad:
            names = ", ".join(g.label for g in bad[:NAMED_GROUPS])
            more = ", …" if len(bad) > NAMED_GROUPS else ""
            of = f" of {self.groups}" if self.groups is not None else ""
            parts.append(f"{len(bad)}{of} group{'s' if (self.groups or len(bad)) != 1 else ''} "
                         f"({names}{more})")
        return "FAILED: " + "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """The JSON ``verdict``: what the page and any reader show without re-deriving."""
        return {
            "status": self.status,
            "passed": self.passed,
            "exit_code": self.exit_code,
            "headline": self.headline,
            "failed": self.failed,
            "failure": self.failure_text() if not self.passed else None,
            "failed_losses": list(self.failed_losses),
            "failed_groups": [{"key": dict(g.key), "label": g.label, "losses": list(g.losses),
                               "missing": g.missing} for g in self.failed_groups],
            "data_failed": self.data_failed,
            "notes": list(self.notes),
        }


def decide(verdicts: Any, groups: Any = None, *, data_failed: bool = False,
           notes: Any = ()) -> Outcome:
    """The :class:`Outcome` of the gate from the loss verdicts over all rows, the groups'
    checks (:class:`~losscli.gate.groups.GroupCheck`, None without --group-by) and whether
    other data fail it. The one place where "did the check pass" is decided."""
    verdicts = list(verdicts)
    failing = []
    for g in groups or ():
        if g.passed:
            continue
        failing.append(GroupFailure(g.label, dict(g.key),
                                    tuple(v.label for v in g.verdicts if not v.passed),
                                    missing=g.status == "missing"))
    checked = (any(v.status != UNCHECKED for v in verdicts) or data_failed or bool(failing)
               or any(v.status != UNCHECKED for g in groups or () for v in g.verdicts)
               or any(g.status == "missing" for g in groups or ()))
    return Outcome(
        losses=sum(not v.gap for v in verdicts), gaps=sum(v.gap for v in verdicts),
        failed_losses=tuple(v.label for v in verdicts if not v.passed),
        groups=None if groups is None else len(groups),
        failed_groups=tuple(failing), data_failed=data_failed, checked=checked,
        notes=tuple(notes))
