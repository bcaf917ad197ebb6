"""Prototype: reading pred/target into float64 numpy chunks, nothing computed.

    python -m benchmarks.prototypes.readers [ROWS] [--repeats N] [--only NAME,...]

Each variant runs as its own process (so its peak RSS is its own); the table shows the
whole process (imports included) and the read loop alone. Variants:

parquet-*  ParquetFile.iter_batches at several batch sizes (losscli today: 256k, threads on,
           pre_buffer on: the ParquetFile default; "-nopb" is ParquetFile(pre_buffer=False)),
           read_row_group one group at a time, two threads reading alternate row groups,
           and read_table of the whole file (the memory-hungry baseline).
csv-*      the streaming reader (open_csv) at several block sizes (losscli today: 8 MB),
           read_csv of the whole file (multi-threaded, memory-hungry), and newline-aligned
           byte blocks parsed by read_csv in a pool of two threads (bounded in flight).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

COLS = ["pred", "target"]


def as_float64(col):
    """float64 numpy view of an Arrow float64 column without nulls, via its data buffer:
    no copy, and no pandas import (pyarrow's to_numpy / __array__ import pandas, ~0.15 s)."""
    import numpy as np

    if hasattr(col, "combine_chunks"):
        col = col.combine_chunks()
    assert col.null_count == 0 and str(col.type) == "double"
    return np.frombuffer(col.buffers()[1], dtype=np.float64, count=len(col),
                         offset=col.offset * 8)


def _consume(batch) -> int:
    n = 0
    for c in COLS:
        n = len(as_float64(batch.column(c)))
    return n


def parquet_iter(path, batch_size, use_threads=True, pre_buffer=True):
    import pyarrow.parquet as pq

    f = pq.ParquetFile(path, pre_buffer=pre_buffer)
    return sum(_consume(b) for b in f.iter_batches(batch_size=batch_size, columns=COLS,
                                                   use_threads=use_threads))


def parquet_row_groups(path):
    import pyarrow.parquet as pq

    f = pq.ParquetFile(path)
    return sum(_consume(f.read_row_group(i, columns=COLS)) for i in range(f.num_row_groups))


def parquet_two_threads(path):
    """Row groups 0, 2, 4, ... in one thread and 1, 3, 5, ... in another, each with its
    own ParquetFile; results consumed in order (a window of two groups in flight)."""
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow.parquet as pq

    files = [pq.ParquetFile(path), pq.ParquetFile(path)]
    groups = files[0].num_row_groups
    total = 0
    with ThreadPoolExecutor(2) as pool:
        pending = []
        for i in range(groups):
            pending.append(pool.submit(files[i % 2].read_row_group, i, columns=COLS,
                                       use_threads=False))
            if len(pending) >= 2:
                total += _consume(pending.pop(0).result())
        for fut in pending:
            total += _consume(fut.result())
    return total


def parquet_whole(path):
    import pyarrow.parquet as pq

    return _consume(pq.read_table(path, columns=COLS))


def csv_stream(path, block_size, use_threads=True):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    reader = pacsv.open_csv(
        path, read_options=pacsv.ReadOptions(block_size=block_size, use_threads=use_threads),
        convert_options=pacsv.ConvertOptions(column_types={c: pa.float64() for c in COLS},
                                             include_columns=COLS))
    return sum(_consume(b) for b in reader)


def csv_whole(path):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    return _consume(pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types={c: pa.float64() for c in COLS}, include_columns=COLS)))


def csv_blocks(path, block_size=4 << 20, workers=2):
    """Newline-aligned byte blocks, each parsed by read_csv (one thread each) in a pool;
    at most ``workers + 1`` blocks in flight, results consumed in file order."""
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa
    import pyarrow.csv as pacsv

    convert = pacsv.ConvertOptions(column_types={c: pa.float64() for c in COLS},
                                   include_columns=COLS)
    with open(path, "rb") as f:
        header = f.readline()
        read_opts = pacsv.ReadOptions(use_threads=False, block_size=block_size + (1 << 16))

        def parse(body: bytes):
            return pacsv.read_csv(pa.py_buffer(header + body), read_options=read_opts,
                                  convert_options=convert)

        total = 0
        tail = b""
        with ThreadPoolExecutor(workers) as pool:
            pending = []
            while True:
                block = f.read(block_size)
                if not block:
                    break
                block = tail + block
                cut = block.rfind(b"\n") + 1
                tail = block[cut:]
                if cut:
                    pending.append(pool.submit(parse, block[:cut]))
                if len(pending) > workers:
                    total += _consume(pending.pop(0).result())
            if tail.strip():
                pending.append(pool.submit(parse, tail + b"\n"))
            for fut in pending:
                total += _consume(fut.result())
    return total


VARIANTS = {
    "parquet-iter-64k": lambda p: parquet_iter(p, 1 << 16),
    "parquet-iter-256k": lambda p: parquet_iter(p, 1 << 18),
    "parquet-iter-256k-nothreads": lambda p: parquet_iter(p, 1 << 18, use_threads=False),
    "parquet-iter-1M": lambda p: parquet_iter(p, 1 << 20),
    "parquet-iter-64k-nopb": lambda p: parquet_iter(p, 1 << 16, pre_buffer=False),
    "parquet-iter-256k-nopb": lambda p: parquet_iter(p, 1 << 18, pre_buffer=False),
    "parquet-iter-256k-nopb-nothreads": lambda p: parquet_iter(p, 1 << 18, use_threads=False,
                                                               pre_buffer=False),
    "parquet-row-groups": parquet_row_groups,
    "parquet-2-threads": parquet_two_threads,
    "parquet-whole": parquet_whole,
    "csv-stream-1MB": lambda p: csv_stream(p, 1 << 20),
    "csv-stream-8MB": lambda p: csv_stream(p, 8 << 20),
    "csv-stream-32MB": lambda p: csv_stream(p, 32 << 20),
    "csv-whole": csv_whole,
    "csv-blocks-2x4MB": lambda p: csv_blocks(p, 4 << 20, 2),
    "csv-blocks-2x16MB": lambda p: csv_blocks(p, 16 << 20, 2),
}


def one(name: str, path: str) -> None:
    t0 = time.perf_counter()
    rows = VARIANTS[name](path)
    print(f"{rows} {time.perf_counter() - t0:.4f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("rows", nargs="?", default="10M")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", default=None)
    ap.add_argument("--one", nargs=2, metavar=("VARIANT", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        one(*args.one)
        return
    from benchmarks import data
    from benchmarks.harness import run_once

    n = data.parse_size(args.rows)
    folder = data.ensure(ROOT / "benchmarks" / ".cache", "regression", n)
    names = args.only.split(",") if args.only else list(VARIANTS)
    results: dict[str, list] = {k: [] for k in names}
    for r in range(args.repeats + 1):  # first round is a warm-up
        for name in names[r % len(names):] + names[:r % len(names)]:
            path = folder / ("data.parquet" if name.startswith("parquet") else "data.csv")
            run = run_once([sys.executable, "-m", "benchmarks.prototypes.readers", "--one",
                            name, str(path)], cwd=ROOT)
            if run.returncode != 0:
                print(f"{name} failed: {run.stderr.strip().splitlines()[-1:]}")
                continue
            rows, inner = run.stdout.split()
            assert int(rows) == n, (name, rows)
            if r:
                results[name].append((run.wall, float(inner), run.rss / 2**20))
    print(f"{n:,} rows; median of {args.repeats}: whole process s | read loop s | peak RSS MB")
    for name, runs in results.items():
        if runs:
            print(f"  {name:<28} {statistics.median(x[0] for x in runs):7.3f} "
                  f"{statistics.median(x[1] for x in runs):7.3f} "
                  f"{max(x[2] for x in runs):7.0f}")


if __name__ == "__main__":
    main()
