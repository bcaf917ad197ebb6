"""The accumulator: compensated sums, mergeable moments, aggregates, and accuracy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from losscli.accumulate import Accumulator, CompensatedSum, Moments
from losscli.errors import InputError


def test_compensated_sum_recovers_what_naive_summation_loses():
    values = [1e16, 1.0, -1e16, 1.0] * 1000
    s = CompensatedSum()
    for v in values:
        s.add(v)
    assert sum(values) != math.fsum(values)  # the naive sum is wrong here
    assert s.value == math.fsum(values) == 2000.0


def test_accuracy_against_fsum_over_many_chunks():
    # 2M values of mixed magnitude in 1000 chunks: relative error vs math.fsum <= 1e-12
    rng = np.random.default_rng(0)
    values = rng.lognormal(0.0, 3.0, 2_000_000)
    acc = Accumulator()
    for chunk in np.array_split(values, 1000):
        acc.update(chunk, None)
    exact = math.fsum(values.tolist())
    assert abs(acc.result("sum") - exact) / exact <= 1e-12
    assert acc.result("mean") == pytest.approx(exact / values.size, rel=1e-12)


def test_moments_merge_matches_one_pass():
    rng = np.random.default_rng(1)
    x, w = rng.normal(5.0, 2.0, 1000), rng.uniform(0.0, 3.0, 1000)
    whole = Moments()
    whole.update(x, w)
    parts = Moments()
    for cx, cw in zip(np.array_split(x, 7), np.array_split(w, 7)):
        part = Moments()
        part.update(cx, cw)
        parts.merge(part)
    mean = np.sum(w * x) / w.sum()
    assert whole.mean == pytest.approx(mean, rel=1e-13)
    assert parts.mean == pytest.approx(mean, rel=1e-13)
    assert parts.m2 == pytest.approx(np.sum(w * (x - mean) ** 2), rel=1e-12)


def test_max_ignores_zero_weight_rows():
    acc = Accumulator("max")
    acc.update(np.array([1.0, 50.0, 2.0]), np.array([1.0, 0.0, 1.0]))
    assert acc.result() == 2.0


def test_empty_and_zero_weight_states_are_input_errors():
    with pytest.raises(InputError, match="No rows"):
        Accumulator().result()
    acc = Accumulator()
    acc.update(np.array([1.0, 2.0]), np.zeros(2))
    with pytest.raises(InputError, match="weights sum to 0"):
        acc.result()
    assert acc.result("sum") == 0.0


def test_merge_refuses_different_aggregates():
    with pytest.raises(ValueError):
        Accumulator("mean").merge(Accumulator("max"))
