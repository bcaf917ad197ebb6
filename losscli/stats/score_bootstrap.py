"""The Poisson bootstrap of a ranking, drawn per distinct score: no ranking per replicate.

The streamed bootstrap (:mod:`losscli.stats.resample`) gives each row an independent
Poisson(1) count per replicate. Average precision, ROC-AUC and the operating points
(:mod:`losscli.stats.operating_points`) read only the per-distinct-score counts of negative
and positive rows (:class:`~losscli.stats.score_counts.ScoreCounts`). For **unweighted**
rows a replicate's count of the negatives at score s is a sum of neg(s) independent
Poisson(1) counts, i.e. exactly Poisson(neg(s)), independent of every other (score, label)
— they hold disjoint rows. So drawing, per replicate, Poisson(neg(s)) and Poisson(pos(s))
from the merged exact counts *is* the same Poisson bootstrap, in distribution, as in
:mod:`losscli.stats.cell_bootstrap` for the confusion cells; with ``--auc-bins`` each bin
is one tied score and the same per-bin draws apply (the interval is the binned reading's).

**The metric per replicate** is vectorised over a block of replicates: with the scores in
decreasing order, the cumulative sums of the drawn counts (B_block × D, D distinct scores)
are each replicate's TP and FP at every threshold — the curve of
:func:`losscli.stats.operating_points.curve_of` — and AP, AUC and the operating points are
read from them as the exact metric reads the original counts (:func:`replicate_metric` at
the original counts equals the exact metric: scikit-learn's ``average_precision_score`` /
``precision_recall_curve`` / ``roc_curve`` read the same way). A score a replicate drew no
row of adds no threshold: its cumulative counts repeat the previous one, which changes no
maximum, minimum or first arg-max.

**Cost and budget**: O(B·D) draws and arithmetic, processed in blocks of replicates of at
most :data:`BLOCK_ELEMENTS` elements (memory ~10 arrays of that many float64: < 100 MB).
Beyond :data:`BUDGET` = 2·10⁸ elements (B·D; 200 replicates × 10⁶ distinct scores) the
interval is n/a with the reason and the fix (``--auc-bins``, fewer ``--replicates``):
nothing is coarsened silently.

**The draws**: numpy's ``Generator(PCG64(SeedSequence([seed, stream, TAG, D])))``, one row of
2·D Poisson counts (the D negatives' means, then the D positives') per replicate, replicate
after replicate — so the bits do not depend on the block size either. They depend on the
merged counts only, never on the chunking, the workers, the engine or the merge order (for
one numpy version, NEP 19). ``stream`` is the group's (:func:`~losscli.stats.cell_bootstrap.
group_stream`), so groups draw independently and the group gaps' replicates are joint.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from losscli.stats.fields import Fields, check, nested

#: Tells the per-score draws apart from any other use of the same seed ("SCOR").
TAG = 0x53434F52
#: Replicates × distinct scores processed at most (see the module doc).
BUDGET = 200_000_000
#: Elements (replicates × distinct scores) of one block of replicates.
BLOCK_ELEMENTS = 1_000_000

#: The metrics a replicate can be read for.
METRICS = ("average_precision", "roc_auc", "precision_at_recall", "recall_at_precision",
           "threshold_at_fpr", "expected_cost")


def over_budget(replicates: int, distinct: int) -> str | None:
    """Why B replicates of D distinct scores are not drawn (None: within :data:`BUDGET`)."""
    if replicates * distinct <= BUDGET:
        return None
    most = max(BUDGET // max(distinct, 1), 0)
    return (f"the per-score bootstrap would draw {replicates} replicates × {distinct} distinct "
            f"scores = {replicates * distinct:.3g} counts, beyond its budget of {BUDGET:.3g}: "
            f"use --auc-bins (e.g. 1000) to bin the scores"
            + (f", or --replicates {most} or fewer" if most >= 40 else ""))


def draw_blocks(neg: np.ndarray, pos: np.ndarray, replicates: int, seed: int, stream: int
                ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Blocks of (negatives, positives) replicate counts, each (b, D) float64, replicate
    after replicate (see the module doc for the generator)."""
    neg = np.asarray(neg, dtype=np.float64).ravel()
    pos = np.asarray(pos, dtype=np.float64).ravel()
    d = neg.shape[0]
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(
        [int(seed), int(stream), TAG, int(d)])))
    lam = np.concatenate([neg, pos])
    block = max(1, BLOCK_ELEMENTS // max(d, 1))
    for lo in range(0, int(replicates), block):
        b = min(block, int(replicates) - lo)
        both = rng.poisson(lam, size=(b, 2 * d)).astype(np.float64)
        yield both[:, :d], both[:, d:]


def replicate_metric(keys: np.ndarray, neg: np.ndarray, pos: np.ndarray, metric: str,
                     level: float = math.nan, cost_fn: float = 0.0,
                     costs: Any = None) -> np.ndarray:
    """The metric of each replicate (row) of per-score counts ``neg``/``pos`` (b, D) in
    *increasing* score order ``keys`` (D,) — NaN where a replicate leaves it undefined (no
    positive drawn, no threshold reaching the level...). ``level``: the operating point's
    parameter (expected_cost: the cost of a false positive; ``cost_fn`` of a false
    negative). Exact metric at the original counts (b = 1), see the module doc."""
    neg = np.atleast_2d(np.asarray(neg, dtype=np.float64))
    pos = np.atleast_2d(np.asarray(pos, dtype=np.float64))
    p_tot, n_tot = pos.sum(axis=1), neg.sum(axis=1)
    with np.errstate(all="ignore"):
        if metric == "roc_auc":  # Σ pos·(2·N_below + neg) / (2·P·N), increasing order
            below = np.cumsum(neg, axis=1) - neg
            num = np.sum(pos * (2.0 * below + neg), axis=1)
            return np.where((p_tot > 0) & (n_tot > 0), num / (2.0 * p_tot * n_tot), np.nan)
        # decreasing score: cumulative TP/FP at each threshold (curve_of)
        p_dec, n_dec = pos[:, ::-1], neg[:, ::-1]
        tp, fp = np.cumsum(p_dec, axis=1), np.cumsum(n_dec, axis=1)
        thresholds = np.asarray(keys, dtype=np.float64)[::-1]
        has_p = p_tot > 0
        called = tp + fp
        precision = np.where(called > 0, tp / np.where(called > 0, called, 1.0), np.nan)
        p_safe = np.where(has_p, p_tot, 1.0)[:, None]
        recall = tp / p_safe
        if metric == "average_precision":
            terms = np.where(p_dec > 0, p_dec / p_safe * precision, 0.0)
            return np.where(has_p, terms.sum(axis=1), np.nan)
        if metric == "precision_at_recall":
            ok = (recall >= level) & np.isfinite(precision)
            best = np.where(ok, precision, -np.inf).max(axis=1)
            return np.where(has_p & np.isfinite(best), best, np.nan)
        if metric == "recall_at_precision":
            ok = np.isfinite(precision) & (precision >= level)
            best = np.where(ok, recall, -np.inf).max(axis=1)
            return np.where(has_p & np.isfinite(best), best, np.nan)
        if metric == "threshold_at_fpr":
            has_n = n_tot > 0
            rate = fp / np.where(has_n, n_tot, 1.0)[:, None]
            tpr = np.where(rate <= level, recall, -1.0)
            k = np.argmax(tpr, axis=1)  # the first (highest) threshold of the largest TPR
            rows = np.arange(tpr.shape[0])
            return np.where(has_p & has_n & (tpr[rows, k] > 0), thresholds[k], np.nan)
        if metric == "expected_cost":  # costs: operating_points.Costs (matrix, threshold)
            tn, c_fp, c_fn, c_tp = ((0.0, level, cost_fn, 0.0) if costs is None else
                                    (costs.tn, costs.fp, costs.fn, costs.tp))
            every = (c_fp * fp + c_fn * (p_tot[:, None] - tp) + tn * (n_tot[:, None] - fp)
                     + c_tp * tp)
            nothing = c_fn * p_tot + tn * n_tot
            k = (None if costs is None or costs.threshold is None
                 else int(np.count_nonzero(thresholds >= costs.threshold)))
            best = (np.minimum(every.min(axis=1, initial=np.inf), nothing) if k is None
                    else every[:, k - 1] if k else nothing)
            total = p_tot + n_tot
            return np.where(total > 0, best / np.where(total > 0, total, 1.0), np.nan)
    raise ValueError(f"metric: expected one of {', '.join(METRICS)}, got {metric!r}")


def score_replicates(keys: np.ndarray, neg: np.ndarray, pos: np.ndarray, metric: str,
                     replicates: int, seed: int, stream: int, level: float = math.nan,
                     cost_fn: float = 0.0, costs: Any = None) -> np.ndarray:
    """(B,) the metric of each bootstrap replicate of the per-score counts (increasing
    ``keys``); the caller checks :func:`over_budget` first."""
    out = [replicate_metric(keys, n, p, metric, level, cost_fn, costs)
           for n, p in draw_blocks(neg, pos, replicates, seed, stream)]
    return np.concatenate(out) if out else np.zeros(0)


class ScoreResample:
    """The per-score bootstrap's own state (the counts are the ranking aggregate's): the
    rows seen (``rows``), those of positive weight (``positive``) and of a weight other than
    0 or 1 (``weighted``: a weight is not a count, so their per-score Poisson draw would not
    be the bootstrap — the interval is n/a then), and the group's ``stream``. It quacks as
    :class:`~losscli.stats.resample.BootstrapSums` where the engine and the reports need it
    (``replicates``, ``seed``, ``positive``, ``columns``, :meth:`merge`)."""

    kind = "score_counts"
    columns = 1
    resampling = "scores"

    def __init__(self, replicates: int, seed: int, stream: int = 0) -> None:
        self.replicates, self.seed, self.stream = int(replicates), int(seed), int(stream)
        self.rows = self.positive = self.weighted = 0

    def update(self, weights: np.ndarray | None, n: int) -> None:
        """One chunk of ``n`` rows and their weights (None: all 1)."""
        self.rows += int(n)
        if weights is None:
            self.positive += int(n)
            return
        w = np.asarray(weights, dtype=np.float64)
        self.positive += int(np.count_nonzero(w > 0))
        self.weighted += int(np.count_nonzero((w != 0.0) & (w != 1.0)))

    def merge(self, other: ScoreResample) -> ScoreResample:
        if not isinstance(other, ScoreResample) or (other.replicates, other.seed) != (
                self.replicates, self.seed):
            raise ValueError("cannot merge per-score bootstraps of different seeds")
        self.stream = self.stream or other.stream
        self.rows += other.rows
        self.positive += other.positive
        self.weighted += other.weighted
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "replicates": self.replicates, "seed": hex(self.seed),
                "stream": hex(self.stream), "rows": self.rows, "positive": self.positive,
                "weighted": self.weighted}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScoreResample:
        f = Fields(data)
        f.text("kind", choices=(cls.kind,))
        seed = nested("seed", lambda: int(f.text("seed", longest=20), 16))
        stream = nested("stream", lambda: int(f.text("stream", longest=20), 16))
        check(0 <= seed < 1 << 64 and 0 <= stream < 1 << 64, "seed", "expected 64-bit seeds")
        out = cls(f.count("replicates", lo=1, hi=100_000), seed, stream)
        out.rows = f.count("rows")
        out.positive = f.count("positive", hi=out.rows)
        out.weighted = f.count("weighted", hi=out.positive)
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ScoreResample) and self.to_dict() == other.to_dict()


def ranking_replicates(boot: ScoreResample, agg: Any) -> tuple[np.ndarray | None, str | None]:
    """Each replicate's value of a binary ranking aggregate
    (:class:`losscli.metric_aggregates.RankingMetric`: exact or binned state), or None and
    why there is none (weighted rows, another state, over the budget)."""
    from losscli.stats.ranking import BinnedRanking, Ranking

    if boot.weighted:
        return None, (f"no per-score bootstrap with row weights other than 0 or 1 "
                      f"({boot.weighted} rows): a weight is not a count of rows")
    state = getattr(agg, "state", None)
    metric = getattr(agg, "metric", "")
    level = math.nan if getattr(agg, "level", None) is None else float(agg.level)
    cost_fn = float(getattr(agg, "cost_fn", None) or 0.0)
    if isinstance(state, Ranking):
        if state.counts is None:  # fractional weights turned the counts into sums
            return None, "no per-score bootstrap with fractional row weights"
        keys, neg, pos = state.counts.table()
    elif isinstance(state, BinnedRanking):
        f = state.sums.floats()
        bins = np.asarray(state.sums.keys, dtype=np.int64)
        keys, neg, pos = _bin_edges(state, bins), f[:, 0], f[:, 1]
    else:
        return None, ("no per-score bootstrap for a multi-class or multi-label ranking "
                      "(its one-vs-rest states share rows)")
    why = over_budget(boot.replicates, len(keys))
    if why:
        return None, why
    costs = None
    if metric == "expected_cost":  # its matrix and fixed threshold (losscli.cost_aggregate)
        from losscli.stats.operating_points import Costs
        costs = Costs.settings(getattr(agg, "cost_matrix", None),
                               getattr(agg, "threshold", None), level, cost_fn)
    return score_replicates(keys, neg, pos, metric, boot.replicates, boot.seed, boot.stream,
                            level, cost_fn, costs), None


def _bin_edges(state: Any, bins: np.ndarray) -> np.ndarray:
    """The lower edge of each bin in score space (a binned threshold's reading)."""
    width = (state.high - state.low) / state.bins
    e = state.low + bins * width
    if state.transform == "sigmoid":
        with np.errstate(all="ignore"):
            e = np.log(e) - np.log1p(-e)
    return np.where(bins <= 0, -np.inf, e)
