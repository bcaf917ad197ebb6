"""Exact ROC AUC in small memory (issue 21): the streamed AUC is the float64 nearest the
exact rational AUC — equal to scikit-learn's ``roc_auc_score`` bit for bit where sklearn's
own float trapezoid rounds right, within one ulp of it where it does not — through the real
CLI, for any chunking and worker count; and the state holds 8 bytes per distinct score (each
class's scores as sorted runs), measured by ``nbytes`` and tracemalloc
(``tests/test_auc_memory.py`` measures the peaks).

The data are built to trip float sums: 10**6 rows on ~2,000 tied scores (each tie's
positives times the negatives below it summed in float64 drift by an ulp), and distinct
scores with a skewed class balance.
"""

from __future__ import annotations

import json
import math
import tracemalloc
from fractions import Fraction

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from losscli.stats.one_vs_rest import OneVsRest
from losscli.stats.ranking import Ranking
from losscli.stats.score_counts import ScoreCounts
from tests.conftest import run_losscli


def _tied(seed: int = 1, n: int = 1_000_000, q: int | None = 1000
          ) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.37).astype(np.int64)
    s = rng.normal(size=n) * 0.8 + y * 0.6
    if q:
        s = np.round(s * q / 4) / q
    return s, y


def _exact_by_ranks(s: np.ndarray, y: np.ndarray) -> Fraction:
    """The Mann–Whitney U with mid-ranks, in Python integers: 2U / (2·P·N)."""
    order = np.argsort(s, kind="stable")
    ss, yy = s[order], y[order].astype(np.int64)
    _, start, cnt = np.unique(ss, return_index=True, return_counts=True)
    pos = np.add.reduceat(yy, start)
    neg = cnt - pos
    below = np.cumsum(neg) - neg
    num = sum(int(p) * (2 * int(b) + int(n)) for p, b, n in zip(pos, below, neg))
    return Fraction(num, 2 * int(pos.sum()) * int(neg.sum()))


def _streamed(s, y, chunk: int, w=None) -> Ranking:
    r = Ranking()
    for i in range(0, len(s), chunk):
        r.update(s[i:i + chunk], y[i:i + chunk], None if w is None else w[i:i + chunk])
    return r


def test_ties_equal_sklearn_bit_for_bit():
    s, y = _tied()
    exact = float(_exact_by_ranks(s, y))
    sk = roc_auc_score(y, s)
    assert sk == exact  # sklearn rounds right on this data: the float sum did not
    for chunk in (65_536, 1_000_003):
        assert _streamed(s, y, chunk).roc_auc().value == sk


@pytest.mark.parametrize("seed,q", [(2, 37), (3, None), (5, 7), (6, 100_000)])
def test_correctly_rounded_and_within_an_ulp_of_sklearn(seed, q):
    s, y = _tied(seed, 300_000, q)
    got = _streamed(s, y, 40_000).roc_auc().value
    assert got == float(_exact_by_ranks(s, y))
    assert abs(got - roc_auc_score(y, s)) <= math.ulp(got)


def test_integer_weights_are_counts_and_exact():
    s, y = _tied(7, 200_000, 50)
    w = np.random.default_rng(7).integers(0, 4, size=s.shape[0]).astype(np.float64)
    r = _streamed(s, y, 30_000, w)
    assert r.counts is not None  # whole-number weights stay counts
    rep = np.repeat(np.arange(s.shape[0]), w.astype(np.int64))
    assert r.roc_auc().value == float(_exact_by_ranks(s[rep], y[rep]))
    half = _streamed(s, y, 30_000, w * 0.5)  # fractional: exact sums, the same AUC
    assert half.counts is None and half.roc_auc().value == r.roc_auc().value


def test_merge_order_and_serialisation_keep_the_bits():
    s, y = _tied(8, 120_000, 200)
    parts = [_streamed(s[i:i + 7_000], y[i:i + 7_000], 999) for i in range(0, len(s), 7_000)]
    forward, backward = Ranking(), Ranking()
    for p in parts:
        forward.merge(Ranking.from_dict(json.loads(json.dumps(p.to_dict()))))
    for p in reversed(parts):
        backward.merge(p)
    whole = _streamed(s, y, len(s))
    assert forward == backward == whole
    assert forward.roc_auc().value == float(_exact_by_ranks(s, y))


def test_memory_per_distinct_score():
    """nbytes = 8 B a distinct score while streaming and once merged, and what tracemalloc
    sees the state hold afterwards ≤ 10 B a distinct score."""
    rng = np.random.default_rng(9)
    n = 2_000_000
    s = rng.random(n)  # every score distinct
    y = rng.random(n) < 0.4
    tracemalloc.start()
    try:
        r = Ranking()
        worst = 0.0
        for i in range(0, n, 100_000):
            r.update(s[i:i + 100_000], y[i:i + 100_000])
            assert r.counts is not None
            worst = max(worst, r.nbytes / min(i + 100_000, n))  # all distinct
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert worst == 8
    assert r.distinct_scores == n
    assert r.nbytes == 8 * n
    assert held / n <= 10


def test_cli_roc_auc_equals_sklearn_bits(tmp_path):
    s, y = _tied()
    path = tmp_path / "ties.parquet"
    pq.write_table(pa.table({"pred": s, "target": y}), path, row_group_size=100_000)
    sk = roc_auc_score(y, s)
    assert sk == float(_exact_by_ranks(s, y))
    for extra in ([], ["--workers", "2", "--chunk-size", "77777"]):
        proc = run_losscli("eval", path, "-l", "roc_auc", "--format", "json", "-q", *extra)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["losses"][0]["value"] == sk


def test_one_vs_rest_weighted_average_reads_the_counts():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, 3000)
    p = rng.dirichlet(np.ones(3), 3000)
    o = OneVsRest(3)
    o.update(p, y)
    assert o.roc_auc("weighted").value == pytest.approx(
        roc_auc_score(y, p, multi_class="ovr", average="weighted"), abs=1e-12)


def test_forged_counts_are_refused():
    good = ScoreCounts()
    good.add(np.array([0.1, 0.2, 0.2]), np.array([True, False, True]))
    d = good.to_dict()
    assert ScoreCounts.from_dict(d) == good
    bad = dict(d, keys=dict(ScoreCounts().to_dict())["keys"])
    with pytest.raises(ValueError, match="counts for"):
        ScoreCounts.from_dict(bad)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.integers(0, 2**32 - 1), st.sampled_from([3, 7, 64]), st.sampled_from([5, 97, 1000]),
       st.booleans())
def test_pieces_merges_and_chunkings_keep_the_exact_values(seed, piece, levels, weighted):
    """Small pieces (so runs are many pieces, merged piece by piece), ties (pieces in the
    counted form) and integer weights: the AUC, DeLong's variance and the per-score table
    are those of the whole data at once, whatever the chunking and merge order."""
    from fractions import Fraction

    from losscli.stats import score_runs

    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 3000))
    s = np.round(rng.random(n) * levels) / levels
    y = rng.random(n) < 0.4
    y[:2], y[2:4] = True, False
    w = rng.integers(0, 4, n) if weighted else None
    old = score_runs.PIECE
    score_runs.PIECE = piece
    try:
        whole = ScoreCounts()
        whole.add(s, y, w)
        parts = []
        size, chunk = int(rng.integers(1, 400)), int(rng.integers(1, 60))
        for i in range(0, n, size):
            p = ScoreCounts()
            for j in range(i, min(i + size, n), chunk):
                hi = min(j + chunk, i + size, n)
                p.add(s[j:hi], y[j:hi], None if w is None else w[j:hi])
            parts.append(p)
        merged = ScoreCounts()
        for p in reversed(parts):
            merged.merge(p)
    finally:
        score_runs.PIECE = old
    rep = np.arange(n) if w is None else np.repeat(np.arange(n), w)
    ss, yy = s[rep], y[rep].astype(np.int64)
    keys, cnt = np.unique(ss, return_counts=True)
    pos = np.array([int(yy[ss == k].sum()) for k in keys])
    assert all(np.array_equal(a, b) for a, b in zip(merged.table(), (keys, cnt - pos, pos)))
    assert merged == whole
    frac = merged.auc_fraction()
    if yy.sum() and (1 - yy).sum():
        assert frac == _exact_by_ranks(ss, yy) == whole.auc_fraction()
    if yy.sum() > 1 and (1 - yy).sum() > 1:
        assert merged.delong_variance() == whole.delong_variance()
        auc = float(frac)
        neg_t, pos_t = cnt - pos, pos
        below = np.cumsum(neg_t) - neg_t
        above = pos_t.sum() - np.cumsum(pos_t)
        v10 = (below + 0.5 * neg_t) / neg_t.sum()
        v01 = (above + 0.5 * pos_t) / pos_t.sum()
        s10 = (pos_t * (v10 - auc) ** 2).sum() / (pos_t.sum() - 1)
        s01 = (neg_t * (v01 - auc) ** 2).sum() / (neg_t.sum() - 1)
        ref = s10 / pos_t.sum() + s01 / neg_t.sum()
        assert float(merged.delong_variance()) == pytest.approx(ref, rel=1e-9, abs=1e-18)
        assert isinstance(merged.delong_variance(), Fraction)
