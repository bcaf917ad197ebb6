"""Properties that hold for EVERY registered loss (scikit-learn's test_common idea).

Each loss gets inputs from ``make_inputs``, chosen by its declared task and domain; a loss
whose task has no generator fails ``test_every_loss_has_a_generator``, so a new loss cannot
slip past these checks. Properties: chunk-size invariance, row-order invariance, merge of
two halves == one pass, and scikit-learn's sample-weight semantics (no weights == all ones,
integer weights == repeated rows, zero weight == dropped row, scaling weights changes
nothing).
"""

from __future__ import annotations

import numpy as np
import pytest

from losscli import engine
from losscli.api import evaluate, prepare
from losscli.registry import LossSpec, all_losses

N = 101
RTOL = 1e-12


def make_inputs(spec: LossSpec, rng: np.random.Generator, n: int = N) -> dict[str, np.ndarray]:
    """Valid inputs for ``spec``: a dict of role -> array with ``n`` rows."""
    if spec.task == "regression":
        target = rng.normal(2.0, 3.0, n)
        pred = target + rng.normal(0.0, 1.5, n)
        if spec.domain:  # msle: values > -1
            target, pred = np.abs(target), np.abs(pred)
        return {"pred": pred, "target": target}
    raise LookupError(f"no input generator for task {spec.task!r}")


LOSSES = sorted(all_losses())


def _eval(spec, arrays, **kw):
    return evaluate(arrays["pred"], arrays["target"], losses=[spec.name],
                    **{k: v for k, v in kw.items()}).losses[0].value


def _close(a: float, b: float) -> bool:
    return bool(np.isclose(a, b, rtol=RTOL, atol=1e-13))


@pytest.fixture(params=LOSSES)
def spec(request) -> LossSpec:
    return all_losses()[request.param]


def test_every_loss_has_a_generator(spec):
    make_inputs(spec, np.random.default_rng(0))


def test_chunk_size_invariance(spec):
    arrays = make_inputs(spec, np.random.default_rng(1))
    values = [_eval(spec, arrays, chunk_size=c) for c in (1, 7, 64, N, 10 * N)]
    assert all(_close(v, values[0]) for v in values), values


def test_row_order_invariance(spec):
    rng = np.random.default_rng(2)
    arrays = make_inputs(spec, rng)
    perm = rng.permutation(N)
    shuffled = {k: v[perm] for k, v in arrays.items()}
    assert _close(_eval(spec, arrays), _eval(spec, shuffled))


def _state(spec, arrays, weights=None):
    inputs, instances = prepare(arrays["pred"], arrays["target"], losses=[spec.name],
                                weights=weights)
    return engine.run(inputs.batches(16), instances, describe=inputs.describe)


def test_merge_of_two_halves_equals_one_pass(spec):
    rng = np.random.default_rng(3)
    arrays = make_inputs(spec, rng)
    w = rng.uniform(0.1, 2.0, N)
    for weights in (None, w):
        whole = _state(spec, arrays, weights).accumulators[0]
        cut = 37
        first = _state(spec, {k: v[:cut] for k, v in arrays.items()},
                       None if weights is None else weights[:cut]).accumulators[0]
        second = _state(spec, {k: v[cut:] for k, v in arrays.items()},
                        None if weights is None else weights[cut:]).accumulators[0]
        merged = first.merge(second)
        assert merged.rows == whole.rows
        assert _close(merged.result(), whole.result())
        if spec.per_row:
            assert _close(merged.result("sum"), whole.result("sum"))


def test_no_weights_equals_unit_weights(spec):
    arrays = make_inputs(spec, np.random.default_rng(4))
    assert _close(_eval(spec, arrays), _eval(spec, arrays, weights=np.ones(N)))


def test_integer_weights_equal_repeated_rows(spec):
    rng = np.random.default_rng(5)
    arrays = make_inputs(spec, rng)
    counts = rng.integers(0, 4, N)
    counts[0] = 1  # at least one row kept
    repeated = {k: np.repeat(v, counts, axis=0) for k, v in arrays.items()}
    assert _close(_eval(spec, arrays, weights=counts.astype(float)), _eval(spec, repeated))


def test_zero_weight_equals_dropped_row(spec):
    rng = np.random.default_rng(6)
    arrays = make_inputs(spec, rng)
    w = rng.uniform(0.5, 2.0, N)
    w[::5] = 0.0
    keep = w > 0
    kept = {k: v[keep] for k, v in arrays.items()}
    assert _close(_eval(spec, arrays, weights=w), _eval(spec, kept, weights=w[keep]))


def test_scaling_weights_changes_nothing(spec):
    rng = np.random.default_rng(7)
    arrays = make_inputs(spec, rng)
    w = rng.uniform(0.5, 2.0, N)
    assert _close(_eval(spec, arrays, weights=w), _eval(spec, arrays, weights=1000.0 * w))


def test_sum_is_weighted_sum_of_per_row_values(spec):
    if not spec.per_row:
        pytest.skip(f"{spec.name} has no per-row value")
    rng = np.random.default_rng(8)
    arrays = make_inputs(spec, rng)
    w = rng.uniform(0.5, 2.0, N)
    per_row = evaluate(arrays["pred"], arrays["target"], losses=[spec.name], weights=w,
                       reduction="none").per_row
    assert per_row is not None
    total = _eval(spec, arrays, weights=w, reduction="sum")
    (label,) = [k for k in per_row if k != "row"]
    np.testing.assert_array_equal(per_row["row"], np.arange(N))
    assert _close(float(np.sum(per_row[label])), total)
    assert _close(total / w.sum(), _eval(spec, arrays, weights=w))
