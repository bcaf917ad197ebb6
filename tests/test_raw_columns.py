"""Raw columns: values read as they are (keys to group or join by, string labels) beside the
float64 ones, through every reader, with one dtype per column whatever the chunk or file,
carried through the alignment of the inputs in ``Batch.keys`` (issue 12, for --group-by,
--id-col and string labels)."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as pf
import pyarrow.parquet as pq
import pytest

import losscli
from losscli.errors import InputError
from losscli.execution import report_for, run
from losscli.io.base import raw_key
from losscli.io.binding import resolve_inputs
from losscli.io.formats import open_source
from losscli.io.formats.memory import ArraySource
from losscli.session import Session
from losscli.spec import build_spec
from losscli.units import plan_units

N = 23
KEYS = [f"k{i % 4}" for i in range(N)]
IDS = list(range(10**12, 10**12 + N))  # beyond float64's exact integers? no: ids as int64


def _table() -> pa.Table:
    return pa.table({
        "pred": np.linspace(0.0, 1.0, N), "target": np.linspace(1.0, 0.0, N),
        "key": pa.array(KEYS), "id": pa.array(IDS, pa.int64()),
        "flag": pa.array([i % 3 == 0 for i in range(N)]),
        "when": pa.array([dt.datetime(2026, 11, 1) + dt.timedelta(hours=i) for i in range(N)],
                         pa.timestamp("ms")),
        "maybe": pa.array([None if i % 5 == 0 else f"m{i}" for i in range(N)]),
    })


def _files(tmp_path):
    table = _table()
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=5)
    pf.write_feather(table, str(tmp_path / "t.feather"), chunksize=6)
    pacsv.write_csv(table.drop(["when"]), tmp_path / "t.csv")
    with open(tmp_path / "t.ndjson", "w") as f:
        for row in table.drop(["when"]).to_pylist():
            f.write(json.dumps(row) + "\n")
    arr = np.zeros(N, dtype=[("pred", "f8"), ("target", "f8"), ("id", "i8"), ("flag", "?"),
                             ("when", "M8[ms]")])
    for c in ("pred", "target", "id", "flag"):
        arr[c] = table.column(c).to_numpy()
    arr["when"] = np.array(table.column("when").to_pylist(), dtype="M8[ms]")
    np.save(tmp_path / "t.npy", arr)
    return tmp_path


def _read(source, raw, chunk):
    parts = list(source.chunks(["pred"], chunk, raw))
    return {c: np.concatenate([p[raw_key(c)] for p in parts]) for c in raw}


@pytest.mark.parametrize("fmt", ["parquet", "feather", "csv", "ndjson", "npy"])
def test_raw_columns_of_every_format_do_not_depend_on_the_chunking(tmp_path, fmt):
    _files(tmp_path)
    source = open_source(str(tmp_path / f"t.{fmt}"))
    raw = tuple(c for c in ("key", "id", "flag", "when", "maybe") if c in source.columns)
    chunks = {size: _read(source, raw, size) for size in (1, 4, 7, 1000)}
    first = chunks[1000]
    for values in chunks.values():
        for c in raw:
            assert values[c].dtype == first[c].dtype
            assert values[c].tolist() == first[c].tolist()
    if "key" in raw:
        assert first["key"].dtype == object and first["key"].tolist() == KEYS
    if fmt == "csv":  # text, whatever the type it looks like
        assert first["id"].tolist() == [str(i) for i in IDS]
        assert first["flag"].tolist()[:2] == ["true", "false"]
        assert first["maybe"].tolist()[:2] == ["", "m1"]
    else:
        assert first["id"].dtype == np.int64 and first["id"].tolist() == IDS
        assert first["flag"].dtype == bool and first["flag"].tolist() == [
            i % 3 == 0 for i in range(N)]
    if "when" in raw:
        assert first["when"].dtype == np.dtype("datetime64[us]")
        assert first["when"][1] == np.datetime64("2026-11-01T01:00")
    if fmt in ("parquet", "feather", "ndjson"):
        assert first["maybe"].tolist()[:2] == [None, "m1"]


@pytest.mark.parametrize("fmt", ["parquet", "feather", "csv", "ndjson", "npy"])
def test_a_column_read_both_as_numbers_and_raw(tmp_path, fmt):
    _files(tmp_path)
    source = open_source(str(tmp_path / f"t.{fmt}"))
    part = next(iter(source.chunks(["pred", "id"], 100, ("id",))))
    assert part["id"].dtype == np.float64 and part["id"][0] == float(IDS[0])
    expected = str(IDS[0]) if fmt == "csv" else IDS[0]
    assert part[raw_key("id")][0] == expected


def test_ranges_read_the_same_raw_values(tmp_path):
    _files(tmp_path)
    for fmt in ("parquet", "feather", "npy"):
        source = open_source(str(tmp_path / f"t.{fmt}"))
        parts = list(source.read_range(["pred"], 3, 17, 4, ("id",)))
        assert np.concatenate([p[raw_key("id")] for p in parts]).tolist() == IDS[3:17], fmt


def test_nulls_in_integer_and_boolean_keys_are_read_as_none(tmp_path):
    # issue 19: null is a group of its own, in integer and boolean key columns too (they
    # were refused); the values are those of the int64 and bool chunks, and None
    pq.write_table(pa.table({"pred": [1.0, 2.0, 3.0], "target": [1.0, 2.0, 3.0],
                             "id": pa.array([1, None, 3], pa.int32()),
                             "ok": pa.array([True, False, None])}), tmp_path / "n.parquet")
    source = open_source(str(tmp_path / "n.parquet"))
    (part,) = list(source.chunks(["pred"], 10, ("id", "ok")))
    assert part[raw_key("id")].dtype == object and part[raw_key("id")].tolist() == [1, None, 3]
    assert part[raw_key("ok")].tolist() == [True, False, None]


def test_memory_arrays_and_dataframe_strings(tmp_path):
    source = ArraySource("predictions", {"pred": np.arange(4.0), "key": np.array(["a", "b", "a",
                                                                                  "c"])})
    (part,) = list(source.chunks(["pred"], 10, ("key",)))
    assert part[raw_key("key")].dtype == object and part[raw_key("key")].tolist() == [
        "a", "b", "a", "c"]
    with pytest.raises(InputError, match="has dtype <U1; expected numbers"):
        list(source.chunks(["key"], 10))


def _hive(tmp_path):
    for day, region, n in (("2026-11-01", "eu", 4), ("2026-11-01", "us", 3),
                           ("2026-11-02", "eu", 5)):
        folder = tmp_path / "preds" / f"date={day}" / f"region={region}"
        folder.mkdir(parents=True)
        pq.write_table(pa.table({"pred": np.arange(float(n)), "target": np.zeros(n),
                                 "id": pa.array(range(n), pa.int64())}), folder / "p.parquet")
        truth = tmp_path / "truth" / f"date={day}" / f"region={region}"
        truth.mkdir(parents=True)
        pq.write_table(pa.table({"target": np.ones(n), "tag": [f"{region}{i}" for i in
                                                                 range(n)]}),
                       truth / "p.parquet")
    return tmp_path


def test_partition_keys_are_text_columns_of_every_row(tmp_path):
    _hive(tmp_path)
    source = open_source(str(tmp_path / "preds"))
    assert source.partition_keys == ("date", "region")
    for size in (1, 2, 100):
        values = _read(source, ("date", "region", "id"), size)
        assert values["date"].tolist() == ["2026-11-01"] * 7 + ["2026-11-02"] * 5
        assert values["region"].tolist() == ["eu"] * 4 + ["us"] * 3 + ["eu"] * 5
        assert values["id"].tolist() == [0, 1, 2, 3, 0, 1, 2, 0, 1, 2, 3, 4]


def test_keys_ride_along_with_the_aligned_batches(tmp_path):
    """Keys from the predictions (a partition key, a column) and from the paired targets,
    through every way the session reads: the stream, ranges, and file by file."""
    _hive(tmp_path)
    inputs = resolve_inputs(str(tmp_path / "preds"), str(tmp_path / "truth"))
    inputs.bind_keys(["region", "id", "tag"])
    assert {k: s.name for k, (s, _) in inputs.keys.items()} == {
        "region": str(tmp_path / "preds"), "id": str(tmp_path / "preds"),
        "tag": str(tmp_path / "truth")}
    expected_labels = [f"eu{i}" for i in range(4)] + [f"us{i}" for i in range(3)] + [
        f"eu{i}" for i in range(5)]
    for batches in (list(inputs.batches(5)), list(inputs.batches_between(0, 12, 5)),
                    [b for part in range(3) for b in inputs.batches_in_file(part, 0, None, 5,
                                                                            0)]):
        keys = {k: np.concatenate([b.keys[k] for b in batches]).tolist()
                for k in ("region", "id", "tag")}
        assert keys["tag"] == expected_labels
        assert keys["region"][4:7] == ["us"] * 3
        assert all(len(b.keys["id"]) == len(b) for b in batches)


def test_keys_are_bound_before_the_first_rows_are_read(tmp_path):
    _hive(tmp_path)
    inputs = resolve_inputs(str(tmp_path / "preds"))
    inputs.peek(4, 4)
    with pytest.raises(RuntimeError, match="before the first rows are read"):
        inputs.bind_keys(["region"])


def test_a_missing_key_lists_the_columns(tmp_path):
    _hive(tmp_path)
    inputs = resolve_inputs(str(tmp_path / "preds"))
    with pytest.raises(InputError, match=r"No column 'regio' in .*preds' to read as a key; its "
                                         r"columns are: pred, target, id, date, region\. Did you "
                                         r"mean 'region'"):
        inputs.bind_keys(["regio"])


def test_binding_keys_changes_no_value(tmp_path):
    _hive(tmp_path)
    plain = losscli.evaluate(str(tmp_path / "preds"), str(tmp_path / "truth"), losses=["mse"])
    session = Session(build_spec(str(tmp_path / "preds"), str(tmp_path / "truth"),
                                 losses=["mse"], workers=2), keys=["region", "tag"])
    seen = []
    batches = session.inputs.batches_in_file(1, 0, None, 2, 4)
    seen.extend(np.concatenate([b.keys["tag"] for b in batches]).tolist())
    assert seen == ["us0", "us1", "us2"]
    state = run(session)
    assert report_for(session, state).losses[0].value == plain.losses[0].value


def test_feather_files_are_cut_at_their_record_batches(tmp_path):
    rng = np.random.default_rng(5)
    n = 10_000
    target = rng.normal(size=n)
    table = pa.table({"pred": target + 1e8 * rng.choice([-1.0, 1.0], n) * (rng.random(n) < 0.1),
                      "target": target})
    pf.write_feather(table, str(tmp_path / "b.feather"), chunksize=1000)
    session = Session(build_spec(str(tmp_path / "b.feather"), losses=["mse", "mae"],
                                 chunk_size=500))
    units = plan_units(session)
    assert len(units) == 10 and [u.first_row for u in units] == list(range(0, n, 1000))
    bits = {w: [r.value for r in losscli.evaluate(str(tmp_path / "b.feather"),
                                                   losses=["mse", "mae"], chunk_size=500,
                                                   workers=w).losses] for w in (1, 2, 3, 4)}
    assert len({tuple(b) for b in bits.values()}) == 1


def test_a_key_has_one_type_in_every_file(tmp_path):
    for i, ids in enumerate(([1, 2], [3.5, 4.5])):
        pq.write_table(pa.table({"pred": [1.0, 2.0], "target": [1.0, 2.0], "id": ids}),
                       tmp_path / f"p{i}.parquet")
    source = open_source(str(tmp_path))
    with pytest.raises(InputError, match=r"Column 'id' of .*p1\.parquet' holds float64 keys "
                                         r"\(double\) but .*p0\.parquet' holds int64"):
        list(source.chunks(["pred"], 10, ("id",)))
    for i, ids in enumerate(([1, 2], [3.5, 4.5])):
        (tmp_path / f"n{i}.ndjson").write_text("".join(
            json.dumps({"pred": 1.0, "target": 1.0, "id": v}) + "\n" for v in ids))
    for i in range(2):
        (tmp_path / f"p{i}.parquet").unlink()
    source = open_source(str(tmp_path))
    with pytest.raises(InputError, match=r"Column 'id' of .*n1\.ndjson' holds double 3\.5 on "
                                         r"line 1, but int64 on the first line"):
        list(source.chunks(["pred"], 10, ("id",)))


@pytest.mark.parametrize("kind", ["string", "large_string", "dictionary", "unique"])
def test_strings_converted_through_their_dictionary_are_the_same_values(kind):
    # repeated strings (a group key) go through the dictionary: one str per distinct value
    import pyarrow as pa

    from losscli.io.arrow import raw_values

    rng = np.random.default_rng(3)
    names = np.array([f"s{i}" for i in range(40)] + ["é✓", "", None], dtype=object)
    values = names[rng.integers(0, len(names), 30_000)]
    if kind == "unique":
        values = np.array([f"id{i}" for i in range(30_000)], dtype=object)
    array = {"string": pa.array(values, pa.string()),
             "large_string": pa.array(values, pa.large_string()),
             "dictionary": pa.array(values, pa.string()).dictionary_encode(),
             "unique": pa.array(values, pa.string())}[kind]
    got = raw_values("f.parquet", "c", array, 0)
    assert got.dtype == object and got.tolist() == values.tolist()
