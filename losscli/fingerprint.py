"""The data fingerprint's row hashes (:class:`losscli.state.Fingerprint`): a 64-bit hash
of each row's targets and weight, summed mod 2^64 — order-independent and additive over
any split of the rows, so every chunking and unit plan gives the same digest.
"""

from __future__ import annotations

import numpy as np

# splitmix64's finaliser (Steele, Lea, Flood 2014; the constants of Vigna's splitmix64.c): a
# bijection on 64-bit words with full avalanche, so a changed value always changes its
# row's hash, and a sum of hashes changes unless the changes cancel (chance ~2^-64).
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_NAN_BITS = np.array([np.nan]).view(np.uint64)[0]  # one bit pattern for every NaN
_WEIGHT_SEED = np.uint64(0x9E3779B97F4A7C15)


def _mix(z: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, in place on the uint64 array ``z`` (``tmp``: scratch)."""
    np.right_shift(z, _S30, out=tmp)
    z ^= tmp
    z *= _M1
    np.right_shift(z, _S27, out=tmp)
    z ^= tmp
    z *= _M2
    np.right_shift(z, _S31, out=tmp)
    z ^= tmp
    return z


_ONE_WEIGHT = np.uint64(0)  # mix(bits(1.0) ^ _WEIGHT_SEED), set below


class RowHasher:
    """Sums of per-row hashes of targets and weights (:meth:`sum`), with scratch arrays
    kept from one chunk to the next (no allocation per chunk: measured, allocating them
    doubled the cost)."""

    def __init__(self) -> None:
        self._h = np.empty(0, np.uint64)
        self._tmp = np.empty(0, np.uint64)

    def _scratch(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if len(self._h) < n:
            self._h, self._tmp = np.empty(n, np.uint64), np.empty(n, np.uint64)
        return self._h[:n], self._tmp[:n]

    @staticmethod
    def _bits(values: np.ndarray, out: np.ndarray, finite: bool = False) -> np.ndarray:
        """The bits of float64 ``values`` into ``out`` (uint64), with -0.0 as 0.0 and every
        NaN alike (``finite``: the caller knows there is no NaN; nothing to look for)."""
        as_float = out.view(np.float64)
        np.add(values, 0.0, out=as_float)  # -0.0 + 0.0 == +0.0
        if not finite and not np.isfinite(as_float.sum()):  # a finite sum has no NaN
            out[np.isnan(as_float)] = _NAN_BITS
        return out

    def sum(self, target: np.ndarray, weight: np.ndarray | None = None, *,
            finite: bool = False) -> int:
        """Sum mod 2^64 of one 64-bit hash per row of ``target`` (n,) or (n, C) and its
        weight (1 when there are none, so unweighted rows match weights of 1): with
        ``mix`` the splitmix64 finaliser, ``h = mix(bits(w) ^ SEED)``, then ``h = mix(h ^
        bits(t_j))`` for each value of the row. Order-independent, and additive over any
        split of the rows. ``finite``: the caller checked that every value is finite (the
        engine's finite check), which spares a pass over each column."""
        n = len(target)
        if n == 0:
            return 0
        h, tmp = self._scratch(n)
        columns = [target] if target.ndim == 1 else [target[:, j] for j in range(target.shape[1])]
        if weight is None:
            self._bits(columns[0], h, finite)
            h ^= _ONE_WEIGHT
        else:
            self._bits(weight, h, finite)
            h ^= _WEIGHT_SEED
            _mix(h, tmp)
            h ^= self._bits(columns[0], tmp, finite)
        _mix(h, tmp)
        for column in columns[1:]:
            h ^= self._bits(column, tmp, finite)
            _mix(h, tmp)
        return int(h.sum(dtype=np.uint64))


_ONE_WEIGHT = _mix(np.array([1.0]).view(np.uint64) ^ _WEIGHT_SEED, np.empty(1, np.uint64))[0]


def row_hashes_sum(target: np.ndarray, weight: np.ndarray | None = None) -> int:
    """:meth:`RowHasher.sum` once (tests, and callers outside a pass)."""
    return RowHasher().sum(target, weight)
