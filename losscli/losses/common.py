"""Shared pieces of the classification, divergence and probabilistic kernels.

Numerically stable building blocks (softplus, log-sigmoid, log-softmax), the label and
target conversions every classification kernel needs, and the input-validity rules
(:class:`~losscli.domain.Domain`) the engine checks before a kernel runs, so that a kernel
never sees a probability of 3 or a class index of 7 out of 5 classes.

Conventions, shared by every kernel here:

* binary targets are labels 0/1 or -1/1 (positive class: 1); kernels map them with
  :func:`labels01` or :func:`signs`;
* multi-class predictions are (n, C) arrays; targets are class indices (n,) or
  distributions (n, C), turned into (n, C) by :func:`target_distribution`;
* NaN in any input of a row gives NaN for that row (``--nan-policy propagate``).
"""

from __future__ import annotations

import numpy as np

from losscli.domain import CheckContext, Domain

EPS64 = float(np.finfo(np.float64).eps)

#: Largest |Σ_c p_c − 1| accepted for a row of probabilities or a target distribution.
#: Loose enough for probabilities rounded to 4 decimals in a CSV, tight enough to catch
#: logits or a missing class column.
SUM_TOLERANCE = 1e-3


# --- stable numerics -------------------------------------------------------------------

def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + eˣ) as max(x, 0) + log1p(e^-|x|): eˣ overflows for x > 709, this does not."""
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def log_sigmoid(x: np.ndarray) -> np.ndarray:
    """log σ(x) = −softplus(−x), finite for every finite x (log(1 − σ(x)) = log_sigmoid(−x))."""
    return -softplus(-x)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) through e^-|x| only, so neither branch overflows."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def log_softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax with the max subtracted first (log-sum-exp): exp never sees a
    positive argument, so logits of ±800 stay finite."""
    shifted = z - np.max(z, axis=1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))


def softmax(z: np.ndarray) -> np.ndarray:
    return np.exp(log_softmax(z))


# --- labels and targets ----------------------------------------------------------------

def labels01(target: np.ndarray) -> np.ndarray:
    """Binary labels as 1.0 (label 1) / 0.0 (label 0 or -1); NaN stays NaN."""
    return np.where(np.isnan(target), np.nan, (target > 0).astype(np.float64))


def signs(target: np.ndarray) -> np.ndarray:
    """Binary labels as +1.0 (label 1) / -1.0 (label 0 or -1); NaN stays NaN."""
    return np.where(np.isnan(target), np.nan, np.where(target > 0, 1.0, -1.0))


def class_index(target: np.ndarray) -> np.ndarray:
    """Class per row: the index itself (1-D), or the argmax of a distribution (2-D). NaN
    rows get class 0 here; kernels restore their NaN with :func:`propagate_nan`."""
    if target.ndim == 2:
        return np.argmax(np.nan_to_num(target, nan=-np.inf), axis=1)
    return np.where(np.isfinite(target), target, 0).astype(np.intp)


def one_hot(index: np.ndarray, classes: int) -> np.ndarray:
    out = np.zeros((index.shape[0], classes))
    out[np.arange(index.shape[0]), index] = 1.0
    return out


def target_distribution(target: np.ndarray, classes: int) -> np.ndarray:
    """(n, C) target distribution: one-hot rows for class indices, else the target itself."""
    return target if target.ndim == 2 else one_hot(class_index(target), classes)


def pick(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """values[i, index[i]] for every row i."""
    return np.take_along_axis(values, index[:, None], axis=1)[:, 0]


def propagate_nan(out: np.ndarray, *inputs: np.ndarray) -> np.ndarray:
    """Set ``out`` to NaN on every row where an input holds NaN (label mapping, argmax and
    comparisons would otherwise turn a NaN into a finite loss); element by element when
    ``out`` and the input have the same (n, K) shape (multi-label values)."""
    for a in inputs:
        nan = np.isnan(a)
        if nan.ndim == 2 and nan.shape != out.shape:
            nan = nan.any(axis=1)
        if nan.any():
            out = np.where(nan if nan.ndim == out.ndim else nan[:, None], np.nan, out)
    return out


def binary_probability(pred: np.ndarray, from_logits: bool) -> np.ndarray:
    return sigmoid(pred) if from_logits else pred


def class_probabilities(pred: np.ndarray, from_logits: bool) -> np.ndarray:
    return softmax(pred) if from_logits else pred


# --- validity rules (checked by the engine, with row numbers) ----------------------------

def _show_row(row: np.ndarray) -> str:
    values = row.tolist()
    if row.ndim == 0:
        return repr(values)
    text = ", ".join(repr(v) for v in values[:8]) + (", ..." if len(values) > 8 else "")
    return f"[{text}] (sum {float(np.sum(row))!r})"


def _row_sums_off(a: np.ndarray) -> np.ndarray:
    if a.ndim != 2:
        return np.zeros(a.shape[0], dtype=bool)
    return np.abs(np.sum(a, axis=1) - 1.0) > SUM_TOLERANCE  # NaN rows compare False


def _bad_binary_labels(a: np.ndarray, ctx: CheckContext) -> np.ndarray:
    """Labels must be 0/1 or -1/1: anything else is bad, and so is the second negative
    label once the first one (0 or -1) has been seen (state kept across chunks)."""
    bad = ~np.isnan(a) & (a != 0.0) & (a != 1.0) & (a != -1.0)
    negative = ctx.state.get("binary_negative")
    if negative is None:
        seen = np.flatnonzero((a == 0.0) | (a == -1.0))
        if seen.size:
            negative = float(a[seen[0]])
            ctx.state["binary_negative"] = negative
    if negative is not None:
        bad |= a == (-1.0 if negative == 0.0 else 0.0)
    return bad


def _bad_class_index(a: np.ndarray, ctx: CheckContext) -> np.ndarray:
    if a.ndim != 1:
        return np.zeros(a.shape[0], dtype=bool)
    classes = ctx.classes or 0
    return ~np.isnan(a) & ((a < 0) | (a >= classes) | (a != np.floor(a)))


def _one_to(classes: int) -> str:
    """``1,2,3`` (``1,2,...,12`` for many classes: every one must be given)."""
    return ",".join(map(str, range(1, classes + 1))) if classes <= 6 else f"1,2,...,{classes}"


def _is_multiclass(ctx: CheckContext) -> bool:
    return ctx.task == "multiclass"


PROBABILITIES = Domain(
    "pred", lambda a: (a < 0.0) | (a > 1.0), "in [0, 1]", noun="probabilities",
    hint="These look like logits (raw scores): pass --from-logits.",
    when=lambda ctx: not ctx.from_logits,
)
PROBABILITY_ROWS = Domain(
    "pred", _row_sums_off, f"summing to 1 (within {SUM_TOLERANCE:g}) per row",
    noun="class probabilities", show=_show_row,
    hint="If these are logits (raw scores), pass --from-logits; if a class column is "
         "missing, check --pred-col.",
    when=lambda ctx: not ctx.from_logits and ctx.task == "multiclass",
)
BINARY_LABELS = Domain(
    "target", _bad_binary_labels, "0/1 or -1/1 (one convention, not both 0 and -1)",
    noun="labels", uses_context=True, when=lambda ctx: ctx.task == "binary",
    hint="For more than two classes give one prediction column per class "
         "(e.g. --pred-col 'p_*'), or use --task regression for real-valued targets.",
    hint_for=lambda a, ctx: (
        "These look 1-based (1/2): name the positive label with --pos-label 2 (or 1), or "
        "subtract 1." if a.ndim == 1 and np.isin(a[~np.isnan(a)], (1.0, 2.0)).all()
        and (a == 2.0).any() else None),
)
CLASS_INDEX = Domain(
    "target", _bad_class_index, "that are integers in [0, {classes})", noun="class indices",
    uses_context=True, when=_is_multiclass,
    hint="Class i is scored by the i-th prediction column: check --pred-col and the "
         "column order.",
    hint_for=lambda a, ctx: (
        f"These look 1-based (1..{ctx.classes}): subtract 1 so that the first class is 0, "
        f"or read them as labels with --classes {_one_to(ctx.classes)}."
        if ctx.classes and a.ndim == 1 and np.nanmin(a) >= 1 and np.nanmax(a) == ctx.classes
        else None),
)
MULTILABEL_TARGETS = Domain(
    "target", lambda a: ~np.isnan(a) & (a != 0.0) & (a != 1.0), "0/1 per label",
    noun="labels", when=lambda ctx: ctx.task == "multilabel",
    hint="Multi-label targets have one 0/1 column per label, in the order of the prediction "
         "columns.",
)
DISTRIBUTION_NONNEGATIVE = Domain(
    "target", lambda a: (a < 0.0) if a.ndim == 2 else np.zeros(a.shape[0], dtype=bool),
    ">= 0", noun="target distributions with entries", when=_is_multiclass,
    hint="A target with one value per class must be a probability distribution.",
)
DISTRIBUTION_ROWS = Domain(
    "target", _row_sums_off, f"summing to 1 (within {SUM_TOLERANCE:g}) per row",
    noun="target distributions", show=_show_row, when=_is_multiclass,
    hint="A target with one value per class must be a probability distribution "
         "(or give class indices).",
)

#: Targets of a classification loss: labels for binary, indices or distributions otherwise.
CLASS_TARGETS = (BINARY_LABELS, CLASS_INDEX, DISTRIBUTION_NONNEGATIVE, DISTRIBUTION_ROWS)
#: Predictions that must be probabilities unless --from-logits.
PROBABILITY_PREDS = (PROBABILITIES, PROBABILITY_ROWS)


def misclassified(pred: np.ndarray, target: np.ndarray, threshold: float) -> np.ndarray:
    """1.0 where the predicted label differs from the true one (sklearn ``zero_one_loss``
    per row): for (n, C) scores the argmax class (first on ties) against the class index
    (or the argmax of a distribution); for (n,) scores, positive when score >= threshold,
    against label 1 (labels 0 and -1 are negative)."""
    if pred.ndim == 2:
        wrong = np.argmax(pred, axis=1) != class_index(target)
    else:
        wrong = (pred >= threshold) != (target > 0)
    return propagate_nan(wrong.astype(np.float64), pred, target)
