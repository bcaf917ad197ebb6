"""The floor of losscli's Poisson bootstrap: the same counter hash, vectorised in numpy.

    python bootstrap_floor.py FILE REPLICATES [SEED]   -> mse, mae, huber (delta = 1) and,
                                                          with REPLICATES > 0, their 95 %
                                                          percentile intervals "mse.low", ...

Reads the Parquet FILE whole (pyarrow), computes the per-row losses, then for blocks of
rows the (replicates × rows) matrix of Poisson(1) weights and one matrix product per block
for Σw and Σw·ℓ of every replicate — nothing else. The weights are exactly losscli's
(``losscli/stats/resample.py``; re-derived here, this script imports nothing from losscli):

    row id   i_r = mix64(file_key + (r + 1)·GAMMA)    file_key: BLAKE2b-64 of the file's name
    rep key  k_b = mix64(mix64(seed) + (b + 1)·GAMMA)
    weight   w_br = #{k : mix64(i_r ^ k_b) ≥ T_k},    T_k = ⌊F(k)·2**64⌋, F the Poisson(1) CDF

with mix64 splitmix64's finaliser; the inversion uses a table of the top 16 bits (exact
except for the 8 prefixes a threshold falls in, resolved by a binary search). The interval
is numpy's linear quantile at 2.5 % and 97.5 % of the replicate means, as losscli's.
REPLICATES 0 gives the same process without the bootstrap: the floor's fixed cost.
"""

import hashlib
import json
import sys
from decimal import Decimal, getcontext
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

U64 = np.uint64
MASK = (1 << 64) - 1
GAMMA = U64(0x9E3779B97F4A7C15)
M1, M2 = U64(0xBF58476D1CE4E5B9), U64(0x94D049BB133111EB)
BLOCK = 8192  # rows per block: (replicates × BLOCK) uint64 stays in cache-sized pieces


def mix64(z: np.ndarray, tmp: np.ndarray) -> None:
    """splitmix64's finaliser, in place (``tmp``: scratch of the same shape)."""
    np.right_shift(z, U64(30), out=tmp)
    np.bitwise_xor(z, tmp, out=z)
    np.multiply(z, M1, out=z)
    np.right_shift(z, U64(27), out=tmp)
    np.bitwise_xor(z, tmp, out=z)
    np.multiply(z, M2, out=z)
    np.right_shift(z, U64(31), out=tmp)
    np.bitwise_xor(z, tmp, out=z)


def mixed(z: np.ndarray) -> np.ndarray:
    z = np.array(z, dtype=U64)
    mix64(z, np.empty_like(z))
    return z


def thresholds() -> np.ndarray:
    getcontext().prec = 40
    e_inv, two64 = Decimal(-1).exp(), Decimal(2) ** 64
    out, term, cdf, k = [], Decimal(1), Decimal(0), 0
    while True:
        cdf += term
        out.append(min(int(e_inv * cdf * two64), MASK))
        if (1 - e_inv * cdf) * two64 < 1:
            return np.array(out, dtype=U64)
        k += 1
        term /= k


def main() -> None:
    path, replicates = sys.argv[1], int(sys.argv[2])
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    table = pq.read_table(path, columns=["pred", "target"])
    d = table.column("pred").to_numpy() - table.column("target").to_numpy()
    ad = np.abs(d)
    m = np.minimum(ad, 1.0)
    losses = {"mse": d * d, "mae": ad, "huber": m * (ad - 0.5 * m)}
    out = {k: float(np.mean(v)) for k, v in losses.items()}
    if replicates > 0:
        n = len(d)
        values = np.column_stack([np.ones(n), *losses.values()])  # Σw and Σw·ℓ in one product
        key = int.from_bytes(hashlib.blake2b(Path(path).name.encode(), digest_size=8).digest(),
                             "little")
        ids = mixed(U64(key) + np.arange(1, n + 1, dtype=U64) * GAMMA)
        rep = mixed(mixed(np.array([seed & MASK], dtype=U64))[0]
                    + np.arange(1, replicates + 1, dtype=U64) * GAMMA)
        t = thresholds()
        prefix = np.arange(1 << 16, dtype=U64) << U64(48)
        low = np.searchsorted(t, prefix, side="right")
        high = np.searchsorted(t, prefix | U64((1 << 48) - 1), side="right")
        lookup = np.where(low == high, low, 255).astype(np.uint8)
        sums = np.zeros((replicates, values.shape[1]))
        z = np.empty((replicates, BLOCK), dtype=U64)
        tmp = np.empty_like(z)
        for lo in range(0, n, BLOCK):
            hi = min(lo + BLOCK, n)
            zz, tt = z[:, :hi - lo], tmp[:, :hi - lo]
            np.bitwise_xor(ids[None, lo:hi], rep[:, None], out=zz)
            mix64(zz, tt)
            np.right_shift(zz, U64(48), out=tt)
            w = np.take(lookup, tt.view(np.int64))
            straddle = w == 255
            if straddle.any():
                w[straddle] = np.searchsorted(t, zz[straddle], side="right")
            sums += w.astype(np.float64) @ values[lo:hi]
        with np.errstate(invalid="ignore", divide="ignore"):
            means = sums[:, 1:] / sums[:, :1]
        for j, k in enumerate(losses):
            reps = means[:, j][np.isfinite(means[:, j])]
            lo_q, hi_q = np.quantile(reps, [0.025, 0.975], method="linear")
            out[f"{k}.low"], out[f"{k}.high"] = float(lo_q), float(hi_q)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
