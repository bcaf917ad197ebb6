"""The join's key index at a few bytes per key (issue 21, ``--id-col``): keys held as Arrow or
numpy columns with a sorted array of their values or 64-bit hashes (io/keyindex.py), no
pandas index and no Python object per key.

* every lookup equals pandas' index (the join before: ``pd.Index(targets).get_indexer``,
  keys of different types compared as text) over int / str / unicode keys with nulls,
  duplicates and unmatched rows; and whole runs equal a pandas merge at chunk sizes 1, 7
  and the default, and with --workers 2;
* a hash shared by two different keys (forced: 2-bit hashes) never joins the wrong rows;
* the index holds <= 40 bytes per int64 key and <= 80 per 16-character text key;
* targets that do not fit in memory are one line naming what they need and the way out.
"""

from __future__ import annotations

import gc
import json
import tracemalloc

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import losscli
from losscli.errors import InputError
from losscli.grouping import key_value
from losscli.io.join import KeyIndex
from losscli.io.keyindex import KeyTable
from losscli.stats.resample import key_ids
from tests.conftest import run_losscli

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


# -- the reference: the join before (a pandas index) ----------------------------------------

def _kind(values: np.ndarray) -> str:
    if values.dtype.kind != "O":
        return values.dtype.kind
    first = next((v for v in values if v is not None), None)
    return "b" if isinstance(first, bool) else "i" if isinstance(first, int) else "str"


def _text(values: np.ndarray) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = [None if (v := key_value(x)) is None else str(v) for x in values]
    return out


def pandas_positions(targets: np.ndarray, preds: np.ndarray) -> np.ndarray:
    """What main's KeyIndex.lookup gave: pandas' get_indexer, as text when kinds differ."""
    if _kind(preds) != _kind(targets):
        targets, preds = _text(targets), _text(preds)
    if any(len(side) and all(key_value(v) is None for v in side) for side in (targets, preds)):
        # pandas' one quirk: nulls only ('mixed') never match text ('string'), so a chunk of
        # null keys found no target in one chunking and its target in another; the rule
        # everywhere else is kept: null matches null
        nulls = [i for i, v in enumerate(targets) if key_value(v) is None]
        return np.array([(nulls[0] if nulls else -1) if key_value(v) is None else
                         pd.Index(targets).get_indexer(pd.Index(_objects([v])))[0]
                         for v in preds], np.int64)
    return pd.Index(targets).get_indexer(pd.Index(preds))


def _objects(values: list) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _column(values: list, kind: str, arrow: bool) -> np.ndarray | pa.Array:
    """A key column as a reader gives it: int64 (objects when it holds a null, or Arrow
    int64 for a join's targets), or text (objects, or Arrow)."""
    if kind == "int":
        if arrow and None in values:
            return pa.array(values, pa.int64())
        return np.array(values, np.int64) if None not in values else _objects(values)
    return pa.array(values, pa.string()) if arrow else _objects(values)


def _index(targets, *, hash_bits: int = 64) -> KeyIndex:
    n = len(targets)
    index = KeyIndex([targets], {"target": np.arange(n, dtype=np.float64)}, names=("id",),
                     target_names=("id",), where="'t'", pred_where="'p'", hash_bits=hash_bits)
    index._build()  # as KeyIndex.read does: duplicates refused here
    return index


ints = st.one_of(st.none(), st.integers(-5, 40), st.integers(-2 ** 63, 2 ** 63 - 1))
texts = st.one_of(st.none(), st.text(max_size=6),
                  st.text(alphabet="ab\u00e9\u4e2d\U0001f600\x00", max_size=4))


@st.composite
def key_sets(draw):
    t_kind = draw(st.sampled_from(["int", "str"]))
    p_kind = draw(st.sampled_from([t_kind, t_kind, "int", "str"]))
    target = draw(st.lists(ints if t_kind == "int" else texts, max_size=40))
    if t_kind == "int" and p_kind == "str":  # text that may spell a target's integer
        pool = [None if v is None else str(v) for v in target] or [None]
        probe = st.one_of(st.sampled_from(pool), texts)
    elif t_kind == "str" and p_kind == "int":
        probe = ints
    else:
        probe = st.one_of(st.sampled_from(target), ints if p_kind == "int" else texts) \
            if target else (ints if p_kind == "int" else texts)
    preds = draw(st.lists(probe, max_size=40))
    return t_kind, target, p_kind, preds, draw(st.booleans()), draw(st.sampled_from([64, 2]))


@SETTINGS
@given(key_sets())
def test_lookups_equal_the_pandas_index(case):
    t_kind, target, p_kind, preds, arrow, bits = case
    t_np = _column(target, t_kind, False)
    p_np = _column(preds, p_kind, False)
    reference = pd.Index(t_np if _kind(p_np) == _kind(t_np) else _text(t_np))
    index_or_error: KeyIndex | InputError
    try:
        index_or_error = _index(_column(target, t_kind, arrow), hash_bits=bits)
    except InputError as exc:
        index_or_error = exc
    if not reference.is_unique:
        assert isinstance(index_or_error, InputError), "a duplicate key passed"
        dup = reference.duplicated(keep="first")
        message = str(index_or_error)
        assert f": {int(dup.sum())} row" in message and "is not unique in 't'" in message
        first = [key_value(t_np[i]) for i in np.flatnonzero(dup)[:3]]
        assert ", ".join(repr(k) if isinstance(k, str) else str(k) for k in first) in message
        return
    assert isinstance(index_or_error, KeyIndex), index_or_error
    index = index_or_error
    positions, _ = index.lookup([p_np])
    want = pandas_positions(t_np, p_np)
    np.testing.assert_array_equal(positions, want)
    # a batch joined: the matched targets, the rest left out and counted, identities = key_ids
    from losscli.io.inputs import Batch

    tally = index.new_state()
    batch = index.join(Batch(0, {"pred": np.zeros(len(preds))}, {"id": p_np}), tally)
    hit = want >= 0
    np.testing.assert_array_equal(batch.arrays["target"], want[hit].astype(np.float64))
    assert tally.unmatched == int((~hit).sum())
    compared = p_np if _kind(p_np) == _kind(t_np) else _text(p_np)
    np.testing.assert_array_equal(batch.ids, key_ids([compared])[hit])


def test_forced_collisions_never_join_the_wrong_rows():
    # 2-bit hashes: 300 distinct keys share 4 hashes; every lookup must still find its own
    # row (or none), and distinct keys with one hash are no duplicates
    rng = np.random.default_rng(5)
    keys = [f"k{i:05d}" for i in rng.permutation(300)]
    table = KeyTable([pa.array(keys)], hash_bits=2)
    assert table.duplicates() == (0, [])
    probe = [*keys[::-1], "nope", "k99999", ""]
    got = table.lookup([pa.array(probe)])
    row = {k: i for i, k in enumerate(keys)}
    assert got.tolist() == [row.get(k, -1) for k in probe]
    # a genuine duplicate among the collisions is found, named by its later row
    dup = KeyTable([pa.array([*keys, keys[7]])], hash_bits=2)
    assert dup.duplicates() == (1, [300])
    # two columns, and nulls, through the same path
    a = pa.array([1, 1, 2, None, None], pa.int64())
    b = pa.array(["x", "y", "x", "x", None])
    two = KeyTable([a, b], hash_bits=1)
    assert two.duplicates() == (0, [])
    probe2 = [pa.array([None, 2, 1, 1, None, 3], pa.int64()),
              pa.array([None, "x", "y", "z", "x", "x"])]
    assert two.lookup(probe2).tolist() == [4, 2, 1, -1, 3, -1]


def test_true_collision_of_the_full_hash_is_resolved(monkeypatch):
    # two different keys given the very same 64-bit hash: each still finds its own row
    import losscli.stats.resample as resample

    real = resample.key_ids

    def colliding(columns):
        h = real(columns)
        col = columns[0] if isinstance(columns, list) else columns
        text = col.to_pylist() if hasattr(col, "to_pylist") else list(col)
        return np.where(np.isin(np.array(text, dtype=object), ["alpha", "omega"]),
                        np.uint64(42), h)

    monkeypatch.setattr(resample, "key_ids", colliding)
    table = KeyTable([pa.array(["omega", "beta", "alpha"])])
    assert table.duplicates() == (0, [])
    assert table.lookup([pa.array(["alpha", "omega", "gamma", "beta"])]).tolist() == [2, 0, -1, 1]


def _held_per_key(path, n: int) -> float:
    """Bytes per key that a KeyIndex of ``path``'s targets holds once built: numpy
    (tracemalloc) and Arrow (its allocator) memory, less the 8 bytes of each target value."""
    from losscli.io.formats import open_source

    source = open_source(str(path))
    gc.collect()
    arrow0 = pa.total_allocated_bytes()
    tracemalloc.start()
    try:
        index = KeyIndex.read(source, {"target": ("target",)}, ("id",), ("id",), 1 << 16, "'p'")
        gc.collect()
        numpy_bytes, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    held = numpy_bytes + pa.total_allocated_bytes() - arrow0 - 8 * n
    assert index.nbytes <= held + 64  # what the index says it holds is what it holds
    return held / n


def test_bytes_per_key(tmp_path):
    n = 200_000
    rng = np.random.default_rng(1)
    ints_path, text_path = tmp_path / "ints.parquet", tmp_path / "text.parquet"
    pq.write_table(pa.table({"id": rng.permutation(n).astype(np.int64) * 977,
                             "target": rng.normal(size=n)}), ints_path)
    letters = (rng.integers(0, 26, size=(n, 16), dtype=np.uint8) + 97).view("S16").ravel()
    pq.write_table(pa.table({"id": pa.array(letters.astype(object)).cast(pa.string()),
                             "target": rng.normal(size=n)}), text_path)
    per_int, per_text = _held_per_key(ints_path, n), _held_per_key(text_path, n)
    print(f"bytes per key: int64 {per_int:.1f}, 16-character text {per_text:.1f}")
    assert per_int <= 40, per_int
    assert per_text <= 80, per_text


def test_targets_that_do_not_fit_are_one_line(tmp_path):
    n = 50_000
    rng = np.random.default_rng(2)
    pq.write_table(pa.table({"id": pa.array([f"row-{i:011d}" for i in range(n)]),
                             "target": rng.normal(size=n)}), tmp_path / "t.parquet")
    pq.write_table(pa.table({"id": pa.array([f"row-{i:011d}" for i in range(10)]),
                             "pred": rng.normal(size=10)}), tmp_path / "p.parquet")
    args = ("eval", tmp_path / "p.parquet", "-t", tmp_path / "t.parquet", "--id-col", "id",
            "-l", "mse", "--unmatched", "omit", "-f", "json")
    r = run_losscli(*args, env={"LOSSCLI_MEMORY_LIMIT": "1M"})
    assert r.returncode == 2 and r.stdout == b""
    (line,) = r.stderr.decode().strip().splitlines()
    assert "'" + str(tmp_path / "t.parquet") + "'" in line and "does not fit in memory" in line
    assert f"({n} rows)" in line and "MiB" in line and "1 MiB can be allocated" in line
    assert "without --id-col" in line and "DuckDB" in line and "predictions file" in line
    ok = run_losscli(*args, env={"LOSSCLI_MEMORY_LIMIT": "1G"})
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["rows"] == 10


# -- whole runs: equal to a pandas merge --------------------------------------------------

@st.composite
def files(draw):
    kind = draw(st.sampled_from(["int", "str", "unicode"]))
    n = draw(st.integers(1, 60))
    ids: list = list(range(n)) if kind == "int" else [
        f"{'é中' if kind == 'unicode' else 'k'}{i}" for i in range(n)]
    if draw(st.booleans()):
        ids[draw(st.integers(0, n - 1))] = None  # a null key, on the targets' side
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    keep = rng.random(n) < draw(st.sampled_from([1.0, 0.8]))  # targets without predictions
    preds = [k for k, k_ok in zip(ids, keep) if k_ok]
    if draw(st.booleans()):  # predictions without a target
        preds += [10_000 + i if kind == "int" else f"x{i}" for i in range(3)]
    order = rng.permutation(len(preds))
    preds = [preds[i] for i in order]
    return kind, ids, preds, rng


@settings(max_examples=3, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(files())
def test_runs_equal_a_pandas_merge(tmp_path, case):
    kind, ids, preds, rng = case
    t_type = pa.int64() if kind == "int" else pa.string()
    target = rng.normal(size=len(ids))
    pred = rng.normal(size=len(preds))
    pq.write_table(pa.table({"id": pa.array(ids, t_type), "target": target}),
                   tmp_path / "t.parquet")
    pq.write_table(pa.table({"id": pa.array(preds, t_type), "pred": pred}),
                   tmp_path / "p.parquet", row_group_size=7)
    merged = pd.DataFrame({"id": pd.array(preds, dtype=object), "pred": pred}).merge(
        pd.DataFrame({"id": pd.array(ids, dtype=object), "target": target}), on="id")
    if merged.empty:
        return
    want = float(((merged["pred"] - merged["target"]) ** 2).mean())
    for extra in (["--chunk-size", "1"], ["--chunk-size", "7", "--workers", "2"], []):
        r = run_losscli("eval", tmp_path / "p.parquet", "-t", tmp_path / "t.parquet",
                        "--id-col", "id", "--unmatched", "omit", "-l", "mse", "-f", "json",
                        *extra)
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
        assert doc["rows"] == len(merged), extra
        assert doc["losses"][0]["value"] == pytest.approx(want, rel=1e-12, abs=1e-300)


def test_csv_text_keys_join_parquet_integer_keys_and_the_bootstrap_is_split_free(tmp_path):
    # keys of different types (CSV text, Parquet int64) compare as text, as before; the
    # bootstrap's identities come from the keys: the same interval in any chunking
    n = 3000
    rng = np.random.default_rng(4)
    ids = rng.permutation(n) + 10
    target = rng.normal(size=n)
    pd.DataFrame({"id": np.arange(n) + 10, "target": target}).to_csv(tmp_path / "t.csv",
                                                                     index=False)
    pred = target[ids - 10] + rng.normal(size=n)
    pq.write_table(pa.table({"id": ids, "pred": pred}), tmp_path / "p.parquet",
                   row_group_size=600)
    want = float(np.mean((pred - target[ids - 10]) ** 2))
    seen = []
    for extra in (["--chunk-size", "999"], ["--workers", "2"]):
        r = run_losscli("eval", tmp_path / "p.parquet", "-t", tmp_path / "t.csv", "--id-col",
                        "id", "-l", "mse", "--ci", "--ci-method", "bootstrap", "--replicates",
                        "50", "-f", "json", *extra)
        assert r.returncode == 0, r.stderr
        loss = json.loads(r.stdout)["losses"][0]
        assert loss["value"] == pytest.approx(want, rel=1e-12)
        seen.append((loss["value"], json.dumps(loss.get("ci"), sort_keys=True)))
    assert seen[0] == seen[1]


def test_s3_targets_joined_by_text_key(s3_env, tmp_path):
    n = 800
    rng = np.random.default_rng(6)
    keys = [f"cust-{i:011d}" for i in range(n)]
    target = rng.normal(size=n)
    buf = pa.BufferOutputStream()
    pq.write_table(pa.table({"id": keys, "target": target}), buf, row_group_size=300)
    s3_env.create_bucket(Bucket="truth")
    s3_env.put_object(Bucket="truth", Key="t/part-0.parquet", Body=buf.getvalue().to_pybytes())
    order = rng.permutation(n)
    pred = target[order] + rng.normal(size=n)
    pq.write_table(pa.table({"id": [keys[i] for i in order], "pred": pred}),
                   tmp_path / "p.parquet")
    report = losscli.evaluate(predictions=str(tmp_path / "p.parquet"),
                              targets="s3://truth/t/", id_col="id", losses=["mse"])
    assert report.losses[0].value == pytest.approx(float(np.mean((pred - target[order]) ** 2)),
                                                   rel=1e-12)


def test_targets_in_many_files_joined_by_text_key(tmp_path):
    # a folder of target files (the keys of every file in one index), in both key types
    n = 900
    rng = np.random.default_rng(8)
    keys = [f"é-{i:07d}" for i in range(n)]
    target = rng.normal(size=n)
    folder = tmp_path / "truth"
    folder.mkdir()
    for part, lo in enumerate(range(0, n, 300)):
        pq.write_table(pa.table({"id": keys[lo:lo + 300], "target": target[lo:lo + 300]}),
                       folder / f"part-{part}.parquet")
    order = rng.permutation(n)[:700]  # 200 targets without a prediction: omitted
    pred = target[order] + rng.normal(size=700)
    pq.write_table(pa.table({"id": [keys[i] for i in order], "pred": pred}),
                   tmp_path / "p.parquet", row_group_size=128)
    want = float(np.mean((pred - target[order]) ** 2))
    r = run_losscli("eval", tmp_path / "p.parquet", "-t", folder, "--id-col", "id",
                    "--unmatched", "omit", "-l", "mse", "-f", "json", "--workers", "2")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["rows"] == 700 and doc["inputs"]["join"]["unmatched_targets"] == 200
    assert doc["losses"][0]["value"] == pytest.approx(want, rel=1e-12)
    strict = run_losscli("eval", tmp_path / "p.parquet", "-t", folder, "--id-col", "id",
                         "-l", "mse")
    assert strict.returncode == 2
    (line,) = strict.stderr.decode().strip().splitlines()
    assert "200 targets of" in line and "have no prediction" in line


@pytest.mark.parametrize("value", ["lots", "-5G", "0", "nanM"])
def test_a_memory_limit_that_is_not_a_size_is_one_line(tmp_path, value):
    rng = np.random.default_rng(3)
    pq.write_table(pa.table({"id": pa.array([f"k{i}" for i in range(20)]),
                             "target": rng.normal(size=20)}), tmp_path / "t.parquet")
    pq.write_table(pa.table({"id": pa.array([f"k{i}" for i in range(20)]),
                             "pred": rng.normal(size=20)}), tmp_path / "p.parquet")
    r = run_losscli("eval", tmp_path / "p.parquet", "-t", tmp_path / "t.parquet", "--id-col",
                    "id", "-l", "mse", env={"LOSSCLI_MEMORY_LIMIT": value})
    assert r.returncode == 2 and r.stdout == b""
    (line,) = r.stderr.decode().strip().splitlines()
    assert "LOSSCLI_MEMORY_LIMIT" in line and repr(value) in line and "e.g. 2G" in line
