"""Prototype: the per-chunk compute of mse + mae + huber, in memory (no I/O).

    python -m benchmarks.prototypes.compute [ROWS] [--repeats N]

Compares, over the same float64 arrays already in memory:

- ``engine``: what losscli.engine does per chunk today: ``np.isfinite`` of pred and target,
  then each kernel on its own (each recomputes ``pred - target``), ``Accumulator.update``.
- ``shared``: ``d = pred - target`` and ``|d|`` once per chunk, losses from them, a finite
  check from ``np.sum(d)`` (NaN/inf propagate into the sum; the exact per-element check runs
  only when that sum is not finite).
- ``fused``: ``shared`` plus preallocated buffers and in-place ufuncs, and huber as
  ``m * (|d| - 0.5 m)`` with ``m = min(|d|, delta)`` (bit-identical to torch's formula,
  no ``np.where`` evaluating both branches).
- ``fused-2t``: ``fused`` with each chunk split in two halves computed by two threads
  (numpy releases the GIL inside ufuncs and sums).

at several chunk sizes, and checks every variant's sums against ``math.fsum``.

"warm" repeats the variant in one process (allocator and caches warm, as in a long run);
"cold" is its first call in a fresh process, the case of a CLI run: every new temporary
array is fresh memory from the OS, paid in page faults.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def variant_engine(pred, target, chunk):
    from losscli.accumulate import Accumulator

    from losscli.losses.regression import huber, mae, mse

    accs = [Accumulator("mean") for _ in range(3)]
    for s in range(0, len(pred), chunk):
        p, t = pred[s:s + chunk], target[s:s + chunk]
        finite = {"pred": np.isfinite(p), "target": np.isfinite(t)}
        assert all(f.all() for f in finite.values())
        for acc, kernel in zip(accs, (mse, mae, huber)):
            acc.update(kernel(p, t), None)
    return [a.result() for a in accs]


def variant_shared(pred, target, chunk):
    sums = [0.0, 0.0, 0.0]
    n = 0
    for s in range(0, len(pred), chunk):
        p, t = pred[s:s + chunk], target[s:s + chunk]
        d = p - t
        if not math.isfinite(float(np.sum(d))):
            raise ValueError("non-finite")  # exact check would run here
        ad = np.abs(d)
        sums[0] += float(np.sum(d * d))
        sums[1] += float(np.sum(ad))
        sums[2] += float(np.sum(np.where(ad < 1.0, 0.5 * ad * ad, ad - 0.5)))
        n += len(d)
    return [x / n for x in sums]


class Fused:
    """Preallocated buffers; every step an in-place ufunc."""

    def __init__(self, chunk, delta=1.0):
        self.d = np.empty(chunk)
        self.ad = np.empty(chunk)
        self.m = np.empty(chunk)
        self.delta = delta

    def sums(self, p, t):
        k = len(p)
        d, ad, m = self.d[:k], self.ad[:k], self.m[:k]
        np.subtract(p, t, out=d)
        if not math.isfinite(float(d.sum())):
            raise ValueError("non-finite")
        np.abs(d, out=ad)
        s_mae = float(ad.sum())
        np.multiply(d, d, out=d)
        s_mse = float(d.sum())
        np.minimum(ad, self.delta, out=m)  # huber = m * (|d| - m/2)
        np.multiply(m, 0.5, out=d)
        np.subtract(ad, d, out=d)
        np.multiply(m, d, out=d)
        s_hub = float(d.sum())
        return s_mse, s_mae, s_hub


def variant_fused(pred, target, chunk):
    f = Fused(chunk)
    sums = [0.0, 0.0, 0.0]
    for s in range(0, len(pred), chunk):
        for i, x in enumerate(f.sums(pred[s:s + chunk], target[s:s + chunk])):
            sums[i] += x
    return [x / len(pred) for x in sums]


def variant_fused_2t(pred, target, chunk):
    half = (chunk + 1) // 2
    fs = [Fused(half), Fused(half)]
    sums = [0.0, 0.0, 0.0]
    with ThreadPoolExecutor(2) as pool:
        for s in range(0, len(pred), chunk):
            e = min(s + chunk, len(pred))
            mid = (s + e) // 2
            parts = pool.map(lambda a: a[0].sums(pred[a[1]:a[2]], target[a[1]:a[2]]),
                             [(fs[0], s, mid), (fs[1], mid, e)])
            for part in parts:
                for i, x in enumerate(part):
                    sums[i] += x
    return [x / len(pred) for x in sums]


VARIANTS = {"engine": variant_engine, "shared": variant_shared, "fused": variant_fused,
            "fused-2t": variant_fused_2t}


def _load(n: int):
    from benchmarks import data

    folder = data.ensure(ROOT / "benchmarks" / ".cache", "regression", n)
    return np.load(folder / "pred.npy"), np.load(folder / "target.npy")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("rows", nargs="?", default="10M")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--chunks", default="65536,262144,1048576")
    ap.add_argument("--one", nargs=2, metavar=("VARIANT", "CHUNK"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    from benchmarks import data
    from benchmarks.harness import run_once

    n = data.parse_size(args.rows)
    pred, target = _load(n)
    if args.one:
        t0 = time.perf_counter()
        VARIANTS[args.one[0]](pred, target, int(args.one[1]))
        print(f"{time.perf_counter() - t0:.4f}")
        return
    d = pred - target
    ad = np.abs(d)
    exact = [math.fsum((d * d).tolist()) / n, math.fsum(ad.tolist()) / n,
             math.fsum(np.where(ad < 1, 0.5 * ad * ad, ad - 0.5).tolist()) / n]
    del d, ad
    print(f"{n:,} rows in memory; seconds for mse+mae+huber, median of {args.repeats}: warm "
          "(repeated in one process) and cold (first call in a fresh process); max relative "
          "error vs fsum")
    for chunk in map(int, args.chunks.split(",")):
        for name, fn in VARIANTS.items():
            times = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                vals = fn(pred, target, chunk)
                times.append(time.perf_counter() - t0)
            cold = []
            for _ in range(args.repeats):
                run = run_once([sys.executable, "-m", "benchmarks.prototypes.compute", args.rows,
                                "--one", name, str(chunk)], cwd=ROOT)
                cold.append(float(run.stdout))
            err = max(abs(v - e) / abs(e) for v, e in zip(vals, exact))
            print(f"  chunk {chunk:>8}  {name:<9} warm {statistics.median(times):6.3f} s   "
                  f"cold {statistics.median(cold):6.3f} s   rel err {err:.1e}")


if __name__ == "__main__":
    main()
