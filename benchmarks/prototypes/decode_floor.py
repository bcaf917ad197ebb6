"""The floor of losscli's Parquet scan design, as a whole process: pyarrow decoding every
row group of ``pred``/``target`` (``iter_batches(use_threads=False)``, one row group per
task on two threads, as losscli's units are read) and nothing else: no kernels, no hash, no
CLI. ``--imports`` first imports what ``losscli eval`` imports (typer, rich, losscli).

    python benchmarks/prototypes/decode_floor.py FILE.parquet [--threads 2] [--imports]

Prints the rows decoded. Time it with the harness or ``/usr/bin/time`` beside losscli and
the peers; the difference to losscli is what the kernels, the fingerprint hash and the
engine cost on top of the decoder.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ThreadPoolExecutor


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--imports", action="store_true")
    args = ap.parse_args()
    if args.imports:
        import typer  # noqa: F401

        import losscli.cli  # noqa: F401
    import pyarrow.parquet as pq

    metadata = pq.ParquetFile(args.file).metadata

    def decode(group: int) -> int:
        handle = pq.ParquetFile(args.file, metadata=metadata, pre_buffer=False,
                                buffer_size=1 << 20)
        return sum(b.num_rows for b in handle.iter_batches(
            batch_size=1 << 20, row_groups=[group], columns=["pred", "target"],
            use_threads=False))

    with ThreadPoolExecutor(args.threads) as pool:
        print(sum(pool.map(decode, range(metadata.num_row_groups))))


if __name__ == "__main__":
    main()
