"""Binding a run's inputs to their labels (see :mod:`losscli.labels`) and what the report
and saved states say about them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from losscli.errors import InputError, UsageError
from losscli.io.base import ARRAY, readable_twice
from losscli.labels.first_pass import scan
from losscli.labels.mapping import (
    BINARY_PAIRS,
    FALSE_WORDS,
    TRUE_WORDS,
    Label,
    LabelMap,
    capitalised,
    json_label,
    quote_list,
    quote_one,
    show,
    where_seen,
)
from losscli.labels.rule import (
    NUMBER,
    check_named,
    column_indices,
    column_kind,
    column_label,
    column_labels,
    is_number,
    label_options,
    match_columns,
    parse_label,
    prediction_columns,
    reads_bools_as_numbers,
    sort_labels,
    unmatched_error,
)

# -- binding -------------------------------------------------------------------------------

def bind(inputs: Any, *, classes: Sequence[str] = (), pos_label: str | None = None,
         task: str | None = None, known: LabelMap | None = None,
         scan_rows: int | None = None) -> LabelMap | None:
    """Decide how the target column's labels map to classes (see the module doc) and bind
    the map to every target role of ``inputs`` (before its first rows are read); None when
    the targets are read as numbers, as they are. ``known``: the map a session decided
    already (a Dask worker reuses it, reading nothing). ``scan_rows``: look at the first
    rows only (``inspect``)."""
    ref = inputs.roles.get("target")
    asked = bool(classes) or pos_label is not None
    _index_order(inputs)
    if ref is None:
        if asked:
            raise UsageError("--classes and --pos-label name the labels of a target column, but "
                             "the selected losses read no targets; drop them.")
        return None
    labels = known if known is not None else _resolve(inputs, ref, tuple(classes), pos_label,
                                                      task, scan_rows)
    _align_models(inputs, labels)
    if labels is None:
        return None
    for role in list(inputs.roles):
        if role == "target":
            labels.column, labels.where = inputs.roles[role].columns[0], inputs.describe(role)
            inputs.bind_labels(role, labels)
        elif role.startswith("target#"):
            other = inputs.roles[role]
            if column_kind(other.source, other.columns[0]) != column_kind(ref.source,
                                                                           ref.columns[0]):
                raise InputError(
                    f"The targets in {inputs.describe(role)} are not of the kind of those in "
                    f"{inputs.describe('target')} (labels vs numbers); give the shared targets "
                    "with --targets FILE.")
            inputs.bind_labels(role, labels.at(other.columns[0], inputs.describe(role)))
    return labels


def _index_order(inputs: Any) -> None:
    """Prediction columns named by class index (``p_2 p_0 p_1``, see
    :func:`column_indices`) in the order of their indices, whatever their order in the
    file: column ``p_i`` scores class i (the i-th label). Only against one target value per
    row (a class, a label): target columns of a distribution keep their pairing by
    position."""
    target = inputs.roles.get("target")
    if target is None or len(target.columns) != 1 or target.columns[0] == ARRAY or int(
            target.source.values_per_row(target.columns[0])) != 1:
        return
    for role, ref in list(inputs.roles.items()):
        if role != "pred" and not role.startswith("pred#"):
            continue
        order = column_indices(ref.columns) if len(ref.columns) > 1 else None
        if order is not None and order != sorted(order):
            columns = [c for _, c in sorted(zip(order, ref.columns))]
            inputs.order_columns(role, tuple(columns))


def _align_models(inputs: Any, labels: LabelMap | None) -> None:
    """Every other model's prediction columns (``pred#m``, ``compare``) in the class order
    of the first model's, by the same rule: the same names in another order are put in
    its order; names of the labels, in the order of the classes; a binary column naming
    the other label is an error. Otherwise (numbers, no names) they stay by position."""
    main = inputs.roles.get("pred")
    if main is None:
        return
    for role, ref in list(inputs.roles.items()):
        if not role.startswith("pred#"):
            continue
        where = inputs.describe(role)
        if len(ref.columns) == 1 and labels is not None and labels.task == "binary":
            check_named(_single_column(ref), labels.pos_label,
                         [c for c in labels.classes if c is not None], labels.kind,
                         f"the positive label of {inputs.describe('pred')} is "
                         f"{quote_one(labels.pos_label)} ({where})", "give every model")
            continue
        if len(ref.columns) < 2 or len(ref.columns) != len(main.columns):
            continue
        order: list[str] | None = None
        if set(ref.columns) == set(main.columns):
            order = list(main.columns)
        elif labels is not None and labels.task == "multiclass" and None not in labels.classes:
            mapped = match_columns(ref.columns, list(labels.classes), labels.kind)
            if mapped is not None and set(mapped) == set(labels.classes):
                by_label = dict(zip(mapped, ref.columns))
                order = [by_label[c] for c in labels.classes]
            elif column_indices(ref.columns) is None and labels.classes_from == "columns":
                raise InputError(
                    f"The prediction columns of {where} do not name the classes "
                    f"{quote_list(list(labels.classes))} as those of {inputs.describe('pred')} "
                    "do; name them the same way, or give every model columns in one order "
                    "with --classes A,B,C.")
        if order is not None and tuple(order) != tuple(ref.columns):
            inputs.order_columns(role, tuple(order))


def _resolve(inputs: Any, ref: Any, classes: tuple[str, ...], pos_label: str | None,
             task: str | None, scan_rows: int | None = None) -> LabelMap | None:
    asked = bool(classes) or pos_label is not None
    where = inputs.describe("target")
    column = ref.columns[0]
    several = len(ref.columns) > 1 or ref.source.values_per_row(column) > 1 or str(
        ref.source.column_types().get(column, "")).lower().startswith(
        ("list<", "large_list<", "fixed_size_list<"))
    if several:
        if asked:
            raise UsageError(f"--classes and --pos-label name the labels of a target column "
                             f"with one label per row, but {where} has several values per row "
                             "(a distribution); drop them.")
        return None
    kind = column_kind(ref.source, column)
    if kind == "number" and not asked:
        return _named_number(inputs, ref, task, where, scan_rows)
    if task in ("regression", "multilabel", "embedding"):
        if asked:
            raise UsageError(f"--classes and --pos-label name classes; --task {task} has none. "
                             "Drop them, or set --task binary or multiclass.")
        raise InputError(f"{capitalised(where)} holds labels ({kind}), not numbers, but --task {task} needs "
                         "numbers. For a classifier use --task binary or multiclass (or leave "
                         "--task out); else choose a numeric target with --target-col.")
    width, names = prediction_columns(inputs.roles.get("pred"))
    if task is None:
        task = "multiclass" if width is None or width > 1 else "binary"
    raw = kind == "text" or (kind == "bool" and not reads_bools_as_numbers(ref.source))
    once = not readable_twice(ref.source)
    if task == "binary":
        return _binary(inputs, ref, kind, raw, classes, pos_label, once, where, scan_rows,
                       _single_column(inputs.roles.get("pred")))
    if pos_label is not None:
        raise UsageError(f"--pos-label picks the positive class of binary data (one prediction "
                         f"per row), but these predictions have {width or 'several'} per row "
                         "(multi-class): name the class of each prediction column with "
                         "--classes A,B,C instead.")
    return _multiclass(inputs, ref, kind, raw, classes, once, where, width, names, scan_rows)


def _single_column(pred: Any) -> str | None:
    """The name of the one prediction column (binary data), or None."""
    if pred is None or len(pred.columns) != 1 or pred.columns[0] == ARRAY:
        return None
    return str(pred.columns[0])


def _named_number(inputs: Any, ref: Any, task: str | None, where: str,
                  scan_rows: int | None) -> LabelMap | None:
    """Numeric targets stay numbers (0/1, -1/1) — unless the one prediction column names
    another label as the one it scores (``p_0`` on 0/1 targets: the probability of 0) and
    the column holds two labels: then that label is positive, as ``--pos-label 0`` says."""
    from losscli.vocab import prob_column_label

    name = _single_column(inputs.roles.get("pred"))
    text = None if name is None else prob_column_label(name)
    if (text is None or task not in (None, "binary") or not NUMBER.fullmatch(text.strip())
            or float(text) == 1.0 or not readable_twice(ref.source)
            or prediction_columns(inputs.roles.get("pred"))[0] != 1):
        return None
    seen = scan(ref.source, ref.columns[0], "number", False, where, scan_rows)
    named = float(text)
    if named not in seen or len(seen) > 2:
        return None
    other = next((label for label in seen if label != named), None)
    return LabelMap("binary", "number", False, (other, named), "columns", ref.columns[0],
                    where, pred_columns=(str(name),))


def _stdin(where: str, what: str) -> UsageError:
    return UsageError(f"{capitalised(where)} holds text, not numbers, so its values are labels; "
                      "standard input is read once, so they cannot be looked at before the "
                      f"run: {what}. (If the column holds numbers, one of its first values is "
                      "not a number.)")


def _binary(inputs: Any, ref: Any, kind: str, raw: bool, classes: tuple[str, ...],
            pos_label: str | None, once: bool, where: str,
            scan_rows: int | None = None, pred_name: str | None = None) -> LabelMap | None:
    column = ref.columns[0]
    named = () if pred_name is None else (pred_name,)
    if classes:
        if len(classes) != 2:
            raise UsageError(
                f"Binary data (one prediction per row) have two classes, but --classes gives "
                f"{len(classes)} ({', '.join(classes)}): give NEGATIVE,POSITIVE (e.g. --classes "
                "no,yes), or for more classes one prediction column per class.")
        kind, parsed = label_options(classes, kind, where)
        if parsed[0] == parsed[1]:
            raise UsageError(f"--classes names {classes[0]!r} twice; give NEGATIVE,POSITIVE.")
        if pos_label is not None and parse_label(pos_label, kind if kind != "index" else "text",
                                            "--pos-label", where) != parsed[1]:
            raise UsageError(f"--pos-label {pos_label} and --classes {','.join(classes)} "
                             "disagree: the positive class is the second of --classes. Give "
                             "one of them.")
        check_named(pred_name, parsed[1], parsed, kind,
                     f"--classes {','.join(classes)} makes {quote_one(parsed[1])} the positive one")
        return LabelMap("binary", kind, raw, tuple(parsed), "option", column, where,
                        pred_columns=named)
    if pos_label is not None:
        positive = parse_label(pos_label, kind, "--pos-label", where)
        if once:
            return LabelMap("binary", kind, raw, (None, positive), "pos_label", column, where,
                            learn_negative=True)
        seen = scan(ref.source, column, kind, raw, where, scan_rows)
        others = [label for label in seen if label != positive]
        if len(others) > 1:
            if positive not in seen:
                raise InputError(
                    f"--pos-label {show(positive)} is not a label of {where}, whose labels are "
                    f"{quote_list(list(seen))}; labels are compared exactly (case matters).")
            third = others[1]
            raise InputError(
                f"Label {quote_one(third)} at {where_seen(seen, third)} of {where} is a third label: "
                f"{quote_one(positive)} is the positive one (--pos-label) and {quote_one(others[0])} "
                f"(first at {where_seen(seen, others[0])}) the negative one, and binary data have two "
                f"(labels seen: {quote_list(list(seen))}). Filter those rows, or for several "
                "classes give one prediction column per class (--pred-col 'p_*').")
        negative = others[0] if others else None
        check_named(pred_name, positive, [*seen, positive], kind,
                     f"--pos-label {pos_label} asks for P({show(positive)})")
        return LabelMap("binary", kind, raw, (negative, positive), "pos_label", column, where,
                        negative_row=None if negative is None else seen[negative][0],
                        pred_columns=named)
    if kind == "bool":
        by_name = column_label(pred_name, [False, True], kind)
        if by_name is not None:
            return LabelMap("binary", kind, raw, (not by_name, by_name), "columns", column,
                            where, pred_columns=named)
        return LabelMap("binary", kind, raw, (False, True), "boolean", column, where)
    if once:
        raise _stdin(where, "name the positive label with --pos-label LABEL (or give "
                            "--classes NEGATIVE,POSITIVE)")
    seen = scan(ref.source, column, kind, raw, where, scan_rows)
    if _numbers_with_text(seen):
        return None  # read as numbers: the reader names the value that is not one
    labels = list(seen)
    if len(labels) > 2:
        raise InputError(
            f"Binary data (one prediction per row) have two labels, but {where} holds "
            f"{len(labels)}: {quote_list(labels)}. For more classes give one prediction column "
            "per class (--pred-col 'p_*'); to keep two, filter the rows.")
    by_name = column_label(pred_name, labels, kind)
    if by_name is not None:  # p_yes: the probability of yes
        rest = [label for label in labels if label != by_name]
        return LabelMap("binary", kind, raw, (rest[0] if rest else None, by_name), "columns",
                        column, where, pred_columns=named)
    pair = _pair(labels)
    if pair is None:
        hint = (" (If 1/2 are 1-based labels, --pos-label 2 makes 2 positive.)"
                if sorted(labels) == ["1", "2"] else "")
        raise InputError(
            f"Which label of {where} is positive? It holds {quote_list(sorted(labels))}; name the "
            f"positive one with --pos-label LABEL (without it only the pairs "
            f"{', '.join('/'.join(p) for p in BINARY_PAIRS)} are understood, in any case)."
            + hint)
    return LabelMap("binary", kind, raw, pair, "pair", column, where)


def _numbers_with_text(seen: dict[Label, Any]) -> bool:
    """Whether text labels are numbers but for some (``2``, ``abc``): a column of numbers with
    a bad value (CSV text is read as strings then), not labels — read as numbers, so that
    the reader's error names the value and its row. (``--classes``/``--pos-label`` say they
    are labels.)"""
    texts = [label for label in seen if isinstance(label, str)]
    numbers = sum(is_number(label) for label in texts)
    return 0 < numbers < len(texts)


def _pair(labels: list[str]) -> tuple[Label, Label] | None:
    """(negative, positive) of text labels that all belong to one of BINARY_PAIRS."""
    low = [x.lower() for x in labels]
    for positive, negative in BINARY_PAIRS:
        if set(low) <= {positive, negative}:
            pos = next((x for x in labels if x.lower() == positive), None)
            neg = next((x for x in labels if x.lower() == negative), None)
            return neg, pos
    return None


def _multiclass(inputs: Any, ref: Any, kind: str, raw: bool, classes: tuple[str, ...],
                once: bool, where: str, width: int | None, names: list[str] | None,
                scan_rows: int | None = None) -> LabelMap | None:
    column = ref.columns[0]
    pred_where = inputs.describe("pred")
    if classes:
        kind, parsed = label_options(classes, kind, where)
        twice = sorted({show(c) for c in parsed if parsed.count(c) > 1})
        if twice:
            raise UsageError(f"--classes names {twice[0]!r} twice; give each class once, one per "
                             "prediction column in their order.")
        if width is not None and len(parsed) != width:
            raise UsageError(
                f"--classes gives {len(parsed)} labels but the predictions have {width} per row "
                f"({pred_where}); give one label per prediction column, in their order.")
        if names is not None and kind in ("text", "index"):
            by_name = match_columns(names, list(parsed), "text")
            if by_name is not None and list(by_name) != list(parsed):
                i = next(i for i, (a, b) in enumerate(zip(by_name, parsed)) if a != b)
                raise UsageError(
                    f"--classes {','.join(classes)} says column '{names[i]}' scores "
                    f"{quote_one(parsed[i])}, but its name says {quote_one(by_name[i])}: give the labels "
                    f"in the order of the columns (--classes {','.join(map(show, by_name))}), "
                    "or drop --classes (the names say it).")
        return LabelMap("multiclass", kind, raw, tuple(parsed), "option", column, where,
                        pred_columns=tuple(names or ()))
    named = tuple(names or ())
    derived = _derived(names, kind)
    if derived is not None and once:
        return LabelMap("multiclass", kind, raw, tuple(derived), "columns", column, where,
                        pred_columns=named)
    if once:
        raise _stdin(where, "name the class of each prediction column with --classes A,B,C "
                            "(one label per column, in their order)")
    seen = scan(ref.source, column, kind, raw, where, scan_rows)
    if _numbers_with_text(seen):
        return None  # read as numbers: the reader names the value that is not one
    if names is not None:
        by_name = match_columns(names, list(seen), kind)
        if by_name is not None:
            return LabelMap("multiclass", kind, raw, tuple(by_name), "columns", column, where,
                            pred_columns=named)
        order = column_indices(names)
        if order is None:  # names that are neither the labels nor class indices
            raise InputError(unmatched_error(names, seen, kind, where, pred_where))
    labels = sort_labels(seen)
    if width is not None and len(labels) != width:
        why = (", whose names are class indices" if names else "")
        raise InputError(
            f"{capitalised(where)} holds {len(labels)} labels ({quote_list(labels)}) and the predictions "
            f"have {width} per row ({pred_where}){why}, so which label each prediction column "
            "scores is unknown: give it with --classes A,B,C (one label per column, in their "
            "order).")
    if names is not None:  # p_2, p_0, p_1: column p_i scores the i-th label in sorted order
        labels = [labels[i] for i in column_indices(names) or range(len(labels))]
    return LabelMap("multiclass", kind, raw, tuple(labels), "sorted", column, where,
                    pred_columns=named)


def _derived(names: list[str] | None, kind: str) -> list[Label] | None:
    labels = column_labels(names)
    if labels is None:
        return None
    if kind == "bool":
        low = [x.lower() for x in labels]
        if not all(x in TRUE_WORDS or x in FALSE_WORDS for x in low):
            return None
        parsed: list[Label] = [x in TRUE_WORDS for x in low]
        return parsed if len(set(parsed)) == len(parsed) else None
    return list(labels)


# -- what the report and saved states say --------------------------------------------------

def context(labels: LabelMap | None) -> dict[str, Any]:
    """The report's ``inputs`` fields: ``classes`` (the label of class 0, 1, ...; binary:
    negative, positive; null for a label not seen), ``classes_from`` and, for binary data,
    ``pos_label``."""
    if labels is None:
        return {}
    out: dict[str, Any] = {"classes": [json_label(c) for c in labels.classes],
                           "classes_from": labels.classes_from}
    if labels.task == "binary":
        out["pos_label"] = json_label(labels.pos_label)
    elif len(labels.pred_columns) == len(labels.classes):
        out["class_columns"] = list(labels.pred_columns)  # the column of each class
    return out


#: What the summary line adds when the classes were not matched to the columns by name.
_NOT_BY_NAME = {"sorted": "sorted labels: not matched by column name",
                "option": "from --classes: not matched by column name"}


def mapping_note(inputs: dict[str, Any]) -> str:
    """`` (sorted labels: not matched by column name)`` after the classes of the summary
    line when multi-class columns were not matched to labels by their names, else ``""``."""
    if "pos_label" in inputs or not isinstance(inputs.get("classes"), list):
        return ""
    note = _NOT_BY_NAME.get(str(inputs.get("classes_from")))
    return f" ({note})" if note else ""


def state_header(labels: LabelMap | None) -> dict[str, Any]:
    """What a saved state records of the labels (states merge only when it is the same):
    the classes in order for multi-class data, the positive label for binary data (parts
    may lack the negative label)."""
    if labels is None:
        return {}
    if labels.task == "binary":
        return {"labels": {"pos_label": json_label(labels.pos_label)}}
    return {"labels": {"classes": [json_label(c) for c in labels.classes]}}
