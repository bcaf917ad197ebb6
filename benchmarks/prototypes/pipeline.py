"""Prototype: a whole process doing what a tuned ``losscli eval`` could do, to measure the
ceiling of the ideas in issue 6 against the peers before anyone changes losscli.

    python benchmarks/prototypes/pipeline.py FORMAT FILE [FILE2] [--chunk N] [--serial]
        [--compute-threads K] [--csv-block BYTES] [--workers K] [--cli-imports]

- imports only numpy and the one pyarrow module the format needs (no typer/rich/losscli);
- a reader thread decodes the next chunk while the main thread computes (``--serial``
  turns that off), a queue of two chunks bounding memory;
- Parquet: row groups read one at a time (``read_row_group``, columns projected), sliced
  into ``--chunk`` rows; CSV: newline-aligned byte blocks parsed by ``pyarrow.csv.read_csv``
  in two threads; NPY: a read-only memmap sliced into chunks;
- compute: ``d = pred - target`` once per chunk into preallocated buffers, in-place ufuncs,
  huber as ``m * (|d| - m/2)`` with ``m = min(|d|, 1)``, the finite check from ``sum(d)``;
  ``--compute-threads 2`` splits each chunk over two threads;
- ``--workers K``: map-reduce instead: K threads each take a whole unit (a row group, a
  newline-aligned CSV byte block, a range of NPY rows read with ``os.preadv`` into reused
  buffers), decode it and reduce it to partial sums; partials merge in unit order. This is
  what losscli's mergeable accumulators allow.

Prints ``{"mse": ..., "mae": ..., "huber": ...}`` like the peers, so the harness checks it.
"""

from __future__ import annotations

import argparse
import json
import math
import queue
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

COLS = ["pred", "target"]


class Sums:
    """Buffers for one worker; ``add`` folds a chunk's sums in (Neumaier-free: enough for
    a prototype, the real accumulator keeps its compensation)."""

    def __init__(self, size: int) -> None:
        self.d = np.empty(size)
        self.ad = np.empty(size)
        self.m = np.empty(size)
        self.total = [0.0, 0.0, 0.0]
        self.n = 0

    def add(self, p: np.ndarray, t: np.ndarray) -> None:
        k = len(p)
        if k > len(self.d):
            self.__init__(k)  # type: ignore[misc]
        d, ad, m = self.d[:k], self.ad[:k], self.m[:k]
        np.subtract(p, t, out=d)
        if not math.isfinite(float(d.sum())):
            raise SystemExit("non-finite values (the exact check would name the row)")
        np.abs(d, out=ad)
        s_mae = float(ad.sum())
        np.multiply(d, d, out=d)
        s_mse = float(d.sum())
        np.minimum(ad, 1.0, out=m)
        np.multiply(m, 0.5, out=d)
        np.subtract(ad, d, out=d)
        np.multiply(m, d, out=d)
        s_hub = float(d.sum())
        self.total[0] += s_mse
        self.total[1] += s_mae
        self.total[2] += s_hub
        self.n += k


def _np(col) -> np.ndarray:
    """float64 view of an Arrow float64 column without nulls, via its data buffer: no copy,
    and no pandas import (pyarrow's to_numpy / np.asarray import pandas, ~0.15 s)."""
    if hasattr(col, "combine_chunks"):
        col = col.combine_chunks()
    assert col.null_count == 0 and str(col.type) == "double"
    return np.frombuffer(col.buffers()[1], dtype=np.float64, count=len(col),
                         offset=col.offset * 8)


def parquet_iter_chunks(path: str, chunk: int):
    """``iter_batches`` on ``ParquetFile(pre_buffer=False)``: the default pre_buffer=True
    buffers ahead without bound (RSS grows with the file: 1.8 GB at 100M rows)."""
    import pyarrow.parquet as pq

    f = pq.ParquetFile(path, pre_buffer=False)
    for b in f.iter_batches(batch_size=chunk, columns=COLS):
        yield _np(b.column("pred")), _np(b.column("target"))


def parquet_chunks(path: str, chunk: int):
    import pyarrow.parquet as pq

    f = pq.ParquetFile(path)
    for i in range(f.num_row_groups):
        table = f.read_row_group(i, columns=COLS)
        p, t = _np(table.column("pred")), _np(table.column("target"))
        for s in range(0, len(p), chunk):
            yield p[s:s + chunk], t[s:s + chunk]


def csv_chunks(path: str, chunk: int, block_size: int):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    convert = pacsv.ConvertOptions(column_types={c: pa.float64() for c in COLS},
                                   include_columns=COLS)
    read_opts = pacsv.ReadOptions(use_threads=False, block_size=block_size + (1 << 16))
    with open(path, "rb") as f, ThreadPoolExecutor(2) as pool:
        header = f.readline()

        def parse(body: bytes):
            table = pacsv.read_csv(pa.py_buffer(header + body), read_options=read_opts,
                                   convert_options=convert)
            return _np(table.column("pred")), _np(table.column("target"))

        pending = []
        tail = b""
        while True:
            block = f.read(block_size)
            if not block:
                break
            block = tail + block
            cut = block.rfind(b"\n") + 1
            tail = block[cut:]
            if cut:
                pending.append(pool.submit(parse, block[:cut]))
            while len(pending) > 2:
                p, t = pending.pop(0).result()
                for s in range(0, len(p), chunk):
                    yield p[s:s + chunk], t[s:s + chunk]
        if tail.strip():
            pending.append(pool.submit(parse, tail + b"\n"))
        for fut in pending:
            p, t = fut.result()
            for s in range(0, len(p), chunk):
                yield p[s:s + chunk], t[s:s + chunk]


def npy_chunks(pred_path: str, target_path: str, chunk: int):
    p = np.load(pred_path, mmap_mode="r")
    t = np.load(target_path, mmap_mode="r")
    for s in range(0, len(p), chunk):
        yield p[s:s + chunk], t[s:s + chunk]


def threaded(gen, depth: int = 2):
    """Run a generator in a reader thread, handing items over a bounded queue."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    end = object()

    def work() -> None:
        try:
            for item in gen:
                q.put(item)
        except BaseException as exc:  # re-raised in the consumer
            q.put(exc)
        q.put(end)

    threading.Thread(target=work, daemon=True).start()
    while True:
        item = q.get()
        if item is end:
            return
        if isinstance(item, BaseException):
            raise item
        yield item


_local = threading.local()


def _sums(chunk: int) -> Sums:
    """This thread's buffers (reused across units); totals reset per unit."""
    if not hasattr(_local, "sums"):
        _local.sums = Sums(chunk)
    s = _local.sums
    s.total, s.n = [0.0, 0.0, 0.0], 0
    return s


def parquet_units(path: str):
    """One unit per row group; each worker thread opens the file once."""
    import pyarrow.parquet as pq

    groups = pq.ParquetFile(path).num_row_groups

    def decode(i: int):
        if not hasattr(_local, "pq"):
            _local.pq = pq.ParquetFile(path)
        table = _local.pq.read_row_group(i, columns=COLS, use_threads=False)
        return _np(table.column("pred")), _np(table.column("target"))

    for i in range(groups):
        yield lambda i=i: decode(i)


def csv_units(path: str, block_size: int):
    """One unit per newline-aligned byte block (read by the caller's thread)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    convert = pacsv.ConvertOptions(column_types={c: pa.float64() for c in COLS},
                                   include_columns=COLS)
    read_opts = pacsv.ReadOptions(use_threads=False, block_size=block_size + (1 << 16))
    with open(path, "rb") as f:
        header = f.readline()

        def parse(body: bytes):
            table = pacsv.read_csv(pa.py_buffer(header + body), read_options=read_opts,
                                   convert_options=convert)
            return _np(table.column("pred")), _np(table.column("target"))

        tail = b""
        while True:
            block = f.read(block_size)
            if not block:
                break
            block = tail + block
            cut = block.rfind(b"\n") + 1
            tail = block[cut:]
            if cut:
                body = block[:cut]
                yield lambda body=body: parse(body)
        if tail.strip():
            yield lambda: parse(tail + b"\n")


def npy_units(pred_path: str, target_path: str, rows: int = 1 << 20):
    """One unit per ``rows`` rows, read with os.preadv into this thread's buffers (constant
    memory: no memmap pages piling up in RSS)."""
    import os

    def open_npy(path: str):
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read_header(f)
            assert dtype == np.float64, dtype
            return os.open(path, os.O_RDONLY), f.tell(), shape[0]

    (pfd, poff, n), (tfd, toff, _) = open_npy(pred_path), open_npy(target_path)

    def decode(s: int, e: int):
        if not hasattr(_local, "buf"):
            _local.buf = (np.empty(rows), np.empty(rows))
        p, t = _local.buf[0][:e - s], _local.buf[1][:e - s]
        os.preadv(pfd, [p], poff + 8 * s)
        os.preadv(tfd, [t], toff + 8 * s)
        return p, t

    for s in range(0, n, rows):
        yield lambda s=s: decode(s, min(s + rows, n))


def run_units(units, workers: int, chunk: int) -> list[Sums]:
    """Map: each unit decoded and reduced to sums in a worker thread. Reduce: partial sums
    merged in unit order (deterministic), at most 2 x workers units in flight."""
    def work(decode):
        p, t = decode()
        s = _sums(chunk)
        for i in range(0, len(p), chunk):
            s.add(p[i:i + chunk], t[i:i + chunk])
        out = Sums(0)
        out.total, out.n = list(s.total), s.n
        return out

    merged: list[Sums] = []
    with ThreadPoolExecutor(workers) as pool:
        pending = []
        for unit in units:
            pending.append(pool.submit(work, unit))
            if len(pending) >= 2 * workers:
                merged.append(pending.pop(0).result())
        merged += [f.result() for f in pending]
    return merged


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("fmt")
    ap.add_argument("files", nargs="+")
    ap.add_argument("--chunk", type=int, default=1 << 16)
    ap.add_argument("--serial", action="store_true")
    ap.add_argument("--compute-threads", type=int, default=1)
    ap.add_argument("--csv-block", type=int, default=4 << 20)
    ap.add_argument("--workers", type=int, default=0,
                    help="map-reduce: K threads each decode a unit (row group / byte block / "
                         "row range) and reduce it to sums; 0 = reader thread + main compute")
    ap.add_argument("--parquet-iter", action="store_true",
                    help="reader thread mode: iter_batches(pre_buffer=False), not read_row_group")
    ap.add_argument("--cli-imports", action="store_true",
                    help="import typer first, as the losscli CLI must")
    args = ap.parse_args()
    if args.cli_imports:
        import typer  # noqa: F401
    if args.workers:
        if args.fmt == "parquet":
            units = parquet_units(args.files[0])
        elif args.fmt == "csv":
            units = csv_units(args.files[0], args.csv_block)
        else:
            units = npy_units(args.files[0], args.files[1])
        _report(run_units(units, args.workers, args.chunk))
        return
    if args.fmt == "parquet":
        chunks = (parquet_iter_chunks if args.parquet_iter else parquet_chunks)(
            args.files[0], args.chunk)
    elif args.fmt == "csv":
        chunks = csv_chunks(args.files[0], args.chunk, args.csv_block)
    else:
        chunks = npy_chunks(args.files[0], args.files[1], args.chunk)
    if not args.serial:
        chunks = threaded(chunks)
    if args.compute_threads == 1:
        sums = [Sums(args.chunk)]
        for p, t in chunks:
            sums[0].add(p, t)
    else:
        k = args.compute_threads
        sums = [Sums(args.chunk // k + 1) for _ in range(k)]
        with ThreadPoolExecutor(k) as pool:
            for p, t in chunks:
                b = np.linspace(0, len(p), k + 1).astype(int)
                list(pool.map(Sums.add, sums, [p[b[i]:b[i + 1]] for i in range(k)],
                              [t[b[i]:b[i + 1]] for i in range(k)]))
    _report(sums)


def _report(sums: list[Sums]) -> None:
    n = sum(s.n for s in sums)
    totals = [math.fsum(s.total[i] for s in sums) for i in range(3)]
    print(json.dumps({"mse": totals[0] / n, "mae": totals[1] / n, "huber": totals[2] / n}))


if __name__ == "__main__":
    main()
