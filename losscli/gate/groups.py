"""``check --group-by``: the bounds and the baseline applied to every group.

Each group is judged like the whole (:func:`~losscli.gate.verdict.judge`), against

* the same group of the baseline when the baseline has groups (the same ``--group-by``);
  a group the baseline lacks is **new** — judged on ``--max``/``--min`` only, never failed
  for being new — and a group of the baseline that the data lack is **missing**, a failure
  unless ``--allow-missing``;
* the baseline's overall values when it has no groups (every group must do as well as the
  whole did).

With ``--ci`` the groups' intervals are Bonferroni-corrected: with ``m`` = groups × losses
judged, each interval is at level ``1 − (1 − level)/m``, so the chance that noise alone
fails any group stays below ``1 − level`` (:func:`bonferroni_level`). In the paired mode
(``--reference-col``) the groups' p-values are Holm-adjusted (:func:`holm`) instead.
A group without a value for a loss (no rows, one class only...) is unchecked for it, with
the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from losscli.errors import InputError
from losscli.gate.baseline import Baseline
from losscli.gate.bounds import Bounds
from losscli.gate.verdict import UNCHECKED, Verdict, judge
from losscli.grouping import key_text, sort_key
from losscli.report import Report

NEW, MISSING = "new", "missing"


@dataclass(frozen=True)
class GroupCheck:
    """The verdicts of one group; ``status`` is ``checked``, ``new`` (not in the baseline)
    or ``missing`` (in the baseline, not in the data: no verdicts)."""

    key: dict[str, Any]
    rows: int
    verdicts: list[Verdict]
    status: str = "checked"
    passed: bool = True
    note: str | None = None

    @property
    def label(self) -> str:
        return key_text(list(self.key), tuple(self.key.values()))

    @property
    def failed(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.passed]

    def to_dict(self) -> dict[str, Any]:
        return {"key": dict(self.key), "rows": self.rows, "status": self.status,
                "passed": self.passed, "checks": [v.to_dict() for v in self.verdicts],
                **({"note": self.note} if self.note else {})}


def bonferroni_level(level: float, tests: int) -> float:
    """The per-test level that keeps the chance of any false failure among ``tests`` below
    ``1 − level``."""
    return 1.0 - (1.0 - level) / max(1, tests)


def holm(p_values: list[float | None]) -> list[float | None]:
    """Holm's adjusted p-values (:func:`losscli.stats.intervals.holm`) of the p-values
    that are not None (None stays None)."""
    from losscli.stats import intervals

    known = [p for p in p_values if p is not None]
    adjusted = iter(intervals.holm(known).tolist() if known else [])
    return [None if p is None else next(adjusted) for p in p_values]


def check_groups(report: Report, bounds: Bounds, base: Baseline | None, *,
                 allow_missing: bool, use_interval: bool,
                 interval_note: str | None = None) -> list[GroupCheck]:
    """Judge every group of ``report`` (see the module doc); failing groups first, then by
    key, missing groups last. ``interval_note``: how the groups' interval level was
    chosen (``Bonferroni over 4 groups × 1 loss``), said in each verdict."""
    assert report.groups is not None
    names = report.group_by
    per_group = base is not None and base.groups is not None
    if per_group and base is not None and base.group_by != names:
        raise InputError(
            f"Baseline '{base.path}' has groups by {', '.join(base.group_by)}, this run by "
            f"{', '.join(names)}: groups compare only with the same --group-by. Regenerate "
            "the baseline with this --group-by, or group like it.")
    out = []
    seen = set()
    for g in report.groups:
        key = tuple(g.key[n] for n in names)
        seen.add(key)
        if base is None:
            against, status, note = None, "checked", None
        elif not per_group:
            against, status, note = base, "checked", None
        else:
            against = base.group(key)
            status = "checked" if against is not None else NEW
            note = None if against is not None else (
                f"new since baseline '{base.path}': judged on --max/--min only")
        verdicts = []
        for res in g.losses:
            if res.value is None and res.reason:
                verdicts.append(Verdict(res.name, res.label, dict(res.params),
                                        res.higher_is_better, None, status=UNCHECKED,
                                        notes=(f"no value in this group: {res.reason}",)))
            else:
                verdicts.append(judge(res, bounds, against, allow_missing=allow_missing,
                                      use_interval=use_interval, interval_note=interval_note))
        out.append(GroupCheck(dict(g.key), g.rows, verdicts, status,
                              all(v.passed for v in verdicts), note))
    if per_group and base is not None and base.groups is not None:
        gone = sorted((k for k in base.groups if k not in seen), key=sort_key)
        for key in gone:
            note = (f"in baseline '{base.path}' but not in the data"
                    + (" (allowed by --allow-missing)" if allow_missing else
                       "; --allow-missing allows it"))
            out.append(GroupCheck(dict(zip(names, key)), 0, [], MISSING, allow_missing, note))
    failing = [c for c in out if not c.passed]
    return failing + [c for c in out if c.passed]
