"""Classification kernels against known values, each with its source, plus extreme inputs
and the relations between losses.

Sources: the examples printed in the docstrings of scikit-learn (``log_loss``,
``hinge_loss``, ``brier_score_loss``, ``zero_one_loss``), optax
(``softmax_cross_entropy_with_integer_labels``) and PyTorch (``MultiMarginLoss``); the
rest is hand-derived from the formula in the named reference, with the arithmetic written
out in ``math`` so that it does not reuse the kernels' numpy code.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import losscli

EPS = float(np.finfo(np.float64).eps)
LOG_EPS = -math.log(EPS)  # 36.04365338911715 = 52·log 2: the cost of a clipped 0 or 1


def per_row(pred, target, loss, **kw):
    """Per-row losses (reduction none) as a numpy array."""
    report = losscli.evaluate(predictions=np.asarray(pred, float), targets=np.asarray(target, float),
                              losses=[loss], reduction="none", **kw)
    (label,) = [k for k in report.per_row if k != "row"]
    return report.per_row[label]


def mean(pred, target, loss, **kw):
    return losscli.evaluate(predictions=np.asarray(pred, float), targets=np.asarray(target, float),
                            losses=[loss],
                            **kw).losses[0].value


def softmax(z):
    e = np.exp(np.asarray(z, float) - np.max(z, axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# --- bce ---------------------------------------------------------------------------------

def test_bce_sklearn_log_loss_docstring():
    # sklearn log_loss(["spam", "ham", "ham", "spam"], [[.1, .9], [.9, .1], [.8, .2],
    # [.35, .65]]) = 0.21616...; columns are (ham, spam), so p(spam) = .9, .1, .2, .65.
    value = mean([0.9, 0.1, 0.2, 0.65], [1, 0, 0, 1], "bce")
    assert value == pytest.approx(0.21616, abs=5e-6)
    hand = -(math.log(0.9) + math.log(0.9) + math.log(0.8) + math.log(0.65)) / 4
    assert value == pytest.approx(hand, rel=1e-15)
    # the same with -1/1 labels, and under the aliases
    assert mean([0.9, 0.1, 0.2, 0.65], [1, -1, -1, 1], "log_loss") == pytest.approx(hand, rel=1e-15)
    assert mean([0.9, 0.1, 0.2, 0.65], [1, 0, 0, 1], "binary_cross_entropy") == value


def test_bce_with_logits_torch_formula():
    # torch binary_cross_entropy_with_logits: y·log(1 + e^-x) + (1 − y)·log(1 + e^x)
    x, y = [0.0, 2.0, -1.0], [1, 0, 1]
    expected = [math.log(2.0), math.log1p(math.exp(2.0)), math.log1p(math.exp(1.0))]
    np.testing.assert_allclose(per_row(x, y, "bce", from_logits=True), expected, rtol=1e-15)
    np.testing.assert_allclose(per_row(x, y, "bce_with_logits"), expected, rtol=1e-15)
    # pos_weight multiplies the positive term only (torch pos_weight)
    np.testing.assert_allclose(per_row(x, y, "bce_with_logits:pos_weight=3"),
                               [3 * expected[0], expected[1], 3 * expected[2]], rtol=1e-15)


def test_bce_alpha_balancing():
    # alpha-balanced CE: −α·log p for y = 1, −(1 − α)·log(1 − p) for y = 0
    got = per_row([0.8, 0.3], [1, 0], "bce:alpha=0.25")
    np.testing.assert_allclose(got, [-0.25 * math.log(0.8), -0.75 * math.log(0.7)], rtol=1e-15)


def test_bce_extremes_are_finite():
    # probabilities 0 and 1 are clipped to [eps, 1 − eps] (sklearn): a confident mistake
    # costs −log eps = 36.04..., a confident hit −log(1 − eps) ≈ eps.
    got = per_row([0.0, 1.0, 1.0, 0.0], [1, 0, 1, 0], "bce")
    np.testing.assert_allclose(got, [LOG_EPS, LOG_EPS, EPS, EPS], rtol=1e-12)
    assert LOG_EPS == pytest.approx(52 * math.log(2), rel=1e-15)
    # logits ±800: softplus form, exactly |x| when wrong and 0 when right
    got = per_row([800.0, -800.0, 800.0, -800.0], [0, 1, 1, 0], "bce", from_logits=True)
    np.testing.assert_array_equal(got, [800.0, 800.0, 0.0, 0.0])
    # eps is a parameter: eps = 1e-3 caps the cost at −log 1e-3
    assert per_row([0.0], [1], "bce:eps=0.001")[0] == pytest.approx(-math.log(1e-3), rel=1e-15)


# --- cross_entropy -----------------------------------------------------------------------

OPTAX_LOGITS = [[1.2, -0.8, -0.5], [0.9, -1.2, 1.1]]


@pytest.mark.parametrize("loss", ["softmax_cross_entropy", "cross_entropy", "ce"])
def test_cross_entropy_optax_docstring(loss):
    # optax softmax_cross_entropy_with_integer_labels(logits, [0, 1]) = [0.2761 2.9518]
    got = per_row(OPTAX_LOGITS, [0, 1], loss,
                  from_logits=loss != "softmax_cross_entropy")
    np.testing.assert_allclose(got, [0.2761, 2.9518], atol=5e-5)
    # optax softmax_cross_entropy with one-hot labels: the same values
    one_hot = per_row(OPTAX_LOGITS, [[1, 0, 0], [0, 1, 0]], loss,
                      from_logits=loss != "softmax_cross_entropy")
    np.testing.assert_allclose(one_hot, got, rtol=1e-15)


def test_cross_entropy_on_probabilities_is_sklearn_log_loss():
    # sklearn log_loss docstring again, now with its two probability columns: 0.21616...
    probs = [[0.1, 0.9], [0.9, 0.1], [0.8, 0.2], [0.35, 0.65]]
    assert mean(probs, [1, 0, 0, 1], "cross_entropy") == pytest.approx(0.21616, abs=5e-6)
    assert mean(probs, [1, 0, 0, 1], "categorical_cross_entropy") == pytest.approx(
        mean([0.9, 0.1, 0.2, 0.65], [1, 0, 0, 1], "bce"), rel=1e-15)


def test_cross_entropy_label_smoothing_torch_formula():
    # torch cross_entropy(label_smoothing=ε): −Σ_c ((1 − ε)·[c = y] + ε/C)·log p_c
    z = OPTAX_LOGITS[0]
    lse = math.log(sum(math.exp(v) for v in z))
    logp = [v - lse for v in z]
    eps = 0.1
    expected = -((1 - eps) * logp[0] + eps / 3 * sum(logp))
    got = per_row([z], [0], "cross_entropy:label_smoothing=0.1", from_logits=True)
    assert got[0] == pytest.approx(expected, rel=1e-14)


def test_cross_entropy_extremes_are_finite():
    got = per_row([[800.0, -800.0, 0.0], [-800.0, 800.0, 0.0]], [1, 1], "cross_entropy",
                  from_logits=True)
    np.testing.assert_array_equal(got, [1600.0, 0.0])
    assert str(got[1]) == "0.0"  # not -0.0
    got = per_row([[1.0, 0.0], [0.0, 1.0]], [1, 1], "cross_entropy")
    np.testing.assert_allclose(got, [LOG_EPS, EPS], rtol=1e-12)


def test_softmax_cross_entropy_on_logits_equals_cross_entropy_on_softmax():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 3, (200, 5))
    y = rng.integers(0, 5, 200)
    np.testing.assert_allclose(per_row(z, y, "softmax_cross_entropy"),
                               per_row(softmax(z), y, "cross_entropy"), rtol=1e-12)


# --- focal -------------------------------------------------------------------------------

def test_focal_torchvision_formula():
    # torchvision sigmoid_focal_loss at x = 0 (p = 0.5), α = 0.25, γ = 2:
    # y = 1: α·(1 − p)²·log 2; y = 0: (1 − α)·p²·log 2
    got = per_row([0.0, 0.0], [1, 0], "focal", from_logits=True)
    np.testing.assert_allclose(got, [0.25 * 0.25 * math.log(2), 0.75 * 0.25 * math.log(2)],
                               rtol=1e-15)
    # probabilities: p = 0.9, y = 1, γ = 2, no α: (0.1)²·(−log 0.9)
    assert per_row([0.9], [1], "focal:alpha=-1")[0] == pytest.approx(
        0.01 * -math.log(0.9), rel=1e-14)
    # multi-class: p = [0.5, 0.25, 0.25], y = 0: α·(0.5)²·log 2
    assert per_row([[0.5, 0.25, 0.25]], [0], "focal")[0] == pytest.approx(
        0.25 * 0.25 * math.log(2), rel=1e-15)


def test_focal_with_gamma_0_equals_bce_and_cross_entropy():
    rng = np.random.default_rng(1)
    x = rng.normal(0, 3, 300)
    y = rng.integers(0, 2, 300)
    p = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(per_row(p, y, "focal:gamma=0,alpha=-1"), per_row(p, y, "bce"),
                               rtol=1e-13)
    np.testing.assert_allclose(per_row(x, y, "focal:gamma=0,alpha=-1", from_logits=True),
                               per_row(x, y, "bce_with_logits"), rtol=1e-13)
    z = rng.normal(0, 3, (300, 4))
    k = rng.integers(0, 4, 300)
    np.testing.assert_allclose(per_row(softmax(z), k, "focal:gamma=0,alpha=-1"),
                               per_row(softmax(z), k, "cross_entropy"), rtol=1e-13)
    # (log-softmax then pick, against logsumexp − z_y: equal up to float64 round-off)
    np.testing.assert_allclose(per_row(z, k, "focal:gamma=0,alpha=-1", from_logits=True),
                               per_row(z, k, "softmax_cross_entropy"), rtol=1e-13, atol=1e-15)


def test_focal_extremes_are_finite():
    got = per_row([800.0, -800.0, 800.0], [0, 1, 1], "focal", from_logits=True)
    np.testing.assert_allclose(got, [0.75 * 800.0, 0.25 * 800.0, 0.0])
    got = per_row([0.0, 1.0], [1, 1], "focal:alpha=-1")
    assert np.all(np.isfinite(got)) and got[0] == pytest.approx(LOG_EPS, rel=1e-12)


# --- margin losses -----------------------------------------------------------------------

def test_hinge_sklearn_docstring():
    # sklearn hinge_loss([-1, 1, 1], [-2.18, 2.36, 0.09]) = 0.30333...
    assert mean([-2.18, 2.36, 0.09], [-1, 1, 1], "hinge") == pytest.approx(0.30333, abs=5e-6)
    assert mean([-2.18, 2.36, 0.09], [0, 1, 1], "hinge") == pytest.approx(0.91 / 3, rel=1e-14)


def test_hinge_multiclass_crammer_singer():
    # max(0, 1 + max_{j≠y} s_j − s_y): row 0: 1 + 2 − 1 = 2; row 1: 1 + 0.2 − 3 < 0 → 0
    got = per_row([[1.0, 2.0, 0.5], [0.2, 0.1, 3.0]], [0, 2], "hinge")
    np.testing.assert_allclose(got, [2.0, 0.0])


def test_squared_hinge_keras_formula():
    # binary: max(0, 1 − y·s)² on the sklearn example: 0, 0, 0.91²
    got = per_row([-2.18, 2.36, 0.09], [-1, 1, 1], "squared_hinge")
    np.testing.assert_allclose(got, [0.0, 0.0, 0.91**2], rtol=1e-14)
    # multi-class (keras on one-hot ±1 targets): s = [1, 2, 0.5], y = 0 → y± = [1, −1, −1]:
    # mean(0², 3², 1.5²) = 11.25 / 3
    assert per_row([[1.0, 2.0, 0.5]], [0], "squared_hinge")[0] == pytest.approx(3.75)


def test_multi_margin_torch_docstring():
    # torch MultiMarginLoss docstring: x = [[0.1, 0.2, 0.4, 0.8]], y = [3]:
    # 0.25·((1 − (0.8 − 0.1)) + (1 − (0.8 − 0.2)) + (1 − (0.8 − 0.4))) = 0.3250
    x = [[0.1, 0.2, 0.4, 0.8]]
    assert per_row(x, [3], "multi_margin")[0] == pytest.approx(0.325, rel=1e-14)
    assert per_row(x, [3], "multi_margin:p=2")[0] == pytest.approx(0.25 * (0.09 + 0.16 + 0.36))
    assert per_row(x, [3], "multi_margin:margin=0.5")[0] == pytest.approx(0.25 * 0.1)


def test_exponential_and_soft_margin():
    # exp(−y·s) and log(1 + exp(−y·s)) with y = ±1 (torch soft_margin_loss)
    np.testing.assert_allclose(per_row([0.0, 1.0], [1, 0], "exponential"), [1.0, math.e],
                               rtol=1e-15)
    np.testing.assert_allclose(per_row([0.0, 2.0], [1, -1], "soft_margin"),
                               [math.log(2), math.log1p(math.exp(2))], rtol=1e-15)


def test_margin_extremes():
    # soft_margin is finite at ±800 (softplus form)
    np.testing.assert_array_equal(per_row([-800.0, 800.0], [1, 1], "soft_margin"), [800.0, 0.0])
    np.testing.assert_array_equal(per_row([800.0, -800.0], [0, 1], "hinge"), [801.0, 801.0])
    # exponential: exp(800) exceeds float64, so the honest value is +inf (documented);
    # exp(−800) underflows to 0.
    np.testing.assert_array_equal(per_row([-800.0, 800.0], [1, 1], "exponential"),
                                  [np.inf, 0.0])


def test_margin_losses_ignore_from_logits():
    s, y = [-2.18, 2.36, 0.09], [-1, 1, 1]
    for loss in ("hinge", "squared_hinge", "exponential", "soft_margin"):
        np.testing.assert_array_equal(per_row(s, y, loss), per_row(s, y, loss, from_logits=True))


# --- brier, zero_one ---------------------------------------------------------------------

def test_brier_sklearn_docstring():
    # sklearn brier_score_loss([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.3]) = 0.037...
    assert mean([0.1, 0.9, 0.8, 0.3], [0, 1, 1, 0], "brier") == pytest.approx(0.0375)
    # multi-class, Σ_c (q_c − p_c)² per row: 0.06, 0.14, 0.24 → 0.1466...
    probs = [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.2, 0.2, 0.6]]
    assert mean(probs, [0, 1, 2], "brier") == pytest.approx(0.44 / 3)
    # logits go through sigmoid / softmax, so ±800 gives exact 0 or 1
    np.testing.assert_array_equal(per_row([800.0, -800.0], [1, 1], "brier", from_logits=True),
                                  [0.0, 1.0])


def test_brier_equals_mse_on_binary_labels():
    rng = np.random.default_rng(2)
    p, y = rng.uniform(size=100), rng.integers(0, 2, 100)
    assert mean(p, y, "brier") == pytest.approx(mean(p, y, "mse"), rel=1e-15)


def test_zero_one_labels_sklearn_docstring():
    # sklearn zero_one_loss([1, 2, 3, 4], [2, 2, 3, 4]) = 0.25; as one-hot scores over 5
    # classes the argmax is the predicted label.
    assert mean(np.eye(5)[[2, 2, 3, 4]], [1, 2, 3, 4], "zero_one") == 0.25


def test_zero_one_binary_threshold():
    # predicted positive when score >= threshold (0.5 on probabilities, 0 on logits)
    p, y = [0.1, 0.6, 0.5, 0.4], [0, 0, 1, 1]
    np.testing.assert_array_equal(per_row(p, y, "zero_one"), [0, 1, 0, 1])
    np.testing.assert_array_equal(per_row(p, y, "zero_one", threshold=0.35), [0, 1, 0, 0])
    np.testing.assert_array_equal(per_row([-1.0, 0.0, 2.0], [0, 1, 0], "zero_one",
                                          from_logits=True), [0, 0, 1])
    # -1/1 labels
    np.testing.assert_array_equal(per_row([0.2, 0.7], [-1, -1], "zero_one"), [0, 1])


def test_zero_one_regression_form_is_unchanged():
    # real-valued targets keep the tolerance form (|d| > T)
    d = np.array([-3.0, -0.5, 0.0, 0.25, 2.0])
    assert mean(d, np.zeros(5), "zero_one:tolerance=0.5") == pytest.approx(0.4)
    # forced onto 0/1 data with --task regression, labels are numbers again
    assert mean([0.2, 0.7], [0, 0], "zero_one", task="regression") == 1.0
