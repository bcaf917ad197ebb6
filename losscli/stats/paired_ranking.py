"""The paired Poisson bootstrap of two rankings on the same rows: average precision and the
operating points of a model against a reference (``compare``, ``check --reference-col``).

The shared rows' two scores and label are kept (:class:`~losscli.stats.paired_delong.
PairedScores`, 17 B a row, as for DeLong's paired test). Rows with the same
(score_model, score_reference, label) are interchangeable, so the per-row Poisson(1) counts
of a replicate add up, per distinct triple with c rows, to one Poisson(c) count — the
triples hold disjoint rows, so their draws are independent. Each replicate therefore draws
one Poisson(c_t) per distinct triple t and gives *both* models' per-score counts at once
(the triples' draws summed per distinct score of each model), and the metric of each
(:func:`losscli.stats.score_bootstrap.replicate_metric`); the replicate difference is
metric(model) − metric(reference): a joint resample of the rows, as the paired bootstrap.

The draws: ``Generator(PCG64(SeedSequence([seed, stream, TAG, T])))`` (T distinct triples,
in their sorted order), one row of T counts per replicate: the same bits for any chunking,
workers or merge order. Cost O(B·T), within :data:`~losscli.stats.score_bootstrap.BUDGET`.
Rows weighted other than 0/1: no test (a weight is not a count), with the reason.
"""

from __future__ import annotations

import math

import numpy as np

from losscli.stats.paired_delong import PairedScores
from losscli.stats.score_bootstrap import BLOCK_ELEMENTS, over_budget, replicate_metric

#: Tells the paired draws apart ("PAIR").
TAG = 0x50414952


def _per_score(scores: np.ndarray, labels: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct scores (increasing), and for each triple its score's index and label."""
    keys, index = np.unique(scores, return_inverse=True)
    return keys, index.ravel(), labels.astype(bool)


def _counts(draws: np.ndarray, index: np.ndarray, positive: np.ndarray, d: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """(b, d) negatives and positives per distinct score from (b, T) triple draws."""
    b = draws.shape[0]
    neg, pos = np.zeros((b, d)), np.zeros((b, d))
    np.add.at(neg.T, index[~positive], draws[:, ~positive].T)
    np.add.at(pos.T, index[positive], draws[:, positive].T)
    return neg, pos


def paired_replicates(pairs: PairedScores, metric: str, level: float, cost_fn: float,
                      cost_matrix: str | None, threshold: float | None,
                      replicates: int, seed: int, stream: int
                      ) -> tuple[np.ndarray | None, str | None]:
    """(B,) metric(model) − metric(reference) per paired replicate, or None and why
    (expected_cost: with its cost matrix and fixed threshold when given)."""
    if pairs.weighted:
        return None, ("no paired bootstrap with row weights other than 0 or 1: a weight is "
                      "not a count of rows")
    a, b, y = pairs._arrays()
    if a.shape[0] < 2:
        return None, f"fewer than two shared rows ({a.shape[0]}): the bootstrap needs 2"
    triples = np.stack([a + 0.0, b + 0.0, y.astype(np.float64)], axis=1)
    uniq, counts = np.unique(triples, axis=0, return_counts=True)
    t = uniq.shape[0]
    why = over_budget(replicates, t)
    if why:
        return None, why.replace("distinct scores", "distinct (score, score, label) rows")
    keys_a, idx_a, positive = _per_score(uniq[:, 0], uniq[:, 2])
    keys_b, idx_b, _ = _per_score(uniq[:, 1], uniq[:, 2])
    costs = None
    if metric == "expected_cost":
        from losscli.stats.operating_points import Costs
        costs = Costs.settings(cost_matrix, threshold, level, cost_fn)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(
        [int(seed), int(stream), TAG, int(t)])))
    lam = counts.astype(np.float64)
    block = max(1, BLOCK_ELEMENTS // t)
    out = []
    for lo in range(0, int(replicates), block):
        draws = rng.poisson(lam, size=(min(block, int(replicates) - lo), t)).astype(np.float64)
        mine = replicate_metric(keys_a, *_counts(draws, idx_a, positive, keys_a.size), metric,
                                level, cost_fn, costs)
        theirs = replicate_metric(keys_b, *_counts(draws, idx_b, positive, keys_b.size),
                                  metric, level, cost_fn, costs)
        out.append(mine - theirs)
    return np.concatenate(out), None


def metric_text(metric: str, level: float | None, cost_fn: float | None,
                cost_matrix: str | None = None, threshold: float | None = None) -> str:
    """The metric and its parameters as the interval state keeps them: ``metric|level|
    cost_fn``, and ``|cost matrix|threshold`` when expected_cost has either (its canonical
    matrix text holds no ``|``), so states written without them read alike."""
    text = f"{metric}|{'' if level is None else repr(float(level))}|{float(cost_fn or 0.0)!r}"
    if cost_matrix is None and threshold is None:
        return text
    return f"{text}|{cost_matrix or ''}|{'' if threshold is None else repr(float(threshold))}"


def parse_metric(text: str) -> tuple[str, float, float, str | None, float | None]:
    """:func:`metric_text`'s (metric, level, cost_fn, cost matrix, threshold)."""
    parts = text.split("|")
    if len(parts) not in (3, 5):
        raise ValueError(f"expected metric|level|cost[|matrix|threshold], got {text!r}")
    metric, level, cost = parts[:3]
    matrix, threshold = (parts[3:] if len(parts) == 5 else ("", ""))
    return (metric, (math.nan if level == "" else float(level)), float(cost),
            matrix or None, float(threshold) if threshold else None)
