"""Where a loss is defined: validity rules on its inputs, and the one place they are judged.

A :class:`Domain` rule marks the rows (or, for inputs with several values per row, the
entries) of one input that break it. :meth:`Domain.violation` turns that mask into a
:class:`Violation` — the first offending row, its column, how many rows break the rule —
and :meth:`Violation.message` into the error text. The engine (an error naming the row),
``losscli inspect`` (which losses fit the first rows) and the catalogue (the rule's text)
all go through these, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class CheckContext:
    """What a domain rule may depend on: the task, whether predictions are logits, the
    number of classes, and state kept across the chunks of one work unit."""

    task: str = "regression"
    from_logits: bool = False
    classes: int | None = None
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Violation:
    """The first row of an array that breaks a rule.

    ``index`` is the row within the array checked, ``column`` the offending entry of a row
    with several values (None for one value per row), ``count`` the rows that break the
    rule in that array, ``shown`` the offending value(s) as text.
    """

    rule: Domain
    index: int
    column: int | None
    count: int
    shown: str
    requirement: str
    hint: str

    def message(self, loss: str, where: str, row: int, scope: str = "in this chunk") -> str:
        """``<loss> needs <noun> <requirement> in <where>, but row R has V (N such rows
        <scope>). <hint>``"""
        return (
            f"{loss} needs {self.rule.noun} {self.requirement} in {where}, but row {row} has "
            f"{self.shown} ({self.count} such rows {scope}). {self.hint}"
        )

    def reason(self, role_noun: str, rows_read: int) -> str:
        """The ``inspect`` form: ``needs prediction values > -1; 3 of the first 100 rows are
        not (e.g. -2.0)``."""
        what = (f"{role_noun} values {self.requirement}" if self.rule.noun == "values"
                else f"{self.rule.noun} {self.requirement} as {role_noun}s")
        verb = "is" if self.count == 1 else "are"
        return (f"needs {what}; {self.count} of the first {rows_read} rows {verb} not "
                f"(e.g. {self.shown})")


@dataclass(frozen=True)
class Domain:
    """A validity rule on one input: ``bad(array)`` marks the rows (or, for 2-D inputs,
    the entries) that break it.

    ``bad`` takes ``(array, ctx)`` when ``uses_context``; ``when(ctx)`` limits the rule to
    some evaluations (e.g. probabilities only without --from-logits). The message reads
    ``<loss> needs <noun> <requirement> in <column>, but row R has <value>. <hint>``;
    ``requirement`` may hold ``{classes}``, ``show`` formats the offending row.
    """

    role: str
    bad: Callable[..., Any]
    requirement: str  # e.g. "> -1", shown in the error
    noun: str = "values"
    hint: str = "Filter those rows, or choose a loss defined there."
    when: Callable[[CheckContext], bool] | None = None
    uses_context: bool = False
    show: Callable[[Any], str] | None = None
    #: A hint that depends on the offending data (e.g. class indices that look 1-based),
    #: or None to use ``hint``.
    hint_for: Callable[[Any, CheckContext], str | None] | None = None
    #: A second input the rule compares with (a lower bound with its upper bound): ``bad``
    #: then takes ``(array, other)``, the other input's rows aligned with ``array``'s.
    other: str | None = None

    def applies(self, ctx: CheckContext) -> bool:
        return self.when is None or bool(self.when(ctx))

    def mask(self, array: Any, ctx: CheckContext, other: Any = None) -> Any:
        if self.other is not None:
            return self.bad(array, other)
        return self.bad(array, ctx) if self.uses_context else self.bad(array)

    def text(self, classes: int | str | None = None) -> str:
        """The requirement with the number of classes filled in (``C`` when unknown)."""
        return self.requirement.replace("{classes}", str(classes if classes is not None else "C"))

    def violation(self, array: np.ndarray, ctx: CheckContext,
                  other: np.ndarray | None = None) -> Violation | None:
        """The first row of ``array`` that breaks this rule, or None (the rule is assumed to
        apply: see :meth:`applies`). ``other``: the rows of input :attr:`other`."""
        bad = np.asarray(self.mask(array, ctx, other))
        column = None
        if bad.ndim > 1:  # per entry: name the column (or list position) as well
            per_row = bad.any(axis=1)
            if per_row.any():
                column = int(np.flatnonzero(bad[np.flatnonzero(per_row)[0]])[0])
            bad = np.asarray(per_row)
        if not bad.any():
            return None
        idx = np.flatnonzero(bad)
        row = array[idx[0]]
        if column is not None:
            shown = repr(row[column].tolist())
        else:
            shown = self.show(row) if self.show is not None else repr(row.tolist())
        hint = self.hint_for(array, ctx) if self.hint_for is not None else None
        return Violation(self, int(idx[0]), column, int(idx.size), shown,
                         self.text(ctx.classes), hint or self.hint)
