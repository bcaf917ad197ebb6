"""Whether a run's targets are labels at all: the test a session makes before it imports
the label mapping (:mod:`losscli.labels`), so that a run on numeric targets — no
``--classes``/``--pos-label``, one prediction column per model whose name names no label
(``p_0`` does) — never loads it. :func:`bind`, :func:`task_option` and :func:`context` are
the session's three calls; each hands over to :mod:`losscli.labels.binding` when labels
are in play. (``inspect`` calls the package itself.)"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from losscli.vocab import prob_column_label

if TYPE_CHECKING:
    from losscli.io.inputs import Inputs
    from losscli.labels.mapping import LabelMap

#: Column types that are numbers beyond doubt (Arrow's names; numpy's type codes such as
#: ``<f8`` are read by :func:`numeric`): targets of such a type are read as numbers unless
#: an option or a column's name says otherwise. Any other type (text, bool, a type the
#: source does not know) goes to the package's rule (:func:`losscli.labels.column_kind`).
NUMBER_TYPES = frozenset({"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                          "uint64", "halffloat", "float", "float16", "float32", "float64",
                          "double"})


def numeric(source: Any, column: str) -> bool:
    """Whether the source knows ``column`` to hold numbers."""
    kind = str(source.column_types().get(column, ""))
    code = kind.lstrip("<>|=")  # numpy: f8, <i4, |u1 (but <U5: text)
    return (kind.lower() in NUMBER_TYPES or kind.lower().startswith("decimal")
            or (len(code) > 1 and code[0] in "fiu" and code[1:].isdigit()))


def needs_labels(inputs: Inputs, *, classes: Sequence[str] = (), pos_label: str | None = None,
                 known: LabelMap | None = None) -> bool:
    """Whether :func:`losscli.labels.bind` could do anything: False only when it would
    return None and leave ``inputs`` as they are — targets of one numeric column, no
    option naming labels, and one prediction column per model (several: put in the order
    of their class indices, or matched to labels) whose name names no label."""
    if classes or pos_label is not None or known is not None:
        return True
    target = inputs.roles.get("target")
    if target is None:
        return False
    preds = [ref for role, ref in inputs.roles.items()
             if role == "pred" or role.startswith("pred#")]
    if any(len(ref.columns) != 1 for ref in preds) or len(target.columns) != 1:
        return True
    if not numeric(target.source, target.columns[0]):
        return True
    return any(prob_column_label(str(ref.columns[0])) is not None for ref in preds)


def bind(inputs: Inputs, *, classes: Sequence[str] = (), pos_label: str | None = None,
         task: str | None = None, known: LabelMap | None = None) -> LabelMap | None:
    """:func:`losscli.labels.bind`, when :func:`needs_labels` says it could do anything;
    else None (the targets are read as numbers, as they are)."""
    if not needs_labels(inputs, classes=classes, pos_label=pos_label, known=known):
        return None
    from losscli.labels.binding import bind as bind_labels

    return bind_labels(inputs, classes=classes, pos_label=pos_label, task=task, known=known)


def task_option(labels: LabelMap | None, task: str | None) -> str | None:
    """The task the session detects with: the labels' (binary or multiclass) when the
    targets are labels, else ``--task``."""
    return task if labels is None else labels.task


def context(labels: LabelMap | None) -> dict[str, Any]:
    """The report's ``inputs`` fields of the labels (:func:`losscli.labels.context`); none
    for numeric targets."""
    if labels is None:
        return {}
    from losscli.labels.binding import context as label_context

    return label_context(labels)
