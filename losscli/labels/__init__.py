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

The package: :mod:`~losscli.labels.mapping` (the constants, :class:`LabelMap` — the encoder),
:mod:`~losscli.labels.rule` (what a column is; which label each prediction column scores),
:mod:`~losscli.labels.first_pass` (the labels of a column, before the run) and
:mod:`~losscli.labels.binding` (a run's inputs bound to their labels; what reports say).
"""

from __future__ import annotations

from losscli.labelled import task_option
from losscli.labels.binding import bind, context, mapping_note, state_header
from losscli.labels.first_pass import scan
from losscli.labels.mapping import (
    BINARY_PAIRS,
    FALSE_WORDS,
    MAX_LABELS,
    SCAN_ROWS,
    SEPARATORS,
    TRUE_WORDS,
    UNKNOWN,
    Label,
    LabelMap,
    coding,
    json_label,
    show,
)
from losscli.labels.rule import (
    column_indices,
    column_kind,
    column_label,
    column_labels,
    match_columns,
    sort_labels,
)

__all__ = [
    "BINARY_PAIRS", "FALSE_WORDS", "MAX_LABELS", "SCAN_ROWS", "SEPARATORS",
    "TRUE_WORDS", "UNKNOWN", "Label", "LabelMap", "bind", "coding", "column_indices",
    "column_kind", "column_label", "column_labels", "context", "json_label", "mapping_note",
    "match_columns", "scan", "show", "sort_labels", "state_header",
    "task_option",
]
