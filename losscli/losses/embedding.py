"""Embedding losses: anchor, positive and negative vectors per row, (n, D) each."""

from __future__ import annotations

import numpy as np

from losscli.registry import Param, register


def _distance(x: np.ndarray, y: np.ndarray, p: float, eps: float) -> np.ndarray:
    """torch ``pairwise_distance``: ‖x − y + eps‖_p per row (eps added to the difference)."""
    diff = np.abs(x - y + eps)
    if p == 2.0:
        return np.sqrt(np.einsum("ij,ij->i", diff, diff))
    if p == 1.0:
        return np.sum(diff, axis=1)
    return np.sum(diff**p, axis=1) ** (1.0 / p)


def _rows(a: np.ndarray) -> np.ndarray:
    return a[:, None] if a.ndim == 1 else a


@register(
    "triplet",
    aliases=("triplet_margin", "triplet_margin_loss"),
    summary="Triplet margin loss: the anchor must be closer to the positive than to the "
            "negative by a margin.",
    formula="max(d(a, p) − d(a, n) + margin, 0),  d(x, y) = ‖x − y + eps‖_p",
    reference="torch.nn.functional.triplet_margin_loss",
    task="embedding", tasks=("embedding",), inputs=("anchor", "positive", "negative"),
    params=(
        Param("margin", 1.0, "required gap between the two distances", minimum=0.0),
        Param("p", 2.0, "degree of the norm in the pairwise distance", exclusive_minimum=0.0),
        Param("eps", 1e-6, "added to the differences before the norm (torch)", minimum=0.0),
        Param("swap", False, "distance swap (Balntas et al.): d(a, n) ← min(d(a, n), d(p, n))",
              type=bool),
    ),
    expects="anchor, positive, negative: one embedding vector each per row (same length)",
    example="sample_data/triplets.parquet",
)
def triplet(anchor: np.ndarray, positive: np.ndarray, negative: np.ndarray, *,
            margin: float = 1.0, p: float = 2.0, eps: float = 1e-6,
            swap: bool = False) -> np.ndarray:
    """torch ``triplet_margin_loss`` per row (reduction='none')."""
    a, pos, neg = _rows(anchor), _rows(positive), _rows(negative)
    d_ap = _distance(a, pos, p, eps)
    d_an = _distance(a, neg, p, eps)
    if swap:
        d_an = np.minimum(d_an, _distance(pos, neg, p, eps))
    return np.maximum(d_ap - d_an + margin, 0.0)
