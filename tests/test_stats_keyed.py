"""KeyedSums: exact per-key sums in int64 limbs.

What is proved here: every sum equals the exact rational sum of its values (Fractions), for
values spanning subnormals to 1e300; the state depends only on the multiset of (key, value)
pairs (any chunking, any merge order or tree, bit for bit); JSON round-trips exactly; the
float read-out is within 2 ulp.
"""

from __future__ import annotations

import json
import random
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from losscli.stats.keyed import KeyedSums


def _reference(keys, values):
    out: dict = {}
    for k, v in zip(keys.tolist(), values.tolist()):
        out[k] = out.get(k, Fraction(0)) + Fraction(v)
    return out


def _random_tree(parts, rng):
    pool = [p.copy() for p in parts]
    rng.shuffle(pool)
    while len(pool) > 1:
        i = rng.randrange(len(pool) - 1)
        a, b = pool.pop(i), pool.pop(i)
        pool.insert(rng.randrange(len(pool) + 1), a.merge(b))
    return pool[0]


def _chunked(keys, values, size, channels=1, key_kind="int"):
    parts = []
    for s in range(0, len(keys), size):
        p = KeyedSums(channels, key_kind)
        p.add(keys[s:s + size], None if values is None else values[s:s + size])
        parts.append(p)
    return parts


def test_sums_are_exact_over_the_whole_float_range():
    rng = np.random.default_rng(1)
    n = 5000
    keys = rng.integers(-3, 20, n)
    values = rng.lognormal(0.0, 4.0, n)
    values[::13] = 0.0
    values[::17] = 5e-324
    values[::19] = 1e300
    values[::23] = 2.0 ** -1022
    ks = KeyedSums()
    ks.add(keys, values)
    ref = _reference(keys, values)
    assert ks.keys.tolist() == sorted(ref)
    for i, k in enumerate(ks.keys.tolist()):
        assert ks.exact(i) == ref[k]
        assert ks.ints()[i, 0] * ks.unit() == ref[k]
    floats = ks.floats()[:, 0]
    exact = np.array([float(ref[k]) for k in ks.keys.tolist()])
    assert np.all(np.abs(floats - exact) <= 2 * np.spacing(exact))


@pytest.mark.parametrize("size", [1, 7, 64, 1000])
def test_any_chunking_and_merge_tree_gives_the_same_bits(size):
    rng = np.random.default_rng(size)
    n = 1500
    keys = rng.normal(size=n).round(1)
    values = np.stack([rng.exponential(size=n), rng.random(n) * 1e-200], axis=1)
    whole = KeyedSums(2, "float")
    whole.add(keys, values)
    parts = _chunked(keys, values, size, 2, "float")
    for seed in range(3):
        assert _random_tree(parts, random.Random(seed)) == whole
    assert KeyedSums.from_dict(json.loads(json.dumps(whole.to_dict()))) == whole


def test_counts_equal_unit_weights_and_negative_zero_is_zero():
    keys = np.array([0.0, -0.0, 1.5, 1.5, 0.0])
    counts = KeyedSums(1, "float")
    counts.add(keys)
    ones = KeyedSums(1, "float")
    ones.add(keys[::-1], np.ones(5))
    assert counts == ones
    assert counts.keys.tolist() == [0.0, 1.5]
    assert np.signbit(counts.keys).sum() == 0
    assert counts.ints()[:, 0].tolist() == [3, 2]


def test_keys_with_zero_values_are_kept_and_bad_input_refused():
    ks = KeyedSums()
    ks.add(np.array([4, 5]), np.array([0.0, 0.0]))
    assert ks.keys.tolist() == [4, 5] and ks.floats().tolist() == [[0.0], [0.0]]
    with pytest.raises(ValueError, match="finite values"):
        ks.add(np.array([1]), np.array([-1.0]))
    with pytest.raises(ValueError, match="NaN"):
        KeyedSums(1, "float").add(np.array([np.nan]), np.array([1.0]))
    with pytest.raises(ValueError, match="different shapes"):
        ks.merge(KeyedSums(2))


def test_large_counts_carry_into_higher_limbs():
    ks = KeyedSums()
    big = np.full(3, 2.0 ** 62)
    for _ in range(5):
        ks.add(np.zeros(3, np.int64), big)
    assert ks.exact(0) == 15 * 2 ** 62


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.floats(0, 1e30, allow_nan=False)), min_size=1,
                max_size=60),
       st.integers(1, 10), st.randoms(use_true_random=False))
def test_property_exact_and_split_independent(pairs, size, rnd):
    keys = np.array([k for k, _ in pairs], np.int64)
    values = np.array([v for _, v in pairs])
    whole = KeyedSums()
    whole.add(keys, values)
    ref = _reference(keys, values)
    assert [whole.exact(i) for i in range(len(whole))] == [ref[k] for k in sorted(ref)]
    assert _random_tree(_chunked(keys, values, size), rnd) == whole


def test_fold_below_moves_sums_exactly_and_commutes_with_merging():
    rng = np.random.default_rng(2)
    keys = rng.integers(0, 40, 2000)
    values = rng.exponential(size=2000)
    whole = KeyedSums()
    whole.add(keys, values)
    folded = whole.copy()
    folded.fold_below(25)
    assert folded.keys.min() == 25
    assert folded.exact(0) == sum(whole.exact(i) for i in range(len(whole)) if whole.keys[i] <= 25)
    assert folded.totals() == whole.totals()
    a, b = KeyedSums(), KeyedSums()
    a.add(keys[:700], values[:700])
    b.add(keys[700:], values[700:])
    a.fold_below(10)
    b.fold_below(25)
    merged = a.merge(b)
    merged.fold_below(25)
    assert merged == folded


@pytest.mark.parametrize("keys", [
    np.array([5, 5, -2, 7]),                                              # dense: table lookup
    np.random.default_rng(1).integers(-3000, 3000, 100_000),              # dense, many rows
    np.random.default_rng(2).integers(-2**40, 2**40, 1000),               # sparse: sorted
    np.array([2**62, -2**62, 0]),                                          # span beyond int64
])
def test_grouping_of_keys_is_numpy_unique(keys):
    from losscli.stats.keyed import unique_inverse

    uniq, inv = unique_inverse(keys)
    want_uniq, want_inv = np.unique(keys, return_inverse=True)
    assert uniq.dtype == np.int64
    np.testing.assert_array_equal(uniq, want_uniq)
    np.testing.assert_array_equal(inv, want_inv.ravel())


def test_a_forged_state_names_its_bad_array():
    """The arrays of a saved state are read through ``fields.decode_array``: text that is
    not base64, or not a whole number of values, is a FieldError naming the field — before,
    non-base64 characters were silently dropped by ``b64decode``."""
    from losscli.stats.fields import FieldError

    ks = KeyedSums()
    ks.add(np.array([4, 5, 9]), np.array([1.0, 2.0, 3.0]))
    good = json.loads(json.dumps(ks.to_dict()))
    assert KeyedSums.from_dict(good) == ks
    for field, text, problem in (("keys", good["keys"][:-4] + "!!!!", "not base64"),
                                 ("keys", good["keys"][:8], "whole number"),
                                 ("limbs", good["limbs"] + "AAAA", "limbs")):
        with pytest.raises(FieldError, match=problem) as info:
            KeyedSums.from_dict({**good, field: text})
        assert info.value.field == field
