"""The scan's shared work (issue 21, "the scan"): ``pred - target`` computed once per chunk
for every loss of the residual alone (``LossSpec.of_residual``), the one finite check per
chunk that the residual serves too, and the fingerprint that skips its own NaN pass once
the chunk is known finite — each giving exactly what the kernels and the old passes gave:
the residual forms bit for bit, the engine's states equal with and without them, the
NaN/inf error naming file, column and row, and the fingerprint equal to the splitmix64
formula computed here in plain Python integers.
"""

from __future__ import annotations

import json
import struct
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from losscli import engine
from losscli.fingerprint import RowHasher
from losscli.io.inputs import Batch
from losscli.registry import all_losses, resolve_losses
from losscli.tasks import bind_options
from tests.conftest import run_losscli

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

#: Every loss declaring a residual form, with parameters that take each branch
#: (huber's δ below 2**-1021 keeps its plain form; smooth_l1's β = 0 is L1).
RESIDUAL_LOSSES = sorted(name for name, spec in all_losses().items()
                         if spec.of_residual is not None)
PARAMETERS = {"huber": [{}, {"delta": 0.5}, {"delta": 2.0 ** -1022}, {"delta": 1e300}],
              "smooth_l1": [{}, {"beta": 0.0}, {"beta": 3.0}]}

#: Values a residual can meet: zeros of both signs, subnormals, huge values whose
#: difference overflows, infinities and NaN.
SPECIAL = [0.0, -0.0, 5e-324, -5e-324, 2.0 ** -1022, 1e-160, 1.5, -2.5, 1e308, -1e308,
           np.inf, -np.inf, np.nan]
floats = st.one_of(st.sampled_from(SPECIAL), st.floats(allow_nan=True, allow_infinity=True))


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64).view(np.uint64)


def test_the_losses_of_the_residual_declare_it():
    assert {"mse", "rmse", "r2", "mae", "max_error", "median_absolute_error", "huber",
            "smooth_l1", "log_cosh"} <= set(RESIDUAL_LOSSES)


@SETTINGS
@given(st.integers(1, 40).flatmap(lambda n: st.tuples(
    arrays(np.float64, n, elements=floats), arrays(np.float64, n, elements=floats))))
def test_each_residual_form_is_its_kernel_bit_for_bit(pair):
    pred, target = pair
    with np.errstate(all="ignore"):
        d = np.subtract(pred, target)
        for name in RESIDUAL_LOSSES:
            spec = all_losses()[name]
            for params in PARAMETERS.get(name, [{}]):
                before = d.copy()
                got = spec.of_residual(d, **params)
                want = spec.kernel(pred, target, **params)
                assert np.array_equal(_bits(got), _bits(want)), (name, params)
                assert np.array_equal(_bits(d), _bits(before)), f"{name} changed its input"
                assert got is not d


def test_residual_forms_of_several_outputs_per_row():
    rng = np.random.default_rng(3)
    pred, target = rng.normal(size=(200, 3)), rng.normal(size=(200, 3))
    for name in RESIDUAL_LOSSES:
        spec = all_losses()[name]
        assert np.array_equal(spec.of_residual(pred - target), spec.kernel(pred, target)), name


def _plan(losses, *, residual: bool, **options) -> engine.Plan:
    instances = bind_options(resolve_losses(losses, {}), "regression", from_logits=False)
    if not residual:  # the same losses through their kernels alone
        instances = [replace(inst, spec=replace(inst.spec, of_residual=None))
                     for inst in instances]
    return engine.Plan(tuple(instances), **options)


def _results(state) -> list:
    return [[agg.to_dict() for agg in cell.losses] for cell in state.cells]


LOSSES = ["mse", "mae", "huber", "huber:delta=0.25", "rmse", "r2", "max_error",
          "median_absolute_error", "smooth_l1", "log_cosh", "mape", "quantile"]


@pytest.mark.parametrize("policy", ["raise", "omit", "propagate"])
@pytest.mark.parametrize("weighted", [False, True])
def test_the_engine_gives_the_same_state_with_and_without_the_shared_residual(policy,
                                                                            weighted):
    rng = np.random.default_rng(21)
    n = 3000
    pred, target = rng.normal(size=n) * 3, rng.normal(size=n) * 3
    target[::50] = -0.0
    if policy != "raise":
        pred[7], target[1234], pred[2000], target[2000] = np.nan, np.inf, np.inf, np.inf
    arrays_ = {"pred": pred, "target": target}
    if weighted:
        arrays_["weight"] = rng.random(n)
    batches = [Batch(a, {k: v[a:a + 700] for k, v in arrays_.items()}) for a in range(0, n, 700)]
    with np.errstate(all="ignore"):
        shared = engine.reduce(batches, _plan(LOSSES, residual=True, nan_policy=policy))
        alone = engine.reduce(batches, _plan(LOSSES, residual=False, nan_policy=policy))
    assert _results(shared) == _results(alone)
    assert shared.fingerprint == alone.fingerprint and shared.fingerprint is not None
    assert shared.nonfinite.counts == alone.nonfinite.counts
    assert [c.rows for c in shared.cells] == [c.rows for c in alone.cells]


def test_compared_models_each_get_their_own_residual():
    rng = np.random.default_rng(5)
    target = rng.normal(size=1000)
    arrays_ = {"pred": target + rng.normal(size=1000), "pred#1": target * 2,
               "target": target}
    batches = [Batch(0, {k: v[:600] for k, v in arrays_.items()}),
               Batch(600, {k: v[600:] for k, v in arrays_.items()})]
    shared = engine.reduce(batches, _plan(["mse", "mae"], residual=True, models=2))
    alone = engine.reduce(batches, _plan(["mse", "mae"], residual=False, models=2))
    assert _results(shared) == _results(alone)
    assert shared.cells[1].losses[0].result() == pytest.approx(np.mean(target ** 2), rel=1e-12)


# --- through the command ---------------------------------------------------------------

def _write(path, **columns):
    pq.write_table(pa.table(columns), path)
    return path


def _eval(path, *args: str) -> dict:
    r = run_losscli("eval", path, "-l", "mse", "-l", "mae", "-l", "huber", "-f", "json", *args)
    assert r.returncode == 0, r.stderr.decode()
    return json.loads(r.stdout)


@pytest.mark.parametrize("where, bad, first, count, more", [
    ("pred", {"pred": [(3, np.nan)]}, 3, 1, ""),
    ("target", {"target": [(5, np.inf), (9, -np.inf)]}, 5, 2, ""),
    # inf - inf is a NaN in the residual: still reported as the inputs' own values
    ("pred", {"pred": [(2, np.inf)], "target": [(2, np.inf), (6, np.nan)]}, 2, 1,
     ", and 2 more in other columns"),
])
def test_a_nan_or_inf_is_named_by_file_column_and_row(tmp_path, where, bad, first, count,
                                                      more):
    rng = np.random.default_rng(1)
    columns = {"pred": rng.normal(size=12), "target": rng.normal(size=12)}
    for role, cells in bad.items():
        for row, value in cells:
            columns[role][row] = value
    path = _write(tmp_path / "bad.parquet", **columns)
    r = run_losscli("eval", path, "-l", "mse", "-l", "mae", "-l", "huber", "-f", "json")
    assert r.returncode == 2 and r.stdout == b""
    lines = r.stderr.decode().strip().splitlines()
    assert lines == [
        f"losscli: error: column '{where}' of '{path}' has {count} NaN/inf "
        f"value{'s' if count > 1 else ''} (first at row {first}){more}. Clean the data, or "
        "use --nan-policy omit to skip those rows (or propagate to let NaN through)."]


def test_finite_values_whose_difference_overflows_are_not_an_error(tmp_path):
    """1e308 - (-1e308) overflows to inf: the residual's sum is no proof either way, the
    values themselves are looked at, found finite, and the losses are infinite (null)."""
    path = _write(tmp_path / "big.parquet", pred=[1e308, 1.0, 2.0], target=[-1e308, 0.5, 2.5])
    doc = _eval(path)
    assert [e["value"] for e in doc["losses"]] == [None, None, None]
    assert doc["rows"] == 3


# --- the fingerprint ---------------------------------------------------------------------

_MASK = (1 << 64) - 1
_SEED = 0x9E3779B97F4A7C15


def _mix(z: int) -> int:
    z ^= z >> 30
    z = (z * 0xBF58476D1CE4E5B9) & _MASK
    z ^= z >> 27
    z = (z * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def _word(x: float) -> int:
    if x != x:
        x = float("nan")  # every NaN alike
    return int(struct.unpack("<Q", struct.pack("<d", x + 0.0))[0])  # -0.0 as 0.0


def reference_digest(target: np.ndarray, weight: np.ndarray | None = None) -> int:
    """The fingerprint's definition, one row at a time in Python integers: ``h =
    mix(bits(w) ^ SEED)`` (w = 1 without weights), then ``h = mix(h ^ bits(t_j))`` for each
    value of the row; the digest is the sum of the rows' ``h`` mod 2^64."""
    rows = target.reshape(len(target), -1)
    total = 0
    for i, row in enumerate(rows):
        h = _mix(_word(1.0 if weight is None else float(weight[i])) ^ _SEED)
        for value in row:
            h = _mix(h ^ _word(float(value)))
        total = (total + h) & _MASK
    return total


@SETTINGS
@given(st.integers(1, 30).flatmap(lambda n: st.tuples(
    arrays(np.float64, st.sampled_from([(n,), (n, 3)]), elements=floats),
    st.one_of(st.none(), arrays(np.float64, n, elements=st.sampled_from(
        [0.0, -0.0, 0.5, 1.0, 2.0, np.nan, 1e300]))))))
def test_the_fingerprint_is_its_formula(case):
    target, weight = case
    hasher = RowHasher()
    assert hasher.sum(target, weight) == reference_digest(target, weight)
    finite = bool(np.isfinite(target).all() and (weight is None or np.isfinite(weight).all()))
    if finite:  # the engine's finite check spares the NaN pass: the same digest
        assert hasher.sum(target, weight, finite=True) == reference_digest(target, weight)


def _digest_np(target: np.ndarray, weight: np.ndarray | None = None) -> int:
    """:func:`reference_digest` vectorised (numpy, written apart from RowHasher)."""
    def word(x: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(x), np.nan, x + 0.0).view(np.uint64)

    def mix(z: np.ndarray) -> np.ndarray:
        z = z ^ (z >> np.uint64(30))
        z = z * np.uint64(0xBF58476D1CE4E5B9)
        z = z ^ (z >> np.uint64(27))
        z = z * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))

    w = np.ones(len(target)) if weight is None else weight
    h = mix(word(w) ^ np.uint64(_SEED))
    for column in target.reshape(len(target), -1).T:
        h = mix(h ^ word(column))
    return int(h.sum(dtype=np.uint64))


def test_the_reports_fingerprint_is_its_formula(tmp_path):
    """Through the command, in chunks and units: the digest of the formula over all rows."""
    rng = np.random.default_rng(8)
    n = 700_000  # two row groups, three chunks and a part
    pred, target, weight = rng.normal(size=n), rng.normal(size=n), rng.random(n)
    target[::1000], target[5::1000], weight[::777] = -0.0, 0.0, 0.0
    path = tmp_path / "w.parquet"
    pq.write_table(pa.table({"pred": pred, "target": target, "weight": weight}), path,
                   row_group_size=400_000)
    sample = slice(0, n, 997)  # the numpy reference is the formula's (Python integers)
    assert _digest_np(target[sample], weight[sample]) == reference_digest(target[sample],
                                                                          weight[sample])
    plain, weighted = _eval(path), _eval(path, "--weight-col", "weight")
    assert plain["fingerprint"]["targets"] == f"{_digest_np(target):016x}"
    assert weighted["fingerprint"]["targets"] == f"{_digest_np(target, weight):016x}"
    assert plain["fingerprint"]["rows"] == weighted["fingerprint"]["rows"] == n
