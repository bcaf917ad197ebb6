"""Counter-based Poisson bootstrap weights: reproducible for any split of the rows.

The classic bootstrap draws n rows with replacement, which needs every row in one place.
The Poisson bootstrap (Hanley & MacGibbon 2006; Chamandy et al. 2012, "Estimating
uncertainty for massive data streams", Google; torchmetrics ``BootStrapper(sampling_strategy=
"poisson")``) gives each row an independent Poisson(1) count per replicate instead, so each
work unit can weight its own rows. Here the count is a pure function of
``(seed, row identity, replicate)`` — a counter-based generator in the sense of Salmon et al.
2011 ("Parallel random numbers: as easy as 1, 2, 3") — so the replicates are the same
whatever the chunking, the thread or the machine, and two models evaluated on the same rows
get the same weights (a *paired* bootstrap).

* :func:`file_key` and :func:`row_ids` identify a row by (file, row number);
* :func:`key_ids` identifies a row by the values of join-key columns;
* :func:`poisson_weights` turns identities into a (replicates, n) matrix of counts;
* :class:`BootstrapSums` accumulates Σ_i w_bi·w_i and Σ_i w_bi·w_i·v_ij per replicate b,
  exactly mergeable; :meth:`BootstrapSums.means` gives the replicate weighted means.

A statistic of counts needs no weight per row: for unweighted rows the sum of the Poisson(1)
counts of the n_c rows of a confusion cell is exactly Poisson(n_c), so the confusion
metrics draw their replicates per cell from the exact counts at the end — the same
bootstrap in distribution, at no cost per row (:mod:`losscli.stats.cell_bootstrap`).

The mixing function is splitmix64's finaliser (Steele, Lea & Flood 2014, "Fast splittable
pseudorandom number generators"; the constants of Stafford's "Mix13"), in wrapping uint64
numpy arithmetic: the bits are the same on every platform.

Speed (2-core CI machine, ``python tests/test_stats_resample.py``): ~430 M rows×replicates
per second for 10**3..10**6 rows and 1..1000 replicates, 55–60 % of the floor of one
allocating mix64 pass per element (~750 M/s); the rest is the XOR with the replicate key,
the table look-up and the copy out.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal, getcontext
from typing import Any

import numpy as np

from losscli.stats.exact import ExactSum
from losscli.stats.fields import Fields, check, exact_sum, nested

_U64 = np.uint64
_MASK64 = (1 << 64) - 1
#: splitmix64's increment (2**64 / golden ratio, odd) and the Mix13 multipliers.
GAMMA = 0x9E3779B97F4A7C15
_M1 = _U64(0xBF58476D1CE4E5B9)
_M2 = _U64(0x94D049BB133111EB)
#: Tags that keep values of different kinds apart in :func:`key_ids` (arbitrary odd constants).
_TAG_INT = _U64(0x8F1BBCDCCA62C1D6)
_TAG_FLOAT = _U64(0x6ED9EBA1A953FD4E)
_TAG_STR = _U64(0x5A827999C3D2E1F0)
_TAG_NULL = _U64(0xCA62C1D68F1BBCDD)
_BYTE_SALT = _U64(0x2545F4914F6CDD1D)
_COMBINE = _U64(0xD6E8FEB86659FD93)


def mix64(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser on a uint64 array (a bijection with full avalanche)::

        z ^= z >> 30; z *= 0xbf58476d1ce4e5b9; z ^= z >> 27; z *= 0x94d049bb133111eb; z ^= z >> 31
    """
    z = np.asarray(z, dtype=_U64)
    z = (z ^ (z >> _U64(30))) * _M1
    z = (z ^ (z >> _U64(27))) * _M2
    return z ^ (z >> _U64(31))


def _mix_int(x: int) -> int:
    """:func:`mix64` of one Python int (no numpy scalar overflow warnings)."""
    return int(mix64(np.array([x & _MASK64], dtype=_U64))[0])


def file_key(name: str) -> int:
    """A stable 64-bit key of a file's relative path: the first 8 bytes of
    BLAKE2b(UTF-8 path), little-endian. (Python's ``hash`` is salted per process.)"""
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(), "little")


def row_ids(file_key: int, first_row: int, n: int) -> np.ndarray:
    """Identities (uint64, shape (n,)) of rows ``first_row .. first_row + n - 1`` of a file:
    ``mix64(file_key + (row + 1)·GAMMA)``, i.e. the splitmix64 stream seeded with the file
    key, indexed by row. So ``row_ids(k, 0, 10) == concat(row_ids(k, 0, 4), row_ids(k, 4, 6))``.
    """
    if first_row < 0 or n < 0:
        raise ValueError(f"row_ids: expected first_row ≥ 0 and n ≥ 0, got {first_row}, {n}")
    rows = np.arange(first_row + 1, first_row + n + 1, dtype=_U64)
    return mix64(_U64(file_key & _MASK64) + rows * _U64(GAMMA))


# -- identities from key columns ------------------------------------------------------------
def _string_hashes(arr: Any) -> np.ndarray:
    """Per string (a pyarrow string/binary array): mix64(Σ_p mix64((p << 8 | byte_p) + salt)
    + mix64(len ^ tag)) — a sum of per-(position, byte) hashes, vectorised over the bytes.

    A polynomial hash Σ b_p·P^p mod 2**64 is cheaper but provably collides for Thue–Morse
    strings of length ~2**11 whatever the odd P (Pachocki & Radoszewski 2013), hence the
    per-byte mixing.
    """
    import pyarrow as pa

    n = len(arr)
    large = pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type)
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64 if large else np.int32)
    offsets = offsets[arr.offset:arr.offset + n + 1].astype(np.int64)
    data = (np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None
            else np.zeros(0, np.uint8))
    start, stop = int(offsets[0]), int(offsets[-1])
    lengths = np.diff(offsets)
    total = np.zeros(n, dtype=_U64)
    if stop > start:
        body = data[start:stop].astype(_U64)
        pos = np.arange(stop - start, dtype=np.int64) - np.repeat(offsets[:-1] - start, lengths)
        per_byte = mix64(((pos.astype(_U64) << _U64(8)) | body) + _BYTE_SALT)
        nonempty = lengths > 0
        total[nonempty] = np.add.reduceat(per_byte, (offsets[:-1] - start)[nonempty])
    return mix64(total + mix64(lengths.astype(_U64) ^ _TAG_STR))


def _column_hashes(column: Any) -> np.ndarray:
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if isinstance(column, np.ndarray) and column.dtype.kind in "OUS":
        # Through Python objects: pyarrow reads a numpy <U string as a C string, cutting it
        # at the first NUL (numpy itself drops trailing NULs of fixed-width strings).
        try:
            column = pa.array(column.astype(object),
                              type=pa.binary() if column.dtype.kind == "S" else pa.string())
        except (pa.ArrowTypeError, pa.ArrowInvalid):  # ints or bools with None: a null key
            column = pa.array(column, from_pandas=True)  # hashed as the int64 values are
            if pa.types.is_boolean(column.type):
                column = column.cast(pa.int8())  # True as 1, as a bool column hashes
    if isinstance(column, pa.Array):
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        valid = None
        if column.null_count:
            valid = np.asarray(column.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        if (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
                or pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type)):
            out = _string_hashes(column)
        else:
            fill = pa.scalar(0, column.type) if valid is not None else None
            values = (column.fill_null(fill) if fill is not None else column).to_numpy(
                zero_copy_only=False)
            out = _column_hashes(np.asarray(values))
        if valid is not None:
            out = np.where(valid, out, mix64(np.full(len(out), _TAG_NULL)))
        return out
    values = np.asarray(column)
    if values.dtype.kind == "b" or values.dtype.kind in "iu":
        return mix64(values.astype(np.int64).view(_U64) ^ _TAG_INT)
    if values.dtype.kind == "f":
        x = values.astype(np.float64)
        # An integral float hashes as that integer (1.0 == 1 == True, as in Python), so a key
        # read as float64 in one file and int64 in another still matches.
        integral = np.isfinite(x) & (x == np.round(x)) & (np.abs(x) < 2.0 ** 63)
        as_int = np.where(integral, x, 0.0).astype(np.int64).view(_U64) ^ _TAG_INT
        canon = np.where(np.isnan(x), np.nan, x)  # one NaN bit pattern
        as_float = canon.view(_U64) ^ _TAG_FLOAT
        return mix64(np.where(integral, as_int, as_float))
    raise ValueError(f"key column: unsupported dtype {values.dtype} (expected integers, floats, "
                     "booleans or strings)")


def key_ids(columns: Any) -> np.ndarray:
    """Identities (uint64, shape (n,)) of rows from the values of one or several join-key
    columns, independent of chunking: a row's identity depends only on its key values.

    ``columns``: one column or a list/tuple of columns, each a numpy array (integer, bool,
    float, str/object of str, bytes) or a pyarrow (chunked) array (also string/binary,
    dictionary-encoded, with nulls). Values hash by kind: integers, booleans and integral
    floats alike (``1 == 1.0 == True`` as in Python; ``-0.0`` as 0; one NaN), other floats by
    their bits, strings by their UTF-8 bytes (unicode and ``""`` included), nulls as one
    value. Several columns combine in order: ``h = mix64(h·C + h_col)``.

    Strings are hashed without a Python loop per row (see ``_string_hashes``). Caveats:
    a uint64 value ≥ 2**63 hashes like the int64 with the same bits; numpy fixed-width
    ``<U`` strings cannot carry a trailing NUL (numpy drops it before we see it).
    """
    cols = list(columns) if isinstance(columns, (list, tuple)) else [columns]
    if not cols:
        raise ValueError("key_ids: expected at least one key column")
    out: np.ndarray | None = None
    for col in cols:
        h = _column_hashes(col)
        if out is not None and h.shape != out.shape:
            raise ValueError(f"key_ids: key columns differ in length ({out.shape[0]} and "
                             f"{h.shape[0]})")
        out = h if out is None else mix64(out * _COMBINE + h)
    assert out is not None
    return out


# -- Poisson(1) weights ---------------------------------------------------------------------
def _poisson_thresholds() -> np.ndarray:
    """T_k = ⌊F(k)·2**64⌋ for the Poisson(1) CDF F(k) = e⁻¹·Σ_{j≤k} 1/j!, k = 0, 1, …, up to
    the first k with 1 − F(k) < 2**-64; computed with 40-digit decimals (``Decimal.exp`` is
    correctly rounded), so the table is the same on every platform."""
    getcontext().prec = 40
    e_inv = Decimal(-1).exp()
    out, term, cdf, k = [], Decimal(1), Decimal(0), 0
    two64 = Decimal(2) ** 64
    while True:
        cdf += term
        t = int(e_inv * cdf * two64)
        out.append(min(t, _MASK64))
        if (1 - e_inv * cdf) * two64 < 1:
            break
        k += 1
        term /= k
    return np.array(out, dtype=_U64)


#: ⌊F(k)·2**64⌋ for k = 0..K (K = 20): a weight is #{k : h ≥ T_k}.
POISSON_THRESHOLDS = _poisson_thresholds()
#: Replicate × row elements processed per block (cache-sized).
_BLOCK = 1 << 16


def _weight_table() -> np.ndarray:
    """The weight for each value of h's top 16 bits, or 255 where a threshold T_k falls
    inside that prefix's range (8 of the 65536 prefixes: resolved by a binary search)."""
    prefix = np.arange(1 << 16, dtype=_U64) << _U64(48)
    low = np.searchsorted(POISSON_THRESHOLDS, prefix, side="right")
    high = np.searchsorted(POISSON_THRESHOLDS, prefix | _U64((1 << 48) - 1), side="right")
    return np.where(low == high, low, 255).astype(np.uint8)


_WEIGHT_TABLE = _weight_table()


def _mix64_inplace(z: np.ndarray, tmp: np.ndarray) -> None:
    """:func:`mix64` in place (``tmp``: scratch of the same shape): no allocation per step."""
    np.right_shift(z, _U64(30), out=tmp)
    np.bitwise_xor(z, tmp, out=z)
    np.multiply(z, _M1, out=z)
    np.right_shift(z, _U64(27), out=tmp)
    np.bitwise_xor(z, tmp, out=z)
    np.multiply(z, _M2, out=z)
    np.right_shift(z, _U64(31), out=tmp)
    np.bitwise_xor(z, tmp, out=z)


def _replicate_keys(seed: int, replicates: int) -> np.ndarray:
    base = _mix_int(seed)
    b = np.arange(1, replicates + 1, dtype=_U64)
    return mix64(_U64(base) + b * _U64(GAMMA))


def poisson_weights(seed: int, ids: np.ndarray, replicates: int) -> np.ndarray:
    """Poisson(1) counts, shape (replicates, n), dtype uint8 (the largest possible is 20).

    ``w[b, i] = #{k : h ≥ T_k}`` with ``h = mix64(ids[i] ^ r_b)``, ``r_b = mix64(mix64(seed) +
    (b+1)·GAMMA)`` and ``T_k = ⌊F(k)·2**64⌋`` (:data:`POISSON_THRESHOLDS`): the inversion
    method on a 64-bit uniform, so P(w = k) is the Poisson(1) pmf to within 2**-64. One
    mix64 per (row, replicate). ``ids``: uint64 identities from :func:`row_ids` or
    :func:`key_ids`; ``seed``: 0 ≤ seed < 2**64.
    """
    if not 0 <= seed <= _MASK64:
        raise ValueError(f"seed: expected 0 ≤ seed < 2**64, got {seed}")
    if replicates < 0:
        raise ValueError(f"replicates: expected ≥ 0, got {replicates}")
    ids = np.asarray(ids, dtype=_U64).ravel()
    n = ids.shape[0]
    out = np.empty((replicates, n), dtype=np.uint8)
    if n == 0 or replicates == 0:
        return out
    keys = _replicate_keys(seed, replicates)
    rows = max(1, _BLOCK // n)
    z = np.empty(_BLOCK if n >= _BLOCK else rows * n, dtype=_U64)
    tmp = np.empty_like(z)
    for b0 in range(0, replicates, rows):
        kb = keys[b0:b0 + rows, None]
        for i0 in range(0, n, _BLOCK):
            ib = ids[None, i0:i0 + _BLOCK]
            shape = (kb.shape[0], ib.shape[1])
            zz = z[:shape[0] * shape[1]].reshape(shape)
            tt = tmp[:zz.size].reshape(shape)
            np.bitwise_xor(ib, kb, out=zz)
            _mix64_inplace(zz, tt)
            # Inversion by table on the top 16 bits; the 8 prefixes that straddle a
            # threshold (P ≈ 1.2e-4) are resolved exactly by a binary search.
            np.right_shift(zz, _U64(48), out=tt)
            w = np.take(_WEIGHT_TABLE, tt.view(np.int64))
            straddle = w == 255
            if straddle.any():
                w[straddle] = np.searchsorted(POISSON_THRESHOLDS, zz[straddle], side="right")
            out[b0:b0 + rows, i0:i0 + _BLOCK] = w
    return out


def replicate_sums(weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Σ_i w_bi·v_i per replicate: ``weights`` (B, n) and ``values`` (n,) or (n, m) → (B,) or
    (B, m), in float64, the rounding fixed by the chunk alone.

    numpy's ``einsum`` (its own loops), never the matrix product: BLAS splits a product over
    its own threads, so its last bits depend on the BLAS thread count — one on a Dask worker
    (the nanny sets OPENBLAS_NUM_THREADS=1), every core in a local run."""
    w = np.asarray(weights, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 1:
        return np.einsum("bn,n->b", w, v)
    return np.einsum("bn,mn->bm", w, np.ascontiguousarray(v.T))


class BootstrapSums:
    """Per replicate b: ``W_b = Σ_i w_bi·w_i`` and ``S_bj = Σ_i w_bi·w_i·v_ij`` for m value
    columns (e.g. the losses of m models on the same rows: paired replicates), as
    :class:`~losscli.stats.exact.ExactSum` (chunk sums by :func:`replicate_sums`, exact above
    the chunk). ``means()`` is the (B, m) matrix of replicate weighted means S_bj / W_b (NaN
    where W_b = 0: a replicate that drew no row). ``rows``: rows added, ``positive``: those
    with a positive weight — fewer than two leave no interval (every replicate of one row is
    that row: an interval [v, v] would claim a certainty one row cannot give).
    Memory: 2·B·(m + 1) Python ints.
    """

    def __init__(self, replicates: int, seed: int, columns: int = 1) -> None:
        self.replicates = int(replicates)
        self.seed = int(seed)
        self.columns = int(columns)
        self.rows = 0
        self.positive = 0
        self.weight = [ExactSum() for _ in range(self.replicates)]
        self.sums = [[ExactSum() for _ in range(self.columns)] for _ in range(self.replicates)]

    def update(self, ids: np.ndarray, values: np.ndarray, weights: np.ndarray | None = None) -> None:
        """One chunk: ``ids`` (n,), ``values`` (n,) or (n, m), ``weights`` (n,) or None."""
        vals = np.asarray(values, dtype=np.float64)
        if vals.ndim == 1:
            vals = vals[:, None]
        n = vals.shape[0]
        if vals.shape[1] != self.columns or np.shape(ids) != (n,):
            raise ValueError(f"expected ids ({n},) and values ({n}, {self.columns}), got "
                             f"{np.shape(ids)} and {vals.shape}")
        if n == 0:
            return
        wb = poisson_weights(self.seed, ids, self.replicates).astype(np.float64)
        if weights is not None:
            w = np.asarray(weights, dtype=np.float64)
            wb = wb * w[None, :]
        self.rows += n
        self.positive += n if weights is None else int(np.count_nonzero(
            np.asarray(weights, dtype=np.float64) > 0))
        tot = wb.sum(axis=1)
        s = replicate_sums(wb, vals)
        for b in range(self.replicates):
            self.weight[b].add(float(tot[b]))
            for j in range(self.columns):
                self.sums[b][j].add(float(s[b, j]))

    def add_chunk(self, rows: int, totals: np.ndarray, sums: np.ndarray,
                  positive: int | None = None) -> None:
        """Add one chunk's replicate sums computed elsewhere (e.g. with replicate weights
        shared by several states): ``totals`` (B,) = Σ_i w_bi·w_i, ``sums`` (B, m);
        ``positive``: its rows with a positive weight (None: all of them)."""
        sums = np.asarray(sums, dtype=np.float64).reshape(self.replicates, self.columns)
        self.rows += rows
        self.positive += rows if positive is None else positive
        for b in range(self.replicates):
            self.weight[b].add(float(totals[b]))
            for j in range(self.columns):
                self.sums[b][j].add(float(sums[b, j]))

    def merge(self, other: BootstrapSums) -> BootstrapSums:
        if (other.replicates, other.seed, other.columns) != (self.replicates, self.seed,
                                                             self.columns):
            raise ValueError("cannot merge bootstrap sums of different seeds or shapes")
        self.rows += other.rows
        self.positive += other.positive
        for b in range(self.replicates):
            self.weight[b].merge(other.weight[b])
            for j in range(self.columns):
                self.sums[b][j].merge(other.sums[b][j])
        return self

    def means(self) -> np.ndarray:
        """(B, m) replicate means S_bj / W_b (NaN where W_b = 0)."""
        out = np.full((self.replicates, self.columns), np.nan)
        for b in range(self.replicates):
            w = self.weight[b].value
            if w > 0:
                out[b] = [s.value / w for s in self.sums[b]]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "bootstrap_sums", "replicates": self.replicates, "seed": hex(self.seed),
                "columns": self.columns, "rows": self.rows, "positive": self.positive,
                "weight": [w.to_json() for w in self.weight],
                "sums": [[s.to_json() for s in row] for row in self.sums]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BootstrapSums:
        """From :meth:`to_dict`'s JSON, every field checked (:mod:`losscli.stats.fields`): a
        replicate's Σ w_b·w is non-negative, every sum within what the rows allow (a chunk
        adds one finite float per sum), one list per replicate and column."""
        f = Fields(data)

        f.text("kind", choices=("bootstrap_sums",))
        seed = nested("seed", lambda: int(f.text("seed", longest=20), 16))
        check(0 <= seed < 1 << 64, "seed", "expected a 64-bit seed")
        out = cls(f.count("replicates", lo=1, hi=100_000), seed, f.count("columns", lo=1, hi=1024))
        out.rows = n = f.count("rows")
        out.positive = f.count("positive", hi=n, default=n)  # absent before it was recorded
        out.weight = f.each("weight", lambda w: exact_sum(w, n, non_negative=True),
                            length=out.replicates)
        out.sums = f.each("sums", lambda row: [
            nested(f"[{j}]", exact_sum, s, n) for j, s in enumerate(
                Fields({"": row}).items("", length=out.columns))], length=out.replicates)
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BootstrapSums) and self.to_dict() == other.to_dict()


def calibration_values(means: np.ndarray, norm: str) -> np.ndarray:
    """ece (``l1``: Σ_b |acc_b − conf_b|, the means being per-bin sums over the replicate's
    total weight) or mce (``max``: the largest |acc_b − conf_b| / w_b over the bins with
    weight) of each replicate; NaN for a replicate that drew no row."""
    w, c, a = means[:, :, 0], means[:, :, 1], means[:, :, 2]
    gap = np.abs(a - c)
    if norm == "l1":
        return gap.sum(axis=1)
    with np.errstate(all="ignore"):
        per = np.where(w > 0, gap / np.where(w > 0, w, 1.0), -np.inf)
    out = per.max(axis=1)
    return np.where(np.isfinite(out), out, np.nan)
