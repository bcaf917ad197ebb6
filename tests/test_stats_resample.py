"""Counter-based Poisson bootstrap weights.

What is proved here: the threshold table is the Poisson(1) CDF (scipy as the reference);
the weights are Poisson(1) (chi-square on 2·10**6 draws, mean and variance), uncorrelated
across replicates, neighbouring rows and seeds; identical for any chunking of the rows;
row and key identities are stable, chunk-independent and separate different keys (strings
of different lengths, unicode, "", nulls, composite keys, Thue–Morse strings that defeat a
polynomial hash); BootstrapSums merges exactly.

Run ``python tests/test_stats_resample.py`` for the speed measurement (not a timed test).
"""

from __future__ import annotations

import itertools
import json
import random

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats

from losscli.stats.resample import (
    POISSON_THRESHOLDS,
    BootstrapSums,
    file_key,
    key_ids,
    mix64,
    poisson_weights,
    replicate_sums,
    row_ids,
)


def test_thresholds_are_the_poisson_cdf():
    k = np.arange(POISSON_THRESHOLDS.shape[0])
    expected = stats.poisson.cdf(k, 1.0)
    got = POISSON_THRESHOLDS.astype(np.float64) / 2.0 ** 64
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=0)
    assert np.all(np.diff(POISSON_THRESHOLDS.astype(object)) > 0)
    assert stats.poisson.sf(k[-1], 1.0) < 2.0 ** -64 < stats.poisson.sf(k[-2], 1.0)


def test_mix64_known_values():
    # splitmix64 seeded with 0: its first outputs (Vigna's reference splitmix64.c).
    first = mix64(np.array([0x9E3779B97F4A7C15, (2 * 0x9E3779B97F4A7C15) % 2 ** 64],
                           dtype=np.uint64))
    assert [hex(int(x)) for x in first] == ["0xe220a8397b1dcdaf", "0x6e789e6aa1b965f4"]


def test_weights_are_poisson_one():
    ids = row_ids(file_key("data/part-0.parquet"), 0, 20_000)
    w = poisson_weights(2024, ids, 100)
    assert w.dtype == np.uint8 and w.shape == (100, 20_000)
    n = w.size
    observed = np.bincount(w.ravel(), minlength=8)[:8].astype(float)
    observed[7] = (w >= 7).sum()
    expected = stats.poisson.pmf(np.arange(8), 1.0) * n
    expected[7] = stats.poisson.sf(6, 1.0) * n
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    assert stats.chi2.sf(chi2, df=7) > 1e-3, (observed, expected)
    # mean and variance: 1 ± 4 standard errors (var of the sample variance: (μ4 − σ⁴)/n, μ4 = 4)
    assert abs(w.mean() - 1.0) < 4 * np.sqrt(1.0 / n)
    assert abs(w.var() - 1.0) < 4 * np.sqrt(3.0 / n)


def test_no_correlation_between_replicates_rows_or_seeds():
    ids = row_ids(file_key("x"), 0, 50_000)
    w = poisson_weights(1, ids, 20).astype(float)
    tol = 4 / np.sqrt(w.shape[1])  # 4 standard errors of a null correlation
    corr = np.corrcoef(w)
    off = corr[~np.eye(20, dtype=bool)]
    assert np.abs(off).max() < tol + 0.005  # 380 pairs: the max of |N(0, 1/n)| draws
    neighbours = np.corrcoef(w[:, :-1].ravel(), w[:, 1:].ravel())[0, 1]
    assert abs(neighbours) < 4 / np.sqrt(w[:, 1:].size)
    other = poisson_weights(2, ids, 20).astype(float)
    assert abs(np.corrcoef(w.ravel(), other.ravel())[0, 1]) < 4 / np.sqrt(w.size)
    assert not np.array_equal(w, other)


def test_weights_do_not_depend_on_chunking():
    key = file_key("shard-7.arrow")
    whole = poisson_weights(99, row_ids(key, 0, 1000), 50)
    parts = [poisson_weights(99, row_ids(key, s, n), 50)
             for s, n in [(0, 1), (1, 333), (334, 0), (334, 666)]]
    assert np.array_equal(np.concatenate(parts, axis=1), whole)
    assert np.array_equal(row_ids(key, 0, 10), np.concatenate([row_ids(key, 0, 4),
                                                               row_ids(key, 4, 6)]))
    # More replicates extend the matrix: the first 50 rows are the same.
    assert np.array_equal(poisson_weights(99, row_ids(key, 0, 1000), 80)[:50], whole)
    # and a block boundary inside the (replicate, row) loop changes nothing
    ids = row_ids(key, 0, 70_000)
    big = poisson_weights(5, ids, 3)
    assert np.array_equal(big[:, 65_000:], poisson_weights(5, ids[65_000:], 3))


def test_file_key_is_stable():
    # BLAKE2b-64 of the UTF-8 path, little-endian: fixed across processes and versions.
    assert file_key("a/b.parquet") == file_key("a/b.parquet")
    assert file_key("a/b.parquet") != file_key("a/c.parquet")
    assert file_key("") == int.from_bytes(bytes.fromhex("e4a6a0577479b2b4"), "little")
    assert row_ids(file_key("a"), 0, 1000).size == np.unique(
        np.concatenate([row_ids(file_key("a"), 0, 1000), row_ids(file_key("b"), 0, 1000)])).size / 2


STRINGS = ["", "a", "b", "ab", "ba", "aa", "a\x00", "\x00a", "é", "e\u0301", "日本", "日本語",
           "🙂", "null", " " * 40, "x" * 1000]


def test_string_keys_equal_across_representations_and_chunking():
    base = key_ids(pa.array(STRINGS))
    assert np.array_equal(base, key_ids(np.array(STRINGS, dtype=object)))
    # numpy's fixed-width <U strings cannot hold a trailing NUL ("a\x00" reads back as "a")
    no_nul = [i for i, x in enumerate(STRINGS) if not x.endswith("\x00")]
    assert np.array_equal(base[no_nul], key_ids(np.array([STRINGS[i] for i in no_nul])))
    assert np.array_equal(base, key_ids(pa.array(STRINGS, type=pa.large_string())))
    assert np.array_equal(base, key_ids(pa.array(STRINGS).dictionary_encode()))
    assert np.array_equal(base, key_ids(pa.chunked_array([STRINGS[:3], STRINGS[3:]])))
    arr = pa.array(STRINGS)
    sliced = np.concatenate([key_ids(arr.slice(0, 5)), key_ids(arr.slice(5))])
    assert np.array_equal(base, sliced)


def test_different_keys_differ():
    ids = key_ids(pa.array([*STRINGS, None]))
    assert len(set(ids.tolist())) == len(STRINGS) + 1
    words = [f"user-{i}" for i in range(100_000)]
    assert np.unique(key_ids(pa.array(words))).size == 100_000
    # Thue–Morse strings and their complements collide under every polynomial hash mod 2**64
    t = [0]
    while len(t) < 2048:
        t += [1 - x for x in t]
    tm = "".join("ab"[x] for x in t)
    anti = "".join("ba"[x] for x in t)
    a, b = key_ids(pa.array([tm, anti]))
    assert a != b


def test_numeric_keys():
    ints = key_ids(np.array([0, 1, 2, -1, 2 ** 62], dtype=np.int64))
    assert np.array_equal(ints, key_ids(np.array([0.0, 1.0, 2.0, -1.0, 2.0 ** 62])))
    assert np.array_equal(ints[:2], key_ids(np.array([False, True])))
    assert np.array_equal(ints[:3], key_ids(np.array([0, 1, 2], dtype=np.int32)))
    assert np.array_equal(key_ids(np.array([-0.0])), key_ids(np.array([0])))
    floats = key_ids(np.array([0.5, 1.5, np.inf, -np.inf, np.nan, -np.nan, 1e300]))
    assert floats[4] == floats[5]
    assert len(set(floats.tolist()) | set(ints.tolist())) == 6 + 5
    assert np.array_equal(key_ids(pa.array([1, None, 3])),
                          [ints[1], key_ids(pa.array([None], type=pa.string()))[0],
                           key_ids(np.array([3]))[0]])
    with pytest.raises(ValueError, match="unsupported dtype"):
        key_ids(np.array([1 + 2j]))


def test_composite_keys():
    a = key_ids([pa.array(["ab", "a", "x"]), pa.array(["c", "bc", "y"])])
    assert len(set(a.tolist())) == 3  # ("ab","c") != ("a","bc")
    swapped = key_ids([pa.array(["x", "y"]), pa.array(["y", "x"])])
    assert swapped[0] != swapped[1]
    mixed = key_ids([np.array([1, 1]), pa.array(["u", "v"])])
    assert mixed[0] != mixed[1]
    assert np.array_equal(mixed, key_ids((np.array([1.0, 1.0]), np.array(["u", "v"]))))
    with pytest.raises(ValueError, match="differ in length"):
        key_ids([np.array([1]), np.array([1, 2])])


def test_bootstrap_sums_merge_exactly_and_match_the_definition():
    rng = np.random.default_rng(3)
    n = 3000
    ids = key_ids(np.arange(n))
    values = np.stack([rng.lognormal(size=n), rng.normal(size=n)], axis=1)
    weights = rng.uniform(0.5, 2.0, n)
    cuts = [0, 1, 500, 1700, 3000]
    parts = []
    for s, e in itertools.pairwise(cuts):
        p = BootstrapSums(64, seed=11, columns=2)
        p.update(ids[s:e], values[s:e], weights[s:e])
        parts.append(p)
    orders = []
    for seed in range(3):
        pool = [BootstrapSums.from_dict(json.loads(json.dumps(p.to_dict()))) for p in parts]
        random.Random(seed).shuffle(pool)
        acc = pool[0]
        for q in pool[1:]:
            acc.merge(q)
        orders.append(acc)
    assert orders[0] == orders[1] == orders[2]
    w = poisson_weights(11, ids, 64) * weights[None, :]
    expected = replicate_sums(w, values) / w.sum(axis=1)[:, None]
    np.testing.assert_allclose(orders[0].means(), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="different seeds"):
        orders[0].merge(BootstrapSums(64, seed=12, columns=2))


def _speed() -> None:  # pragma: no cover - a measurement, run by hand
    import time

    z = np.arange(1 << 16, dtype=np.uint64)
    reps = 150
    t = time.perf_counter()
    for _ in range(reps):
        mix64(z)
    floor = reps * z.size / (time.perf_counter() - t)
    print(f"floor: one mix64 per element (allocating, 64 K blocks): {floor / 1e6:.0f} M/s")
    for n, b in [(1_000_000, 1), (1_000_000, 100), (200_000, 1000), (1000, 1000)]:
        ids = row_ids(1, 0, n)
        best = 0.0
        for _ in range(3):
            t = time.perf_counter()
            poisson_weights(7, ids, b)
            best = max(best, n * b / (time.perf_counter() - t))
        print(f"poisson_weights n={n:>9,} B={b:>5}: {best / 1e6:6.0f} M rows×replicates/s "
              f"({best / floor:.0%} of the floor)")


if __name__ == "__main__":  # pragma: no cover
    _speed()
