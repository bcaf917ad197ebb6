"""Many files as one input (issue 12): folders, globs and hive partitions of every format,
paired targets, the unit plan file by file, the same bits at every worker count, and the
errors that name the file.

Values are checked against one file holding the same rows (the concatenation): bit for bit
where the unit plans coincide (every part a whole number of row groups of the chunk size),
to 1e-12 relative otherwise (chunks then start at other rows).
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as pf
import pyarrow.parquet as pq
import pytest

import losscli
from losscli.errors import InputError
from losscli.session import Session
from losscli.spec import build_spec
from losscli.units import plan_units
from tests.conftest import run_losscli

LOSSES = ["mse", "mae", "huber:delta=0.5", "r2", "rmse", "max_error"]
WORKERS = (1, 2, 3, 4)
CHUNK = 500


def _bits(report) -> list[str]:
    return [float(r.value).hex() for r in report.losses]


def _rows(n: int, seed: int) -> dict[str, np.ndarray]:
    """Cancellation-heavy values: huge errors of both signs beside tiny ones, so that any
    other order of the float additions above the chunk changes the last bits."""
    rng = np.random.default_rng(seed)
    target = rng.normal(0.0, 1.0, n)
    pred = target + rng.normal(0.0, 1.0, n)
    pred[::7] += rng.choice([-1.0, 1.0], pred[::7].size) * 1e8
    return {"pred": pred, "target": target, "weight": rng.uniform(0.0, 5.0, n)}


#: (date, region, rows): parts of uneven sizes, each a whole number of chunks.
PARTS = [("2026-11-01", "eu", 1500), ("2026-11-01", "us", 2000), ("2026-11-02", "eu", 500),
         ("2026-11-02", "us", 3000), ("2026-11-03", "eu", 1000)]


def _write(table: pa.Table, path, fmt: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        pq.write_table(table, path, row_group_size=CHUNK)
    elif fmt in ("csv", "tsv"):
        pacsv.write_csv(table, path, write_options=pacsv.WriteOptions(
            delimiter="\t" if fmt == "tsv" else ","))
    elif fmt == "ndjson":
        cols = table.to_pydict()
        with open(path, "w") as f:
            for i in range(table.num_rows):
                f.write(json.dumps({k: v[i] for k, v in cols.items()}) + "\n")
    elif fmt == "feather":
        pf.write_feather(table, str(path), chunksize=CHUNK)
    else:  # npy: a structured array of the float columns
        names = [n for n in table.column_names if pa.types.is_floating(table.schema.field(n).type)]
        arr = np.zeros(table.num_rows, dtype=[(n, "f8") for n in names])
        for n in names:
            arr[n] = table.column(n).to_numpy()
        np.save(path, arr)


def _dataset(root, fmt: str = "parquet", split_targets: bool = False):
    """The parts under ``root``/preds (hive folders date=/region=, a _SUCCESS file), the
    same rows in ``root``/all.parquet; with ``split_targets`` the targets in
    ``root``/truth, file by file."""
    tables = []
    for i, (date, region, n) in enumerate(PARTS):
        rows = _rows(n, i)
        table = pa.table({**rows, "id": [f"{date}/{region}/{k}" for k in range(n)]})
        tables.append(table)
        rel = f"date={date}/region={region}/part-{i}.{fmt}"
        if split_targets:
            _write(table.select(["pred", "weight", "id"]), root / "preds" / rel, fmt)
            _write(table.select(["target"]), root / "truth" / rel, fmt)
        else:
            _write(table, root / "preds" / rel, fmt)
    (root / "preds" / "_SUCCESS").write_bytes(b"")
    pq.write_table(pa.concat_tables(tables), root / "all.parquet", row_group_size=CHUNK)
    return root / "preds", root / "all.parquet"


@pytest.fixture(scope="module")
def parquet_parts(tmp_path_factory):
    return _dataset(tmp_path_factory.mktemp("parts"))


def test_a_folder_equals_the_concatenated_file_bit_for_bit(parquet_parts):
    folder, whole = parquet_parts
    a = losscli.evaluate(str(folder), losses=LOSSES, chunk_size=CHUNK, weight_col="weight")
    b = losscli.evaluate(str(whole), losses=LOSSES, chunk_size=CHUNK, weight_col="weight")
    assert _bits(a) == _bits(b)
    assert a.rows == b.rows == sum(n for _, _, n in PARTS)
    assert a.inputs["predictions"]["path"] == str(folder)


def test_same_bits_for_every_worker_count_on_a_folder(parquet_parts):
    folder, _ = parquet_parts
    reports = {w: losscli.evaluate(str(folder), losses=LOSSES, chunk_size=300, workers=w,
                                   weight_col="weight") for w in WORKERS}
    assert len({tuple(_bits(r)) for r in reports.values()}) == 1
    session = Session(build_spec(str(folder), losses=LOSSES, chunk_size=300))
    units = plan_units(session)
    assert {u.file for u in units} == {f"date={d}/region={r}/part-{i}.parquet"
                                       for i, (d, r, _) in enumerate(PARTS)}
    assert all(u.placed and u.part is not None for u in units)
    assert len(units) > len(PARTS)  # files are cut at their row groups too


def test_other_chunk_sizes_agree_to_1e_12(parquet_parts):
    folder, whole = parquet_parts
    base = losscli.evaluate(str(whole), losses=LOSSES, chunk_size=CHUNK)
    for chunk in (7, 333, 4096):
        other = losscli.evaluate(str(folder), losses=LOSSES, chunk_size=chunk, workers=2)
        for x, y in zip(base.losses, other.losses):
            assert y.value == pytest.approx(x.value, rel=1e-12), (chunk, x.name)


def test_globs_and_partitioning(parquet_parts):
    folder, _ = parquet_parts
    one_day = losscli.evaluate(str(folder) + "/date=2026-11-02/**/*.parquet", losses=["mse"])
    assert one_day.rows == 3500
    flat = losscli.evaluate(str(folder), losses=["mse"], partitioning="none")
    assert flat.rows == sum(n for _, _, n in PARTS)


@pytest.mark.parametrize("fmt", ["csv", "tsv", "ndjson", "feather", "npy", "parquet"])
def test_every_format_as_a_folder(tmp_path, fmt):
    folder, whole = _dataset(tmp_path, fmt)
    kw = {"losses": LOSSES, "chunk_size": CHUNK, "weight_col": "weight"}
    reports = [losscli.evaluate(str(folder), workers=w, **kw) for w in (1, 3)]
    assert _bits(reports[0]) == _bits(reports[1])
    expected = losscli.evaluate(str(whole), **kw)
    for x, y in zip(expected.losses, reports[0].losses):
        assert y.value == pytest.approx(x.value, rel=1e-12), x.name
    assert reports[0].rows == expected.rows


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_targets_folder_pairs_file_by_file(tmp_path, fmt):
    root = tmp_path / "data"
    _dataset(root, fmt, split_targets=True)
    whole = root / "all.parquet"
    kw = {"losses": LOSSES, "chunk_size": CHUNK, "weight_col": "weight"}
    paired = {w: losscli.evaluate(str(root / "preds"), str(root / "truth"), workers=w, **kw)
              for w in (1, 4)}
    assert _bits(paired[1]) == _bits(paired[4])
    expected = losscli.evaluate(str(whole), **kw)
    for x, y in zip(expected.losses, paired[1].losses):
        assert y.value == pytest.approx(x.value, rel=1e-12), x.name
    if fmt == "parquet":
        assert _bits(paired[1]) == _bits(expected)


def test_cli_folder_with_targets_folder(tmp_path):
    root = tmp_path / "d"
    _dataset(root, "parquet", split_targets=True)
    out = run_losscli("eval", root / "preds", "--targets", root / "truth", "--workers", "2",
                      "--loss", "mse", "--format", "json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["rows"] == sum(n for _, _, n in PARTS)
    assert report["inputs"]["targets"]["path"] == str(root / "truth")


# -- what does not fit: one line naming the file --------------------------------------------

def test_files_that_do_not_pair_up(tmp_path):
    root = tmp_path / "d"
    _dataset(root, "parquet", split_targets=True)
    (root / "truth" / "date=2026-11-03" / "region=eu" / "part-4.parquet").unlink()
    with pytest.raises(InputError, match=r"part-4\.parquet' has no targets file"):
        losscli.evaluate(str(root / "preds"), str(root / "truth"), losses=["mse"])


def test_a_pair_with_different_row_counts(tmp_path):
    root = tmp_path / "d"
    _dataset(root, "csv", split_targets=True)
    part = root / "truth" / "date=2026-11-02" / "region=eu" / "part-2.csv"
    part.write_text(part.read_text() + "0.5\n")
    with pytest.raises(InputError, match=r"part-2\.csv' has 500 rows but '.*truth.*part-2\.csv' "
                                         r"has 501 rows"):
        losscli.evaluate(str(root / "preds"), str(root / "truth"), losses=["mse"], workers=2)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_file_with_other_columns_is_named(tmp_path, fmt):
    folder, _ = _dataset(tmp_path, fmt)
    odd = folder / "date=2026-11-02" / "region=us" / f"part-3.{fmt}"
    _write(pa.table({"pred": [1.0], "truth": [2.0]}), odd, fmt)
    with pytest.raises(InputError) as err:
        losscli.evaluate(str(folder), losses=["mse"])
    message = str(err.value)
    assert "part-3." in message and "lacks 'target'" in message and "same columns" in message


def test_a_missing_column_lists_the_columns(parquet_parts):
    folder, _ = parquet_parts
    with pytest.raises(InputError, match=r"No column 'score' \(--pred-col\) in .*columns are: "
                                         r"pred, target, weight, id"):
        losscli.evaluate(str(folder), pred_col="score", losses=["mse"])


def test_mixed_formats_and_empty_folders(tmp_path, cli):
    folder, _ = _dataset(tmp_path, "parquet")
    (folder / "extra.csv").write_text("pred,target\n1,2\n")
    out = cli("eval", str(folder), "--loss", "mse")
    assert out.exit_code == 2 and "mixes formats" in out.stderr
    (tmp_path / "empty").mkdir()
    out = cli("eval", str(tmp_path / "empty"), "--loss", "mse")
    assert out.exit_code == 2 and "No data files in" in out.stderr


def test_errors_in_a_later_file_name_the_row_and_the_file(tmp_path):
    """Text files are read as one unit each; the rows of the files after the first are
    placed only when merged: the message still names the row of the whole input, at every
    worker count."""
    folder, _ = _dataset(tmp_path, "csv")
    bad = folder / "date=2026-11-02" / "region=us" / "part-3.csv"
    lines = bad.read_text().splitlines()
    fields = lines[18].split(",")
    fields[2] = "-1.0"  # a negative weight on row 17 of the file
    lines[18] = ",".join(fields)
    bad.write_text("\n".join(lines) + "\n")
    messages = set()
    for w in WORKERS:
        with pytest.raises(InputError) as err:
            losscli.evaluate(str(folder), losses=["mse"], weight_col="weight", workers=w)
        messages.add(str(err.value))
    (message,) = messages
    first = 1500 + 2000 + 500
    assert f"at row {first + 17}" in message
    assert f"part-3.csv', whose first row is row {first}" in message


def test_nan_in_later_files_counts_and_places_the_first(tmp_path):
    folder, _ = _dataset(tmp_path, "csv")
    for rel, row in (("date=2026-11-02/region=us/part-3.csv", 40),
                     ("date=2026-11-03/region=eu/part-4.csv", 3)):
        path = folder / rel
        lines = path.read_text().splitlines()
        fields = lines[row + 1].split(",")
        fields[1] = "nan"
        lines[row + 1] = ",".join(fields)
        path.write_text("\n".join(lines) + "\n")
    for w in WORKERS:
        with pytest.raises(InputError, match=r"has 2 NaN/inf values \(first at row 4040\)"):
            losscli.evaluate(str(folder), losses=["mse"], workers=w)


def test_per_row_values_in_row_order_at_every_worker_count(tmp_path):
    folder, whole = _dataset(tmp_path, "csv")
    per_row = [losscli.evaluate(str(folder), losses=["mse"], reduction="none", workers=w,
                                chunk_size=CHUNK).per_row for w in WORKERS]
    expected = losscli.evaluate(str(whole), losses=["mse"], reduction="none").per_row
    for got in per_row:
        np.testing.assert_array_equal(got["row"], np.arange(expected["row"].size))
        np.testing.assert_array_equal(got["mse"], expected["mse"])


def test_intervals_are_the_same_at_every_worker_count(tmp_path):
    folder, _ = _dataset(tmp_path, "csv")
    reports = [losscli.evaluate(str(folder), losses=["mse", "mae"], ci=True,
                                ci_method="bootstrap", replicates=50, workers=w)
               for w in (1, 3)]
    assert [r.interval for r in reports[0].losses] == [r.interval for r in reports[1].losses]


def test_saved_states_of_parts_merge_to_the_run_over_the_folder(tmp_path, cli):
    folder, _ = _dataset(tmp_path, "parquet")
    whole = cli("eval", str(folder), "-l", "mse", "-l", "mae", "--chunk-size", str(CHUNK),
                "-f", "json")
    states = []
    for i, (date, region, _) in enumerate(PARTS):
        state = tmp_path / f"part-{i}.state"
        out = cli("eval", str(folder / f"date={date}" / f"region={region}" / f"part-{i}.parquet"),
                  "-l", "mse", "-l", "mae", "--chunk-size", str(CHUNK), "--save-state", state,
                  "-f", "json")
        assert out.exit_code == 0, out.stderr
        states.append(str(state))
    merged = cli("merge", *reversed(states), "-f", "json")
    assert merged.exit_code == 0, merged.stderr
    assert [v["value"] for v in json.loads(merged.stdout)["losses"]] == [
        v["value"] for v in json.loads(whole.stdout)["losses"]]


def test_compare_models_in_folders(tmp_path, cli):
    a, whole = _dataset(tmp_path / "a", "parquet")
    out = cli("compare", f"folder={a}", f"file={whole}", "-l", "mse", "--chunk-size",
              str(CHUNK), "-f", "json")
    assert out.exit_code == 0, out.stderr
    values = json.loads(out.stdout)["losses"][0]["values"]
    assert values["folder"] == values["file"]


def test_partitioning_option(cli, parquet_parts):
    folder, _ = parquet_parts
    out = cli("eval", str(folder), "--partitioning", "flat", "-l", "mse")
    assert out.exit_code == 2 and "partitioning must be one of: hive, none" in out.stderr
    out = cli("eval", str(folder), "--partitioning", "none", "-l", "mse", "-f", "json")
    assert out.exit_code == 0 and json.loads(out.stdout)["rows"] == 8000
    (folder / "loose.parquet").write_bytes((folder / "date=2026-11-01" / "region=eu" /
                                            "part-0.parquet").read_bytes())
    try:
        out = cli("eval", str(folder), "--partitioning", "hive", "-l", "mse")
        assert out.exit_code == 2 and "same key=value folders" in out.stderr
    finally:
        (folder / "loose.parquet").unlink()
