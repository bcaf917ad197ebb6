"""The weighted confusion matrix and its metrics.

What is proved here: accuracy, precision/recall/F1 (per class and binary, micro, macro,
weighted averages, F_β) and the Hamming loss equal sklearn's with sample weights to 1e-12,
including classes that are never predicted or never true (sklearn's zero_division default:
0.0, reported here); the state is the same bits for any chunking and merge order; integer
weights equal repeated rows exactly.
"""

from __future__ import annotations

import json
import random
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, hamming_loss, precision_recall_fscore_support

from losscli.stats.confusion import ConfusionMatrix, MultilabelHamming


def _cm(t, p, w, classes, chunk=None):
    chunk = chunk or len(t)
    parts = []
    for i in range(0, len(t), chunk):
        c = ConfusionMatrix(classes)
        c.update(t[i:i + chunk], p[i:i + chunk], None if w is None else w[i:i + chunk])
        parts.append(ConfusionMatrix.from_dict(json.loads(json.dumps(c.to_dict()))))
    random.Random(chunk).shuffle(parts)
    acc = ConfusionMatrix(classes)
    for c in parts:
        acc.merge(c)
    return acc


def _sk(*args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's zero-division warnings
        return precision_recall_fscore_support(*args, **kw)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("chunk", [1, 50, None])
def test_multiclass_metrics_equal_sklearn(weighted, chunk):
    rng = np.random.default_rng(7)
    n, C = 600, 6
    t = rng.integers(0, 5, n)  # class 5 never true
    p = np.where(rng.random(n) < 0.6, t, rng.integers(0, 6, n))
    p[p == 3] = 4  # class 3 never predicted
    w = rng.exponential(size=n) if weighted else None
    if w is not None:
        w[::11] = 0.0
    cm = _cm(t, p, w, C, chunk)
    assert cm == _cm(t, p, w, C)
    assert cm.accuracy() == pytest.approx(accuracy_score(t, p, sample_weight=w), abs=1e-12)
    assert cm.hamming_loss() == pytest.approx(hamming_loss(t, p, sample_weight=w), abs=1e-12)
    for average in (None, "micro", "macro", "weighted"):
        for beta in (1.0, 0.5, 2.0):
            ours = cm.precision_recall_f(average, beta=beta)
            ref = _sk(t, p, beta=beta, average=average, sample_weight=w)
            for got, want in zip((ours.precision, ours.recall, ours.f), ref[:3]):
                np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
            if average is None:
                np.testing.assert_allclose(ours.support, ref[3], atol=1e-12)
    per = cm.precision_recall_f(None)
    assert per.labels == [0, 1, 2, 3, 4, 5]
    assert per.zero_division["precision"] == [3] and per.zero_division["recall"] == [5]


def test_binary_average_with_pos_label():
    rng = np.random.default_rng(8)
    t = rng.integers(0, 2, 400)
    p = np.where(rng.random(400) < 0.7, t, 1 - t)
    w = rng.uniform(0, 3, 400)
    cm = _cm(t, p, w, 2, 64)
    for pos in (0, 1):
        ours = cm.precision_recall_f("binary", pos_label=pos)
        ref = _sk(t, p, average="binary", pos_label=pos, sample_weight=w)
        np.testing.assert_allclose((ours.precision, ours.recall, ours.f), ref[:3], atol=1e-12)
    # no positive predicted and none true: all three are 0/0 → 0.0, reported
    none = ConfusionMatrix(2)
    none.update(np.zeros(5, int), np.zeros(5, int))
    res = none.precision_recall_f("binary")
    assert (res.precision, res.recall, res.f) == (0.0, 0.0, 0.0)
    assert res.zero_division == {"precision": [1], "recall": [1], "f-score": [1]}
    assert _sk(np.zeros(5, int), np.zeros(5, int), average="binary")[:3] == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="at most 2 classes"):
        _cm(np.array([0, 1, 2]), np.array([0, 1, 2]), None, 3).precision_recall_f("binary")


def test_integer_weights_equal_repeated_rows():
    rng = np.random.default_rng(9)
    t, p = rng.integers(0, 3, 300), rng.integers(0, 3, 300)
    w = rng.integers(1, 5, 300)
    assert _cm(t, p, w.astype(float), 3).sums == _cm(np.repeat(t, w), np.repeat(p, w), None, 3).sums


def test_matrix_and_refusals():
    cm = _cm(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 0]), np.array([0.5, 0.25, 1.0, 2.0]), 3)
    np.testing.assert_array_equal(cm.matrix(), [[0.5, 0.25, 0], [0, 1.0, 0], [2.0, 0, 0]])
    with pytest.raises(ValueError, match="class indices"):
        cm.update(np.array([3]), np.array([0]))
    with pytest.raises(ValueError, match="weights"):
        cm.update(np.array([1]), np.array([0]), np.array([-1.0]))
    assert np.isnan(ConfusionMatrix(2).accuracy())


@pytest.mark.parametrize("weighted", [False, True])
def test_multilabel_hamming_equals_sklearn(weighted):
    rng = np.random.default_rng(10)
    n, L = 500, 7
    t = (rng.random((n, L)) < 0.3).astype(int)
    p = np.where(rng.random((n, L)) < 0.8, t, 1 - t)
    w = rng.exponential(size=n) if weighted else None
    parts = []
    for i in range(0, n, 77):
        h = MultilabelHamming(L)
        h.update(t[i:i + 77], p[i:i + 77], None if w is None else w[i:i + 77])
        parts.append(MultilabelHamming.from_dict(json.loads(json.dumps(h.to_dict()))))
    acc = parts.pop()
    for h in parts:
        acc.merge(h)
    whole = MultilabelHamming(L)
    whole.update(t, p, w)
    assert acc == whole
    assert whole.result() == pytest.approx(hamming_loss(t, p, sample_weight=w), abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.sampled_from([0.0, 0.5, 1.0, 3.0])),
                min_size=1, max_size=30))
def test_property_equals_sklearn(rows):
    t = np.array([r[0] for r in rows])
    p = np.array([r[1] for r in rows])
    w = np.array([r[2] for r in rows])
    assume(w.sum() > 0)  # sklearn refuses all-zero weights (here: 0.0 with zero_division flags)
    cm = _cm(t, p, w, 4, 3)
    assert cm.accuracy() == pytest.approx(accuracy_score(t, p, sample_weight=w), abs=1e-12)
    for average in (None, "micro", "macro", "weighted"):
        ours = cm.precision_recall_f(average)
        ref = _sk(t, p, average=average, sample_weight=w)
        for got, want in zip((ours.precision, ours.recall, ours.f), ref[:3]):
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


# -- metrics of the whole matrix (issue 23) ---------------------------------------------

def test_matrix_metrics_equal_sklearn_and_merge_exactly():
    from sklearn import metrics as skm

    from losscli.stats.confusion import MATRIX_METRICS, ConfusionMatrix

    rng = np.random.default_rng(23)
    n, c = 500, 4
    t = rng.integers(0, c, n)
    p = np.where(rng.random(n) < 0.6, t, rng.integers(0, c, n))
    w = rng.uniform(0, 2, n) * (rng.random(n) > 0.1)
    whole = ConfusionMatrix(c)
    whole.update(t, p, w)
    parts = [ConfusionMatrix(c) for _ in range(3)]
    for part, idx in zip(parts, np.array_split(rng.permutation(n), 3)):
        part.update(t[idx], p[idx], w[idx])
    merged = parts[2].merge(parts[0]).merge(parts[1])
    labels = list(range(c))
    refs = {
        ("mcc", ""): skm.matthews_corrcoef(t, p, sample_weight=w),
        ("balanced_accuracy", ""): skm.balanced_accuracy_score(t, p, sample_weight=w),
        ("balanced_accuracy", "adjusted"): skm.balanced_accuracy_score(
            t, p, sample_weight=w, adjusted=True),
        ("cohen_kappa", ""): skm.cohen_kappa_score(t, p, sample_weight=w),
        ("cohen_kappa", "linear"): skm.cohen_kappa_score(t, p, sample_weight=w,
                                                         weights="linear", labels=labels),
        ("cohen_kappa", "quadratic"): skm.cohen_kappa_score(
            t, p, sample_weight=w, weights="quadratic", labels=labels),
    }
    for (name, option), want in refs.items():
        assert name in MATRIX_METRICS
        got = whole.metric(name, option)
        assert got == pytest.approx(want, rel=1e-12, abs=1e-14), (name, option)
        assert merged.metric(name, option) == got  # bit for bit, any split and order
    tb, pb = (t > 1).astype(int), (p > 1).astype(int)
    binary = ConfusionMatrix(2)
    binary.update(tb, pb, w)
    assert binary.specificity() == pytest.approx(
        skm.recall_score(tb, pb, pos_label=0, sample_weight=w), rel=1e-12)
    assert binary.npv() == pytest.approx(
        skm.precision_score(tb, pb, pos_label=0, sample_weight=w), rel=1e-12)
    with pytest.raises(ValueError, match="metric"):
        whole.metric("nope")


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.data())
def test_matrix_metrics_on_generated_label_sets_equal_sklearn(data):
    """Small label sets, degenerate ones included (one class, a class only predicted,
    zero weights): the same value as sklearn, NaN where sklearn's is NaN."""
    from sklearn import metrics as skm

    from losscli.stats.confusion import ConfusionMatrix

    c = data.draw(st.integers(1, 4), label="classes")
    n = data.draw(st.integers(1, 30), label="rows")
    t = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    p = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    w = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0]),
                                    min_size=n, max_size=n)))
    assume(w.sum() > 0)
    cm = ConfusionMatrix(c)
    cm.update(t, p, w)
    labels = list(range(c))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        refs = {
            ("mcc", ""): skm.matthews_corrcoef(t, p, sample_weight=w),
            ("balanced_accuracy", ""): skm.balanced_accuracy_score(t, p, sample_weight=w),
            ("balanced_accuracy", "adjusted"): skm.balanced_accuracy_score(
                t, p, sample_weight=w, adjusted=True),
            ("cohen_kappa", "linear"): skm.cohen_kappa_score(
                t, p, sample_weight=w, weights="linear", labels=labels),
            ("cohen_kappa", "quadratic"): skm.cohen_kappa_score(
                t, p, sample_weight=w, weights="quadratic", labels=labels),
        }
    for (name, option), want in refs.items():
        got = cm.metric(name, option)
        if np.isnan(want):
            assert np.isnan(got), (name, option, got)
        else:
            assert got == pytest.approx(want, rel=1e-12, abs=1e-14), (name, option, got, want)
