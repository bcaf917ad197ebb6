"""Divergences between a predicted distribution and a target distribution, per row.

``pred`` is (n, C): probabilities (validated: in [0, 1], rows summing to 1) or logits with
``from_logits`` (softmax applied inside). ``target`` is a distribution (n, C), validated the
same way, or a class index (n,), taken as its one-hot row. Terms with q = 0 count 0
(0·log 0 = 0). Natural logarithms throughout.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.losses.common import (
    CLASS_TARGETS,
    EPS64,
    PROBABILITY_PREDS,
    class_probabilities,
    log_softmax,
    propagate_nan,
    target_distribution,
)
from losscli.registry import Param, register

_COMMON: dict[str, Any] = dict(
    task="divergence", tasks=("multiclass",), options=("from_logits",),
    domain=(*PROBABILITY_PREDS, *CLASS_TARGETS),
    expects="pred: one probability per class, rows summing to 1 (logits with --from-logits); "
            "target: distribution (or class index, as one-hot)",
    example="sample_data/multiclass_list.parquet --target-col soft",
)


def _xlogx_over(a: np.ndarray, log_b: np.ndarray) -> np.ndarray:
    """Row sums of a·(log a − log b), with 0·log 0 = 0."""
    pos = a > 0
    log_a = np.log(np.where(pos, a, 1.0))
    return np.sum(np.where(pos, a * (log_a - log_b), 0.0), axis=1)


@register(
    "kl_div",
    aliases=("kl", "kl_divergence", "kullback_leibler"),
    summary="Kullback–Leibler divergence KL(target ‖ prediction) per row.",
    formula="Σ_c q_c·log(q_c / p_c)   (0·log 0 = 0; p clipped below at eps)",
    reference="torch.nn.functional.kl_div(log p, q, reduction='batchmean')",
    params=(Param("eps", EPS64, "probabilities are clipped below at eps, so p = 0 under q > 0 "
                  "costs q·log(q/eps) instead of inf; 0 gives inf (not used with logits)",
                  minimum=0.0, maximum=0.5),),
    **_COMMON,
)
def kl_div(pred: np.ndarray, target: np.ndarray, *, eps: float = EPS64,
           from_logits: bool = False) -> np.ndarray:
    """Per-row Σ q·(log q − log p); its mean over rows is torch ``kl_div(log p, q,
    reduction='batchmean')``. log p is log-softmax of logits, or log max(p, eps)."""
    q = target_distribution(target, pred.shape[1])
    if from_logits:
        logp = log_softmax(pred)
    else:
        with np.errstate(divide="ignore"):  # eps = 0 gives log 0 = -inf, hence KL = inf
            logp = np.log(np.maximum(pred, eps))
    return propagate_nan(_xlogx_over(q, logp), pred, target)


@register(
    "js_div",
    aliases=("js", "jensen_shannon", "jensen_shannon_divergence"),
    summary="Jensen–Shannon divergence per row (natural log; at most log 2).",
    formula="½·KL(q ‖ m) + ½·KL(p ‖ m),  m = (p + q)/2",
    reference="Lin 1991; equals scipy.spatial.distance.jensenshannon(p, q)² (base e)",
    **_COMMON,
)
def js_div(pred: np.ndarray, target: np.ndarray, *, from_logits: bool = False) -> np.ndarray:
    """0.5·KL(q‖m) + 0.5·KL(p‖m) with m = (p + q)/2: finite even where p or q is 0, since m
    is positive wherever either is."""
    p = class_probabilities(pred, from_logits)
    q = target_distribution(target, pred.shape[1])
    m = 0.5 * (p + q)
    log_m = np.log(np.where(m > 0, m, 1.0))
    return propagate_nan(0.5 * _xlogx_over(q, log_m) + 0.5 * _xlogx_over(p, log_m), pred,
                         target)


@register(
    "hellinger",
    aliases=("hellinger_distance",),
    summary="Hellinger distance per row, in [0, 1].",
    formula="sqrt(½·Σ_c (√p_c − √q_c)²)",
    reference="Hellinger distance (e.g. Wikipedia: 'Hellinger distance', discrete case)",
    **_COMMON,
)
def hellinger(pred: np.ndarray, target: np.ndarray, *, from_logits: bool = False) -> np.ndarray:
    p = class_probabilities(pred, from_logits)
    q = target_distribution(target, pred.shape[1])
    return propagate_nan(np.sqrt(0.5 * np.sum((np.sqrt(p) - np.sqrt(q)) ** 2, axis=1)), pred,
                         target)


@register(
    "total_variation",
    aliases=("tv", "total_variation_distance"),
    summary="Total variation distance per row, in [0, 1].",
    formula="½·Σ_c |p_c − q_c|",
    reference="total variation distance of probability measures (discrete case)",
    **_COMMON,
)
def total_variation(pred: np.ndarray, target: np.ndarray, *,
                    from_logits: bool = False) -> np.ndarray:
    p = class_probabilities(pred, from_logits)
    q = target_distribution(target, pred.shape[1])
    return propagate_nan(0.5 * np.sum(np.abs(p - q), axis=1), pred, target)
