"""Readers: every format from real files, column detection, alignment and chunking."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import losscli
from losscli.errors import InputError, UsageError
from losscli.io.base import ARRAY, Source
from losscli.io.chunking import rechunk
from losscli.io.formats import open_source, open_stream
from losscli.io.formats.csv import CsvSource, CsvStreamSource
from losscli.io.formats.memory import ArraySource
from losscli.io.stream import ByteStream
from tests.conftest import SAMPLES

LOSSES = ["mse", "mae", "huber:delta=0.5", "r2", "max_error"]


def _values(report):
    return [r.value for r in report.losses]


@pytest.fixture(scope="module")
def expected():
    """The sample file's losses computed directly with numpy."""
    table = pq.read_table(SAMPLES / "regression.parquet")
    p, t = table["pred"].to_numpy(), table["target"].to_numpy()
    d = p - t
    ad = np.abs(d)
    huber = np.where(ad < 0.5, 0.5 * d * d, 0.5 * (ad - 0.25))
    r2 = 1 - np.sum(d * d) / np.sum((t - t.mean()) ** 2)
    return [np.mean(d * d), np.mean(ad), np.mean(huber), r2, np.max(ad)]


@pytest.mark.parametrize("name", ["regression.parquet", "regression.csv", "regression.feather"])
def test_every_format_gives_the_same_values(samples, expected, name):
    report = losscli.evaluate(str(samples / name), losses=LOSSES)
    assert report.rows == 1000
    np.testing.assert_allclose(_values(report), expected, rtol=1e-12)
    assert report.inputs["predictions"]["column"] == "pred"
    assert report.inputs["targets"]["column"] == "target"


def test_npy_pair_and_separate_targets_files(samples, expected):
    npy = losscli.evaluate(str(samples / "preds.npy"), str(samples / "targets.npy"),
                           losses=LOSSES)
    np.testing.assert_allclose(_values(npy), expected, rtol=1e-12)
    # Parquet predictions 'yhat' + TSV truth 'y': detected by name, aligned by row order.
    mixed = losscli.evaluate(str(samples / "model_preds.parquet"), str(samples / "truth.tsv"),
                             losses=LOSSES)
    np.testing.assert_allclose(_values(mixed), expected, rtol=1e-12)
    assert mixed.inputs["predictions"]["column"] == "yhat"
    assert mixed.inputs["targets"]["column"] == "y"


def test_weights_from_a_column_and_from_a_file(samples):
    table = pq.read_table(samples / "regression.parquet")
    p, t, w = (table[c].to_numpy() for c in ("pred", "target", "weight"))
    expected = np.sum(w * (p - t) ** 2) / np.sum(w)
    by_col = losscli.evaluate(str(samples / "regression.csv"), losses="mse", weight_col="weight")
    assert by_col["mse"] == pytest.approx(expected, rel=1e-12)
    by_other_file = losscli.evaluate(str(samples / "model_preds.parquet"),
                                     str(samples / "truth.tsv"), losses="mse", weight_col="w")
    assert by_other_file["mse"] == pytest.approx(expected, rel=1e-12)


def test_csv_float_after_a_block_of_integers(tmp_path, monkeypatch):
    # pyarrow infers types from the first block only: a 1.5 after many integers must work.
    monkeypatch.setattr(CsvSource, "block_size", 4096)
    n = 5000
    lines = ["pred,target"] + [f"{i % 7},{i % 5}" for i in range(n)] + ["1.5,0.25"]
    path = tmp_path / "ints_then_float.csv"
    path.write_text("\n".join(lines) + "\n")
    report = losscli.evaluate(str(path), losses="mae", chunk_size=1000)
    p = np.array([i % 7 for i in range(n)] + [1.5])
    t = np.array([i % 5 for i in range(n)] + [0.25])
    assert report.rows == n + 1
    assert report["mae"] == pytest.approx(np.mean(np.abs(p - t)), rel=1e-13)


def test_compressed_csv_and_tsv(tmp_path):
    text = "prediction\tlabel\n1\t2\n3\t5\n"
    (tmp_path / "a.tsv").write_text(text)
    with gzip.open(tmp_path / "a.csv.gz", "wt") as f:
        f.write(text.replace("\t", ","))
    for name in ("a.tsv", "a.csv.gz"):
        assert losscli.evaluate(str(tmp_path / name), losses="mse")["mse"] == 2.5


def test_structured_npy_fields_are_columns(tmp_path):
    arr = np.zeros(3, dtype=[("y_pred", "f8"), ("y_true", "f8")])
    arr["y_pred"], arr["y_true"] = [1, 2, 3], [1, 2, 5]
    np.save(tmp_path / "s.npy", arr)
    assert losscli.evaluate(str(tmp_path / "s.npy"), losses="mse")["mse"] == pytest.approx(4 / 3)


def test_parquet_with_several_row_groups_and_integer_columns(tmp_path):
    table = pa.table({"pred": pa.array(range(10), pa.int32()), "target": [0.5] * 10})
    pq.write_table(table, tmp_path / "g.parquet", row_group_size=3)
    report = losscli.evaluate(str(tmp_path / "g.parquet"), losses="mae", chunk_size=4)
    assert report["mae"] == pytest.approx(np.mean(np.abs(np.arange(10) - 0.5)))


def test_format_in_overrides_the_extension(tmp_path):
    (tmp_path / "data.txt").write_text("pred,target\n1,3\n")
    with pytest.raises(InputError, match="--format-in"):
        losscli.evaluate(str(tmp_path / "data.txt"), losses="mse")
    assert losscli.evaluate(str(tmp_path / "data.txt"), losses="mse", format_in="csv")["mse"] == 4


def test_column_detection_errors_list_what_exists(tmp_path):
    (tmp_path / "x.csv").write_text("a,b,c\n1,2,3\n")
    with pytest.raises(InputError, match=r"No prediction column found .*columns: a, b, c.*--pred-col"):
        losscli.evaluate(str(tmp_path / "x.csv"), losses="mse")
    with pytest.raises(InputError, match=r"No column 'zz' \(--pred-col\).*columns are: a, b, c"):
        losscli.evaluate(str(tmp_path / "x.csv"), losses="mse", pred_col="zz")
    with pytest.raises(UsageError, match="both prediction and target"):
        losscli.evaluate(str(tmp_path / "x.csv"), losses="mse", pred_col="a", target_col="a")
    r = losscli.evaluate(str(tmp_path / "x.csv"), losses="mse", pred_col="a", target_col="C")
    assert r["mse"] == 4.0  # column names match case-insensitively


def test_length_mismatch_names_both_counts(samples, tmp_path):
    np.save(tmp_path / "short.npy", np.zeros(998))
    with pytest.raises(InputError, match=r"'.*preds.npy' has 1000 rows but '.*short.npy' has 998"):
        losscli.evaluate(str(samples / "preds.npy"), str(tmp_path / "short.npy"), losses="mse",
                         chunk_size=100)


@pytest.mark.parametrize("size", [1, 3, 4, 10])
def test_rechunk_gives_exact_sizes_and_keeps_order(size):
    parts = [{"a": np.arange(s, e, dtype=float)} for s, e in [(0, 2), (2, 3), (3, 9), (9, 10)]]
    out = list(rechunk(iter(parts), size))
    assert [len(c["a"]) for c in out[:-1]] == [size] * (len(out) - 1)
    np.testing.assert_array_equal(np.concatenate([c["a"] for c in out]), np.arange(10))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-1, 12), max_size=12), st.integers(1, 7))
def test_rechunk_copies_only_boundary_chunks(pieces, size):
    # -1 is a pause (an empty dict): what is held goes out at once, then the pause.
    parts, expected, held, start = [], [], 0, 0
    for n in pieces:
        if n < 0:
            parts.append({})
            if held:
                expected.append(held)
            expected.append("pause")
            held = 0
            continue
        parts.append({"a": np.arange(start, start + n, dtype=float), "b": np.arange(n)})
        start += n
        held += n
        while held >= size and n:
            expected.append(size)
            held -= size
    if held:
        expected.append(held)
    out = list(rechunk(iter(parts), size))
    assert [len(c["a"]) if c else "pause" for c in out] == expected
    np.testing.assert_array_equal(np.concatenate([c["a"] for c in out if c] or [np.empty(0)]),
                                  np.arange(start, dtype=float))
    # a chunk that lies inside one piece is a view of it: nothing copied
    for c in out:
        home = [p for p in parts if p and len(c.get("a", ())) and p["a"].size
                and p["a"][0] <= c["a"][0] and c["a"][-1] <= p["a"][-1]]
        if home:
            assert np.shares_memory(c["a"], home[0]["a"])


def test_dataframe_and_series_inputs():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"yhat": [1.0, 2.0], "y": [1.0, 4.0], "w": [1.0, 3.0]})
    assert losscli.evaluate(df, losses="mse", weight_col="w")["mse"] == pytest.approx(3.0)
    assert losscli.evaluate(predictions=df["yhat"], targets=df["y"], losses="mae")["mae"] == 1.0
    frame = losscli.evaluate(df, losses=["mse", "mae"]).to_dataframe()
    assert list(frame["name"]) == ["mse", "mae"] and list(frame["value"]) == [2.0, 1.0]


def _csv_values(path, monkeypatch, parallel: bool, block: int = 256):
    monkeypatch.setattr(CsvSource, "parallel_block", block)
    monkeypatch.setattr(CsvSource, "_parallel_ok",
                        lambda self: parallel and not self.name.endswith(".gz"))
    report = losscli.evaluate(str(path), losses=["mse", "mae", "max_error"], chunk_size=97)
    return report.rows, [r.value for r in report.losses]


def test_parallel_csv_blocks_equal_the_streaming_reader(tmp_path, monkeypatch):
    # Many small newline-aligned blocks (CRLF endings, blank lines, an extra column)
    rng = np.random.default_rng(3)
    lines = ["id,pred,target"]
    for i in range(3000):
        lines.append(f"{i},{rng.normal():.17g},{rng.normal():.17g}")
        if i % 500 == 0:
            lines.append("")
    path = tmp_path / "blocks.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    serial = _csv_values(path, monkeypatch, parallel=False)
    parallel = _csv_values(path, monkeypatch, parallel=True)
    assert serial[0] == parallel[0] == 3000
    assert parallel[1] == serial[1]  # same rows, same chunking: identical values


def test_parallel_csv_keeps_a_quoted_record_whole(tmp_path, monkeypatch):
    # A quoted field with a newline inside, far after the first blocks: cutting blocks at
    # every newline there would split that record.
    lines = ["name,pred,target"] + [f"r{i},{i % 9},{i % 4}" for i in range(2000)]
    lines.insert(1500, '"two\nlines, quoted",100,0')
    path = tmp_path / "quoted.csv"
    path.write_text("\n".join(lines) + "\n")
    p = np.array([i % 9 for i in range(2000)], float)
    t = np.array([i % 4 for i in range(2000)], float)
    p, t = np.insert(p, 1499, 100.0), np.insert(t, 1499, 0.0)
    rows, values = _csv_values(path, monkeypatch, parallel=True)
    assert rows == 2001
    np.testing.assert_allclose(values, [np.mean((p - t) ** 2), np.mean(np.abs(p - t)), 100.0],
                               rtol=1e-14)


@pytest.mark.parametrize("seed", range(3))
def test_csv_blocks_cut_anywhere_read_like_one_pyarrow_parse(tmp_path, monkeypatch, seed):
    """Quoted fields holding delimiters, doubled quotes and line ends (\\n, \\r\\n, \\r), and
    quotes inside unquoted fields (5" for inches), with blocks so small that every record
    straddles a boundary: file (serial and parallel) and pipe give what pyarrow reads from
    the whole file at once."""
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    notes = ['"a,b"', '"say ""hi"""', '"two\nlines"', '"cr\rend"', 'x"y', '5"', '""', "plain",
             '"crlf\r\nin"']
    end = ["\n", "\r\n", "\r"][seed]
    lines = ["note,pred,target"] + [f"{rng.choice(notes)},{rng.normal():.17g},{i % 3}"
                                    for i in range(400)]
    data = (end.join(lines) + end).encode()
    path = tmp_path / "q.csv"
    path.write_bytes(data)
    whole = pacsv.read_csv(pa.py_buffer(data),
                           read_options=pacsv.ReadOptions(block_size=len(data) + 1))
    want = [whole["pred"].to_numpy(), whole["target"].to_numpy().astype(float)]
    for parallel in (False, True):
        for block in (7, 64, 1000):
            monkeypatch.setattr(CsvSource, "block_size", block)
            monkeypatch.setattr(CsvSource, "parallel_block", block)
            monkeypatch.setattr(CsvSource, "_parallel_ok", lambda self, p=parallel: p)
            got = list(CsvSource(str(path), "csv").chunks(["pred", "target"], 50))
            for column, values in zip(["pred", "target"], want):
                np.testing.assert_array_equal(np.concatenate([c[column] for c in got]), values)
    monkeypatch.setattr(CsvStreamSource, "block_size", 64)
    monkeypatch.setattr(CsvStreamSource, "_parallel_ok", lambda self: False)
    piped = CsvStreamSource(ByteStream(io.BytesIO(data), "<stdin>"), "csv")
    got = list(piped.chunks(["pred", "target"], 50))
    np.testing.assert_array_equal(np.concatenate([c["pred"] for c in got]), want[0])


def test_parallel_csv_error_names_the_true_row(tmp_path, monkeypatch):
    lines = ["pred,target"] + [f"{i},{i}" for i in range(3000)]
    lines[2501] = "oops,1"  # data row 2500
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(CsvSource, "parallel_block", 512)
    with pytest.raises(InputError, match=r"'oops' in column 'pred'.* at row 2500 \(line 2502"):
        losscli.evaluate(str(path), losses="mse")


def test_default_chunk_holds_about_a_million_values_for_wide_rows(tmp_path):
    from losscli.session import DEFAULT_CHUNK_SIZE, Session, default_chunk_size
    from losscli.spec import build_spec

    assert default_chunk_size(1) == DEFAULT_CHUNK_SIZE
    assert default_chunk_size(100) == (1 << 20) // 100
    assert default_chunk_size(250_000) == 4  # below 1,024 rows: memory follows the values
    assert default_chunk_size(2_000_000) == 1
    logits = np.random.default_rng(0).normal(size=(50, 100))
    np.save(tmp_path / "logits.npy", logits)
    np.save(tmp_path / "labels.npy", np.arange(50) % 100)
    session = Session(build_spec(str(tmp_path / "logits.npy"), str(tmp_path / "labels.npy"),
                                 losses="cross_entropy", from_logits=True))
    assert session.inputs.declared_width() == 100 and session.chunk_size == (1 << 20) // 100
    explicit = Session(build_spec(str(tmp_path / "logits.npy"), str(tmp_path / "labels.npy"),
                                  losses="cross_entropy", from_logits=True, chunk_size=7))
    assert explicit.chunk_size == 7


def test_fixed_size_list_columns_count_as_wide(tmp_path):
    from losscli.session import Session
    from losscli.spec import build_spec

    values = pa.FixedSizeListArray.from_arrays(pa.array(np.full(40 * 50, 0.02)), 50)
    pq.write_table(pa.table({"probs": values, "label": np.arange(40) % 50}),
                   tmp_path / "wide.parquet")
    session = Session(build_spec(str(tmp_path / "wide.parquet"), losses="cross_entropy",
                                 pred_col="probs", target_col="label"))
    assert session.inputs.declared_width() == 50 and session.chunk_size == (1 << 20) // 50


SAMPLE_FILES = ["regression.csv", "truth.tsv", "regression.parquet", "regression.feather",
                "regression.ndjson", "preds.npy", "logits.npy", "multiclass_list.parquet"]


def _check_contract(source):
    assert isinstance(source, Source)
    assert isinstance(source.name, str) and isinstance(source.format, str)
    assert source.num_rows is None or isinstance(source.num_rows, int)
    assert source.size is None or isinstance(source.size, int)
    assert isinstance(source.bytes_read(), int)
    types = source.column_types()
    assert list(types) == source.columns and all(isinstance(t, str) for t in types.values())
    widths = {c: source.values_per_row(c) for c in source.columns}
    assert all(isinstance(w, int) and w >= 1 for w in widths.values())
    chunks = list(source.chunks(source.columns[:2], 300))
    assert chunks and all(a.dtype == np.float64 for c in chunks for a in c.values())
    return types, widths


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_every_reader_keeps_the_source_contract_from_a_file_and_a_pipe(samples, name):
    by_file = _check_contract(open_source(str(samples / name)))
    data = (samples / name).read_bytes()
    by_pipe = _check_contract(open_stream(ByteStream(io.BytesIO(data), "<stdin>", len(data))))
    assert by_pipe == by_file  # spooled or streamed, the same types and widths


def test_contract_values_per_row_and_column_types(samples, tmp_path):
    npy = open_source(str(samples / "logits.npy"))
    assert npy.values_per_row(ARRAY) == 4 and npy.column_types() == {ARRAY: "float64"}  # (500, 4)
    values = pa.FixedSizeListArray.from_arrays(pa.array(np.zeros(30)), 3)
    pq.write_table(pa.table({"probs": values, "label": [0] * 10}), tmp_path / "f.parquet")
    fixed = open_source(str(tmp_path / "f.parquet"))
    assert fixed.values_per_row("probs") == 3 and fixed.values_per_row("label") == 1
    types = fixed.column_types()  # Arrow's names (the list's field name varies by version)
    assert types["label"] == "int64" and types["probs"].startswith("fixed_size_list<")
    ndjson = open_source(str(samples / "regression.ndjson"))
    assert set(ndjson.column_types().values()) <= {"double", "int64"}
    memory = ArraySource("predictions", {"pred": np.zeros(4, np.float32), "p": np.zeros((4, 2))})
    _check_contract(memory)
    assert memory.column_types() == {"pred": "float32", "p": "float64"}
    assert memory.values_per_row("p") == 1  # in-memory arrays never counted as wide rows


def test_only_a_csv_file_by_name_takes_the_parallel_path(samples):
    assert CsvSource(str(samples / "regression.csv"), "csv")._parallel_ok()
    data = (samples / "regression.csv").read_bytes()
    piped = CsvStreamSource(ByteStream(io.BytesIO(data), "<stdin>"), "csv")
    assert not piped.seekable and not piped._parallel_ok()
