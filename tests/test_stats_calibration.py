"""Calibration error (ECE / MCE / RMSCE).

What is proved here: the streamed, merged state gives the formula written out below on data
with confidences on every bin edge, at 0 and 1, and tied; integer weights equal repeated
rows; any chunking and merge order gives the same state; the binary and multiclass
definitions are torchmetrics'. torchmetrics is not installed; its definitions, quoted:

    torchmetrics.functional.classification.calibration_error (1.x):
        "L1 norm (Expected Calibration Error)  ECE = Σ_i^N b_i ‖(p_i − c_i)‖
         Infinity norm (Maximum Calibration Error)  MCE = max_i (p_i − c_i)
         L2 norm (Root Mean Square Calibration Error)  RMSCE = √(Σ_i^N b_i (p_i − c_i)²)
         Where p_i is the top-1 prediction accuracy in bin i, c_i is the average confidence
         of predictions in bin i, and b_i is the fraction of data points in bin i."
    _binary_calibration_error_update: ``confidences, accuracies = preds, target``
    _multiclass_calibration_error_update: ``confidences, predictions = preds.max(dim=1);
        accuracies = predictions.eq(target)``
    _binning_bucketize: ``indices = torch.bucketize(confidences, bin_boundaries, right=True) - 1``
        with ``bin_boundaries = torch.linspace(0, 1, n_bins + 1)`` and n_bins + 1 slots.

``_torchmetrics_ece`` below transcribes that code in numpy (float64) to show where the two
agree (no confidence of exactly 1.0) and differ (1.0 gets its own slot there).
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from losscli.stats.calibration import CalibrationError


def _formula(conf, correct, w, bins=15, norm="l1"):
    """The module doc's formula, written out with a Python loop over rows."""
    W = [0.0] * bins
    C = [0.0] * bins
    A = [0.0] * bins
    for c, a, wt in zip(conf.tolist(), correct.tolist(), w.tolist()):
        b = bins - 1
        for k in range(bins):
            if k / bins <= c < (k + 1) / bins:
                b = k
                break
        W[b] += wt
        C[b] += wt * c
        A[b] += wt * a
    total = sum(W)
    gaps = [(abs(A[b] - C[b]) / W[b], W[b]) for b in range(bins) if W[b] > 0]
    if norm == "l1":
        return sum(g * wb for g, wb in gaps) / total
    if norm == "max":
        return max(g for g, _ in gaps)
    return (sum(g * g * wb for g, wb in gaps) / total) ** 0.5


def _torchmetrics_ece(conf, acc, n_bins=15):
    """numpy transcription of torchmetrics' _binning_bucketize + _ce_compute(norm="l1")."""
    boundaries = np.linspace(0, 1, n_bins + 1)
    idx = np.searchsorted(boundaries, conf, side="right") - 1  # bucketize(right=True) − 1
    count = np.bincount(idx, minlength=n_bins + 1).astype(float)
    with np.errstate(invalid="ignore"):  # empty slots: 0/0, then nan_to_num as torchmetrics
        conf_bin = np.nan_to_num(np.bincount(idx, conf, n_bins + 1) / count)
        acc_bin = np.nan_to_num(np.bincount(idx, acc, n_bins + 1) / count)
    prop = count / count.sum()
    return float(np.sum(np.abs(acc_bin - conf_bin) * prop))


def _edge_data(seed, n=3000):
    rng = np.random.default_rng(seed)
    edges = np.array([k / 15 for k in range(16)])
    conf = np.where(rng.random(n) < 0.4, rng.choice(edges, n), rng.random(n))
    conf = np.round(conf, 3) if seed % 2 else conf  # ties
    y = (rng.random(n) < conf).astype(int)
    return conf, y


@pytest.mark.parametrize("norm", ["l1", "max", "l2"])
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_equals_the_formula_with_edges_and_ties(norm, weighted):
    for seed in range(2):
        conf, y = _edge_data(seed)
        w = np.random.default_rng(seed).exponential(size=conf.size) if weighted else None
        ce = CalibrationError()
        for i in range(0, conf.size, 250):
            ce.update(conf[i:i + 250], y[i:i + 250], None if w is None else w[i:i + 250])
        ref = _formula(conf, y.astype(float), np.ones(conf.size) if w is None else w, norm=norm)
        assert ce.result(norm) == pytest.approx(ref, rel=1e-12, abs=1e-15)


def test_edges_go_up_and_one_goes_to_the_last_bin():
    ce = CalibrationError(bins=15)
    edges = np.array([k / 15 for k in range(16)])
    ce.update(edges, np.zeros(16, int))
    table = ce.bin_table()
    assert [k for k, *_ in table] == list(range(15))
    counts = {k: w for k, w, _, _ in table}
    assert counts[0] == 1 and counts[14] == 2 and all(counts[k] == 1 for k in range(1, 14))


def test_multiclass_top_label_with_argmax_ties():
    rng = np.random.default_rng(5)
    n, C = 2000, 5
    p = rng.dirichlet(np.ones(C), n)
    p[:200] = 0.2  # all tied: top label is class 0, confidence 0.2 (on an edge: bin 3)
    p = np.round(p, 2)
    p /= p.sum(axis=1, keepdims=True)
    y = rng.integers(0, C, n)
    ce = CalibrationError(task="multiclass")
    ce.update(p, y)
    top = np.argmax(p, axis=1)
    conf, correct = p.max(axis=1), (top == y).astype(float)
    for norm in ("l1", "max", "l2"):
        assert ce.result(norm) == pytest.approx(_formula(conf, correct, np.ones(n), norm=norm),
                                                rel=1e-12)
    # with no confidence at exactly 1.0, torchmetrics' binning gives the same ECE
    assert ce.result("l1") == pytest.approx(_torchmetrics_ece(conf, correct), rel=1e-12)


def test_where_torchmetrics_differs_a_confidence_of_one():
    conf = np.array([1.0, 0.95, 0.95])
    y = np.array([0, 1, 1])
    ce = CalibrationError()
    ce.update(conf, y)
    # here: one bin [14/15, 1]: accuracy 2/3, confidence 2.9/3 → ECE = |2 − 2.9|/3 = 0.3
    assert ce.result("l1") == pytest.approx(0.3, rel=1e-14)
    # torchmetrics: 1.0 alone in slot 15 (gap 1, share 1/3), 0.95 ×2 in slot 14 (gap 0.05,
    # share 2/3) → 1.1/3
    assert _torchmetrics_ece(conf, y.astype(float)) == pytest.approx(1.1 / 3, rel=1e-14)


def test_integer_weights_equal_repeated_rows_and_merges_are_exact():
    conf, y = _edge_data(3, 500)
    w = np.random.default_rng(3).integers(1, 4, 500)
    weighted = CalibrationError()
    weighted.update(conf, y, w.astype(float))
    repeated = CalibrationError()
    repeated.update(np.repeat(conf, w), np.repeat(y, w))
    # W_b and A_b are the same bits; C_b sums the products w·c, each rounded once, where
    # repeated rows add c exactly w times: equal to rounding
    wf, rf = weighted.sums.floats(), repeated.sums.floats()
    assert np.array_equal(wf[:, [0, 2]], rf[:, [0, 2]])
    np.testing.assert_allclose(wf[:, 1], rf[:, 1], rtol=1e-15)
    assert weighted.result() == pytest.approx(repeated.result(), rel=1e-13)
    parts = []
    for i in range(0, 500, 33):
        p = CalibrationError()
        p.update(conf[i:i + 33], y[i:i + 33], w[i:i + 33].astype(float))
        parts.append(CalibrationError.from_dict(json.loads(json.dumps(p.to_dict()))))
    random.Random(0).shuffle(parts)
    acc = CalibrationError()
    for p in parts:
        acc.merge(p)
    assert acc.sums == weighted.sums


def test_refusals_and_empty():
    ce = CalibrationError()
    assert np.isnan(ce.result()) and ce.reason()
    with pytest.raises(ValueError, match="probabilities"):
        ce.update(np.array([1.5]), np.array([1]))
    with pytest.raises(ValueError, match="0/1"):
        ce.update(np.array([0.5]), np.array([2]))
    with pytest.raises(ValueError, match="norm"):
        ce.result("l3")
    with pytest.raises(ValueError, match="different bins"):
        ce.merge(CalibrationError(bins=10))
