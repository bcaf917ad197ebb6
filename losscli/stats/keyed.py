"""Exact per-key sums of non-negative float64 values, vectorised: the bins of a histogram,
the cells of a confusion matrix, the buckets of a sketch, the per-score weights of a ROC.

:class:`~losscli.stats.exact.ExactSum` is exact but one Python int per sum; a state with a
million keys (one per distinct score) needs the same exactness in numpy arrays. Every
non-negative finite float64 is ``M·2**E`` with an integer mantissa ``M < 2**53``. A
:class:`KeyedSums` keeps, per key and channel, the exact sum as a fixed-point integer in
base 2**32 *limbs*::

    value[k, c] = Σ_j limbs[j, c, k] · 2**(32·j + scale)

``scale`` is the lowest set bit over every non-zero value ever added (so each one is a whole
number of units), limbs are int64 arrays normalised to [0, 2**32) after every operation and
trimmed of zero top limbs. A value is cut into three 32-bit pieces at its bit offset and the
pieces of a chunk are summed per (key, limb) with ``np.bincount`` — exact, since a piece is
< 2**32 and at most 2**20 of them are summed in float64 at once (< 2**53) — then carries are
propagated. The state is therefore a function of the *multiset* of (key, value) pairs only:
any chunking, any merge order or tree gives the same arrays, bit for bit, and
``to_dict`` is exact.

Cost, measured on the 2-core CI machine (numpy 2.4): 10**6 rows onto 10**4 keys, two
weighted channels: 0.21 s; the same as counts (no values): 0.06 s; 10**6 rows with distinct
float keys: 0.75 s (the key sort dominates); merging two 10**6-key states: 0.6 s.
Memory: ``keys`` (8 B) + ``limbs`` (8 B × L × C) per key,
L = ⌈(bits spanned by the sums)/32⌉ — 2–3 limbs for weights near 1 (L grows with the
ratio of the largest sum to the smallest value: values spanning 1e-300..1 need ~33 limbs).

Keys are int64 or float64 (``-0.0`` is folded onto ``0.0``; NaN keys are refused). Values
must be finite and ≥ 0 (weights, weight × probability); negative values are refused.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from losscli.stats.fields import FieldError, Fields, check, decode_array, encode_array

_LIMB_BITS = 32
_MASK = (1 << _LIMB_BITS) - 1
#: Pieces summed per bincount call: each < 2**32, so 2**20 of them stay below 2**53.
_BLOCK = 1 << 20


def checked_weights(weights: np.ndarray | None, n: int) -> np.ndarray | None:
    """Row weights as a float64 vector of ``n`` finite values ≥ 0 (None stays None: all
    ones), or a ValueError saying what is wrong."""
    if weights is None:
        return None
    w = np.asarray(weights, dtype=np.float64).ravel()
    if w.shape != (n,):
        raise ValueError(f"weights: expected shape ({n},), got {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("weights: expected finite weights ≥ 0")
    return w


def _canonical_keys(keys: np.ndarray, kind: str) -> np.ndarray:
    if kind == "int":
        arr = np.asarray(keys)
        if arr.dtype.kind not in "iub":
            raise ValueError(f"keys: expected integers, got dtype {arr.dtype}")
        return arr.astype(np.int64, copy=False).ravel()
    arr = np.asarray(keys, dtype=np.float64).ravel()
    if np.isnan(arr).any():
        raise ValueError("keys: NaN is not a key (drop or impute the NaN scores first)")
    return arr + 0.0  # folds -0.0 onto 0.0, so the stored key bits never depend on order


#: Integer keys spanning at most this many values (or 4 per row) are grouped by a
#: table lookup instead of a sort (a sketch's bucket indices: a few thousand in a chunk).
_DENSE_SPAN = 1 << 16


def _dense(keys: np.ndarray) -> tuple[np.ndarray, int, int] | None:
    """``(keys - lo, lo, span)`` for integer keys dense enough for a table lookup, else
    None (they are sorted instead)."""
    if keys.dtype.kind != "i" or not keys.size:
        return None
    lo, hi = int(keys.min()), int(keys.max())
    span = hi - lo + 1
    if span > max(_DENSE_SPAN, 4 * keys.shape[0]):
        return None
    return (keys - lo).astype(np.intp, copy=False), lo, span


def unique_inverse(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, return_inverse=True)``, without sorting dense integer keys."""
    dense = _dense(keys)
    if dense is not None:
        offset, lo, span = dense
        present = np.zeros(span, np.bool_)
        present[offset] = True
        slot = np.cumsum(present, dtype=np.intp) - 1
        return np.flatnonzero(present).astype(np.int64) + lo, slot[offset]
    uniq, inv = np.unique(keys, return_inverse=True)
    return uniq, inv.ravel()


def _counts(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted unique keys and how often each occurs (int64): one ``bincount`` over the
    span for dense integer keys (a sketch's bucket indices), else via :func:`unique_inverse`."""
    dense = _dense(keys)
    if dense is not None:
        offset, lo, span = dense
        counts = np.bincount(offset, minlength=span)
        present = np.flatnonzero(counts)
        return present.astype(np.int64) + lo, counts[present].astype(np.int64)
    uniq, inv = unique_inverse(keys)
    return uniq, np.bincount(inv, minlength=uniq.shape[0]).astype(np.int64)


def _mantissas(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Non-zero values as ``M·2**E`` with M odd: (mask of non-zero, M uint64, E int64)."""
    nz = values != 0.0
    v = values[nz]
    frac, exp = np.frexp(v)  # v = frac·2**exp, 0.5 ≤ frac < 1: exact
    mant = np.ldexp(frac, 53).astype(np.uint64)  # exact integer < 2**53
    e = exp.astype(np.int64) - 53
    low = mant & (~mant + np.uint64(1))  # lowest set bit, a power of two
    tz = (np.frexp(low.astype(np.float64))[1] - 1).astype(np.int64)  # exact: a power of two
    return nz, mant >> tz.astype(np.uint64), e + tz


def _normalise(limbs: np.ndarray) -> np.ndarray:
    """Carry-propagate so every limb is in [0, 2**32), growing/trimming the top limbs."""
    limbs = limbs.astype(np.int64, copy=True)
    j = 0
    while j < limbs.shape[0]:
        carry = limbs[j] >> _LIMB_BITS
        if carry.any():
            limbs[j] &= _MASK
            if j + 1 == limbs.shape[0]:
                limbs = np.concatenate([limbs, np.zeros((1, *limbs.shape[1:]), np.int64)])
            limbs[j + 1] += carry
        j += 1
    top = limbs.shape[0]
    while top > 0 and not limbs[top - 1].any():
        top -= 1
    return limbs[:top]


def _shift(limbs: np.ndarray, bits: int) -> np.ndarray:
    """Multiply by 2**bits (bits ≥ 0), normalised."""
    if bits == 0 or limbs.shape[0] == 0:
        return limbs
    whole, part = divmod(bits, _LIMB_BITS)
    shifted = limbs << np.int64(part)  # < 2**63: limbs are < 2**32 and part < 32
    pad = np.zeros((whole, *limbs.shape[1:]), np.int64)
    return _normalise(np.concatenate([pad, shifted]))


class KeyedSums:
    """Exact sums of non-negative floats per key, ``channels`` sums per key (see the module
    doc). ``add(keys, values)``: ``keys`` shape (n,), ``values`` shape (n,) or (n, channels)
    or None (each row adds 1 to every channel: counts). ``merge`` folds another in place.
    ``floats()`` gives the sums as float64 (deterministic, within 2 ulp), ``exact(i, c)`` one
    sum as an exact :class:`~fractions.Fraction`, ``ints()`` all of them as Python ints of
    2**scale units (object array).
    """

    __slots__ = ("channels", "key_kind", "keys", "limbs", "scale")

    def __init__(self, channels: int = 1, key_kind: str = "int") -> None:
        if key_kind not in ("int", "float"):
            raise ValueError(f"key_kind: expected 'int' or 'float', got {key_kind!r}")
        self.channels = int(channels)
        self.key_kind = key_kind
        self.keys = np.zeros(0, np.int64 if key_kind == "int" else np.float64)
        self.limbs = np.zeros((0, self.channels, 0), np.int64)
        self.scale = 0

    # -- building -------------------------------------------------------------------------
    def add(self, keys: np.ndarray, values: np.ndarray | None = None) -> None:
        keys = _canonical_keys(keys, self.key_kind)
        n = keys.shape[0]
        if n == 0:
            return
        if values is None:
            uniq, counts = _counts(keys)
            one = np.stack([counts & _MASK, counts >> _LIMB_BITS])  # (2, K)
            limbs = np.repeat(one[:, None, :], self.channels, axis=1)
            self._fold(uniq, _normalise(limbs), 0)
            return
        uniq, inv = unique_inverse(keys)
        vals = np.asarray(values, dtype=np.float64)
        if vals.ndim == 1:
            vals = vals[:, None]
        if vals.shape != (n, self.channels):
            raise ValueError(f"values: expected shape ({n}, {self.channels}), got {vals.shape}")
        if not np.isfinite(vals).all() or (vals < 0).any():
            raise ValueError("values: expected finite values ≥ 0 (weights), got a negative, "
                             "NaN or infinite one")
        parts = [_mantissas(vals[:, c]) for c in range(self.channels)]
        exps = [p[2] for p in parts if p[2].size]
        if not exps:  # only zeros: the keys still count as seen
            self._fold(uniq, np.zeros((0, self.channels, uniq.shape[0]), np.int64), self.scale)
            return
        scale = min(int(min(e.min() for e in exps)), self.scale if self.limbs.shape[0] else 1 << 30)
        top = max(int(e.max()) for e in exps) - scale
        nlimbs = top // _LIMB_BITS + 3
        K = uniq.shape[0]
        acc = np.zeros((nlimbs, self.channels, K), np.int64)
        for c, (nz, mant, e) in enumerate(parts):
            if not mant.size:
                continue
            key_of = inv[nz]
            off = (e - scale).astype(np.uint64)
            limb = (off >> np.uint64(5)).astype(np.int64)
            bit = off & np.uint64(31)
            shifted = mant << bit  # the low 64 bits of the up-to-84-bit product
            pieces = (shifted & np.uint64(_MASK),
                      (shifted >> np.uint64(32)) & np.uint64(_MASK),
                      (mant >> np.uint64(32)) >> (np.uint64(32) - bit))
            for j, piece in enumerate(pieces):
                slot = (limb + j) * K + key_of
                for start in range(0, slot.shape[0], _BLOCK):
                    sl = slice(start, start + _BLOCK)
                    summed = np.bincount(slot[sl], weights=piece[sl].astype(np.float64),
                                         minlength=nlimbs * K)
                    acc[:, c, :] += summed.astype(np.int64).reshape(nlimbs, K)
        self._fold(uniq, _normalise(acc), scale)

    def _fold(self, keys: np.ndarray, limbs: np.ndarray, scale: int) -> None:
        """Add sums (sorted unique ``keys``, normalised ``limbs`` at ``scale``) into self."""
        if self.limbs.shape[0] == 0:
            self_scale = scale
        elif limbs.shape[0] == 0:
            self_scale = self.scale
            scale = self.scale
        else:
            self_scale = min(self.scale, scale)
        mine = _shift(self.limbs, self.scale - self_scale) if self.limbs.shape[0] else self.limbs
        theirs = _shift(limbs, scale - self_scale) if limbs.shape[0] else limbs
        if np.array_equal(keys, self.keys):
            union = self.keys
            a_idx = b_idx = None
        else:
            union = np.union1d(self.keys, keys)
            a_idx = np.searchsorted(union, self.keys)
            b_idx = np.searchsorted(union, keys)
        L = max(mine.shape[0], theirs.shape[0])
        out = np.zeros((L, self.channels, union.shape[0]), np.int64)
        if a_idx is None:
            out[:mine.shape[0]] += mine
            out[:theirs.shape[0]] += theirs
        else:
            out[:mine.shape[0], :, a_idx] += mine
            out[:theirs.shape[0], :, b_idx] += theirs
        self.keys = union
        self.limbs = _normalise(out)
        self.scale = self_scale if self.limbs.shape[0] else 0

    def fold_below(self, key: int | float) -> None:
        """Move the sums of every key < ``key`` onto ``key`` (added if absent): the collapse
        of a bounded histogram. Exact; the result depends only on the multiset and ``key``."""
        low = self.keys < key
        if not low.any():
            return
        moved = self.limbs[:, :, low].sum(axis=2)  # each limb < 2**32: no int64 overflow
        keep = ~low
        self.keys = self.keys[keep]
        self.limbs = self.limbs[:, :, keep]
        scale = self.scale
        if self.limbs.shape[0] and not self.limbs.any():
            self.limbs = self.limbs[:0]
        target = np.array([key], dtype=self.keys.dtype)
        self._fold(target, _normalise(moved[:, :, None]), scale)
        self.scale = scale if self.limbs.shape[0] else 0

    def merge(self, other: KeyedSums) -> KeyedSums:
        """Fold ``other`` in (in place) and return self. Exact: see the module doc."""
        if (other.channels, other.key_kind) != (self.channels, self.key_kind):
            raise ValueError("cannot merge keyed sums of different shapes")
        self._fold(other.keys, other.limbs, other.scale)
        return self

    def copy(self) -> KeyedSums:
        out = KeyedSums(self.channels, self.key_kind)
        out.keys, out.limbs, out.scale = self.keys.copy(), self.limbs.copy(), self.scale
        return out

    # -- reading --------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.keys.shape[0])

    @property
    def nbytes(self) -> int:
        return int(self.keys.nbytes + self.limbs.nbytes)

    def floats(self) -> np.ndarray:
        """The sums as float64, shape (K, channels): Σ_j limb_j·2**(32j+scale) added from the
        top limb down (deterministic; within 2 ulp of the true sum)."""
        out = np.zeros((self.channels, self.keys.shape[0]))
        for j in range(self.limbs.shape[0] - 1, -1, -1):
            out += np.ldexp(self.limbs[j].astype(np.float64), _LIMB_BITS * j + self.scale)
        return out.T.copy()

    def ints(self) -> np.ndarray:
        """The sums as Python ints counting 2**scale units, object array (K, channels)."""
        out = np.zeros((self.channels, self.keys.shape[0]), dtype=object)
        for j in range(self.limbs.shape[0] - 1, -1, -1):
            out = out * (1 << _LIMB_BITS) + self.limbs[j].astype(object)
        return out.T.copy()

    def exact(self, index: int, channel: int = 0) -> Fraction:
        """One sum, exactly."""
        units = 0
        for j in range(self.limbs.shape[0] - 1, -1, -1):
            units = (units << _LIMB_BITS) + int(self.limbs[j, channel, index])
        return Fraction(units) * Fraction(2) ** self.scale

    def unit(self) -> Fraction:
        """The value of one unit of :meth:`ints`: 2**scale."""
        return Fraction(2) ** self.scale

    def totals(self) -> list[Fraction]:
        """Per channel, the exact sum over every key (limb columns summed in int64 — each
        limb < 2**32, so up to 2**31 keys cannot overflow — then carried in Python ints)."""
        if self.limbs.shape[0] == 0:
            return [Fraction(0)] * self.channels
        if self.limbs.shape[2] >= 1 << 31:  # pragma: no cover - beyond any practical state
            ints = self.ints()
            return [Fraction(int(sum(ints[:, c].tolist()))) * self.unit()
                    for c in range(self.channels)]
        col = self.limbs.sum(axis=2)  # (L, C)
        out = []
        for c in range(self.channels):
            units = 0
            for j in range(col.shape[0] - 1, -1, -1):
                units = (units << _LIMB_BITS) + int(col[j, c])
            out.append(Fraction(units) * self.unit())
        return out

    # -- serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe and exact: keys as little-endian int64/float64 bytes, limbs as
        little-endian uint32 bytes in (limb, channel, key) order, both base64."""
        return {"channels": self.channels, "key_kind": self.key_kind,
                "keys": encode_array(self.keys, "<i8" if self.key_kind == "int" else "<f8"),
                "limbs": encode_array(self.limbs, "<u4"), "nlimbs": int(self.limbs.shape[0]),
                "scale": self.scale}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KeyedSums:
        """From :meth:`to_dict`'s JSON, every field checked (:mod:`losscli.stats.fields`):
        keys strictly increasing (and not NaN), the limb array of the recorded shape."""
        f = Fields(data)
        out = cls(f.count("channels", lo=1, hi=64), f.text("key_kind", choices=("int", "float")))
        keys = decode_array(f.text("keys", longest=1 << 31),
                            "<i8" if out.key_kind == "int" else "<f8", "keys")
        out.keys = keys.astype(np.int64 if out.key_kind == "int" else np.float64)
        if out.keys.size and (np.isnan(out.keys).any() if out.key_kind == "float" else False):
            raise FieldError("keys", "a NaN key")
        check(bool(np.all(out.keys[1:] > out.keys[:-1])), "keys", "not strictly increasing")
        limbs = decode_array(f.text("limbs", longest=1 << 31), "<u4", "limbs").astype(np.int64)
        nlimbs = f.count("nlimbs", hi=256)
        check(limbs.size == nlimbs * out.channels * out.keys.shape[0], "limbs",
              f"{limbs.size} limbs, not nlimbs × channels × keys = "
              f"{nlimbs} × {out.channels} × {out.keys.shape[0]}")
        out.limbs = limbs.reshape(nlimbs, out.channels, out.keys.shape[0])
        out.scale = f.count("scale", lo=-1100, hi=1100, what="a bit offset")
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KeyedSums) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"KeyedSums(keys={len(self)}, channels={self.channels}, limbs={self.limbs.shape[0]})"

