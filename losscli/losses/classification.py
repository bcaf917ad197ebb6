"""Classification losses: one pure kernel each, arrays in, per-row float64 losses out.

Binary kernels take ``pred`` of shape (n,) — a probability of the positive class, a logit
(``from_logits=True``), or a raw decision score for the margin losses — and ``target``
labels 0/1 or -1/1. Multi-class kernels take ``pred`` of shape (n, C) and a ``target`` of
class indices (n,) or distributions (n, C). Kernels that handle both tell them apart by
``pred.ndim``. Validation (probabilities in [0, 1], labels, class range) happens in the
engine from the declared domains, before a kernel runs. See losscli.losses.common.

Margin losses (hinge, squared_hinge, multi_margin, exponential, soft_margin) take raw
decision scores: they do not declare ``from_logits`` and so ignore --from-logits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.losses.common import (
    BINARY_LABELS,
    CLASS_TARGETS,
    EPS64,
    MULTILABEL_TARGETS,
    PROBABILITY_PREDS,
    binary_probability,
    class_index,
    class_probabilities,
    labels01,
    log_softmax,
    one_hot,
    pick,
    propagate_nan,
    signs,
    softplus,
    target_distribution,
)
from losscli.registry import Param, register

_BINARY_EXAMPLE = "sample_data/binary.csv"
_SCORE_EXAMPLE = "sample_data/binary.parquet --pred-col logit"
_MULTI_EXAMPLE = "sample_data/multiclass.parquet --pred-col 'p_*'"

_EPS = Param("eps", EPS64, "probabilities are clipped to [eps, 1 - eps] (not used with logits)",
             minimum=0.0, maximum=0.5)
_POS_WEIGHT = Param("pos_weight", 1.0, "weight of the positive-class term (torch pos_weight)",
                    minimum=0.0)
_BCE_ALPHA = Param("alpha", -1.0, "alpha-balanced CE: α weighs positives, 1 − α negatives; "
                   "negative = no weighting", minimum=0.0, maximum=1.0,
                   allow_negative_sentinel=True)


def _binary_nll(pred: np.ndarray, y: np.ndarray, from_logits: bool, eps: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """(−log p, −log(1 − p)) per row, for probabilities or logits."""
    if from_logits:
        # −log σ(x) = softplus(−x) and −log(1 − σ(x)) = softplus(x): finite at x = ±800.
        return softplus(-pred), softplus(pred)
    p = np.clip(pred, eps, 1.0 - eps)
    return -np.log(p), -np.log1p(-p)


def bce(pred: np.ndarray, target: np.ndarray, *, eps: float = EPS64, pos_weight: float = 1.0,
        alpha: float = -1.0, from_logits: bool = False) -> np.ndarray:
    """Binary cross-entropy, per row ``−(w₊·y·log p + w₋·(1 − y)·log(1 − p))``.

    Probabilities are clipped to [eps, 1 − eps] with eps = float64 machine epsilon, as
    sklearn ``log_loss`` does (p = 0 or 1 costs −log eps ≈ 36.04 when wrong). With
    ``from_logits`` it is torch ``binary_cross_entropy_with_logits`` (``pos_weight`` = w₊),
    computed stably. ``alpha`` ≥ 0 multiplies the positive term by α and the negative by
    1 − α (alpha-balanced CE). Labels -1 count as 0.
    """
    y = labels01(target)
    pos, neg = _binary_nll(pred, y, from_logits, eps)
    w_pos, w_neg = (alpha * pos_weight, 1.0 - alpha) if alpha >= 0 else (pos_weight, 1.0)
    return propagate_nan(np.where(y > 0.5, w_pos * pos, w_neg * neg), y)


_BCE: dict[str, Any] = dict(
    summary="Binary cross-entropy (log loss) on probabilities, or on logits with --from-logits.",
    formula="−(w₊·y·log p + w₋·(1 − y)·log(1 − p)),  p clipped to [eps, 1 − eps]",
    reference="sklearn.metrics.log_loss (binary); torch.nn.functional.binary_cross_entropy"
              "_with_logits (pos_weight)",
    task="classification", tasks=("binary", "multilabel"), options=("from_logits",),
    domain=(*PROBABILITY_PREDS, BINARY_LABELS, MULTILABEL_TARGETS),
    expects="pred: probability of class 1 in [0, 1] (a logit with --from-logits); "
            "target: label 0/1 or -1/1; multi-label: one of each per label (the mean over "
            "labels per row, each label's value in the details)",
    example=_BINARY_EXAMPLE,
)
register("bce", aliases=("binary_cross_entropy", "log_loss"),
         params=(_EPS, _POS_WEIGHT, _BCE_ALPHA), **_BCE)(bce)
register("bce_with_logits", aliases=("binary_cross_entropy_with_logits", "sigmoid_cross_entropy"),
         params=(_POS_WEIGHT, _BCE_ALPHA), implies={"from_logits": True},
         **{**_BCE, "summary": "bce on logits (bce with --from-logits implied).",
            "reference": "torch.nn.functional.binary_cross_entropy_with_logits",
            "expects": "pred: logit of class 1; target: label 0/1 or -1/1",
            "example": "sample_data/binary.parquet --pred-col logit"})(bce)


def cross_entropy(pred: np.ndarray, target: np.ndarray, *, label_smoothing: float = 0.0,
                  eps: float = EPS64, from_logits: bool = False) -> np.ndarray:
    """Categorical cross-entropy, per row ``−Σ_c q_c·log p_c``.

    On logits (``from_logits``) it equals torch ``cross_entropy`` (log-softmax by
    log-sum-exp), including ``label_smoothing``: q ← (1 − ε)·q + ε/C. On probabilities it
    equals sklearn ``log_loss``: p clipped to [eps, 1 − eps], rows not renormalised. q is the
    one-hot row of a class index, or the given distribution.
    """
    classes = pred.shape[1]
    if target.ndim == 1:
        # Class indices: −log p_y, and for smoothing the mean of −log p_c, without a one-hot
        # matrix; on logits −log p_c = logsumexp(z) − z_c, with the max subtracted first.
        idx = class_index(target)
        if from_logits:
            top = np.max(pred, axis=1)
            lse = top + np.log(np.sum(np.exp(pred - top[:, None]), axis=1))
            nll = lse - pick(pred, idx)
            mean_nll = (lse - np.mean(pred, axis=1)) if label_smoothing else 0.0
        else:
            nll = -np.log(np.clip(pick(pred, idx), eps, 1.0 - eps))
            mean_nll = (-np.mean(np.log(np.clip(pred, eps, 1.0 - eps)), axis=1)
                        if label_smoothing else 0.0)
        loss = (1.0 - label_smoothing) * nll + label_smoothing * mean_nll
        return propagate_nan(loss, pred, target)
    q = target
    if label_smoothing:
        q = q * (1.0 - label_smoothing) + label_smoothing / classes
    logp = log_softmax(pred) if from_logits else np.log(np.clip(pred, eps, 1.0 - eps))
    # 0.0 − Σ rather than −Σ: a perfect row is 0.0, not −0.0.
    return propagate_nan(0.0 - np.sum(q * logp, axis=1), target)


_CE: dict[str, Any] = dict(
    summary="Categorical cross-entropy on class probabilities, or on logits with --from-logits.",
    formula="−Σ_c q_c·log p_c,  q = one-hot(y) or the target distribution, label-smoothed",
    reference="torch.nn.functional.cross_entropy (logits, label_smoothing); "
              "sklearn.metrics.log_loss (probabilities)",
    task="classification", tasks=("multiclass",), options=("from_logits",),
    params=(Param("label_smoothing", 0.0, "ε: q ← (1 − ε)·q + ε/C (torch semantics)",
                  minimum=0.0, maximum=1.0), _EPS),
    domain=(*PROBABILITY_PREDS, *CLASS_TARGETS),
    expects="pred: one probability per class, rows summing to 1 (logits with "
            "--from-logits); target: class index or distribution",
    example=_MULTI_EXAMPLE,
)
register("cross_entropy", aliases=("categorical_cross_entropy", "ce"),
         **_CE)(cross_entropy)
register("softmax_cross_entropy", aliases=("softmax_cross_entropy_with_integer_labels",),
         implies={"from_logits": True},
         **{**_CE, "summary": "cross_entropy on logits (--from-logits implied).",
            "reference": "torch.nn.functional.cross_entropy; optax.softmax_cross_entropy",
            "expects": "pred: one logit per class; target: class index or distribution",
            "example": "sample_data/logits.npy --targets sample_data/labels.npy"},
         )(cross_entropy)


@register(
    "focal",
    aliases=("focal_loss", "sigmoid_focal_loss"),
    summary="Focal loss: cross-entropy down-weighted on well-classified rows.",
    formula="−α_t·(1 − p_t)^γ·log p_t  (binary);  −α·Σ_c q_c·(1 − p_c)^γ·log p_c  (multi-class)",
    reference="torchvision.ops.sigmoid_focal_loss (binary); Lin et al. 2017 (multi-class)",
    task="classification", tasks=("binary", "multiclass"), options=("from_logits",),
    params=(
        Param("alpha", 0.25, "weight of the positive class (1 − α for negatives; multi-class: "
              "a constant factor); negative = no weighting", minimum=0.0, maximum=1.0,
              allow_negative_sentinel=True),
        Param("gamma", 2.0, "focusing exponent; 0 gives (α-weighted) cross-entropy",
              minimum=0.0),
    ),
    domain=(*PROBABILITY_PREDS, *CLASS_TARGETS),
    expects="binary: probability (logit with --from-logits) vs 0/1 or -1/1 label; "
            "multi-class: probabilities (logits) vs class index or distribution",
    example=_BINARY_EXAMPLE,
)
def focal(pred: np.ndarray, target: np.ndarray, *, alpha: float = 0.25, gamma: float = 2.0,
          from_logits: bool = False) -> np.ndarray:
    """torchvision ``sigmoid_focal_loss`` for binary: ce·(1 − p_t)^γ, times α_t = α·y +
    (1 − α)·(1 − y) when α ≥ 0 (on probabilities, p clipped to [eps, 1 − eps] as in bce).
    Multi-class: Σ_c q_c·α·(1 − p_c)^γ·(−log p_c). With γ = 0 and α < 0 it equals bce /
    cross_entropy."""
    if pred.ndim == 1:
        y = labels01(target)
        pos, neg = _binary_nll(pred, y, from_logits, EPS64)
        ce = np.where(y > 0.5, pos, neg)
        # 1 − p_t = 1 − exp(−ce), via expm1 so that it stays exact when p_t is near 1.
        loss = ce * (-np.expm1(-ce)) ** gamma
        if alpha >= 0:
            loss = loss * np.where(y > 0.5, alpha, 1.0 - alpha)
        return propagate_nan(loss, y)
    q = target_distribution(target, pred.shape[1])
    logp = log_softmax(pred) if from_logits else np.log(np.clip(pred, EPS64, 1.0 - EPS64))
    per_class = (0.0 - logp) * (-np.expm1(logp)) ** gamma
    loss = np.sum(q * per_class, axis=1)
    return propagate_nan(loss * alpha if alpha >= 0 else loss, target)


_MARGIN_TARGETS = (BINARY_LABELS, *CLASS_TARGETS[1:])


def _true_and_best_other(scores: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Score of the true class, and the highest score among the other classes."""
    idx = class_index(target)
    true = pick(scores, idx)
    others = scores.copy()
    others[np.arange(scores.shape[0]), idx] = -np.inf
    return true, np.max(others, axis=1)


@register(
    "hinge",
    aliases=("hinge_loss",),
    summary="Hinge loss on decision scores (binary, or Crammer–Singer multi-class).",
    formula="max(0, 1 − y·s)  (y = ±1);  max(0, 1 + max_{j≠y} s_j − s_y)  (multi-class)",
    reference="sklearn.metrics.hinge_loss",
    task="classification", tasks=("binary", "multiclass"), domain=_MARGIN_TARGETS,
    expects="pred: raw decision score (one per class for multi-class; never validated as "
            "probabilities); target: label 0/1 or -1/1, or class index",
    example=_SCORE_EXAMPLE,
)
def hinge(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """sklearn ``hinge_loss``: labels mapped to ±1, max(0, 1 − y·s); multi-class
    (Crammer–Singer) max(0, 1 + max_{j≠y} s_j − s_y). A distribution target counts as its
    argmax class."""
    if pred.ndim == 1:
        return np.maximum(0.0, 1.0 - signs(target) * pred)
    true, other = _true_and_best_other(pred, target)
    return propagate_nan(np.maximum(0.0, 1.0 + other - true), pred, target)


@register(
    "squared_hinge",
    summary="Squared hinge loss on decision scores (Keras).",
    formula="max(0, 1 − y·s)²  (y = ±1);  multi-class: mean_c max(0, 1 − y_c·s_c)², "
            "y_c = +1 for the true class, −1 otherwise",
    reference="keras.losses.squared_hinge",
    task="classification", tasks=("binary", "multiclass"), domain=_MARGIN_TARGETS,
    expects="pred: raw decision score (one per class for multi-class); target: label 0/1 "
            "or -1/1, or class index",
    example=_SCORE_EXAMPLE,
)
def squared_hinge(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """keras ``squared_hinge``: targets mapped to ±1 (one-hot ±1 for class indices; a
    distribution counts as its argmax class), mean over the last axis of max(0, 1 − y·s)²."""
    if pred.ndim == 1:
        return np.maximum(0.0, 1.0 - signs(target) * pred) ** 2
    y = 2.0 * one_hot(class_index(target), pred.shape[1]) - 1.0
    loss = np.mean(np.maximum(0.0, 1.0 - y * pred) ** 2, axis=1)
    return propagate_nan(loss, target)


@register(
    "multi_margin",
    aliases=("multi_margin_loss", "multimargin"),
    summary="Multi-class margin loss on decision scores (torch).",
    formula="Σ_{j≠y} max(0, margin − s_y + s_j)^p / C",
    reference="torch.nn.functional.multi_margin_loss (weight=None)",
    task="classification", tasks=("multiclass",), domain=CLASS_TARGETS[1:],
    params=(
        Param("margin", 1.0, "required gap between the true score and the others"),
        Param("p", 1, "exponent, 1 or 2 (torch supports only these)", type=int, minimum=1,
              maximum=2),
    ),
    expects="pred: one raw score per class; target: class index",
    example=_MULTI_EXAMPLE,
)
def multi_margin(pred: np.ndarray, target: np.ndarray, *, margin: float = 1.0,
                 p: int = 1) -> np.ndarray:
    """torch ``multi_margin_loss``: Σ_{j≠y} max(0, margin − x[y] + x[j])^p / C."""
    idx = class_index(target)
    terms = np.maximum(0.0, margin - pick(pred, idx)[:, None] + pred) ** p
    terms[np.arange(pred.shape[0]), idx] = 0.0
    return propagate_nan(np.sum(terms, axis=1) / pred.shape[1], pred, target)


@register(
    "exponential",
    aliases=("exponential_loss",),
    summary="Exponential (AdaBoost) loss on decision scores.",
    formula="exp(−y·s)  (y = ±1)",
    reference="sklearn GradientBoostingClassifier(loss='exponential') (AdaBoost)",
    task="classification", tasks=("binary",), domain=(BINARY_LABELS,),
    expects="pred: raw decision score; target: label 0/1 or -1/1",
    example=_SCORE_EXAMPLE,
)
def exponential(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """exp(−y·s). The true value exceeds float64 for y·s < −709.78: it is +inf there."""
    with np.errstate(over="ignore"):
        return np.exp(-signs(target) * pred)


@register(
    "soft_margin",
    aliases=("soft_margin_loss",),
    summary="Soft-margin (logistic) loss on decision scores.",
    formula="log(1 + exp(−y·s))  (y = ±1)",
    reference="torch.nn.functional.soft_margin_loss",
    task="classification", tasks=("binary",), domain=(BINARY_LABELS,),
    expects="pred: raw decision score; target: label 0/1 or -1/1",
    example=_SCORE_EXAMPLE,
)
def soft_margin(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """torch ``soft_margin_loss`` as softplus(−y·s): exp never overflows (finite at ±800)."""
    return softplus(-signs(target) * pred)


@register(
    "brier",
    aliases=("brier_score", "brier_score_loss"),
    summary="Brier score: squared error of the predicted probabilities.",
    formula="(p − y)²  (binary);  Σ_c (q_c − p_c)²  (multi-class)",
    reference="sklearn.metrics.brier_score_loss",
    task="classification", tasks=("binary", "multiclass"), options=("from_logits",),
    domain=(*PROBABILITY_PREDS, *CLASS_TARGETS),
    expects="binary: probability (logit with --from-logits) vs 0/1 or -1/1 label; "
            "multi-class: probabilities (logits) vs class index or distribution",
    example=_BINARY_EXAMPLE,
)
def brier(pred: np.ndarray, target: np.ndarray, *, from_logits: bool = False) -> np.ndarray:
    """sklearn ``brier_score_loss``: (p − y)² for binary; Σ_c (q_c − p_c)² per row for
    multi-class (sklearn >= 1.7). Logits go through sigmoid / softmax first."""
    if pred.ndim == 1:
        return (binary_probability(pred, from_logits) - labels01(target)) ** 2
    p = class_probabilities(pred, from_logits)
    q = target_distribution(target, pred.shape[1])
    return propagate_nan(np.sum((q - p) ** 2, axis=1), target)
