"""Labels as class indices: the constants of the rule, how a label is shown, and
:class:`LabelMap`, which encodes a chunk of a label column (see :mod:`losscli.labels`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from itertools import repeat
from typing import Any

import numpy as np

from losscli.errors import InputError
from losscli.io.base import raw_key

#: Text labels of binary data understood without --pos-label: (positive, negative), compared
#: case-insensitively; every label of the column must belong to one pair.
BINARY_PAIRS: tuple[tuple[str, str], ...] = (
    ("true", "false"), ("t", "f"), ("yes", "no"), ("y", "n"), ("1", "0"), ("1", "-1"),
    ("+1", "-1"), ("pos", "neg"), ("positive", "negative"),
)
#: How a boolean column's values are spelled as text (CSV, an option), without case.
TRUE_WORDS = ("true", "1")
FALSE_WORDS = ("false", "0")
#: Characters a prediction column's common prefix (suffix) must end (start) with to be cut.
SEPARATORS = "_-.: "
#: Distinct labels a target column may hold (more: it is not a column of labels).
MAX_LABELS = 10_000
#: Rows per chunk of the first pass over a label column.
SCAN_ROWS = 1 << 18
#: Where the encoder marks a label it does not know (never a class index).
UNKNOWN = -1.0


Label = Any  # str | bool | float (or None: not seen)


def show(label: Label) -> str:
    """A label as text: strings as they are, booleans as true/false, whole numbers without
    a fraction."""
    if isinstance(label, bool | np.bool_):
        return "true" if label else "false"
    if isinstance(label, float) and label.is_integer():
        return str(int(label))
    return str(label)


def json_label(label: Label) -> Any:
    """A label as JSON holds it."""
    if isinstance(label, bool | np.bool_):
        return bool(label)
    if isinstance(label, float) and label.is_integer() and abs(label) < 2**53:
        return int(label)
    return label


def quote_list(labels: Sequence[Label], most: int = 10) -> str:
    shown = ", ".join(repr(x) if isinstance(x, str) else show(x) for x in labels[:most])
    return shown + (f", ... ({len(labels)} labels)" if len(labels) > most else "")


@dataclass
class LabelMap:
    """How a target column of labels becomes class indices.

    ``kind``: ``text`` (strings), ``bool``, ``number`` (numeric labels named by
    --classes/--pos-label) or ``index`` (class indices whose classes --classes names: read
    as they are). ``raw``: the column is read raw (text, CSV or NDJSON booleans) rather
    than as float64. ``classes``: the label of class 0, 1, ... (binary: negative,
    positive; None for a label not seen). ``learn_negative``: a pipe with --pos-label
    alone: the first other label seen becomes the negative one.
    """

    task: str
    kind: str
    raw: bool
    classes: tuple[Label, ...]
    classes_from: str
    column: str = ""
    where: str = ""
    learn_negative: bool = False
    #: Where the learnt negative label was first seen (row), for the third label's message.
    negative_row: int | None = None
    #: The prediction columns whose names gave the classes (classes_from "columns").
    pred_columns: tuple[str, ...] = ()
    _text: dict[Any, float] = field(default_factory=dict, repr=False)
    _numbers: dict[float, float] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._tables()

    def _tables(self) -> None:
        text: dict[Any, float] = {None: math.nan, "": math.nan}
        numbers: dict[float, float] = {}
        for i, label in enumerate(self.classes):
            if label is None:
                continue
            if self.kind == "text":
                text[label] = float(i)
            elif self.kind == "bool":
                for word in TRUE_WORDS if label else FALSE_WORDS:
                    for spelling in (word, word.capitalize(), word.upper()):
                        text[spelling] = float(i)
                numbers[1.0 if label else 0.0] = float(i)
            elif self.kind == "number":
                numbers[float(label)] = float(i)
        self._text, self._numbers = text, numbers

    def at(self, column: str, where: str) -> LabelMap:
        """This map for another column (a model's own targets in a comparison)."""
        return replace(self, column=column, where=where)

    @property
    def pos_label(self) -> Label:
        return self.classes[1] if self.task == "binary" else None

    # -- encoding ----------------------------------------------------------------------------
    def encode(self, part: dict[str, np.ndarray], start: int) -> np.ndarray:
        """Class indices (float64; NaN for a missing label) of the label column in ``part``
        (a chunk of its source: raw values under :func:`raw_key`, or float64), whose first
        row is ``start``. A label without a class is an InputError naming it and its row."""
        values = part[raw_key(self.column)] if self.raw else part[self.column]
        if self.kind == "index":
            return np.asarray(values, dtype=np.float64)
        out = self._lookup(values)
        while True:
            bad = np.flatnonzero(out == UNKNOWN)
            if not bad.size:
                return out
            i = int(bad[0])
            label = self._label_of(values[i])
            if not (self.learn_negative and self.classes[0] is None):
                raise InputError(self.unknown(label, start + i))
            self.classes = (label, *self.classes[1:])
            self.negative_row = start + i
            self._tables()
            out = self._lookup(values)

    def _lookup(self, values: np.ndarray) -> np.ndarray:
        n = len(values)
        if values.dtype == object:
            coded = coding(values)
            if coded is not None:  # one lookup per distinct string, then one take
                codes, table = coded
                mapped = np.fromiter(map(self._text.get, table.tolist(), repeat(UNKNOWN)),
                                     np.float64, len(table))
                return mapped[codes]
            plain = values.view(np.ndarray)  # not per-row __getitem__ of a subclass
            return np.fromiter(map(self._text.get, plain, repeat(UNKNOWN)), np.float64, n)
        if values.dtype == bool:
            return np.where(values, self._numbers.get(1.0, UNKNOWN),
                            self._numbers.get(0.0, UNKNOWN))
        values = np.asarray(values, dtype=np.float64)
        out = np.full(n, UNKNOWN)
        out[~np.isfinite(values)] = np.nan  # a missing target (NaN/inf): --nan-policy decides
        for label, index in self._numbers.items():
            out[values == label] = index
        return out

    def _label_of(self, value: Any) -> Label:
        if isinstance(value, str):
            return value
        if self.kind == "bool":
            return bool(value)
        return float(value)

    def unknown(self, label: Label, row: int, file: str | None = None) -> str:
        """The message for ``label`` at ``row``, which has no class."""
        at = f"row {row} of {self.where}" + (f" (in '{file}')" if file else "")
        shown = quote_list(list(self.classes))
        if self.task == "binary" and self.classes_from == "pos_label":
            negative = self.classes[0]
            first = ("" if self.negative_row is None
                     else f" (first at row {self.negative_row})")
            return (f"Label {quote_one(label)} at {at} is a third label: {quote_one(self.classes[1])} is "
                    f"the positive one (--pos-label) and {quote_one(negative)}{first} the negative "
                    "one, and binary data have two. Filter those rows, or for several classes "
                    "give one prediction column per class (--pred-col 'p_*').")
        if self.classes_from == "option":
            order = " NEGATIVE,POSITIVE" if self.task == "binary" else ", one per prediction column"
            return (f"Label {quote_one(label)} at {at} is not among --classes ({shown}); give every "
                    f"label of the data{order}, or filter those rows.")
        if self.classes_from == "columns":
            cols = columns_text(self.pred_columns)
            return (f"Label {quote_one(label)} at {at} has no prediction column: the columns {cols} "
                    f"give the classes {shown}. Add a column for it, or say which label each "
                    "column scores with --classes A,B,C.")
        if self.kind == "bool":
            return (f"Label {quote_one(label)} at {at} is not true or false (the first rows of the "
                    "column are booleans); fix it, or filter those rows.")
        return (f"Label {quote_one(label)} at {at} is not one of the classes ({shown}); give them "
                "with --classes (--pos-label for binary data).")


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def quote_one(label: Label) -> str:
    return repr(label) if isinstance(label, str) else show(label)


def columns_text(columns: Sequence[str]) -> str:
    if len(columns) <= 4:
        return ", ".join(f"'{c}'" for c in columns)
    return f"'{columns[0]}' … '{columns[-1]}'"


def coding(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(codes, table)`` of a text column read through its Arrow dictionary (a
    :class:`~losscli.io.arrow.CodedText`: row i is ``table[codes[i]]``), else None."""
    codes = getattr(values, "codes", None)
    table = getattr(values, "values", None)
    if codes is None or not isinstance(table, np.ndarray) or len(codes) != len(values):
        return None
    return codes, table


def where_seen(seen: dict[Label, tuple[int, str | None]], label: Label) -> str:
    row, file = seen[label]
    return f"row {row}" + (f" of '{file}'" if file else "")
