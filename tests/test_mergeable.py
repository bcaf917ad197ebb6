"""Every part of an evaluation's state keeps the one contract of
:class:`losscli.stats.mergeable.Mergeable`: ``merge`` folds in place and returns self, is
commutative and associative to the bit, and ``to_dict``/``from_dict`` round-trip through
JSON. Checked on generated parts of every kind (three parts of random rows, weights with
zeros, ties, and non-finite values where a part accepts them)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from losscli.aggregates import AGGREGATES, Aggregate
from losscli.state import Cell, Coverage, Fingerprint, NonFinite, Position, State
from losscli.state_parts import PARTS
from losscli.stats.calibration import CalibrationError
from losscli.stats.confusion import ConfusionMatrix, MultilabelHamming
from losscli.stats.exact import ExactProducts, ExactSum
from losscli.stats.intervals import Moments
from losscli.stats.joins import JoinState
from losscli.stats.keyed import KeyedSums
from losscli.stats.mergeable import Mergeable
from losscli.stats.one_vs_rest import OneVsRest
from losscli.stats.ranking import BinnedRanking, Ranking
from losscli.stats.resample import BootstrapSums
from losscli.stats.sketch import QuantileSketch
from losscli.uncertainty import CIConfig, Uncertainty, flush_bootstrap

Rng = np.random.Generator


def _weights(rng: Rng, n: int) -> np.ndarray | None:
    """None (unweighted) or weights with some zeros."""
    if rng.random() < 0.4:
        return None
    w = rng.choice([0.0, 0.5, 1.0, 2.25, 3.0], n)
    return w * rng.uniform(0.5, 2.0)


def _values(rng: Rng, n: int) -> np.ndarray:
    """Values of mixed magnitude and sign, with ties."""
    v = rng.normal(0.0, 10.0 ** rng.integers(-3, 4), n)
    v[rng.random(n) < 0.2] = 1.0
    return v


def _exact_sum(rng: Rng, n: int, k: int) -> ExactSum:
    out = ExactSum()
    for x in _values(rng, n):
        out.add(float(x))
    if rng.random() < 0.1:
        out.add(float(rng.choice([np.inf, -np.inf, np.nan])))
    return out


def _products(rng: Rng, n: int, k: int) -> ExactProducts:
    out = ExactProducts(2)
    for a, b in zip(_values(rng, n), _values(rng, n)):
        out.add(float(a), float(b))
    return out


def _confusion(rng: Rng, n: int, k: int) -> ConfusionMatrix:
    out = ConfusionMatrix(3)
    out.update(rng.integers(0, 3, n), rng.integers(0, 3, n), _weights(rng, n))
    return out


def _hamming(rng: Rng, n: int, k: int) -> MultilabelHamming:
    out = MultilabelHamming(3)
    out.update(rng.integers(0, 2, (n, 3)), rng.integers(0, 2, (n, 3)), _weights(rng, n))
    return out


def _calibration(rng: Rng, n: int, k: int) -> CalibrationError:
    out = CalibrationError(10, "binary")
    out.update(rng.uniform(0, 1, n).round(2), rng.integers(0, 2, n), _weights(rng, n))
    return out


def _moments(rng: Rng, n: int, k: int) -> Moments:
    out = Moments()
    out.update(_values(rng, n), _weights(rng, n))
    return out


def _keyed(rng: Rng, n: int, k: int) -> KeyedSums:
    out = KeyedSums(2)
    out.add(rng.integers(-5, 6, n), np.abs(np.column_stack([_values(rng, n), _values(rng, n)])))
    return out


def _ranking(rng: Rng, n: int, k: int) -> Ranking:
    out = Ranking()
    out.update(rng.uniform(0, 1, n).round(1), rng.integers(0, 2, n), _weights(rng, n))
    return out


def _binned(rng: Rng, n: int, k: int) -> BinnedRanking:
    out = BinnedRanking(16)
    out.update(rng.uniform(0, 1, n), rng.integers(0, 2, n), _weights(rng, n))
    return out


def _one_vs_rest(rng: Rng, n: int, k: int) -> OneVsRest:
    out = OneVsRest(3)
    out.update(rng.dirichlet(np.ones(3), n).round(2), rng.integers(0, 3, n), _weights(rng, n))
    return out


def _bootstrap(rng: Rng, n: int, k: int) -> BootstrapSums:
    out = BootstrapSums(40, 7)
    out.update(np.arange(n, dtype=np.int64) + 1000 * k, _values(rng, n), _weights(rng, n))
    return out


def _sketch(rng: Rng, n: int, k: int) -> QuantileSketch:
    out = QuantileSketch(0.05, max_buckets=32)
    out.update(_values(rng, n), _weights(rng, n))
    return out


def _uncertainty_of(method: str) -> Callable[[Rng, int, int], Uncertainty]:
    def build(rng: Rng, n: int, k: int) -> Uncertainty:
        out = Uncertainty("mean", CIConfig(replicates=40), aggregate="mean", method=method)
        out.update(_values(rng, n), _weights(rng, n), np.arange(n, dtype=np.int64) + 1000 * k)
        flush_bootstrap([out])
        return out

    return build


def _aggregate_of(name: str) -> Callable[[Rng, int, int], Aggregate]:
    """An aggregate of kind ``name`` fed what its losses give it."""
    def build(rng: Rng, n: int, k: int) -> Aggregate:
        agg = AGGREGATES[name]()
        target = rng.integers(0, 2, n).astype(np.float64)
        values = {"confusion": lambda: rng.integers(0, 2, n).astype(np.float64),
                  "ranking": lambda: rng.uniform(0, 1, n).round(1),
                  "calibration": lambda: rng.uniform(0, 1, n).round(2),
                  "class_cost": lambda: rng.uniform(0, 1, (n, 3)).round(1)}.get(
            name, lambda: np.abs(_values(rng, n)))()
        # every other input the kind reads (mase's naive forecast): values of its own
        others = {r: _values(rng, n) for r in type(agg).needs if r != "target"}
        weights = _weights(rng, n)
        if "query" in type(agg).needs:  # ranking per query: parts share queries, whose
            query = rng.integers(0, 4, n)  # weight is one per query
            others = {"query": query}
            target = rng.integers(0, 3, n).astype(np.float64)
            weights = None if weights is None else 0.5 + query % 3
        agg.update(values, weights, {"target": target, **others})
        return agg

    return build


def _nonfinite(rng: Rng, n: int, k: int) -> NonFinite:
    out = NonFinite()
    for role in ("prediction", "target"):
        if rng.random() < 0.6:
            row = 1000 * k + int(rng.integers(0, 999))
            out.add(role, int(rng.integers(1, 5)), Position(1000 * k, row))
    return out


def _fingerprint(rng: Rng, n: int, k: int) -> Fingerprint:
    out = Fingerprint()
    out.add(int(rng.integers(0, 1 << 63)) * 2, n)
    return out


def _join(rng: Rng, n: int, k: int) -> JoinState:
    out = JoinState(24, rng.integers(0, 2, 24).astype(np.uint8))
    out.unmatched = int(rng.integers(0, 4))
    out.first_unmatched = [(1000 * k + i, f"key{i}") for i in range(min(out.unmatched, 3))]
    return out


def _cell(rng: Rng, n: int, k: int) -> Cell:
    losses = [_aggregate_of("mean")(rng, n, k), _aggregate_of("r2")(rng, n, k)]
    sketches: list[QuantileSketch | None] = [QuantileSketch(0.05), None]
    assert sketches[0] is not None
    sketches[0].update(np.full(n, 1.5))
    return Cell(losses, n, int(rng.integers(0, 3)), sketches=sketches)


def _state(rng: Rng, n: int, k: int) -> State:
    state = State([_cell(rng, n, k)], _nonfinite(rng, n, k),
                  coverage=[Coverage("a.csv", 100 * k, 100)],
                  fingerprint=_fingerprint(rng, n, k), join=_join(rng, n, k))
    state.groups = {("g", int(g)): [_cell(rng, n, k)] for g in rng.integers(0, 3, 2)}
    if rng.random() < 0.5:
        state.note_error(Position(1000 * k, 1000 * k + 1), f"error in part {k}")
    state.note_label(0.0, Position(1000 * k, 1000 * k + 2), 1)
    return state


#: A builder of a random part of every kind the state holds: ``build(rng, rows, k)`` (k:
#: which of the three parts, so that row numbers of different parts differ).
BUILDERS: dict[str, Callable[[Rng, int, int], Any]] = {
    "ExactSum": _exact_sum, "ExactProducts": _products, "ConfusionMatrix": _confusion,
    "MultilabelHamming": _hamming, "CalibrationError": _calibration, "Moments": _moments,
    "KeyedSums": _keyed, "Ranking": _ranking, "BinnedRanking": _binned,
    "OneVsRest": _one_vs_rest, "BootstrapSums": _bootstrap, "QuantileSketch": _sketch,
    "Uncertainty:analytic": _uncertainty_of("analytic"),
    "Uncertainty:bootstrap": _uncertainty_of("bootstrap"), "NonFinite": _nonfinite,
    "Fingerprint": _fingerprint,    "JoinState": _join, "Cell": _cell, "State": _state,
    **{f"aggregate:{name}": _aggregate_of(name) for name in AGGREGATES},
}


def _json(part: Any) -> str:
    return json.dumps(part.to_dict(), sort_keys=True)


def _three(kind: str, seed: int, sizes: list[int]) -> list[Any]:
    rng = np.random.default_rng(seed)
    return [BUILDERS[kind](rng, n, k) for k, n in enumerate(sizes)]


_PARTS = dict(seed=st.integers(0, 2**32 - 1),
              sizes=st.lists(st.integers(0, 30), min_size=3, max_size=3))


@pytest.mark.parametrize("kind", sorted(BUILDERS))
@settings(max_examples=10, deadline=None, derandomize=True)
@given(**_PARTS)
def test_every_part_round_trips_through_json(kind, seed, sizes):
    for part in _three(kind, seed, sizes):
        assert isinstance(part, Mergeable)
        back = type(part).from_dict(json.loads(_json(part)))
        assert type(back) is type(part)
        assert _json(back) == _json(part)


@pytest.mark.parametrize("kind", sorted(BUILDERS))
@settings(max_examples=12, deadline=None, derandomize=True)
@given(**_PARTS)
def test_merge_is_in_place_commutative_and_associative(kind, seed, sizes):
    a, b, c = _three(kind, seed, sizes)

    def merged(*parts: Any) -> Any:
        head, *rest = [copy.deepcopy(p) for p in parts]
        for p in rest:
            assert head.merge(p) is head  # in place, returning self
        return head

    ab_c = merged(a, b, c)
    a_bc = merged(a, merged(b, c))
    assert _json(ab_c) == _json(a_bc)
    if not getattr(type(a), "ordered", False):  # mase:season_length merges in row order
        assert _json(merged(merged(c, b), a)) == _json(ab_c)
    # a merged part round-trips too, and merging parts read back gives the same bits
    read = [type(p).from_dict(json.loads(_json(p))) for p in (a, b, c)]
    assert _json(merged(*read)) == _json(ab_c)


def test_every_kind_of_part_is_generated():
    # state_parts.PARTS lists the parts a state is made of (a new aggregate kind joins it by being
    # defined): each must have a builder above
    assert {"mean", "root_mean", "max", "r2", "confusion", "ranking", "calibration"} <= set(
        AGGREGATES)
    rng = np.random.default_rng(0)
    built = {type(build(rng, 3, 0)) for build in BUILDERS.values()}
    assert set(PARTS) - {Aggregate} <= built


def test_a_metric_aggregate_saved_with_a_total_is_still_read():
    # metric aggregates wrote Σw·ℓ ("total": always 0) before they stopped keeping one
    agg = _aggregate_of("confusion")(np.random.default_rng(0), 20, 0)
    old = {**agg.to_dict(), "total": "0x0"}
    assert _json(Aggregate.from_dict(old)) == _json(agg)
    assert Aggregate.from_dict(old).result() == agg.result()


def test_a_cell_merges_each_declared_part_by_its_declaration():
    rng = np.random.default_rng(1)

    def cell() -> Cell:
        c = _cell(rng, 10, 0)
        c.calibration = _calibration(rng, 10, 0)
        return c

    # a part for pictures (calibration) merged with a cell without it is dropped
    a, b = cell(), cell()
    b.calibration = None
    assert a.merge(b).calibration is None and "calibration" not in a.to_dict()
    # a result part (distributions) present on one side only is an error, either way round
    without = cell()
    without.sketches = None
    with pytest.raises(ValueError, match="with and without distributions"):
        cell().merge(without)
    with pytest.raises(ValueError, match="with and without distributions"):
        without.merge(cell())
    # loss lists of different lengths do not merge
    short = cell()
    short.losses = short.losses[:1]
    with pytest.raises(ValueError, match="different loss lists"):
        cell().merge(short)
