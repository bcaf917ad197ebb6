"""Deterministic benchmark data, generated in chunks into a cache folder.

Every dataset is written chunk by chunk (``CHUNK`` rows at a time, each chunk from its own
seeded generator), so generating 100M rows needs no more memory than one chunk, and the
same size always gives the same bytes. A ``meta.json`` written last marks a dataset as
complete; a folder without it (an interrupted run) is regenerated.

Datasets (``N`` is the row count):

- ``regression_N``: ``data.parquet`` and ``data.csv`` with float64 columns ``pred`` and
  ``target``, and ``pred.npy`` + ``target.npy``. Values carry 6 decimals (as a model's
  CSV export usually does), so every format holds exactly the same float64 values.
- ``binary_N``: ``data.parquet`` with ``prob`` (float64 in [0.001, 0.999]) and ``label``
  (int64 0/1), and ``prob.npy`` + ``label.npy``.
- ``multiclass_N``: ``C = 100`` float32 logits per row as ``logits.npy`` (N, C) and as
  ``data.parquet`` (columns ``logit_000`` … ``logit_099``), with int64 class indices in
  ``labels.npy`` and the Parquet ``label`` column.

Datasets of the scale, group and Dask cases (issues 12–14), all holding the same ``pred`` /
``target`` rows as ``regression_N`` (the same chunks), so every one of them has the same
mse, mae and huber as the single-file cases:

- ``regression-parquet_N``: ``data.parquet`` alone (no CSV, no NPY: 100M rows are 1.6 GB
  instead of ~5 GB), streamed chunk by chunk; the 100M case and the start-up case's tiny file.
- ``grouped_N``: ``data.parquet`` with ``pred``, ``target`` and two group columns of
  ``GROUPS`` values each, drawn independently per row: ``g`` (int64 0…99) and ``s``
  (strings ``segment-00`` … ``segment-99``, a plain string column written with pyarrow's
  default dictionary-encoded pages, as pandas/pyarrow write a string column).
- ``churn_N`` (issue 21, the job users run): ``data.parquet`` with ``id`` (16-character
  strings ``cust-00000000042``), ``channel`` (``CHANNELS``: 10 strings, skewed), ``p_yes``
  (float64 in [0.001, 0.999], not rounded: almost every score distinct) and ``label``
  (text ``yes``/``no`` drawn from ``p_yes``), and ``y``: the same labels as int8 0/1 (the
  text-label target's reference run); the same rows split into ``pred.parquet`` (id,
  channel, p_yes) and ``target.parquet`` (id, label: chunks in reverse order, rows shuffled
  within each, so a join by id is needed).
- ``tenclass_N`` (issue 21b): ``data.parquet`` with ``TENCLASS_LABELS`` probability columns
  ``p_cat``, ``p_dog``, … (float64, each row a softmax of seeded normals with the true
  class's logit raised, so rows sum to 1) and a string ``label`` holding the class names.
  The columns are *not* in the labels' sorted order (``ant`` sorts first but is the sixth
  column), so a tool that maps labels to columns by sorting instead of by name is caught.
- ``auc_N`` (issue 21, the exact AUC): ``data.parquet`` with ``p`` (float64 uniform in
  [0, 1), not rounded: every score distinct) and ``y`` (int64 0/1 drawn from ``p``, so the
  AUC is about 0.83), in 1M-row row groups.
- ``hive_N``: a hive-partitioned folder of ``PARTS`` files ``part=00/part-0.parquet`` …
  ``part=39/part-0.parquet``, the rows of ``regression_N`` cut into 40 consecutive runs.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

SEED = 20261121
CHUNK = 1 << 20  # rows per generated chunk (and per Parquet row group)
CLASSES = 100
VERSION = 1  # bump when the generated data changes, so caches are rebuilt
#: A kind's own version, where only that kind's data changed (churn 2: its ``y`` column).
KIND_VERSIONS = {"churn": 2}

KINDS = ("regression", "binary", "multiclass")
#: Kinds that reuse the regression chunks (their seeds are those of "regression").
DERIVED = ("regression-parquet", "grouped", "hive")
#: The churn job's channels (its group column) and their shares.
CHANNELS = ("web", "app", "store", "phone", "email", "partner", "social", "search", "tv",
            "print")
CHANNEL_SHARES = (0.3, 0.2, 0.12, 0.1, 0.08, 0.06, 0.05, 0.04, 0.03, 0.02)
#: The 10-class case's labels, in column order (``p_cat`` first): not sorted, on purpose.
TENCLASS_LABELS = ("cat", "dog", "bird", "fish", "horse", "ant", "zebra", "owl", "bee", "elk")
#: Its labels' shares (skewed, so macro and micro averages differ).
TENCLASS_SHARES = (0.2, 0.15, 0.12, 0.1, 0.1, 0.09, 0.08, 0.06, 0.06, 0.04)
TENCLASS_ROW_GROUP = 1 << 18  # 10 float64 columns: ~21 MB per row group
GROUPS = 100  # values of each group column
PARTS = 40  # files of the hive dataset


def parse_size(text: str) -> int:
    """``10k``, ``1M``, ``100M`` or a plain integer."""
    t = text.strip().lower().replace("_", "")
    mult = 1
    if t.endswith("k"):
        mult, t = 1_000, t[:-1]
    elif t.endswith("m"):
        mult, t = 1_000_000, t[:-1]
    value = float(t) * mult
    if value < 1 or value != int(value):
        raise ValueError(f"bad size {text!r}: use e.g. 10k, 1M, 100M or a row count")
    return int(value)


def size_label(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def dataset_dir(cache: Path, kind: str, n: int) -> Path:
    return cache / f"{kind}_{size_label(n)}"


def _chunks(n: int, chunk: int = CHUNK) -> list[tuple[int, int]]:
    return [(i, min(chunk, n - start)) for i, start in enumerate(range(0, n, chunk))]


def _rng(kind: str, index: int) -> np.random.Generator:
    return np.random.default_rng([SEED, KINDS.index(kind), index])


def regression_chunk(index: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Targets ~ 3·N(0, 1); predictions = target + N(0, 1.2) noise, so huber(delta=1)
    takes both of its branches. Rounded to 6 decimals."""
    rng = _rng("regression", index)
    target = np.round(3.0 * rng.standard_normal(rows), 6)
    pred = np.round(target + 1.2 * rng.standard_normal(rows), 6)
    return pred, target


def binary_chunk(index: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities in [0.001, 0.999] (no clipping rule matters) and 0/1 labels drawn
    from them, so the model is calibrated."""
    rng = _rng("binary", index)
    logit = 2.0 * rng.standard_normal(rows)
    prob = np.round(np.clip(1.0 / (1.0 + np.exp(-logit)), 0.001, 0.999), 6)
    label = (rng.random(rows) < prob).astype(np.int64)
    return prob, label


def multiclass_chunk(index: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """float32 logits (N, 100) and int64 labels, the true class boosted by 2."""
    rng = _rng("multiclass", index)
    logits = rng.standard_normal((rows, CLASSES), dtype=np.float32)
    label = rng.integers(0, CLASSES, rows, dtype=np.int64)
    logits[np.arange(rows), label] += np.float32(2.0)
    return logits, label


def files(kind: str, folder: Path) -> dict[str, list[Path]]:
    """The input files of a dataset per format (NPY is a pair: predictions, targets)."""
    if kind == "regression":
        return {
            "parquet": [folder / "data.parquet"],
            "csv": [folder / "data.csv"],
            "npy": [folder / "pred.npy", folder / "target.npy"],
        }
    if kind == "binary":
        return {"parquet": [folder / "data.parquet"], "npy": [folder / "prob.npy", folder / "label.npy"]}
    if kind == "multiclass":
        return {"parquet": [folder / "data.parquet"], "npy": [folder / "logits.npy", folder / "labels.npy"]}
    if kind in ("regression-parquet", "grouped"):
        return {"parquet": [folder / "data.parquet"]}
    if kind == "hive":
        return {"hive": [folder / "data"]}
    if kind == "churn":
        return {"parquet": [folder / "data.parquet"],
                "join": [folder / "pred.parquet", folder / "target.parquet"]}
    if kind in ("tenclass", "auc"):
        return {"parquet": [folder / "data.parquet"]}
    raise ValueError(f"unknown dataset kind {kind!r}")


def estimate_bytes(kind: str, n: int) -> int:
    """Rough disk use of a dataset (all formats), to check free space before writing."""
    if kind == "regression":
        return n * (16 + 16 + 20)  # parquet, npy, csv (~20 characters a row)
    if kind == "binary":
        return n * (16 + 16)
    if kind in ("regression-parquet", "hive"):
        return n * 16
    if kind == "grouped":
        return n * 18
    if kind == "churn":
        return n * 2 * 40
    if kind == "tenclass":
        return n * (len(TENCLASS_LABELS) * 8 + 2)
    if kind == "auc":
        return n * 10
    return n * (CLASSES * 4 * 2 + 16)


def ensure(cache: Path, kind: str, n: int, log: Any = print) -> Path:
    """Generate the dataset unless a complete copy is cached; return its folder."""
    folder = dataset_dir(cache, kind, n)
    meta_path = folder / "meta.json"
    want = {"kind": kind, "rows": n, "seed": SEED, "version": KIND_VERSIONS.get(kind, VERSION),
            "chunk": CHUNK}
    if meta_path.exists():
        try:
            if {k: v for k, v in json.loads(meta_path.read_text()).items() if k in want} == want:
                return folder
        except (OSError, ValueError):
            pass
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    free = shutil.disk_usage(folder).free
    need = estimate_bytes(kind, n)
    if need > free * 0.9:
        raise RuntimeError(
            f"{kind} {size_label(n)} needs about {need / 1e9:.1f} GB but only {free / 1e9:.1f} GB "
            f"are free under {cache}; free some space or choose smaller --sizes."
        )
    started = time.perf_counter()
    log(f"generating {kind} {size_label(n)} rows into {folder} (~{need / 1e9:.2f} GB) ...")
    writers = {"regression": _write_regression, "binary": _write_binary,
               "multiclass": _write_multiclass, "regression-parquet": _write_regression_parquet,
               "grouped": _write_grouped, "hive": _write_hive, "churn": _write_churn,
               "tenclass": _write_tenclass, "auc": _write_auc}
    writers[kind](folder, n)
    want["seconds"] = round(time.perf_counter() - started, 1)
    meta_path.write_text(json.dumps(want, indent=1) + "\n")
    log(f"  done in {want['seconds']} s")
    return folder


def _npy(path: Path, dtype: Any, shape: tuple[int, ...]) -> np.memmap:
    return np.lib.format.open_memmap(str(path), mode="w+", dtype=dtype, shape=shape)


def _write_regression(folder: Path, n: int) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    schema = pa.schema([("pred", pa.float64()), ("target", pa.float64())])
    pred_npy = _npy(folder / "pred.npy", np.float64, (n,))
    target_npy = _npy(folder / "target.npy", np.float64, (n,))
    with pq.ParquetWriter(folder / "data.parquet", schema) as pw, pacsv.CSVWriter(
        str(folder / "data.csv"), schema
    ) as cw:
        start = 0
        for index, rows in _chunks(n):
            pred, target = regression_chunk(index, rows)
            table = pa.table({"pred": pred, "target": target}, schema=schema)
            pw.write_table(table, row_group_size=CHUNK)
            cw.write_table(table)
            pred_npy[start : start + rows] = pred
            target_npy[start : start + rows] = target
            start += rows
    pred_npy.flush()
    target_npy.flush()
    del pred_npy, target_npy


def _write_binary(folder: Path, n: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("prob", pa.float64()), ("label", pa.int64())])
    prob_npy = _npy(folder / "prob.npy", np.float64, (n,))
    label_npy = _npy(folder / "label.npy", np.int64, (n,))
    with pq.ParquetWriter(folder / "data.parquet", schema) as pw:
        start = 0
        for index, rows in _chunks(n):
            prob, label = binary_chunk(index, rows)
            pw.write_table(pa.table({"prob": prob, "label": label}, schema=schema),
                           row_group_size=CHUNK)
            prob_npy[start : start + rows] = prob
            label_npy[start : start + rows] = label
            start += rows
    prob_npy.flush()
    label_npy.flush()
    del prob_npy, label_npy


def _regression_stream(n: int) -> Any:
    """(pred, target) chunks of ``regression_N``, in order."""
    for index, rows in _chunks(n):
        yield regression_chunk(index, rows)


def _write_regression_parquet(folder: Path, n: int) -> None:
    """``data.parquet`` of ``regression_N`` alone, one chunk in memory at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("pred", pa.float64()), ("target", pa.float64())])
    with pq.ParquetWriter(folder / "data.parquet", schema) as pw:
        for pred, target in _regression_stream(n):
            pw.write_table(pa.table({"pred": pred, "target": target}, schema=schema),
                           row_group_size=CHUNK)


def group_chunk(index: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Two independent uniform group codes in [0, GROUPS) per row (int64): ``g`` and the
    code of ``s``. Their own generator stream, so the pred/target chunks stay those of
    ``regression_N``."""
    rng = np.random.default_rng([SEED, 100, index])
    return rng.integers(0, GROUPS, rows, dtype=np.int64), rng.integers(0, GROUPS, rows,
                                                                      dtype=np.int64)


def segment_names() -> list[str]:
    return [f"segment-{i:02d}" for i in range(GROUPS)]


def _write_grouped(folder: Path, n: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("pred", pa.float64()), ("target", pa.float64()), ("g", pa.int64()),
                        ("s", pa.string())])
    names = pa.array(segment_names(), pa.string())
    with pq.ParquetWriter(folder / "data.parquet", schema) as pw:  # dictionary pages: default
        for index, (pred, target) in enumerate(_regression_stream(n)):
            g, s = group_chunk(index, len(pred))
            strings = names.take(pa.array(s))  # a plain string column, as pandas writes one
            pw.write_table(pa.table({"pred": pred, "target": target, "g": g, "s": strings},
                                    schema=schema), row_group_size=CHUNK)


def churn_chunk(index: int, start: int, rows: int) -> dict[str, Any]:
    """One chunk of the churn job: ids from the row number, a skewed channel, a score in
    [0.001, 0.999] and a yes/no label drawn from it (a calibrated model)."""
    rng = np.random.default_rng([SEED, 21, index])
    p = np.clip(1.0 / (1.0 + np.exp(-1.5 * rng.standard_normal(rows))), 0.001, 0.999)
    label = np.where(rng.random(rows) < p, "yes", "no")
    channel = np.asarray(CHANNELS)[rng.choice(len(CHANNELS), rows, p=CHANNEL_SHARES)]
    ids = np.char.add("cust-", np.char.zfill(np.arange(start, start + rows).astype("U11"), 11))
    return {"id": ids, "channel": channel, "p_yes": p, "label": label,
            "y": (label == "yes").astype(np.int8)}


def _write_churn(folder: Path, n: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    s, f = pa.string(), pa.float64()
    one = pa.schema([("id", s), ("channel", s), ("p_yes", f), ("label", s), ("y", pa.int8())])
    pred = pa.schema([("id", s), ("channel", s), ("p_yes", f)])
    target = pa.schema([("id", s), ("label", s)])
    sizes = [rows for _, rows in _chunks(n)]
    starts = np.cumsum([0, *sizes[:-1]]).tolist()
    bounds = [(start, start + rows) for start, rows in zip(starts, sizes)]
    with pq.ParquetWriter(folder / "data.parquet", one) as w1, \
            pq.ParquetWriter(folder / "pred.parquet", pred) as w2:
        for index, (lo, hi) in enumerate(bounds):
            c = churn_chunk(index, lo, hi - lo)
            w1.write_table(pa.table(c, schema=one), row_group_size=CHUNK)
            w2.write_table(pa.table({k: c[k] for k in ("id", "channel", "p_yes")}, schema=pred),
                           row_group_size=CHUNK)
    with pq.ParquetWriter(folder / "target.parquet", target) as w3:
        for index in reversed(range(len(bounds))):
            lo, hi = bounds[index]
            c = churn_chunk(index, lo, hi - lo)
            order = np.random.default_rng([SEED, 22, index]).permutation(hi - lo)
            w3.write_table(pa.table({"id": c["id"][order], "label": c["label"][order]},
                                    schema=target), row_group_size=CHUNK)


def tenclass_chunk(index: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """One chunk of the 10-class case: probabilities (rows, 10) float64, each row the
    softmax of N(0, 1) logits with the true class's raised by 1.5 (about 45 % accuracy,
    every class predicted), and the true labels as text (``TENCLASS_LABELS``)."""
    rng = np.random.default_rng([SEED, 211, index])
    k = len(TENCLASS_LABELS)
    y = rng.choice(k, rows, p=TENCLASS_SHARES)
    logits = rng.standard_normal((rows, k))
    logits[np.arange(rows), y] += 1.5
    logits -= logits.max(axis=1, keepdims=True)
    prob = np.exp(logits)
    prob /= prob.sum(axis=1, keepdims=True)
    return prob, np.asarray(TENCLASS_LABELS)[y]


def tenclass_columns() -> list[str]:
    return [f"p_{label}" for label in TENCLASS_LABELS]


def _write_tenclass(folder: Path, n: int) -> None:
    """``data.parquet``: the ``p_<label>`` columns and the string ``label``, one chunk in
    memory at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = tenclass_columns()
    schema = pa.schema([*((c, pa.float64()) for c in names), ("label", pa.string())])
    with pq.ParquetWriter(folder / "data.parquet", schema) as pw:  # dictionary pages: default
        for index, rows in _chunks(n):
            prob, label = tenclass_chunk(index, rows)
            cols = [pa.array(prob[:, j]) for j in range(len(names))] + [pa.array(label)]
            pw.write_table(pa.Table.from_arrays(cols, schema=schema),
                           row_group_size=TENCLASS_ROW_GROUP)


def auc_chunk(index: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Scores uniform in [0, 1) (float64 as drawn: distinct) and 0/1 labels drawn from them."""
    rng = np.random.default_rng([SEED, 212, index])
    p = rng.random(rows)
    return p, (rng.random(rows) < p).astype(np.int64)


def _write_auc(folder: Path, n: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("p", pa.float64()), ("y", pa.int64())])
    with pq.ParquetWriter(folder / "data.parquet", schema) as pw:
        for index, rows in _chunks(n):
            p, y = auc_chunk(index, rows)
            pw.write_table(pa.table({"p": p, "y": y}, schema=schema), row_group_size=CHUNK)


def hive_bounds(n: int, parts: int = PARTS) -> list[int]:
    """Row boundaries of the hive dataset's files: ``parts`` consecutive runs of rows."""
    return [n * i // parts for i in range(parts + 1)]


def _write_hive(folder: Path, n: int) -> None:
    """``data/part=NN/part-0.parquet``: the rows of ``regression_N`` cut at
    :func:`hive_bounds`, streamed (one chunk and one open writer at a time)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("pred", pa.float64()), ("target", pa.float64())])
    bounds = hive_bounds(n)
    writer: Any = None
    part = -1
    row = 0
    try:
        for pred, target in _regression_stream(n):
            at = 0
            while at < len(pred):
                while row >= bounds[part + 1]:  # open the file this row belongs to
                    if writer is not None:
                        writer.close()
                    part += 1
                    path = folder / "data" / f"part={part:02d}" / "part-0.parquet"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    writer = pq.ParquetWriter(path, schema)
                take = min(len(pred) - at, bounds[part + 1] - row)
                writer.write_table(pa.table({"pred": pred[at:at + take],
                                             "target": target[at:at + take]}, schema=schema),
                                   row_group_size=CHUNK)
                at += take
                row += take
    finally:
        if writer is not None:
            writer.close()


def logit_columns() -> list[str]:
    return [f"logit_{j:03d}" for j in range(CLASSES)]


def _write_multiclass(folder: Path, n: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = logit_columns()
    schema = pa.schema([*((c, pa.float32()) for c in names), ("label", pa.int64())])
    logits_npy = _npy(folder / "logits.npy", np.float32, (n, CLASSES))
    labels_npy = _npy(folder / "labels.npy", np.int64, (n,))
    # Row groups of 128k rows: 100 float32 columns make 1M-row groups ~400 MB each.
    chunk = 1 << 17
    with pq.ParquetWriter(folder / "data.parquet", schema) as pw:
        start = 0
        for index, rows in _chunks(n, chunk):
            logits, label = multiclass_chunk(index, rows)
            cols = [pa.array(logits[:, j]) for j in range(CLASSES)] + [pa.array(label)]
            pw.write_table(pa.Table.from_arrays(cols, schema=schema), row_group_size=chunk)
            logits_npy[start : start + rows] = logits
            labels_npy[start : start + rows] = label
            start += rows
    logits_npy.flush()
    labels_npy.flush()
    del logits_npy, labels_npy


def main() -> None:  # python -m benchmarks.data KIND SIZE [CACHE]
    import sys

    kind, size = sys.argv[1], parse_size(sys.argv[2])
    cache = Path(sys.argv[3]) if len(sys.argv) > 3 else Path(__file__).parent / ".cache"
    print(ensure(cache, kind, size))


if __name__ == "__main__":
    main()
