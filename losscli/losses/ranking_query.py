"""Ranking metrics per query (``--query-col``): each query's items ranked by their
predicted score against their true relevance, the metric computed per query
(:mod:`losscli.stats.queries`, ties as the expectation over their orderings) and averaged
over queries (weighted by a per-query weight: :mod:`losscli.query_aggregate`).

The kernel passes the scores through: a query's value needs all its rows, so the
aggregate does the work. Relevance is graded for ndcg (the gain) and "relevant" means
relevance > 0 for the others; a query without a relevant item scores 0 (counted in the
JSON details).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.domain import Domain
from losscli.params import Param
from losscli.registry import register

_EXAMPLE = ("sample_data/ranking.csv --pred-col score --target-col relevance "
            "--query-col query")
_EXPECTS = ("pred: a score per item (higher ranks first); target: relevance >= 0 (graded "
            "for ndcg; relevant = > 0); --query-col: the query of each row")

#: Relevance is a non-negative grade (sklearn's ndcg_score refuses negative y_true).
RELEVANCE = Domain("target", lambda t: t < 0, ">= 0", noun="relevance grades",
                   hint="Relevance is a grade >= 0 (0: not relevant); check --target-col.")


def _k(default: int | None, doc: str) -> Param:
    return Param("k", default, doc, type=int, minimum=1, maximum=1e6, kernel=False)


def _common() -> dict[str, Any]:
    return dict(task="ranking", tasks=("regression",), higher_is_better=True,
                aggregate="query_ranking", domain=(RELEVANCE,), expects=_EXPECTS, example=_EXAMPLE)


def scores(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The scores themselves (a NaN relevance carried along): the per-query aggregate
    ranks them."""
    return np.where(np.isnan(target), np.nan, pred)


register(
    "ndcg", aliases=("ndcg_score", "ndcg_at_k"),
    summary="Normalised discounted cumulative gain per query, averaged over queries "
            "(higher is better; ties averaged over their orderings).",
    formula="DCG@k / IDCG@k, DCG = Σ_i rel_i / log2(rank_i + 1) (0 when IDCG = 0)",
    reference="sklearn.metrics.ndcg_score (per query, sample_weight per query; "
              "ignore_ties=False)",
    params=(_k(None, "only the first k ranks count (default: all)"),), **_common(),
)(scores)

register(
    "mrr", aliases=("mean_reciprocal_rank", "reciprocal_rank"),
    summary="Mean reciprocal rank: 1/rank of the first relevant item per query, averaged "
            "(ties: the expectation over their orderings).",
    formula="E[1 / rank of the first item with relevance > 0] (0 without one)",
    reference="torchmetrics.retrieval.RetrievalMRR (empty_target_action='neg'); ties as in "
              "McSherry & Najork 2008",
    **_common(),
)(scores)

register(
    "map", aliases=("mean_average_precision", "map_at_k"),
    summary="Mean average precision over queries: per query, the mean of the precision at "
            "each relevant item's rank (within the first k).",
    formula="E[(1/R_k)·Σ_{relevant i, rank ≤ k} P@rank_i], R_k = relevant items in the "
            "first k ranks (0 without one)",
    reference="torchmetrics.retrieval.RetrievalMAP (top_k); without k and ties, "
              "sklearn.metrics.average_precision_score per query",
    params=(_k(None, "only the first k ranks count (default: all)"),), **_common(),
)(scores)

register(
    "precision_at_k", aliases=("p_at_k", "precision_at"),
    summary="Precision at k: the fraction of the first k ranks holding a relevant item, "
            "averaged over queries (a query of fewer than k items still divides by k).",
    formula="E[#relevant in the first k ranks] / k",
    reference="torchmetrics.retrieval.RetrievalPrecision (top_k=k, adaptive_k=False)",
    params=(_k(10, "the ranks counted"),), **_common(),
)(scores)

register(
    "recall_at_k", aliases=("r_at_k", "recall_at"),
    summary="Recall at k: the fraction of a query's relevant items ranked in the first k, "
            "averaged over queries (0 for a query without one).",
    formula="E[#relevant in the first k ranks] / #relevant",
    reference="torchmetrics.retrieval.RetrievalRecall (top_k=k)",
    params=(_k(10, "the ranks counted"),), **_common(),
)(scores)
