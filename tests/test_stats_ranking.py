"""ROC-AUC and average precision, streamed.

What is proved here: the exact mode equals sklearn's ``roc_auc_score`` and
``average_precision_score`` to 1e-12 — with heavy ties, sample weights (zeros included),
chunks down to one row — and its state is the same bits for any chunking and merge order;
the bounded mode's [low, high] contains the exact value (probabilities and logits), shrinks
with more bins and is exact when no bin mixes classes; one-vs-rest macro/weighted averages
equal sklearn's; degenerate cases give NaN with a reason.
"""

from __future__ import annotations

import json
import random
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.preprocessing import label_binarize

from losscli.stats.one_vs_rest import OneVsRest
from losscli.stats.ranking import BinnedRanking, Ranking


def _data(seed, n=2000, ties=True, weighted=True):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    s = rng.normal(size=n) + y
    if ties:
        s = np.round(s, 1)  # ~60 distinct scores: heavy ties
    w = rng.exponential(size=n) if weighted else None
    if w is not None:
        w[::9] = 0.0
    return s, y, w


def _state(cls, s, y, w, chunk, **kw):
    parts = []
    for i in range(0, len(s), chunk):
        p = cls(**kw)
        p.update(s[i:i + chunk], y[i:i + chunk], None if w is None else w[i:i + chunk])
        parts.append(p)
    random.Random(chunk).shuffle(parts)
    acc = cls(**kw)
    for p in parts:
        acc.merge(cls.from_dict(json.loads(json.dumps(p.to_dict()))))
    return acc


@pytest.mark.parametrize("ties", [True, False])
@pytest.mark.parametrize("weighted", [True, False])
@pytest.mark.parametrize("chunk", [1, 37, 5000])
def test_exact_mode_equals_sklearn(ties, weighted, chunk):
    n = 300 if chunk == 1 else 2000
    s, y, w = _data(chunk + 2 * ties + weighted, n, ties, weighted)
    r = _state(Ranking, s, y, w, chunk)
    assert r.roc_auc().value == pytest.approx(roc_auc_score(y, s, sample_weight=w), abs=1e-12)
    assert r.average_precision().value == pytest.approx(
        average_precision_score(y, s, sample_weight=w), abs=1e-12)
    whole = Ranking()
    whole.update(s, y, w)
    assert r == whole  # any chunking, any merge order: the same state


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # sklearn's own, on ±1e308 scores
def test_extreme_weights_and_scores():
    rng = np.random.default_rng(9)
    n = 1000
    s = rng.choice([-1e308, -0.0, 0.0, 1e-300, 0.5, 1e308], n)  # sklearn refuses ±inf
    y = rng.integers(0, 2, n)
    w = rng.choice([1e-200, 1.0, 1e200], n) * rng.random(n)
    r = Ranking()
    r.update(s, y, w)
    assert r.distinct_scores == 5  # -0.0 and 0.0 are one score
    assert r.roc_auc().value == pytest.approx(roc_auc_score(y, s, sample_weight=w), abs=1e-12)
    assert r.average_precision().value == pytest.approx(
        average_precision_score(y, s, sample_weight=w), abs=1e-12)


def test_degenerate_cases():
    r = Ranking()
    r.update(np.array([0.1, 0.2]), np.array([1, 1]))
    auc = r.roc_auc()
    assert np.isnan(auc.value) and "only positive" in auc.reason
    assert r.average_precision().value == 1.0  # as sklearn
    neg = Ranking()
    neg.update(np.array([0.1, 0.2]), np.array([0, 0]))
    assert np.isnan(neg.average_precision().value) and "no positive" in neg.average_precision().reason
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isnan(roc_auc_score([1, 1], [0.1, 0.2]))  # sklearn 1.9: NaN and a warning
        assert average_precision_score([0, 0], [0.1, 0.2]) == 0.0  # sklearn: 0.0, we: NaN
    assert np.isnan(Ranking().roc_auc().value)
    with pytest.raises(ValueError, match="NaN scores"):
        r.update(np.array([np.nan]), np.array([1]))
    with pytest.raises(ValueError, match="0/1"):
        r.update(np.array([0.5]), np.array([2]))


@pytest.mark.parametrize("transform", [None, "sigmoid"])
def test_binned_bounds_contain_the_exact_value(transform):
    for seed in range(5):
        rng = np.random.default_rng(seed)
        n = 3000
        y = (rng.random(n) < 0.2).astype(int)
        logit = rng.normal(size=n) * 2 + 1.5 * y
        s = logit if transform else 1 / (1 + np.exp(-logit))
        w = rng.exponential(size=n)
        exact = Ranking()
        exact.update(s, y, w)
        widths = []
        for bins in (10, 100, 1000):
            b = _state(BinnedRanking, s, y, w, 701, bins=bins, transform=transform)
            for got, want in ((b.roc_auc(), exact.roc_auc().value),
                              (b.average_precision(), exact.average_precision().value)):
                assert got.low - 1e-12 <= want <= got.high + 1e-12, (bins, got, want)
                assert got.low <= got.value <= got.high
            widths.append(b.roc_auc().high - b.roc_auc().low)
        assert widths[0] > widths[1] > widths[2]
        assert widths[2] < 0.01


def test_binned_is_exact_when_bins_separate_the_classes():
    s = np.array([0.05, 0.15, 0.25, 0.95, 0.55, 1.0])
    y = np.array([0, 0, 1, 1, 0, 1])
    b = BinnedRanking(bins=10)
    b.update(s, y)
    auc = b.roc_auc()
    assert auc.value == auc.low == auc.high == pytest.approx(roc_auc_score(y, s), abs=1e-15)
    ap = b.average_precision()
    assert ap.value == pytest.approx(average_precision_score(y, s), abs=1e-15)
    assert ap.low <= ap.value <= ap.high


def test_one_vs_rest_macro_and_weighted_equal_sklearn():
    rng = np.random.default_rng(11)
    n, C = 1500, 4
    y = rng.integers(0, C, n)
    logits = rng.normal(size=(n, C)) + np.eye(C)[y]
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    p = np.round(p, 2)
    p /= p.sum(axis=1, keepdims=True)
    w = rng.uniform(0, 2, n)
    ovr = OneVsRest(C)
    for i in range(0, n, 400):
        ovr.update(p[i:i + 400], y[i:i + 400], w[i:i + 400])
    for average in ("macro", "weighted"):
        assert ovr.roc_auc(average).value == pytest.approx(
            roc_auc_score(y, p, multi_class="ovr", average=average, sample_weight=w), abs=1e-12)
        assert ovr.average_precision(average).value == pytest.approx(
            average_precision_score(label_binarize(y, classes=range(C)), p, average=average,
                                    sample_weight=w), abs=1e-12)
    per = ovr.roc_auc(None)
    assert len(per) == C
    assert OneVsRest.from_dict(json.loads(json.dumps(ovr.to_dict()))) == ovr
    binned = OneVsRest(C, bins=200)
    binned.update(p, y, w)
    macro = binned.roc_auc()
    assert macro.low <= ovr.roc_auc().value <= macro.high
    assert OneVsRest.from_dict(binned.to_dict()) == binned


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0, -0.0, 3.0]),
                          st.integers(0, 1),
                          st.sampled_from([0.0, 0.5, 1.0, 2.0, 1e-3, 7.25])),
                min_size=2, max_size=40),
       st.integers(1, 8))
def test_property_exact_mode_equals_sklearn(rows, chunk):
    s = np.array([r[0] for r in rows])
    y = np.array([r[1] for r in rows])
    w = np.array([r[2] for r in rows])
    assume(w[y == 1].sum() > 0 and w[y == 0].sum() > 0)
    r = _state(Ranking, s, y, w, chunk)
    assert r.roc_auc().value == pytest.approx(roc_auc_score(y, s, sample_weight=w), abs=1e-12)
    assert r.average_precision().value == pytest.approx(
        average_precision_score(y, s, sample_weight=w), abs=1e-12)
    b = _state(BinnedRanking, s, y, w, chunk, bins=3, low=-1.0, high=2.0)
    assert b.roc_auc().low - 1e-12 <= r.roc_auc().value <= b.roc_auc().high + 1e-12
    ap = b.average_precision()
    assert ap.low - 1e-12 <= r.average_precision().value <= ap.high + 1e-12
