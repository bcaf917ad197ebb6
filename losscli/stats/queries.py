"""Ranking metrics of one query (a set of items, each with a predicted score and a true
relevance), defined without regard to the order the rows came in.

Tied scores: every metric is the **expectation over the orderings of tied items** (each
ordering of a tie equally likely) — what :func:`sklearn.metrics.ndcg_score` computes for
NDCG (McSherry & Najork 2008, "Computing information retrieval performance measures
efficiently in the presence of tied scores", ECIR) — in closed form, so that the value
depends only on the multiset of (score, relevance) pairs. Items are ranked by score,
highest first; item ``i`` is relevant when ``relevance_i > 0`` (NDCG uses the graded
relevance itself as the gain). ``k``: only the first ``k`` ranks count (None: all).

* ``ndcg``: sklearn's ``_ndcg_sample_scores`` (linear gain, discount 1/log2(rank + 1),
  tie-averaged DCG over the ideal DCG; 0 when the ideal DCG is 0).
* ``mrr``: E[1/rank of the first relevant item] (torchmetrics ``RetrievalMRR``).
* ``map``: E[AP@k], AP@k = (1/R_k)·Σ_{relevant i ranked ≤ k} (relevant items ranked ≤ rank_i)
  / rank_i with R_k the relevant items ranked ≤ k (torchmetrics ``RetrievalMAP``; without
  ``k``, R_k = R and, without ties, this is ``sklearn.metrics.average_precision_score``).
* ``precision_at_k``: E[relevant items ranked ≤ k] / k (torchmetrics ``RetrievalPrecision``,
  ``adaptive_k=False``: a query of fewer than k items still divides by k).
* ``recall_at_k``: E[relevant items ranked ≤ k] / R (torchmetrics ``RetrievalRecall``).

A query without a relevant item scores 0 in every metric (torchmetrics'
``empty_target_action="neg"``; sklearn's NDCG of an all-zero query); callers count them.
"""

from __future__ import annotations

import math

import numpy as np

METRICS = ("ndcg", "mrr", "map", "recall_at_k", "precision_at_k")


def canonical(scores: np.ndarray, relevance: np.ndarray) -> np.ndarray:
    """The order that ranks a query's items: score descending, then relevance ascending
    (a total order on the values: rows of equal score and relevance are interchangeable)."""
    return np.lexsort((relevance, -scores))


def _blocks(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(start, size) of each run of equal scores of scores sorted descending."""
    n = scores.shape[0]
    edges = np.flatnonzero(scores[1:] != scores[:-1]) + 1
    starts = np.concatenate(([0], edges))
    sizes = np.diff(np.concatenate((starts, [n])))
    return starts, sizes


def query_value(metric: str, k: int | None, scores: np.ndarray,
                relevance: np.ndarray) -> float:
    """The metric of one query; ``scores`` and ``relevance`` (float64, same length ≥ 1) in
    any order (they are put in :func:`canonical` order here)."""
    order = canonical(scores, relevance)
    s, rel = scores[order], relevance[order]
    if np.isnan(s).any() or np.isnan(rel).any():
        return math.nan
    if metric == "ndcg":
        return ndcg(s, rel, k)
    hit = rel > 0
    total = int(np.count_nonzero(hit))
    if total == 0:
        return 0.0
    starts, sizes = _blocks(s)
    rels = np.add.reduceat(hit.astype(np.int64), starts)
    if metric == "mrr":
        return _mrr(starts, sizes, rels)
    n = s.shape[0]
    kk = n if k is None else int(k)
    if metric in ("precision_at_k", "recall_at_k"):
        slots = np.clip(kk - starts, 0, sizes)
        hits = math.fsum((rels * slots / sizes).tolist())
        return hits / kk if metric == "precision_at_k" else hits / total
    if metric == "map":
        return _average_precision(starts, sizes, rels, kk)
    raise ValueError(f"unknown ranking metric {metric!r}")


def ndcg(s: np.ndarray, rel: np.ndarray, k: int | None) -> float:
    """sklearn's NDCG of one query, ``s`` sorted descending (ties averaged)."""
    n = s.shape[0]
    discount = 1 / (np.log(np.arange(n) + 2) / np.log(2))
    if k is not None:
        discount[k:] = 0
    cumsum = np.cumsum(discount)
    starts, sizes = _blocks(s)
    ranked = np.add.reduceat(rel, starts) / sizes
    ends = starts + sizes - 1
    sums = np.empty(len(sizes))
    sums[0] = cumsum[ends[0]]
    sums[1:] = np.diff(cumsum[ends])
    gain = float((ranked * sums).sum())
    ideal = float(discount.dot(np.sort(rel)[::-1]))
    return 0.0 if ideal == 0 else gain / ideal


def _mrr(starts: np.ndarray, sizes: np.ndarray, rels: np.ndarray) -> float:
    """E[1/rank of the first relevant item]: in the first block holding r of its n items
    relevant, after ``s`` items, the first relevant one is at s + J with
    P(J = j) = C(n − j, r − 1) / C(n, r)."""
    b = int(np.flatnonzero(rels > 0)[0])
    s, n, r = int(starts[b]), int(sizes[b]), int(rels[b])
    p, terms = r / n, []
    for j in range(1, n - r + 2):
        terms.append(p / (s + j))
        p *= (n - j - r + 1) / (n - j) if n - j > 0 else 0.0
    return math.fsum(terms)


def _block_gain(s: int, n: int, r: int, a: int, slots: int) -> float:
    """E[Σ over the relevant items in the first ``slots`` ranks of a tie block of (items
    before it that are relevant, counted at each) / rank], given that ``r`` of those slots
    hold relevant items: each slot p (rank s + p) is relevant with probability r/slots and
    then has a + 1 + (r − 1)(p − 1)/(slots − 1) relevant items at or above it."""
    if r == 0:
        return 0.0
    terms = []
    for p in range(1, slots + 1):
        above = a + 1 + ((r - 1) * (p - 1) / (slots - 1) if slots > 1 else 0.0)
        terms.append((r / slots) * above / (s + p))
    return math.fsum(terms)


def _average_precision(starts: np.ndarray, sizes: np.ndarray, rels: np.ndarray,
                       k: int) -> float:
    """E[AP@k] over the orderings of ties (see the module doc): the blocks wholly within
    the first k ranks give a fixed count A of relevant items and an expected numerator; the
    block straddling rank k contributes X relevant items (hypergeometric), placed uniformly
    in its first k − s slots."""
    numerator, a = [], 0
    for s, n, r in zip(starts.tolist(), sizes.tolist(), rels.tolist()):
        if s >= k:
            break
        if s + n <= k:
            numerator.append(_block_gain(s, n, r, a, n))
            a += r
            continue
        m = k - s  # the straddling block: m of its n slots within the first k
        before = math.fsum(numerator)
        out = []
        for x in range(max(0, m - (n - r)), min(r, m) + 1):
            if a + x == 0:
                continue
            px = math.comb(r, x) * math.comb(n - r, m - x) / math.comb(n, m)
            out.append(px * (before + _block_gain(s, m, x, a, m)) / (a + x))
        return math.fsum(out)
    return 0.0 if a == 0 else math.fsum(numerator) / a
