"""The label-mapping rule (see :mod:`losscli.labels`): what a column is, which label each
prediction column scores, labels given as options."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from losscli.errors import UsageError
from losscli.io.base import ARRAY, TEXT_FORMATS
from losscli.labels.mapping import (
    FALSE_WORDS,
    SEPARATORS,
    TRUE_WORDS,
    Label,
    columns_text,
    quote_list,
    quote_one,
    show,
    where_seen,
)

# -- what a column is ----------------------------------------------------------------------

_NUMPY_TEXT = re.compile(r"[<>|=]?[us]\d*")


def column_kind(source: Any, column: str) -> str:
    """``text``, ``bool`` or ``number`` (numbers, or a type that says nothing: the column is
    read as numbers, as before) from what the source knows of the column's type."""
    kind = str(source.column_types().get(column, "")).lower()
    if kind in ("bool", "boolean"):
        return "bool"
    if (kind in ("string", "large_string", "utf8", "large_utf8", "string_view", "binary",
                 "large_binary", "object")
            or kind.startswith(("dictionary<values=string", "dictionary<values=large_string"))
            or _NUMPY_TEXT.fullmatch(kind)):
        return "text"
    return "number"


def reads_bools_as_numbers(source: Any) -> bool:
    """Whether the source reads a boolean column as float64 (Arrow formats, numpy): else
    (CSV text, NDJSON) it is read raw."""
    return str(source.format) not in TEXT_FORMATS


def prediction_columns(pred: Any) -> tuple[int | None, list[str] | None]:
    """The predictions' values per row (None: unknown before reading, a list column of
    varying length) and their column names when there is one column per class."""
    if pred is None:
        return 1, None
    cols = list(pred.columns)
    if len(cols) > 1:
        return len(cols), cols
    source, column = pred.source, cols[0]
    width = int(source.values_per_row(column))
    if width > 1:
        return width, None
    if str(source.format) == "memory":  # a 2-D array counts 1 there
        first = next(iter(source.read_range([column], 0, min(1, source.num_rows or 0), 1)),
                     None)
        if first is not None and first[column].ndim == 2:
            return int(first[column].shape[1]), None
        return 1, None
    kind = str(source.column_types().get(column, "")).lower()
    if kind.startswith(("list<", "large_list<", "fixed_size_list<")):
        return None, None
    return 1, None


def column_labels(columns: Sequence[str] | None) -> list[str] | None:
    """The labels prediction columns name: each name less the prefix and the suffix every
    name shares, cut at a separator (``p_setosa``, ``p_versicolor`` → ``setosa``,
    ``versicolor``; ``setosa_prob`` → ``setosa``; names without a shared part are labels as
    they are). None for fewer than two columns, or names that leave an empty or repeated
    label. (Standard input only, where the labels cannot be looked at before the run:
    elsewhere :func:`match_columns` decides.)"""
    if not columns or len(columns) < 2 or ARRAY in columns:
        return None
    names = list(columns)
    prefix = _common_prefix(names)
    cut = max(prefix.rfind(s) for s in SEPARATORS)
    prefix = prefix[:cut + 1] if cut >= 0 else ""
    rest = [n[len(prefix):] for n in names]
    suffix = _common_prefix([n[::-1] for n in rest])[::-1]
    cuts = [i for i, ch in enumerate(suffix) if ch in SEPARATORS]
    suffix = suffix[cuts[0]:] if cuts else ""
    labels = [n[:len(n) - len(suffix)] for n in rest]
    if any(not x for x in labels) or len(set(labels)) != len(labels):
        return None
    return labels


def _common_prefix(names: list[str]) -> str:
    first, last = min(names), max(names)
    i = 0
    while i < min(len(first), len(last)) and first[i] == last[i]:
        i += 1
    return first[:i]


# -- the label-mapping rule: which label each prediction column scores ---------------------

def _label_reader(labels: Sequence[Label], kind: str) -> Any:
    """A function from a name's text to the label it names (None: none of ``labels``)."""
    if kind == "bool":
        def read_bool(text: str) -> Label:
            low = text.lower()
            value = low in TRUE_WORDS if low in TRUE_WORDS + FALSE_WORDS else None
            return value if value in labels else None
        return read_bool
    if kind == "number":
        values = {float(label) for label in labels if isinstance(label, float | int)}

        def read_number(text: str) -> Label:
            value = float(text) if NUMBER.fullmatch(text.strip()) else None
            return value if value in values else None
        return read_number
    known = {label for label in labels if isinstance(label, str)}
    return lambda text: text if text in known else None


def _cuts(names: Sequence[str]) -> Iterator[tuple[int, int]]:
    """(prefix length, suffix length) of the parts every name shares, the whole names
    first, then from the least cut to the most; each cut leaves every name some text."""
    prefix = len(_common_prefix(list(names)))
    suffix = len(_common_prefix([n[::-1] for n in names]))
    shortest = min(len(n) for n in names)
    pairs = [(p, q) for p in range(prefix + 1) for q in range(suffix + 1) if p + q < shortest]
    yield from sorted(pairs, key=lambda pq: (pq[0] + pq[1], pq))


def _rest(name: str, cut: tuple[int, int]) -> str:
    return name[cut[0]:len(name) - cut[1]]


def match_columns(names: Sequence[str], labels: Sequence[Label], kind: str = "text"
                  ) -> list[Label] | None:
    """The label each prediction column scores, by name — the one rule of the mapping:
    a column scores a label when its whole name is the label, or its name less one prefix
    and/or suffix shared by *every* column is, and that cut leaves *every* label of
    ``labels`` with a column (a column whose text is no label of the data names a class the
    data lack: ``labels`` are the labels seen). The whole names are tried first; None when
    no cut matches every label; a UsageError when two cuts match every label to different
    columns. Labels are compared exactly (case, spaces and all)."""
    if not names or len(names) < 2 or ARRAY in names or not labels:
        return None
    read = _label_reader(labels, kind)
    wanted = set(labels)
    found: list[tuple[tuple[int, int], list[Label], list[Label]]] = []
    for cut in _cuts(names):
        texts = [_rest(n, cut) for n in names]
        got = [read(t) for t in texts]
        if {g for g in got if g is not None} != wanted or len(set(texts)) != len(texts):
            continue
        if kind == "bool" and None in got:
            continue  # a column of booleans names true or false
        if cut == (0, 0):
            return got if kind == "bool" else texts  # the whole names are the labels
        if found and got != found[0][2]:
            raise UsageError(
                f"The prediction columns {columns_text(names)} name the labels in two ways "
                f"({_cut_text(names, found[0][0])} or {_cut_text(names, cut)}); say which "
                "label each column scores with --classes A,B,C (one label per column, in "
                "their order).")
        found.append((cut, got if kind == "bool" else texts, got))
    return found[0][1] if found else None


def _cut_text(names: Sequence[str], cut: tuple[int, int]) -> str:
    n = names[0]
    return f"'{n}' scores {quote_one(_rest(n, cut))}"


#: A name that is a class index: a prefix, the index, a suffix (``p_0``, ``class3``, ``0_prob``).
_INDEXED = re.compile(r"(.*?)([0-9]+)([^0-9]*)", re.DOTALL)


def column_indices(names: Sequence[str]) -> list[int] | None:
    """The class index each column's name gives when the names are generic — the class
    index 0…K-1 with a prefix and a suffix every name shares (``0 1 2``, ``p_0 p_1``,
    ``class0``, ``s0_prob``) — else None. (``p_1 … p_K`` is not: on labels 0…K-1 its
    names would say one label and its places another.)"""
    if not names or ARRAY in names:
        return None
    parts = [_INDEXED.fullmatch(n) for n in names]
    if any(m is None for m in parts) or len({(m[1], m[3]) for m in parts if m}) != 1:
        return None
    index = [int(m[2]) for m in parts if m]
    return index if sorted(index) == list(range(len(names))) else None


#: Labels that read as numbers (``2``, ``-1``, ``10``, ``0.5``): sorted by value.
NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def sort_labels(labels: Any) -> list[Label]:
    """The labels in class order when nothing names them: text labels as text, labels
    that all read as numbers by value (``2`` before ``10``, as scikit-learn sorts integer
    labels), booleans false first, numbers by value."""
    items = list(labels)
    if items and all(isinstance(x, str) and NUMBER.fullmatch(x) for x in items):
        return sorted(items, key=lambda x: (float(x), x))
    return sorted(items)


def column_label(name: str | None, labels: Sequence[Label], kind: str) -> Label:
    """The label one prediction column (binary data) names: its whole name, or the label
    of ``p_<label>`` / ``prob_<label>`` / ``<label>_prob`` (see
    :func:`losscli.vocab.prob_column_label`), when it is one of ``labels``; else None."""
    from losscli.vocab import prob_column_label

    if name is None or name == ARRAY or kind not in ("text", "bool", "number"):
        return None
    read = _label_reader(labels, kind)
    found = {read(text) for text in (name, prob_column_label(name)) if text} - {None}
    return found.pop() if len(found) == 1 else None


def check_named(name: str | None, positive: Label, labels: Sequence[Label], kind: str,
                 asked: str, fix: str = "") -> None:
    """A binary column named after one label (``p_benign``) scores that label: an option
    (or another model's column) that makes the other one positive is an error, never a
    silent complement."""
    by_name = column_label(name, labels, kind)
    if by_name is None or by_name == positive:
        return
    fix = fix or (f"drop the option (the column's name makes {quote_one(by_name)} the positive "
                  "label), or give")
    raise UsageError(
        f"The prediction column '{name}' is P({show(by_name)}) by its name, but {asked}; "
        f"{fix} a column of P({show(positive)}) (1 - {name}).")


def unmatched_error(names: Sequence[str], seen: dict[Label, tuple[int, str | None]], kind: str,
               where: str, pred_where: str) -> str:
    """Why columns with names (not class indices) do not map to the labels: the columns
    and labels left unmatched by the cut that matches the most."""
    labels = list(seen)
    read = _label_reader(labels, kind)
    best = max(_cuts(names), key=lambda cut: (len({read(_rest(n, cut)) for n in names}
                                                  - {None}), -sum(cut)))
    got = [read(_rest(n, best)) for n in names]
    columns = [n for n, g in zip(names, got) if g is None]
    missing = [label for label in labels if label not in got]
    first = missing[0] if missing else None
    if not columns and first is not None:  # every column scores a label; this one has none
        return (f"Label {quote_one(first)} at {where_seen(seen, first)} of {where} has no prediction "
                f"column: the columns {columns_text(names)} give the classes "
                f"{quote_list(got)}. Add a column for it, or say which label each column "
                "scores with --classes A,B,C.")
    at = "" if first is None else f" (first at {where_seen(seen, first)})"
    return (f"The prediction columns do not name the labels of {where}: "
            f"{columns_text(columns or list(names))} of {pred_where} match no label, and "
            f"{quote_list(missing)}{at} ha{'s' if len(missing) == 1 else 've'} no column (a "
            "column scores a label when its name, less a prefix or suffix every column "
            "shares, is the label, exactly). Say which label each column scores with "
            "--classes A,B,C (one per column, in their order), or rename the columns.")


# -- labels given as options ---------------------------------------------------------------

def parse_label(text: str, kind: str, flag: str, where: str) -> Label:
    """An option's label as a label of a ``kind`` column."""
    if kind == "bool":
        low = text.strip().lower()
        if low in TRUE_WORDS or low in FALSE_WORDS:
            return low in TRUE_WORDS
        raise UsageError(f"{flag} {text!r} is not a label of {where}, which holds true/false; "
                         "give true or false.")
    if kind == "number":
        try:
            value = float(text)
        except ValueError:
            raise UsageError(f"{flag} {text!r} is not a label of {where}, which holds numbers; "
                             "give a number (e.g. --pos-label 2).") from None
        return value
    return text


def label_options(classes: Sequence[str], kind: str, where: str) -> tuple[str, list[Label]]:
    """(kind, labels) of --classes: on a numeric column, names that are not all numbers keep
    the column as class indices (kind ``index``) and only name the classes."""
    if kind == "number" and not all(is_number(c) for c in classes):
        if any(is_number(c) for c in classes):
            raise UsageError(f"--classes mixes numbers and names ({', '.join(classes)}); "
                             f"{where} holds numbers: give the labels as they are in it, or "
                             "a name for each class index 0, 1, ...")
        return "index", list(classes)
    return kind, [parse_label(c, kind, "--classes", where) for c in classes]


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
