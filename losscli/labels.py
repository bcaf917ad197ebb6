"""Labels as users write them: a target column of strings ("yes"/"no", "setosa") or
booleans is mapped to class indices (float64) as it is read, before the engine sees a
batch, so the engine and the kernels stay numeric.

**Which target columns are labels.** A target column whose values are not numbers: a
string (dictionary, binary) or boolean column of Parquet, Feather or NDJSON (NDJSON: the
type in the first object), CSV/TSV text that pyarrow does not read as numbers in the first
block (``True``/``False`` text is boolean), a numpy array of strings or objects (Python
API). A numeric column keeps its meaning (labels 0/1 or -1/1, class indices) unless
``--classes`` or ``--pos-label`` is given: then its values are labels too (``--pos-label
2`` on labels 1/2, ``--classes 1,2,3`` on 1-based classes) — or, when ``--classes`` names
are not numbers, it stays class indices and the names only label the classes. A null
label (or an empty string) is a missing target: NaN, handled by ``--nan-policy``.

**Binary** (one prediction per row; the predicted class is class 1 — the positive one):

* ``--pos-label LABEL``: LABEL is class 1, and every other label must be the one negative
  label (a third label is an error naming it and its row);
* ``--classes NEG,POS``: the same, in scikit-learn's order (``classes_[1]`` is positive);
* a column named after a label (``p_benign``, ``prob_yes``, ``yes_proba``, or the label
  itself; see :func:`column_label`) scores that label: it is the positive one, and an
  option making the other label positive is an error (never a silent complement). On
  numeric 0/1 targets ``p_0`` scores 0 (as ``--pos-label 0`` would say);
* otherwise a boolean column needs nothing (true is positive), and text labels must be one
  of the pairs in :data:`BINARY_PAIRS` (compared without case: ``yes``/``no``,
  ``True``/``False``, ``1``/``0``, ...; the first word is positive); anything else is an
  error listing the labels seen and asking for ``--pos-label``.

**Multi-class** (one prediction column per class) — the one rule, :func:`match_columns`:

1. ``--classes A,B,C`` (as many labels as prediction columns, in their order); when the
   columns' names say otherwise (``p_a p_b`` with ``--classes b,a``) it is an error;
2. by name: a column scores a label when its whole name is the label, or its name less one
   prefix and/or suffix shared by *every* column is, and that cut leaves *every* label of
   the data with a column (``class_0 … class_11`` on labels ``class_0 …``; ``p_setosa``;
   ``setosa_prob``). A column whose text is no label of the data names a class the data
   lack. Labels are compared exactly;
3. columns named by class index (``0 … K-1`` with a shared prefix and suffix: ``p_0``,
   ``prob_0``, ``class0``; see :func:`column_indices`), a list column or an array:
   the i-th column scores the i-th label sorted (:func:`sort_labels`: integer-looking
   labels by value, 2 before 10, as scikit-learn sorts integer labels; text as text), as
   many labels as columns. Columns named by index are put in the order of their index
   whatever their order in the file, for class-index targets too;
4. columns with other names (neither labels nor class indices) are an error naming the
   columns and the labels that do not match, and asking for ``--classes``.

Every other model of a comparison (``compare``) has its columns put in the class order of
the first model's by the same rule (:func:`_align_models`).

Rules 2 and 3 and a binary column of text labels look at the labels first: a pass over
the label column alone (every file of a folder), before the run. Standard input (a pipe of
CSV, TSV, NDJSON, an Arrow or NPY stream) is read once: text labels there need
``--pos-label`` (binary) or ``--classes`` / prediction column names (multi-class). The
mapping is fixed before the run (a pipe with ``--pos-label`` alone learns its one negative
label from its first rows, in order), so every worker count and unit split maps the same
label to the same class. The report states the classes (``inputs.classes``,
``inputs.classes_from``, ``inputs.class_columns`` — the column of each class, the proof of
the mapping — and ``inputs.pos_label`` for binary data); the summary line says when the
classes were not matched to the columns by name (:func:`mapping_note`); saved states record
them: states of other classes do not merge.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import repeat
from typing import Any

import numpy as np

from losscli.errors import InputError, UsageError
from losscli.io.base import ARRAY, raw_key

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
SCAN_ROWS = 1 << 16
#: Where the encoder marks a label it does not know (never a class index).
UNKNOWN = -1.0

#: What ``inputs.classes_from`` says decided the class order.
CLASSES_FROM = ("option", "pos_label", "columns", "sorted", "boolean", "pair")

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


def _quoted(labels: Sequence[Label], most: int = 10) -> str:
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
        shown = _quoted(list(self.classes))
        if self.task == "binary" and self.classes_from == "pos_label":
            negative = self.classes[0]
            first = ("" if self.negative_row is None
                     else f" (first at row {self.negative_row})")
            return (f"Label {_one(label)} at {at} is a third label: {_one(self.classes[1])} is "
                    f"the positive one (--pos-label) and {_one(negative)}{first} the negative "
                    "one, and binary data have two. Filter those rows, or for several classes "
                    "give one prediction column per class (--pred-col 'p_*').")
        if self.classes_from == "option":
            order = " NEGATIVE,POSITIVE" if self.task == "binary" else ", one per prediction column"
            return (f"Label {_one(label)} at {at} is not among --classes ({shown}); give every "
                    f"label of the data{order}, or filter those rows.")
        if self.classes_from == "columns":
            cols = _columns_text(self.pred_columns)
            return (f"Label {_one(label)} at {at} has no prediction column: the columns {cols} "
                    f"give the classes {shown}. Add a column for it, or say which label each "
                    "column scores with --classes A,B,C.")
        if self.kind == "bool":
            return (f"Label {_one(label)} at {at} is not true or false (the first rows of the "
                    "column are booleans); fix it, or filter those rows.")
        return (f"Label {_one(label)} at {at} is not one of the classes ({shown}); give them "
                "with --classes (--pos-label for binary data).")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _one(label: Label) -> str:
    return repr(label) if isinstance(label, str) else show(label)


def _columns_text(columns: Sequence[str]) -> str:
    if len(columns) <= 4:
        return ", ".join(f"'{c}'" for c in columns)
    return f"'{columns[0]}' … '{columns[-1]}'"


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


def _reads_bools_as_numbers(source: Any) -> bool:
    """Whether the source reads a boolean column as float64 (Arrow formats, numpy): else
    (CSV text, NDJSON) it is read raw."""
    return str(getattr(source, "format", "")) not in ("csv", "tsv", "ndjson")


def readable_twice(source: Any) -> bool:
    """Whether the source can be read again (a file), not only once (a pipe: standard input,
    a FIFO). Parquet and Feather from a pipe are spooled to a file first: readable again."""
    from losscli.io.formats.csv import CsvStreamSource
    from losscli.io.formats.feather import ArrowStreamSource
    from losscli.io.formats.ndjson import NdjsonSource
    from losscli.io.formats.npy import NpyStreamSource

    if isinstance(source, CsvStreamSource | ArrowStreamSource | NpyStreamSource):
        return False
    # An NDJSON source reads a stream when it was given one instead of a path.
    return not (isinstance(source, NdjsonSource) and getattr(source, "_path", "") is None)


def _prediction_columns(pred: Any) -> tuple[int | None, list[str] | None]:
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
    if str(getattr(source, "format", "")) == "memory":  # a 2-D array counts 1 there
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
            value = float(text) if _NUMBER.fullmatch(text.strip()) else None
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
                f"The prediction columns {_columns_text(names)} name the labels in two ways "
                f"({_cut_text(names, found[0][0])} or {_cut_text(names, cut)}); say which "
                "label each column scores with --classes A,B,C (one label per column, in "
                "their order).")
        found.append((cut, got if kind == "bool" else texts, got))
    return found[0][1] if found else None


def _cut_text(names: Sequence[str], cut: tuple[int, int]) -> str:
    n = names[0]
    return f"'{n}' scores {_one(_rest(n, cut))}"


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
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def sort_labels(labels: Any) -> list[Label]:
    """The labels in class order when nothing names them: text labels as text, labels
    that all read as numbers by value (``2`` before ``10``, as scikit-learn sorts integer
    labels), booleans false first, numbers by value."""
    items = list(labels)
    if items and all(isinstance(x, str) and _NUMBER.fullmatch(x) for x in items):
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


def _check_named(name: str | None, positive: Label, labels: Sequence[Label], kind: str,
                 asked: str, fix: str = "") -> None:
    """A binary column named after one label (``p_benign``) scores that label: an option
    (or another model's column) that makes the other one positive is an error, never a
    silent complement."""
    by_name = column_label(name, labels, kind)
    if by_name is None or by_name == positive:
        return
    fix = fix or (f"drop the option (the column's name makes {_one(by_name)} the positive "
                  "label), or give")
    raise UsageError(
        f"The prediction column '{name}' is P({show(by_name)}) by its name, but {asked}; "
        f"{fix} a column of P({show(positive)}) (1 - {name}).")


def _unmatched(names: Sequence[str], seen: dict[Label, tuple[int, str | None]], kind: str,
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
        return (f"Label {_one(first)} at {_at(seen, first)} of {where} has no prediction "
                f"column: the columns {_columns_text(names)} give the classes "
                f"{_quoted(got)}. Add a column for it, or say which label each column "
                "scores with --classes A,B,C.")
    at = "" if first is None else f" (first at {_at(seen, first)})"
    return (f"The prediction columns do not name the labels of {where}: "
            f"{_columns_text(columns or list(names))} of {pred_where} match no label, and "
            f"{_quoted(missing)}{at} ha{'s' if len(missing) == 1 else 've'} no column (a "
            "column scores a label when its name, less a prefix or suffix every column "
            "shares, is the label, exactly). Say which label each column scores with "
            "--classes A,B,C (one per column, in their order), or rename the columns.")


# -- labels given as options ---------------------------------------------------------------

def _parse(text: str, kind: str, flag: str, where: str) -> Label:
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


def _options(classes: Sequence[str], kind: str, where: str) -> tuple[str, list[Label]]:
    """(kind, labels) of --classes: on a numeric column, names that are not all numbers keep
    the column as class indices (kind ``index``) and only name the classes."""
    if kind == "number" and not all(_is_number(c) for c in classes):
        if any(_is_number(c) for c in classes):
            raise UsageError(f"--classes mixes numbers and names ({', '.join(classes)}); "
                             f"{where} holds numbers: give the labels as they are in it, or "
                             "a name for each class index 0, 1, ...")
        return "index", list(classes)
    return kind, [_parse(c, kind, "--classes", where) for c in classes]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# -- the first pass ------------------------------------------------------------------------

def scan(source: Any, column: str, kind: str, raw: bool, where: str,
         limit: int | None = None) -> dict[Label, tuple[int, str | None]]:
    """The labels of one column, in order of first appearance, each with its first row and
    file (None for a lone file; in a folder the row is that of its file): a pass over that
    column alone (every file of a folder; its first ``limit`` rows only, for ``inspect``).
    More than MAX_LABELS distinct labels is an InputError (not a column of labels)."""
    from losscli.io.formats import DatasetSource

    columns, wanted = ([], (column,)) if raw else ([column], ())

    def files() -> Iterator[tuple[Iterator[dict[str, np.ndarray]], str | None]]:
        if isinstance(source, DatasetSource):
            for i in range(len(source.files)):
                yield (source.read_part(i, columns, SCAN_ROWS, wanted),
                       str(source.files[i].display))
        else:
            yield source.chunks(columns, SCAN_ROWS, wanted), None

    seen: dict[Label, tuple[int, str | None]] = {}
    total = 0
    for chunks, file in files():
        row = 0
        for chunk in chunks:
            if not chunk:
                continue
            values = chunk[raw_key(column)] if raw else chunk[column]
            if limit is not None:
                if total >= limit:
                    return seen
                values = values[:limit - total]
                total += len(values)
            _note_new(seen, values, kind, row, file)
            row += len(values)
            if len(seen) > MAX_LABELS:
                raise InputError(
                    f"{_cap(where)} holds more than {MAX_LABELS} distinct labels; a target of labels "
                    "has a few classes. Choose the target column with --target-col.")
    return seen


def coding(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(codes, table)`` of a text column read through its Arrow dictionary (a
    :class:`~losscli.io.arrow.CodedText`: row i is ``table[codes[i]]``), else None."""
    codes = getattr(values, "codes", None)
    table = getattr(values, "values", None)
    if codes is None or not isinstance(table, np.ndarray) or len(codes) != len(values):
        return None
    return codes, table


def _first_rows(values: np.ndarray) -> dict[Any, int] | None:
    """The distinct strings of a coded column with the row of each one's first appearance,
    from the codes alone (no per-row Python), or None when the column is not coded."""
    coded = coding(values)
    if coded is None:
        return None
    codes, table = coded
    present = np.flatnonzero(np.bincount(codes, minlength=len(table)))
    if len(present) <= 64:  # a pass per label: no sort of the codes
        first = np.array([int(np.argmax(codes == c)) for c in present.tolist()], np.int64)
    else:
        present, first = np.unique(codes, return_index=True)
    out: dict[Any, int] = {}
    for code, at in zip(present.tolist(), first.tolist()):
        v = table[code]
        if v not in out or at < out[v]:  # a dictionary may repeat a string
            out[v] = at
    return out


def _note_new(seen: dict[Label, tuple[int, str | None]], values: np.ndarray, kind: str,
              row: int, file: str | None) -> None:
    if values.dtype == object:
        firsts_of = _first_rows(values)
        if firsts_of is not None:
            for v, first in sorted(firsts_of.items(), key=lambda item: item[1]):
                if v is None or v == "":
                    continue
                label = v.lower() in TRUE_WORDS if kind == "bool" else v
                if label not in seen:
                    seen[label] = (row + first, file)
            return
        values = values.view(np.ndarray)  # iterated below: no per-row subclass __getitem__
        found = set(values) - {None, ""}  # hashing the objects: no list built
        if kind == "bool":  # CSV text of a boolean column
            words = {v: v.lower() in TRUE_WORDS for v in found}
            new = [v for v in found if words[v] not in seen]
        else:
            new = [v for v in found if v not in seen]
        if not new:
            return
        # (a Python scan: numpy's == drops a string's trailing NULs, "\x00" would match none)
        wanted, first_at = set(new), {}
        for i, x in enumerate(values):
            if x in wanted and x not in first_at:
                first_at[x] = i
                if len(first_at) == len(wanted):
                    break
        firsts = sorted((first_at[v], v) for v in new)
        for first, v in firsts:
            label = words[v] if kind == "bool" else v
            if label not in seen:
                seen[label] = (row + first, file)
        return
    if values.dtype == bool:
        for label in (True, False):
            if label not in seen:
                hits = np.flatnonzero(values == label)
                if hits.size:
                    seen[label] = (row + int(hits[0]), file)
        return
    finite = values[np.isfinite(values)]
    new = [v for v in np.unique(finite).tolist() if (bool(v) if kind == "bool" else v) not in seen]
    firsts = sorted((int(np.flatnonzero(values == v)[0]), v) for v in new)
    for first, v in firsts:
        seen[bool(v) if kind == "bool" else float(v)] = (row + first, file)


def _at(seen: dict[Label, tuple[int, str | None]], label: Label) -> str:
    row, file = seen[label]
    return f"row {row}" + (f" of '{file}'" if file else "")


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
            inputs.roles[role] = replace(ref, columns=tuple(columns))


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
            _check_named(_single_column(ref), labels.pos_label,
                         [c for c in labels.classes if c is not None], labels.kind,
                         f"the positive label of {inputs.describe('pred')} is "
                         f"{_one(labels.pos_label)} ({where})", "give every model")
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
                    f"{_quoted(list(labels.classes))} as those of {inputs.describe('pred')} "
                    "do; name them the same way, or give every model columns in one order "
                    "with --classes A,B,C.")
        if order is not None and tuple(order) != tuple(ref.columns):
            inputs.roles[role] = replace(ref, columns=tuple(order))


def task_option(labels: LabelMap | None, task: str | None) -> str | None:
    """The task the session detects with: the labels' (binary or multiclass) when the
    targets are labels, else ``--task``."""
    return task if labels is None else labels.task


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
        raise InputError(f"{_cap(where)} holds labels ({kind}), not numbers, but --task {task} needs "
                         "numbers. For a classifier use --task binary or multiclass (or leave "
                         "--task out); else choose a numeric target with --target-col.")
    width, names = _prediction_columns(inputs.roles.get("pred"))
    if task is None:
        task = "multiclass" if width is None or width > 1 else "binary"
    raw = kind == "text" or (kind == "bool" and not _reads_bools_as_numbers(ref.source))
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
    if (text is None or task not in (None, "binary") or not _NUMBER.fullmatch(text.strip())
            or float(text) == 1.0 or not readable_twice(ref.source)
            or _prediction_columns(inputs.roles.get("pred"))[0] != 1):
        return None
    seen = scan(ref.source, ref.columns[0], "number", False, where, scan_rows)
    named = float(text)
    if named not in seen or len(seen) > 2:
        return None
    other = next((label for label in seen if label != named), None)
    return LabelMap("binary", "number", False, (other, named), "columns", ref.columns[0],
                    where, pred_columns=(str(name),))


def _stdin(where: str, what: str) -> UsageError:
    return UsageError(f"{_cap(where)} holds text, not numbers, so its values are labels; "
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
        kind, parsed = _options(classes, kind, where)
        if parsed[0] == parsed[1]:
            raise UsageError(f"--classes names {classes[0]!r} twice; give NEGATIVE,POSITIVE.")
        if pos_label is not None and _parse(pos_label, kind if kind != "index" else "text",
                                            "--pos-label", where) != parsed[1]:
            raise UsageError(f"--pos-label {pos_label} and --classes {','.join(classes)} "
                             "disagree: the positive class is the second of --classes. Give "
                             "one of them.")
        _check_named(pred_name, parsed[1], parsed, kind,
                     f"--classes {','.join(classes)} makes {_one(parsed[1])} the positive one")
        return LabelMap("binary", kind, raw, tuple(parsed), "option", column, where,
                        pred_columns=named)
    if pos_label is not None:
        positive = _parse(pos_label, kind, "--pos-label", where)
        if once:
            return LabelMap("binary", kind, raw, (None, positive), "pos_label", column, where,
                            learn_negative=True)
        seen = scan(ref.source, column, kind, raw, where, scan_rows)
        others = [label for label in seen if label != positive]
        if len(others) > 1:
            if positive not in seen:
                raise InputError(
                    f"--pos-label {show(positive)} is not a label of {where}, whose labels are "
                    f"{_quoted(list(seen))}; labels are compared exactly (case matters).")
            third = others[1]
            raise InputError(
                f"Label {_one(third)} at {_at(seen, third)} of {where} is a third label: "
                f"{_one(positive)} is the positive one (--pos-label) and {_one(others[0])} "
                f"(first at {_at(seen, others[0])}) the negative one, and binary data have two "
                f"(labels seen: {_quoted(list(seen))}). Filter those rows, or for several "
                "classes give one prediction column per class (--pred-col 'p_*').")
        negative = others[0] if others else None
        _check_named(pred_name, positive, [*seen, positive], kind,
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
            f"{len(labels)}: {_quoted(labels)}. For more classes give one prediction column "
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
            f"Which label of {where} is positive? It holds {_quoted(sorted(labels))}; name the "
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
    numbers = sum(_is_number(label) for label in texts)
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
        kind, parsed = _options(classes, kind, where)
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
                    f"{_one(parsed[i])}, but its name says {_one(by_name[i])}: give the labels "
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
            raise InputError(_unmatched(names, seen, kind, where, pred_where))
    labels = sort_labels(seen)
    if width is not None and len(labels) != width:
        why = (", whose names are class indices" if names else "")
        raise InputError(
            f"{_cap(where)} holds {len(labels)} labels ({_quoted(labels)}) and the predictions "
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
