"""Regression kernels against known values, each with its source.

sklearn values are the examples printed in the scikit-learn docstrings of the named
function; torch values are derived by hand from the formula in the PyTorch docs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import losscli

A_TRUE = np.array([3.0, -0.5, 2.0, 7.0])
A_PRED = np.array([2.5, 0.0, 2.0, 8.0])


def ev(pred, target, loss, **kw):
    return losscli.evaluate(predictions=np.asarray(pred, float), targets=np.asarray(target, float),
                            losses=[loss],
                            **kw).losses[0].value


@pytest.mark.parametrize(
    ("loss", "expected"),
    [
        ("mse", 0.375),  # sklearn mean_squared_error docstring
        ("rmse", math.sqrt(0.375)),  # sklearn root_mean_squared_error docstring (0.612...)
        ("mae", 0.5),  # sklearn mean_absolute_error docstring
        ("l1", 0.5),  # alias
        ("mape", 0.3273809523809524),  # sklearn mean_absolute_percentage_error docstring
        ("r2", 0.9486081370449679),  # sklearn r2_score docstring (0.948...)
        ("max_error", 1.0),  # |8 - 7|
    ],
)
def test_sklearn_docstring_examples(loss, expected):
    assert ev(A_PRED, A_TRUE, loss) == pytest.approx(expected, rel=1e-15, abs=1e-15)


def test_msle_sklearn_docstring():
    # sklearn mean_squared_log_error docstring: y_true=[3, 5, 2.5, 7], y_pred=[2.5, 5, 4, 8]
    assert ev([2.5, 5, 4, 8], [3, 5, 2.5, 7], "msle") == pytest.approx(0.03973012298459379,
                                                                        rel=1e-12)


@pytest.mark.parametrize(
    ("pred", "alpha", "expected"),
    # sklearn mean_pinball_loss docstring, y_true = [1, 2, 3]
    [([0, 2, 3], 0.1, 0.1 / 3), ([1, 2, 4], 0.1, 0.9 / 3), ([0, 2, 3], 0.9, 0.9 / 3),
     ([1, 2, 4], 0.9, 0.1 / 3), ([1, 2, 3], 0.1, 0.0)],
)
def test_pinball_sklearn_docstring(pred, alpha, expected):
    assert ev(pred, [1, 2, 3], f"quantile:quantile={alpha}") == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize(
    ("pred", "target", "expected"),
    # sklearn r2_score docstring: perfect, constant and reversed predictions, constant target
    [([1, 2, 3], [1, 2, 3], 1.0), ([2, 2, 2], [1, 2, 3], 0.0), ([3, 2, 1], [1, 2, 3], -3.0),
     ([-2, -2, -2], [-2, -2, -2], 1.0), ([-2, -2, -2 + 1e-8], [-2, -2, -2], 0.0)],
)
def test_r2_sklearn_edge_cases(pred, target, expected):
    assert ev(pred, target, "r2") == pytest.approx(expected, abs=1e-15)


# Errors d = ŷ - y of -3, -0.5, 0, 0.25, 2 (hand-derived below from the torch formulas).
D = np.array([-3.0, -0.5, 0.0, 0.25, 2.0])
T0 = np.zeros_like(D)


def test_huber_torch_formula():
    # torch huber_loss, delta=1: 0.5 d² if |d| < 1 else |d| - 0.5
    per_row = [2.5, 0.125, 0.0, 0.03125, 1.5]
    assert ev(D, T0, "huber") == pytest.approx(np.mean(per_row), rel=1e-15)
    # delta=0.5: 0.5 d² if |d| < 0.5 else 0.5 (|d| - 0.25); |d| = 0.5 is on the linear side
    per_row = [1.375, 0.125, 0.0, 0.03125, 0.875]
    assert ev(D, T0, "huber:delta=0.5") == pytest.approx(np.mean(per_row), rel=1e-15)


def test_smooth_l1_torch_formula():
    # torch smooth_l1_loss, beta=2: 0.5 d²/2 if |d| < 2 else |d| - 1
    per_row = [2.0, 0.0625, 0.0, 0.015625, 1.0]
    assert ev(D, T0, "smooth_l1:beta=2") == pytest.approx(np.mean(per_row), rel=1e-15)
    # beta=0 is L1 (torch docs)
    assert ev(D, T0, "smooth_l1:beta=0") == pytest.approx(np.mean(np.abs(D)), rel=1e-15)


def test_huber_kernel_is_the_plain_torch_form_bit_for_bit():
    # The kernel computes m·(|d| - m/2), m = min(|d|, δ), with m/2 held in m's own array and
    # doubled back; it must give the bits of the plain form torch documents (and of the
    # np.where of the two branches) for every float: subnormal, huge, ±inf, NaN, δ tiny.
    from losscli.losses.regression import huber

    rng = np.random.default_rng(7)
    n = 20_000
    scale = 10.0 ** rng.integers(-324, 308, size=n)
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 2.0 ** -1022,
                        2.0 ** -1021, 3 * 2.0 ** -1022, 1e308, -1e308, 0.5, 1.0, -1.0])
    p = np.concatenate([rng.normal(size=n) * scale, special])
    t = np.concatenate([rng.normal(size=n) * scale[::-1], np.zeros(len(special))])
    with np.errstate(all="ignore"):
        for delta in (1.0, 0.3, 2.5, 1e-300, 2.0 ** -1021, 1.5 * 2.0 ** -1021, 2.0 ** -1022,
                      5e-324, 1e300, 1.7e308, np.inf):
            for a, b in ((p, t), (t, p)):
                ad = np.abs(a - b)
                plain = np.minimum(ad, delta) * (ad - 0.5 * np.minimum(ad, delta))
                got = huber(a, b, delta=delta)
                assert np.array_equal(got.view(np.uint64), plain.view(np.uint64)), delta
                branches = np.where(ad < delta, 0.5 * ad * ad, delta * (ad - 0.5 * delta))
                ok = np.isfinite(plain) & np.isfinite(branches) & (plain > 1e-300)
                assert np.allclose(got[ok], branches[ok], rtol=1e-15, atol=0)


def test_huber_equals_delta_times_smooth_l1_with_beta_delta():
    # torch docs: huber(delta) == delta * smooth_l1(beta=delta)
    rng = np.random.default_rng(1)
    p, t = rng.normal(size=500), rng.normal(size=500)
    for delta in (0.3, 1.0, 2.5):
        assert ev(p, t, f"huber:delta={delta}") == pytest.approx(
            delta * ev(p, t, f"smooth_l1:beta={delta}"), rel=1e-13)


def test_log_cosh_values_and_overflow():
    # log(cosh(1)) = 0.43378083048302713; log(cosh(1000)) = 1000 - log 2 (cosh overflows)
    assert ev([1.0], [0.0], "log_cosh") == pytest.approx(0.43378083048302713, rel=1e-15)
    assert ev([1000.0], [0.0], "log_cosh") == pytest.approx(1000 - math.log(2), rel=1e-15)


def test_zero_one_tolerance():
    # |d| = 3, 0.5, 0, 0.25, 2: above 0.5 are 3 and 2 -> 2/5; above 0: 4/5
    assert ev(D, T0, "zero_one:tolerance=0.5") == pytest.approx(0.4)
    assert ev(D, T0, "zero_one") == pytest.approx(0.8)


def test_weighted_mean_is_sklearn_sample_weight():
    # sklearn mean_squared_error(y, p, sample_weight=w) = Σ w (y-p)² / Σ w
    w = np.array([1.0, 2.0, 0.0, 3.0])
    expected = float(np.sum(w * (A_TRUE - A_PRED) ** 2) / w.sum())
    got = losscli.evaluate(predictions=A_PRED, targets=A_TRUE, losses="mse", weights=w)["mse"]
    assert got == pytest.approx(
        expected, rel=1e-15)


def test_sum_reduction():
    assert ev(A_PRED, A_TRUE, "mse", reduction="sum") == pytest.approx(1.5)
