"""Where the Parquet scan's CPU goes, step by step, on one thread (issue 21, "the scan").

    python benchmarks/prototypes/scan_steps.py FILE.parquet [--chunk N] [--rounds R]

Runs losscli's own pieces over a ``pred``/``target`` Parquet file the way one work unit
does (a row group decoded with ``iter_batches(use_threads=False)``, sliced into chunks of
``--chunk`` rows), with the CLI's allocator setting (``keep_freed_memory``), and prints the
seconds spent in each: decode (pyarrow), convert (Arrow -> numpy views), the residual
``pred - target`` (once per chunk, as the engine computes it), the finite check (the
residual's sum), the targets' fingerprint hash, each loss from the residual (mse, mae,
huber), the chunk sums and the exact sums above them. The best of ``--rounds`` passes
(the machine is shared).

Measured on the 2-core EPYC (losscli e0c4069, pyarrow 26, numpy 2.4; single thread, best
of 3, a loaded machine), seconds per 10M rows:

    decode 0.066  convert 0.001  hash 0.032  finite 0.006  mse 0.009  mae 0.010
    huber 0.032 (before e0c4069; ~0.02 after)  sums 0.008  exact < 0.001

so ~0.16 s of CPU per 10M rows, ~40 % of it pyarrow's decode and ~20 % the fingerprint
hash; whole processes add start-up (~0.3 s of one core) and pyarrow's page zeroing
(``perf``: 14 % of a 100M run in ``clear_page_erms``, mostly mimalloc's fresh pages for
decoded row groups).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--chunk", type=int, default=1 << 18)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    from losscli.cli.hygiene import keep_freed_memory

    keep_freed_memory()
    import pyarrow.parquet as pq

    from losscli.checks import all_finite
    from losscli.fingerprint import RowHasher
    from losscli.io.arrow import to_float64
    from losscli.registry import get_loss
    from losscli.stats.exact import ExactSum

    forms = [get_loss(name).of_residual for name in ("mse", "mae", "huber")]
    names = ("residual", "finite", "hash", "mse", "mae", "huber", "sums", "exact")
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        steps = dict.fromkeys(("decode", "convert", *names), 0.0)
        pf = pq.ParquetFile(args.file, pre_buffer=False, buffer_size=1 << 20)
        hasher, totals = RowHasher(), [ExactSum() for _ in range(3)]
        for g in range(pf.metadata.num_row_groups):
            t = time.perf_counter()
            batches = list(pf.iter_batches(batch_size=1 << 20, row_groups=[g],
                                           columns=["pred", "target"], use_threads=False))
            steps["decode"] += time.perf_counter() - t
            for batch in batches:
                t = time.perf_counter()
                p, y = to_float64(batch.column(0)), to_float64(batch.column(1))
                steps["convert"] += time.perf_counter() - t
                for a in range(0, len(p), args.chunk):
                    pp, yy = p[a:a + args.chunk], y[a:a + args.chunk]
                    # as the engine does it: pred - target once, which the finite check
                    # reads too; the hash spared its NaN pass; each loss's residual form
                    marks = [time.perf_counter()]
                    d = np.subtract(pp, yy)
                    marks.append(time.perf_counter())
                    finite = all_finite({"pred": pp, "target": yy}, d)
                    marks.append(time.perf_counter())
                    hasher.sum(yy, finite=finite)
                    marks.append(time.perf_counter())
                    values = []
                    for form in forms:
                        assert form is not None
                        values.append(form(d))
                        marks.append(time.perf_counter())
                    sums = [float(np.sum(v)) for v in values]
                    marks.append(time.perf_counter())
                    for total, s in zip(totals, sums):
                        total.add(s)
                    marks.append(time.perf_counter())
                    for name, t0, t1 in zip(names, marks, marks[1:]):
                        steps[name] += t1 - t0
        for name, seconds in steps.items():
            best[name] = min(best.get(name, seconds), seconds)
    print("  ".join(f"{name} {seconds:.3f}" for name, seconds in best.items()),
          f"  total {sum(best.values()):.3f} s")


if __name__ == "__main__":
    main()
