"""Output for continuous integration: GitHub Actions workflow commands (annotations and the
job's step summary), JUnit XML (Jenkins, GitLab, Azure Pipelines) and GitLab's metrics
report (the OpenMetrics text format).

Every renderer here *reads* the gate's one verdict — :class:`~losscli.gate.verdict.Outcome`
(``result.outcome``), each :class:`~losscli.gate.verdict.Verdict` and each
:class:`~losscli.gate.groups.GroupCheck` (their ``passed``, ``status``, ``reasons`` and
``notes``) — and never re-derives pass or fail. Each format escapes in one place:
:func:`workflow_data` / :func:`workflow_property` (GitHub's ``%``, ``\\r``, ``\\n``, and
``:`` ``,`` in properties), :func:`xml_text` / :func:`xml_attr` (XML), :func:`label_value`
(OpenMetrics label values); every string from data first passes
:func:`losscli.present.text.printable`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from losscli.present.text import printable

if TYPE_CHECKING:
    from losscli.comparison import Comparison
    from losscli.gate import CheckResult

__all__ = ["Annotation", "check_annotations", "compare_annotations", "github_wanted",
           "render_check_junit", "render_check_openmetrics", "workflow_command"]

#: The environment of a GitHub Actions job: set to ``true`` there; the step summary file.
GITHUB_ACTIONS, STEP_SUMMARY = "GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY"


# ---------------------------------------------------------------------------------------
# GitHub Actions: workflow commands and the step summary

def workflow_data(text: str) -> str:
    """A workflow command's message, escaped as the runner reads it back (``%`` first)."""
    return printable(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def workflow_property(text: str) -> str:
    """A workflow command's property value (``title=...``): the message's escapes and
    ``:`` and ``,``, which end a property."""
    return workflow_data(text).replace(":", "%3A").replace(",", "%2C")


@dataclass(frozen=True)
class Annotation:
    """One workflow command: ``kind`` is ``error`` (a failing check) or ``notice`` (a note
    that changes no verdict)."""

    kind: str
    title: str
    message: str

    def command(self) -> str:
        return workflow_command(self.kind, self.message, title=self.title)


def workflow_command(kind: str, message: str, **properties: str) -> str:
    """``::error title=T::MESSAGE`` — the one place a workflow command is spelled."""
    props = ",".join(f"{k}={workflow_property(v)}" for k, v in properties.items())
    return f"::{kind}{' ' + props if props else ''}::{workflow_data(message)}"


def github_wanted(ci_format: str, environ: Any = None) -> bool:
    """Whether to write GitHub's annotations and summary: ``--ci-format github``, or
    ``auto`` (the default) inside GitHub Actions (``GITHUB_ACTIONS=true``)."""
    env = os.environ if environ is None else environ
    return ci_format == "github" or (ci_format == "auto"
                                     and env.get(GITHUB_ACTIONS, "").lower() == "true")


def step_summary_path(environ: Any = None) -> str | None:
    """The file GitHub shows as the job's summary (``$GITHUB_STEP_SUMMARY``), if set."""
    env = os.environ if environ is None else environ
    return env.get(STEP_SUMMARY) or None


def _unique(texts: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(t for t in texts if t))


def check_annotations(result: CheckResult) -> list[Annotation]:
    """One ``error`` per failing loss and per failing group (and one when other data fail
    the gate), named as the verdict names them, with the verdict's reasons; one ``notice``
    per note. Read from the outcome, never re-derived."""
    outcome = result.outcome
    out: list[Annotation] = []
    by_label = {v.label: v for v in result.verdicts}
    for label in outcome.failed_losses:
        verdict = by_label[label]
        out.append(Annotation("error", f"losscli check: {label} failed",
                              "; ".join(verdict.reasons) or f"{label}: {verdict.status}"))
    checks = {g.label: g for g in result.groups or ()}
    for failure in outcome.failed_groups:
        group = checks.get(failure.label)
        reasons = [] if group is None else [
            *(r for v in group.verdicts if not v.passed for r in v.reasons),
            *([group.note] if group.note and failure.missing else [])]
        what = "missing" if failure.missing else ", ".join(failure.losses)
        out.append(Annotation("error", f"losscli check: group {failure.label} failed",
                              "; ".join(reasons) or f"{failure.label}: {what}"))
    if outcome.data_failed:
        out.append(Annotation("error", "losscli check: other data than the baseline's",
                              result.data_text or "the data fingerprint differs"))
    notes = [*([] if outcome.data_failed or not result.data_text else [result.data_text]),
             *(n for v in result.verdicts for n in v.notes), *outcome.notes]
    out += [Annotation("notice", "losscli check", n) for n in _unique(notes)]
    return out


def compare_annotations(comp: Comparison) -> list[Annotation]:
    """``compare`` judges no gate: a ``notice`` per note of its reports (how the values
    were read), none else."""
    return [Annotation("notice", "losscli compare", n)
            for n in _unique(n for r in comp.reports for n in r.notes)]


def write_github(markdown: str, annotations: list[Annotation], summary: str | None,
                 annotate: bool, stream: IO[str]) -> None:
    """Append ``markdown`` to the step summary file ``summary`` (guarded and declared
    before the run: :func:`losscli.io.atomic.append_text`), and write each annotation as a
    workflow command on ``stream`` (stderr: the runner reads both streams, and stdout stays
    the format's own)."""
    from losscli.io.atomic import append_text
    from losscli.present.text import printable_lines

    if summary is not None:
        append_text(summary, printable_lines(markdown).rstrip("\n") + "\n\n",
                    flag=f"${STEP_SUMMARY}")
    if annotate:
        for a in annotations:
            stream.write(a.command() + "\n")
        stream.flush()


# ---------------------------------------------------------------------------------------
# JUnit XML

def xml_text(text: Any) -> str:
    """Text content for XML 1.0: ``& < >`` escaped, characters XML cannot carry (control
    characters) shown as escapes by :func:`printable`."""
    shown = printable(text).replace("\t", " ")
    return shown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xml_attr(text: Any) -> str:
    """An attribute value (in double quotes): :func:`xml_text` and ``"``."""
    return xml_text(text).replace('"', "&quot;")


def _tag(name: str, attrs: dict[str, Any], body: str | None = None) -> str:
    inner = "".join(f' {k}="{xml_attr(v)}"' for k, v in attrs.items() if v is not None)
    return f"<{name}{inner}/>" if body is None else f"<{name}{inner}>{body}</{name}>"


@dataclass(frozen=True)
class _Case:
    name: str
    classname: str
    failure: str | None = None  # the reason it failed (None: it passed)
    skipped: str | None = None  # why nothing was checked
    detail: str = ""  # what was checked (the verdict's bound text) and notes


def _check_cases(result: CheckResult) -> list[_Case]:
    """One test case per loss (over all rows) and per group check — a (group, loss) pair,
    or a missing group — named as the JSON ``failed`` list names them."""
    cases = []
    for v in result.verdicts:
        detail = "; ".join([v.bound_text, *v.notes]) if v.bound_text or v.notes else ""
        if not v.passed:
            cases.append(_Case(v.label, "losscli.check", "; ".join(v.reasons) or v.status,
                               detail=detail))
        elif v.status == "unchecked":
            cases.append(_Case(v.label, "losscli.check", skipped="no bound or baseline",
                               detail=detail))
        else:
            cases.append(_Case(v.label, "losscli.check", detail="; ".join(
                [v.status, *([detail] if detail else []), *v.reasons])))
    for g in result.groups or ():
        classname = "losscli.check.groups"
        if g.status == "missing":
            cases.append(_Case(f"{g.label}: missing", classname,
                               None if g.passed else g.note or "missing", detail=g.note or ""))
            continue
        for v in g.verdicts:
            name = f"{g.label}: {v.label}"
            if not v.passed:
                cases.append(_Case(name, classname, "; ".join(v.reasons) or v.status))
            elif v.status == "unchecked":
                cases.append(_Case(name, classname, skipped="; ".join(v.notes) or
                                   "no bound or baseline"))
            else:
                cases.append(_Case(name, classname, detail="; ".join(
                    [v.status, *([g.note] if g.note else []), *v.reasons])))
    if result.data_changed is not None:
        cases.append(_Case("data: targets/weights fingerprint", "losscli.check",
                           result.data_text if result.data_failed else None,
                           detail=result.data_text or "the same data as the baseline"))
    return cases


def render_check_junit(result: CheckResult) -> str:
    """The verdict as JUnit XML: one ``testsuite`` (``losscli check``) with one
    ``testcase`` per loss and per group check; a failing one holds ``<failure
    message=REASON>``, one with nothing to check ``<skipped>``. The shape Jenkins' JUnit
    plugin, GitLab's ``artifacts:reports:junit`` and Azure's PublishTestResults read."""
    cases = _check_cases(result)
    failures = sum(c.failure is not None for c in cases)
    skipped = sum(c.skipped is not None for c in cases)
    seconds = f"{result.report.elapsed_seconds:.3f}"
    counts = {"tests": len(cases), "failures": failures, "errors": 0}
    body = []
    props = [("outcome", result.outcome.headline), ("rows", str(result.report.rows))]
    if result.baseline is not None:
        props.append(("baseline", result.baseline.path))
        if result.baseline.commit:
            props.append(("baseline_commit", result.baseline.commit))
    body.append(_tag("properties", {}, "".join(_tag("property", {"name": k, "value": v})
                                              for k, v in props)))
    for c in cases:
        inner = ""
        if c.failure is not None:
            inner += _tag("failure", {"message": c.failure, "type": "losscli.check"},
                          xml_text(c.failure))
        if c.skipped is not None:
            inner += _tag("skipped", {"message": c.skipped})
        if c.detail:
            inner += _tag("system-out", {}, xml_text(c.detail))
        body.append(_tag("testcase", {"name": c.name, "classname": c.classname,
                                      "time": "0"}, inner or None))
    suite = _tag("testsuite", {"name": "losscli check", **counts, "skipped": skipped,
                               "time": seconds}, "\n" + "\n".join(body) + "\n")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            + _tag("testsuites", {"name": "losscli", **counts, "time": seconds},
                   "\n" + suite + "\n") + "\n")


# ---------------------------------------------------------------------------------------
# OpenMetrics (GitLab's metrics report)

def label_value(text: Any) -> str:
    """An OpenMetrics label value: ``\\``, ``"`` and a line break escaped."""
    return (printable(text).replace("\\", "\\\\").replace('"', '\\"')
            .replace("\n", "\\n"))


def metric_number(value: float) -> str:
    """A sample value: the shortest repr that round-trips; ``NaN``, ``+Inf``, ``-Inf``."""
    v = float(value)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(v)


class _Metrics:
    """Samples by metric family, written in the order first seen."""

    def __init__(self) -> None:
        self.families: dict[str, tuple[str, list[str]]] = {}

    def add(self, name: str, help_text: str, value: float | None, **labels: Any) -> None:
        if value is None:
            return
        shown = ",".join(f'{k}="{label_value(v)}"' for k, v in labels.items() if v is not None)
        line = f"{name}{{{shown}}} {metric_number(value)}" if shown else (
            f"{name} {metric_number(value)}")
        self.families.setdefault(name, (help_text, []))[1].append(line)

    def text(self) -> str:
        out = []
        for name, (help_text, lines) in self.families.items():
            out += [f"# TYPE {name} gauge", f"# HELP {name} {help_text}", *lines]
        return "\n".join([*out, "# EOF"]) + "\n"


def _interval(res: Any) -> tuple[float | None, float | None]:
    iv = getattr(res, "interval", None) or {}
    return iv.get("low"), iv.get("high")


def render_check_openmetrics(result: CheckResult) -> str:
    """GitLab's metrics report: per loss (and per group, ``group="region=east"``) its value,
    its interval bounds with ``--ci``, its baseline, and whether its check passed (1/0, the
    verdict's own ``passed``); the gate's outcome last."""
    m = _Metrics()
    value, low, high = "losscli_loss_value", "losscli_loss_ci_low", "losscli_loss_ci_high"
    passed = "losscli_check_passed"
    results = {r.label: r for r in result.report.losses}
    for v in result.verdicts:
        m.add(value, "The loss's value (over the rows of its group).", v.value, loss=v.label)
        lo, hi = _interval(results.get(v.label))
        m.add(low, "The low end of the value's interval (--ci).", lo, loss=v.label)
        m.add(high, "The high end of the value's interval (--ci).", hi, loss=v.label)
        m.add("losscli_loss_baseline", "The baseline's value.", v.baseline, loss=v.label)
        if v.status != "unchecked":
            m.add(passed, "1 when the check passed, 0 when it failed.", float(v.passed),
                  loss=v.label)
    groups = {tuple(g.key.items()): g for g in result.report.groups or ()}
    for g in result.groups or ():
        found = groups.get(tuple(g.key.items()))
        by_label = {r.label: r for r in (found.losses if found is not None else ())}
        for v in g.verdicts:
            m.add(value, "", v.value, loss=v.label, group=g.label)
            lo, hi = _interval(by_label.get(v.label))
            m.add(low, "", lo, loss=v.label, group=g.label)
            m.add(high, "", hi, loss=v.label, group=g.label)
            if v.status != "unchecked":
                m.add(passed, "", float(v.passed), loss=v.label, group=g.label)
        if g.status == "missing":
            m.add(passed, "", float(g.passed), group=g.label)
    outcome = result.outcome
    m.add("losscli_check_failures", "The failing checks (losses and group checks).",
          float(len(outcome.failed)))
    m.add("losscli_gate_passed", "1 when the whole gate passed (exit 0), else 0.",
          float(outcome.passed))
    m.add("losscli_rows", "The rows evaluated.", float(result.report.rows))
    return m.text()
