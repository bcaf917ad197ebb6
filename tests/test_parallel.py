"""Work units reduced side by side: the same bits at every worker count (issue 12).

For a given unit plan and chunk size the result may not depend on the number of threads,
their scheduling or the order units finish in: per-chunk sums are numpy's (fixed by the
chunking) and everything above is exact (losscli.stats.exact). Errors name the first bad
row exactly as a serial pass over the same units does.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import losscli
from losscli.errors import InputError
from losscli.session import Session
from losscli.spec import build_spec
from losscli.units import plan_ranges, plan_units
from tests.conftest import run_losscli

LOSSES = ["mse", "mae", "huber:delta=0.5", "r2", "rmse", "max_error", "log_cosh"]
WORKERS = (1, 2, 3, 4)


def _bits(report) -> list[str]:
    return [float(r.value).hex() for r in report.losses]


@pytest.fixture(scope="module")
def sixteen_groups(tmp_path_factory):
    """A Parquet file of 16 row groups of uneven sizes, with cancellation-heavy values:
    huge errors of both signs next to tiny ones, so any reordering of the float additions
    above the chunk would change the last bits."""
    rng = np.random.default_rng(0)
    n = 16 * 3000
    target = rng.normal(0.0, 1.0, n)
    pred = target + rng.normal(0.0, 1.0, n)
    pred[::7] += rng.choice([-1.0, 1.0], pred[::7].size) * 1e8
    pred[::11] += 1e-9
    weight = rng.uniform(0.0, 5.0, n)
    path = tmp_path_factory.mktemp("par") / "groups.parquet"
    writer = pq.ParquetWriter(path, pa.schema([("pred", pa.float64()), ("target", pa.float64()),
                                               ("weight", pa.float64())]))
    start = 0
    for size in rng.multinomial(n - 16 * 500, [1 / 16] * 16) + 500:
        sl = slice(start, start + size)
        writer.write_table(pa.table({"pred": pred[sl], "target": target[sl],
                                     "weight": weight[sl]}))
        start += size
    writer.close()
    assert pq.ParquetFile(path).metadata.num_row_groups == 16
    return path


@pytest.mark.parametrize("weighted", [False, True])
def test_same_bits_for_every_worker_count(sixteen_groups, weighted):
    extra = {"weight_col": "weight"} if weighted else {}
    reports = {w: losscli.evaluate(str(sixteen_groups), losses=LOSSES, chunk_size=1000,
                                   workers=w, **extra) for w in WORKERS}
    session = Session(build_spec(str(sixteen_groups), losses=LOSSES, chunk_size=1000))
    assert len(plan_units(session)) >= 8  # really split
    assert len({tuple(_bits(r)) for r in reports.values()}) == 1, {
        w: _bits(r) for w, r in reports.items()}


def test_other_chunkings_agree_to_1e_12(sixteen_groups):
    base = losscli.evaluate(str(sixteen_groups), losses=LOSSES, chunk_size=1000)
    for chunk in (7, 999, 4096, 100_000):
        other = losscli.evaluate(str(sixteen_groups), losses=LOSSES, chunk_size=chunk,
                                 workers=2)
        for a, b in zip(base.losses, other.losses):
            assert b.value == pytest.approx(a.value, rel=1e-12), (chunk, a.name)


def test_numpy_arrays_split_too():
    rng = np.random.default_rng(1)
    y = rng.normal(0.0, 1.0, 20_000)
    p = y + rng.standard_cauchy(y.size)
    bits = {tuple(_bits(losscli.evaluate(predictions=p, targets=y, losses=LOSSES, chunk_size=700, workers=w)))
            for w in WORKERS}
    assert len(bits) == 1


def test_first_bad_row_is_the_same_at_every_worker_count(tmp_path):
    n = 40_000
    pred = np.linspace(0.0, 1.0, n)
    pred[31_234] = -5.0  # msle needs > -1: the first bad row
    pred[7 * 4096 + 17] = -7.0  # ... and a later unit's bad row must not win
    pred[38_000] = -9.0
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"pred": pred, "target": np.ones(n)}), path, row_group_size=2500)
    pred2 = pred.copy()
    pred2[7 * 4096 + 17] = 0.5
    messages = set()
    for w in WORKERS:
        with pytest.raises(InputError) as err:
            losscli.evaluate(str(path), losses=["msle"], chunk_size=2500, workers=w)
        messages.add(str(err.value))
    assert len(messages) == 1
    assert "row 28689 has -7.0" in messages.pop()  # 7*4096+17, the earliest


def test_nan_before_a_bad_row_counts_every_nan_like_a_serial_pass(tmp_path):
    n = 30_000
    pred = np.linspace(0.0, 1.0, n)
    pred[[1000, 1001]] = np.nan  # unit 0: NaN first (serial: counting mode from here)
    pred[12_000] = -5.0  # a later unit has a bad value, never reached by a serial pass
    pred[[20_000, 29_999]] = np.nan  # NaNs after the bad row: a serial pass counts them
    path = tmp_path / "nan.parquet"
    pq.write_table(pa.table({"pred": pred, "target": np.ones(n)}), path, row_group_size=3000)
    messages = set()
    for w in WORKERS:
        with pytest.raises(InputError) as err:
            losscli.evaluate(str(path), losses=["msle"], chunk_size=3000, workers=w)
        messages.add(str(err.value))
    assert len(messages) == 1
    message = messages.pop()
    assert "has 4 NaN/inf values (first at row 1000)" in message


def test_per_row_output_is_in_row_order_at_every_worker_count(sixteen_groups):
    outputs = [losscli.evaluate(str(sixteen_groups), losses=["mse", "huber"], chunk_size=777,
                                reduction="none", workers=w).per_row for w in (1, 3)]
    np.testing.assert_array_equal(outputs[0]["row"], np.arange(outputs[0]["row"].size))
    for key in outputs[0]:
        np.testing.assert_array_equal(outputs[0][key], outputs[1][key])


def test_progress_counts_every_row_once(sixteen_groups):
    seen: list[int] = []
    losscli.evaluate(str(sixteen_groups), losses=["mse"], chunk_size=1000, workers=3,
                     on_batch=seen.append)
    assert seen == sorted(seen) and seen[-1] == 48_000


def test_plan_depends_on_layout_and_chunk_only():
    points = [0, 100, 200, 300, 1000, 5000, 5010]
    ranges = plan_ranges(points, 250)
    assert ranges[0] == (0, 300)  # small groups merged up to a chunk
    assert all(b - a <= 4 * 250 for a, b in ranges[1:])  # long ranges cut
    assert [r for pair in ranges for r in pair][1:-1:2] == [b for _, b in ranges][:-1]
    assert ranges[-1][1] == 5010


def test_cli_workers_option(sixteen_groups):
    outs = [run_losscli("eval", sixteen_groups, "-l", "mse", "-l", "r2", "--chunk-size", "1000",
                        "--workers", w, "-f", "json") for w in ("1", "2", "auto")]
    assert all(o.returncode == 0 for o in outs), [o.stderr for o in outs]
    values = [[float(x["value"]).hex() for x in json.loads(o.stdout)["losses"]] for o in outs]
    assert values[0] == values[1] == values[2]
    bad = run_losscli("eval", sixteen_groups, "--workers", "0")
    assert bad.returncode == 2 and b"workers must be a whole number >= 1 or 'auto'" in bad.stderr
