"""Mergeable state: exact sums, aggregates, and the State of a whole evaluation.

What is proved here: sums are exact (equal to ``math.fsum``, the correctly rounded true
sum) whatever the order and grouping of the merges; every aggregate merges exactly (the
state of two halves, merged, is the state of the whole, bit for bit) and round-trips through
JSON bit for bit; results keep their accuracy on hard data (cancellation, a large offset
under r2's variance).
"""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest

from losscli.aggregates import AGGREGATES, R2, Aggregate, Max, Mean, RootMean
from losscli.errors import InputError
from losscli.state import Cell, Coverage, Position, State
from losscli.stats.exact import ExactSum, float_from_json, float_to_json


def _random_tree_sum(parts: list[ExactSum], rng: random.Random) -> ExactSum:
    """Merge ``parts`` in a random order and a random tree shape."""
    pool = [p.copy() for p in parts]
    rng.shuffle(pool)
    while len(pool) > 1:
        i = rng.randrange(len(pool) - 1)
        a, b = pool.pop(i), pool.pop(i)
        pool.insert(rng.randrange(len(pool) + 1), a.merge(b))
    return pool[0]


def test_exact_sum_is_fsum_on_cancelling_data():
    values = [1e16, 1.0, -1e16, 1.0] * 1000 + [1e308, -1e308, 5e-324]
    s = ExactSum()
    for v in values:
        s.add(v)
    assert sum(values) != math.fsum(values)  # the naive sum is wrong here
    assert s.value == math.fsum(values)


def test_exact_sum_is_the_same_bits_for_every_merge_tree():
    rng = random.Random(0)
    # chunk sums of wildly different magnitudes and signs: a two-float sum would differ
    chunks = [rng.choice([-1, 1]) * rng.uniform(0, 1) * 10.0 ** rng.randint(-20, 20)
              for _ in range(500)]
    parts = []
    for x in chunks:
        p = ExactSum()
        p.add(x)
        parts.append(p)
    results = {_random_tree_sum(parts, rng).value.hex() for _ in range(50)}
    assert results == {math.fsum(chunks).hex()}


@pytest.mark.parametrize("values", [
    [1.5, -2.25], [math.inf], [-math.inf, 1.0], [math.inf, -math.inf], [math.nan, 1.0], [],
    [5e-324, 1e308, 1e308],  # overflows to inf when read
])
def test_exact_sum_json_round_trip(values):
    s = ExactSum()
    for v in values:
        s.add(v)
    back = ExactSum.from_json(json.loads(json.dumps(s.to_json())))
    assert back == s
    assert float_to_json(back.value) == float_to_json(s.value)


@pytest.mark.parametrize("x", [0.0, -0.0, 5e-324, 1.0 / 3, -1e308, math.inf, -math.inf,
                               math.nan, -math.nan])
def test_floats_round_trip_bit_for_bit(x):
    back = float_from_json(json.loads(json.dumps(float_to_json(x))))
    assert np.float64(back).view(np.uint64) == np.float64(x).view(np.uint64)


# --- aggregates -------------------------------------------------------------------------

CHUNKS = 12


def _chunks(kind: type[Aggregate], weighted: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(CHUNKS):
        n = int(rng.integers(1, 50))
        losses = rng.lognormal(0.0, 2.0, n) * rng.choice([-1.0, 1.0])
        losses = np.abs(losses) if kind is not Mean else losses
        w = rng.uniform(0.0, 3.0, n) if weighted else None
        target = 1e8 + rng.normal(0.0, 1.0, n)  # a large offset: r2's variance must survive
        out.append((losses, w, {"target": target}))
    return out


def _fold(kind: type[Aggregate], chunks) -> Aggregate:
    agg = kind()
    for losses, w, arrays in chunks:
        agg.update(losses, w, arrays)
    return agg


#: The aggregates of Σw·ℓ (the metric aggregates, fed class labels and scores rather than
#: per-row losses, are tested in tests/test_metrics.py).
LOSS_AGGREGATES = {k: v for k, v in AGGREGATES.items() if k in ("mean", "root_mean", "max", "r2")}


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("kind", list(LOSS_AGGREGATES.values()), ids=list(LOSS_AGGREGATES))
def test_aggregate_halves_merged_equal_the_whole_bit_for_bit(kind, weighted):
    chunks = _chunks(kind, weighted)
    whole = _fold(kind, chunks)
    for cut in (0, 1, 5, CHUNKS):
        merged = _fold(kind, chunks[:cut]).merge(_fold(kind, chunks[cut:]))
        assert merged.to_dict() == whole.to_dict()
        assert float_to_json(merged.result()) == float_to_json(whole.result())
    # and in the other order, and as a tree of single chunks
    rev = _fold(kind, chunks[6:]).merge(_fold(kind, chunks[:6]))
    assert rev.to_dict() == whole.to_dict()
    singles = [_fold(kind, [c]) for c in chunks]
    rng = random.Random(1)
    rng.shuffle(singles)
    tree = singles[0]
    for s in singles[1:]:
        tree = s.merge(tree) if rng.random() < 0.5 else tree.merge(s)
    assert tree.to_dict() == whole.to_dict()


@pytest.mark.parametrize("kind", list(LOSS_AGGREGATES.values()), ids=list(LOSS_AGGREGATES))
def test_aggregate_round_trips_through_json(kind):
    agg = _fold(kind, _chunks(kind, True, seed=3))
    back = Aggregate.from_dict(json.loads(json.dumps(agg.to_dict())))
    assert type(back) is kind and back == agg
    assert float_to_json(back.result()) == float_to_json(agg.result())


def test_mean_accuracy_against_fsum_over_many_chunks():
    # 2M values of mixed magnitude in 1000 chunks: relative error vs math.fsum <= 1e-12
    rng = np.random.default_rng(0)
    values = rng.lognormal(0.0, 3.0, 2_000_000)
    acc = Mean()
    for chunk in np.array_split(values, 1000):
        acc.update(chunk, None)
    exact = math.fsum(values.tolist())
    assert abs(acc.result("sum") - exact) / exact <= 1e-12
    assert acc.result("mean") == pytest.approx(exact / values.size, rel=1e-12)


def test_r2_keeps_the_variance_under_a_large_offset():
    # targets 1e8 + N(0, 1): sum-of-squares formulas lose every digit here
    rng = np.random.default_rng(2)
    y = 1e8 + rng.normal(0.0, 1.0, 100_000)
    pred = y + rng.normal(0.0, 0.5, y.size)
    agg = R2()
    for cy, cp in zip(np.array_split(y, 37), np.array_split(pred, 37)):
        agg.update((cp - cy) ** 2, None, {"target": cy})
    from fractions import Fraction

    ys = [Fraction(v) for v in y.tolist()]
    mean = sum(ys) / len(ys)
    exact_ss_tot = float(sum((v - mean) ** 2 for v in ys))
    assert agg.ss_tot() == pytest.approx(exact_ss_tot, rel=1e-12)
    ss_res = math.fsum(((pred - y) ** 2).tolist())
    assert agg.result() == pytest.approx(1.0 - ss_res / exact_ss_tot, rel=1e-12)


def test_root_mean_and_max():
    rm = RootMean()
    rm.update(np.array([1.0, 4.0, 4.0]), None)
    assert rm.result() == 3.0 ** 0.5 * 1.0 and not rm.per_row
    mx = Max()
    mx.update(np.array([1.0, 50.0, 2.0]), np.array([1.0, 0.0, 1.0]))
    assert mx.result() == 2.0  # rows with weight 0 do not count


def test_max_nan_wins_in_any_merge_order():
    a, b = Max(), Max()
    a.update(np.array([1.0]), None)
    b.update(np.array([np.nan]), None)
    x = Aggregate.from_dict(a.to_dict()).merge(Aggregate.from_dict(b.to_dict()))
    y = Aggregate.from_dict(b.to_dict()).merge(Aggregate.from_dict(a.to_dict()))
    assert math.isnan(x.result()) and math.isnan(y.result())


def test_empty_and_zero_weight_states_are_input_errors():
    with pytest.raises(InputError, match="No rows"):
        Mean().result()
    acc = Mean()
    acc.update(np.array([1.0, 2.0]), np.zeros(2))
    with pytest.raises(InputError, match="weights sum to 0"):
        acc.result()
    assert acc.result("sum") == 0.0


def test_merge_refuses_different_aggregates():
    with pytest.raises(ValueError):
        Mean().merge(Max())


# --- the State of an evaluation --------------------------------------------------------

def test_state_round_trips_and_merges_its_bookkeeping():
    a = State([Cell([Mean(), Max()])])
    b = State([Cell([Mean(), Max()])])
    a.cells[0].losses[0].update(np.array([1.0, 2.0]), None)
    b.cells[0].losses[0].update(np.array([3.0]), None)
    for state, rows in ((a, 2), (b, 1)):  # every loss of a cell sees the cell's rows
        state.cells[0].rows = rows
        state.cells[0].losses[1].update(np.zeros(rows), None)
    a.nonfinite.add("pred", 2, Position(0, 5))
    b.nonfinite.add("pred", 1, Position(100, 101))
    b.nonfinite.add("target", 4, Position(100, 100))
    a.note_label(0.0, Position(0, 3), 7)
    b.note_label(-1.0, Position(100, 120), 1)
    b.note_error(Position(100, 130), "bad row 130")
    a.coverage, b.coverage = [Coverage("f", 0, 100)], [Coverage("f", 100, 50)]
    merged = State.from_dict(a.to_dict()).merge(State.from_dict(b.to_dict()))
    other = State.from_dict(b.to_dict()).merge(State.from_dict(a.to_dict()))
    assert merged.to_dict() == other.to_dict()  # order does not matter
    assert merged.nonfinite.counts == {"pred": 3, "target": 4}
    assert merged.nonfinite.first["pred"] == Position(0, 5)
    assert merged.error is not None and merged.error.message == "bad row 130"
    assert [(c.first_row, c.rows) for c in merged.coverage] == [(0, 150)]  # joined
    back = State.from_dict(json.loads(json.dumps(merged.to_dict())))
    assert back.to_dict() == merged.to_dict()


def test_state_refuses_a_newer_version():
    doc = State([Cell([Mean()])]).to_dict()
    doc["state_version"] = 99
    with pytest.raises(ValueError, match="not readable"):
        State.from_dict(doc)
