"""Properties that hold for EVERY registered loss (scikit-learn's test_common idea).

Each loss is run on every task it declares (regression, binary, multiclass, embedding), on
probabilities and on logits when it takes ``from_logits``, and on class-index and
distribution targets when it accepts both; ``make_inputs`` generates valid inputs for each
case from the loss's declaration. A loss whose task has no generator fails
``test_every_loss_has_a_generator``, so a new loss cannot slip past these checks.
Properties: chunk-size invariance, row-order invariance, merge of two halves == one pass,
and scikit-learn's sample-weight semantics (no weights == all ones, integer weights ==
repeated rows, zero weight == dropped row, scaling weights changes nothing), plus NaN
propagation row by row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from losscli.api import evaluate
from losscli.execution import run
from losscli.losses.common import DISTRIBUTION_ROWS
from losscli.registry import LossSpec, all_losses
from losscli.session import Session
from losscli.spec import build_spec
from losscli.units import plan_units

N = 101
RTOL = 1e-12
CLASSES = 4


@dataclass(frozen=True)
class Case:
    """One way of running a loss: its task, logits or not, index or distribution targets."""

    spec: LossSpec
    task: str
    logits: bool = False
    distribution: bool = False

    @property
    def id(self) -> str:
        extra = ("-logits" if self.logits else "") + ("-dist" if self.distribution else "")
        return f"{self.spec.name}-{self.task}{extra}"


def _cases() -> list[Case]:
    cases = []
    for spec in all_losses().values():
        for task in spec.tasks:
            cases.append(Case(spec, task))
            if "from_logits" in spec.options and "from_logits" not in spec.implies:
                cases.append(Case(spec, task, logits=True))
            if task == "multiclass" and DISTRIBUTION_ROWS in spec.domain:
                cases.append(Case(spec, task, distribution=True))
    return cases


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def make_inputs(case: Case, rng: np.random.Generator, n: int = N) -> dict[str, np.ndarray]:
    """Valid inputs for ``case``: a dict of role -> array with ``n`` rows."""
    spec = case.spec
    logits = case.logits or bool(spec.implies.get("from_logits"))
    # Margin losses take raw scores; every other loss probabilities unless on logits.
    raw = logits or (spec.task == "classification" and not spec.options)
    if case.task == "regression":
        target = rng.normal(2.0, 3.0, n)
        pred = target + rng.normal(0.0, 1.5, n)
        if spec.domain:  # msle: values > -1; poisson_nll: rates and counts >= 0
            target, pred = np.abs(target), np.abs(pred)
            if "from_logits" in spec.options:
                target = np.round(target)  # counts
                pred = np.log(pred + 0.1) if logits else pred
        arrays = {"pred": pred, "target": target}
        if "query" in spec.aggregate.needs:  # ranking per query: graded relevance, ties
            arrays["target"] = rng.integers(0, 4, n).astype(float)
            arrays["pred"] = np.round(arrays["target"] + rng.normal(0.0, 1.5, n))
            arrays["query"] = rng.integers(0, 15, n)
        if "var" in spec.inputs:
            arrays["var"] = rng.uniform(0.05, 4.0, n)
        if "lower" in spec.inputs:  # a forecast interval around the prediction, L <= U
            half = rng.uniform(0.0, 3.0, n)
            arrays["lower"], arrays["upper"] = pred - half, pred + rng.uniform(0.0, 3.0, n)
        if "naive" in spec.inputs:  # a naive forecast: the target shifted by one
            arrays["naive"] = np.roll(target, 1) + rng.normal(0.0, 0.5, n)
        if "quantiles" in spec.inputs:  # quantile predictions at QUANTILE_LEVELS
            arrays["quantiles"] = pred[:, None] + np.sort(rng.normal(0.0, 2.0, (n, 3)), axis=1)
        return arrays
    if case.task == "binary":
        target = rng.integers(0, 2, n).astype(float)
        if spec.name in ("hinge", "exponential"):
            target = 2.0 * target - 1.0  # -1/1 labels as well as 0/1
        score = rng.normal(0.0, 2.0, n) + 1.5 * (2 * (target > 0) - 1)
        return {"pred": score if raw else 1 / (1 + np.exp(-score)), "target": target}
    if case.task == "multiclass":
        klass = rng.integers(0, CLASSES, n)
        scores = rng.normal(0.0, 1.5, (n, CLASSES))
        scores[np.arange(n), klass] += 1.0
        pred = scores if raw else _softmax(scores)
        target = (_softmax(rng.normal(0.0, 1.0, (n, CLASSES))) if case.distribution
                  else klass.astype(float))
        return {"pred": pred, "target": target}
    if case.task == "multilabel":
        target = rng.integers(0, 2, (n, CLASSES)).astype(float)
        score = rng.normal(0.0, 2.0, (n, CLASSES)) + 1.5 * (2 * target - 1)
        return {"pred": score if raw else 1 / (1 + np.exp(-score)), "target": target}
    if case.task == "embedding":
        anchor = rng.normal(0.0, 1.0, (n, 5))
        return {"anchor": anchor, "positive": anchor + rng.normal(0.0, 0.5, (n, 5)),
                "negative": anchor + rng.normal(0.0, 0.8, (n, 5))}
    raise LookupError(f"no input generator for task {case.task!r}")


CASES = _cases()
#: Roles of the forecast losses, given as columns of one table (lower/upper bounds, a naive
#: forecast, quantile predictions at QUANTILE_LEVELS).
FORECAST_ROLES = {"lower", "upper", "naive", "quantiles"}
QUANTILE_LEVELS = (0.1, 0.5, 0.9)


def _arguments(case: Case, arrays: dict[str, np.ndarray]) -> tuple[tuple, dict]:
    """``evaluate``/``prepare`` arguments for the arrays of a case."""
    kw = {"losses": [case.spec.name], "task": case.task, "from_logits": case.logits}
    if case.task == "embedding":
        return (), {**kw, "predictions": arrays["anchor"], "positive": arrays["positive"],
                    "negative": arrays["negative"]}
    if "query" in arrays:  # ranking per query: the query a column of one table
        import pandas as pd

        frame = pd.DataFrame({k: arrays[k] for k in ("pred", "target", "query")})
        return (), {**kw, "predictions": frame, "pred_col": "pred", "target_col": "target",
                    "query_col": "query"}
    if FORECAST_ROLES & set(arrays):  # forecast roles: columns of one in-memory table
        import pandas as pd

        frame = pd.DataFrame({"pred": arrays["pred"], "target": arrays["target"]})
        cols: dict[str, object] = {"pred_col": "pred", "target_col": "target"}
        for role in ("lower", "upper", "naive"):
            if role in arrays:
                frame[role] = arrays[role]
                cols[f"{role}_col"] = role
        if "quantiles" in arrays:
            for j, level in enumerate(QUANTILE_LEVELS):
                frame[f"q_{level}"] = arrays["quantiles"][:, j]
            cols["quantile_cols"] = "q_*"
        return (), {**kw, "predictions": frame, **cols}
    if "var" in arrays:
        kw["var"] = arrays["var"]
    return (), {**kw, "predictions": arrays["pred"], "targets": arrays["target"]}


def _per_query(arrays, w):
    """Weights of a ranking metric are per query (sklearn's ndcg_score): every row of a
    query gets its query's weight; other losses' weights are per row."""
    if w is None or "query" not in arrays:
        return w
    return np.asarray(w)[np.asarray(arrays["query"], dtype=int)]


def _eval(case, arrays, **kw):
    args, base = _arguments(case, arrays)
    return evaluate(*args, **base, **kw).losses[0].value


def _close(a: float, b: float) -> bool:
    return bool(np.isclose(a, b, rtol=RTOL, atol=1e-13))


@pytest.fixture(params=CASES, ids=[c.id for c in CASES])
def case(request) -> Case:
    return request.param


PER_ROW = [c for c in CASES if c.spec.per_row]  # losses with a value per row


@pytest.fixture(params=PER_ROW, ids=[c.id for c in PER_ROW])
def per_row_case(request) -> Case:
    return request.param


def test_every_loss_has_cases():
    assert {c.spec.name for c in CASES} == set(all_losses())


def test_every_loss_has_a_generator(case):
    arrays = make_inputs(case, np.random.default_rng(0))
    assert np.isfinite(_eval(case, arrays))


def test_chunk_size_invariance(case):
    arrays = make_inputs(case, np.random.default_rng(1))
    values = [_eval(case, arrays, chunk_size=c) for c in (1, 7, 64, N, 10 * N)]
    assert all(_close(v, values[0]) for v in values), values


def test_row_order_invariance(case):
    rng = np.random.default_rng(2)
    arrays = make_inputs(case, rng)
    perm = rng.permutation(N)
    shuffled = {k: v[perm] for k, v in arrays.items()}
    assert _close(_eval(case, arrays), _eval(case, shuffled))


def _state(case, arrays, weights=None):
    args, kw = _arguments(case, arrays)
    return run(Session(build_spec(*args, **kw, weights=weights, chunk_size=16)))


def test_merge_of_two_halves_equals_one_pass(case):
    rng = np.random.default_rng(3)
    arrays = make_inputs(case, rng)
    w = _per_query(arrays, rng.uniform(0.1, 2.0, N))
    for weights in (None, w):
        whole = _state(case, arrays, weights).cells[0].losses[0]
        cut = 37
        first = _state(case, {k: v[:cut] for k, v in arrays.items()},
                       None if weights is None else weights[:cut]).cells[0].losses[0]
        second = _state(case, {k: v[cut:] for k, v in arrays.items()},
                        None if weights is None else weights[cut:]).cells[0].losses[0]
        merged = first.merge(second)
        assert merged.rows == whole.rows
        assert _close(merged.result(), whole.result())
        if case.spec.per_row:
            assert _close(merged.result("sum"), whole.result("sum"))


def test_state_of_two_halves_merged_is_the_state_of_the_whole_bit_for_bit(case):
    # cut on a unit boundary of the whole (units of at most 4 chunks of 16): the same chunks
    # either way, so the merged state must be identical, and identical again after a JSON
    # round trip
    import json

    from losscli.state import State

    rng = np.random.default_rng(10)
    arrays = make_inputs(case, rng)
    w = _per_query(arrays, rng.uniform(0.1, 2.0, N))
    args, kw = _arguments(case, arrays)
    units = plan_units(Session(build_spec(*args, **kw, chunk_size=16)))
    assert len(units) == 2
    cut = units[1].start
    for weights in (None, w):
        whole = _state(case, arrays, weights)
        first = _state(case, {k: v[:cut] for k, v in arrays.items()},
                       None if weights is None else weights[:cut])
        second = _state(case, {k: v[cut:] for k, v in arrays.items()},
                        None if weights is None else weights[cut:])
        for merged in (State.from_dict(first.to_dict()).merge(second),
                       State.from_dict(second.to_dict()).merge(first)):
            assert merged.cells[0].to_dict() == whole.cells[0].to_dict()
        back = State.from_dict(json.loads(json.dumps(whole.to_dict())))
        assert back.to_dict() == whole.to_dict()
        agg, agg_back = whole.cells[0].losses[0], back.cells[0].losses[0]
        assert agg_back.result().hex() == agg.result().hex()


def test_no_weights_equals_unit_weights(case):
    arrays = make_inputs(case, np.random.default_rng(4))
    assert _close(_eval(case, arrays), _eval(case, arrays, weights=np.ones(N)))


def test_integer_weights_equal_repeated_rows(case):
    if "query" in case.spec.aggregate.needs:
        pytest.skip("a ranking metric's weight is per query (sklearn's ndcg_score): a "
                    "repeated row is another item of the query, not a repeated query")
    rng = np.random.default_rng(5)
    arrays = make_inputs(case, rng)
    counts = rng.integers(0, 4, N)
    counts[0] = 1  # at least one row kept
    repeated = {k: np.repeat(v, counts, axis=0) for k, v in arrays.items()}
    assert _close(_eval(case, arrays, weights=counts.astype(float)), _eval(case, repeated))


def test_zero_weight_equals_dropped_row(case):
    rng = np.random.default_rng(6)
    arrays = make_inputs(case, rng)
    w = rng.uniform(0.5, 2.0, N)
    w[::5] = 0.0
    w = _per_query(arrays, w)
    keep = w > 0
    kept = {k: v[keep] for k, v in arrays.items()}
    assert _close(_eval(case, arrays, weights=w), _eval(case, kept, weights=w[keep]))


def test_scaling_weights_changes_nothing(case):
    rng = np.random.default_rng(7)
    arrays = make_inputs(case, rng)
    w = _per_query(arrays, rng.uniform(0.5, 2.0, N))
    assert _close(_eval(case, arrays, weights=w), _eval(case, arrays, weights=1000.0 * w))


def test_sum_is_weighted_sum_of_per_row_values(per_row_case):
    case = per_row_case
    rng = np.random.default_rng(8)
    arrays = make_inputs(case, rng)
    w = rng.uniform(0.5, 2.0, N)
    args, kw = _arguments(case, arrays)
    per_row = evaluate(*args, **kw, weights=w, reduction="none").per_row
    assert per_row is not None
    total = _eval(case, arrays, weights=w, reduction="sum")
    (label,) = [k for k in per_row if k != "row"]
    np.testing.assert_array_equal(per_row["row"], np.arange(N))
    assert _close(float(np.sum(per_row[label])), total)
    assert _close(total / w.sum(), _eval(case, arrays, weights=w))


def test_nan_propagates_to_its_row_only(per_row_case):
    case = per_row_case
    rng = np.random.default_rng(9)
    arrays = make_inputs(case, rng)
    args, kw = _arguments(case, arrays)
    clean = evaluate(*args, **kw, reduction="none").per_row
    for role in [r for r in arrays if r in case.spec.inputs]:  # the roles the loss reads
        dirty = {k: v.copy() for k, v in arrays.items()}
        dirty[role][3] = np.nan  # the whole row for 1-D, one value of it for 2-D
        args, kw = _arguments(case, dirty)
        rows = evaluate(*args, **kw, reduction="none", nan_policy="propagate").per_row
        (label,) = [k for k in rows if k != "row"]
        assert np.isnan(rows[label][3]), role
        keep = np.arange(N) != 3
        np.testing.assert_array_equal(rows[label][keep], clean[label][keep])
