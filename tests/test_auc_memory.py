"""The exact ROC AUC in small memory (issue 21): distinct scores cost 8 bytes each (each
class's scores as sorted runs, no count stored per row), merged log-structured so the peak
stays a small multiple of that, and the AUC and DeLong's standard error are read from the
runs without a per-score table.

Measured: the state's own bytes (``nbytes``), what tracemalloc sees the state and its
merges allocate in one process, and the whole CLI's peak resident memory (``VmHWM``) for
``--loss roc_auc`` against the same run with ``--loss brier`` on the same columns.
"""

from __future__ import annotations

import json
import math
import tracemalloc
from fractions import Fraction

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import roc_auc_score

from losscli.stats.ranking import Ranking
from tests.test_memory import peak_mb

N = 3_000_000
CHUNK = 1 << 18


def _data(n: int, seed: int = 21) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    s = rng.random(n)  # float64 as drawn: every score distinct
    return s, (rng.random(n) < s).astype(np.int64)


def _exact(s: np.ndarray, y: np.ndarray) -> Fraction:
    """Mann–Whitney with mid-ranks, in integers: Σ over the positives of 2·(negatives
    below) + (negatives equal), over 2·P·N."""
    pos, neg = s[y == 1], np.sort(s[y == 0])
    x = np.searchsorted(neg, pos, "left") + np.searchsorted(neg, pos, "right")
    return Fraction(int(x.sum()), 2 * pos.size * neg.size)


def test_eight_bytes_per_distinct_score_and_a_bounded_peak():
    s, y = _data(N)
    assert np.unique(s).shape[0] == N
    tracemalloc.start()
    try:
        r = Ranking()
        for i in range(0, N, CHUNK):
            r.update(s[i:i + CHUNK], y[i:i + CHUNK])
            assert r.nbytes == 8 * min(i + CHUNK, N)  # the runs hold the scores, nothing else
        auc = r.roc_auc().value
        _, se, why = r.roc_auc_se()
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.nbytes == 8 * N and r.distinct_scores == N
    assert held <= 8 * N + (1 << 20)
    # merges go piece by piece: a few pieces (and a chunk's sort) more than the state
    # (measured: 10.8 B a score at the peak; a merge of whole runs reached 16–20)
    assert peak <= 8 * N + (16 << 20), peak / N
    assert auc == float(_exact(s, y))  # correctly rounded
    assert abs(auc - roc_auc_score(y, s)) <= math.ulp(auc)  # sklearn's float trapezoid
    assert why is None and math.isfinite(se) and 0 < se < 1e-3


def test_cli_roc_auc_peak_memory(tmp_path):
    """The CLI's peak for roc_auc of 3M distinct scores is within the state (8 B a score)
    plus 96 MB of the same run computing brier: what the two threads' units in flight and
    their allocators hold (measured 45–95 MB above brier in all; with 24 B a score and a
    copy of the whole state on every merge it was 280–310 MB)."""
    s, y = _data(N, seed=22)
    path = tmp_path / "scores.parquet"
    pq.write_table(pa.table({"p": s, "y": y}), path, row_group_size=1 << 20)
    common = ["eval", str(path), "--pred-col", "p", "--target-col", "y", "--format", "json",
              "-q", "--workers", "2"]
    base, code, err = peak_mb([*common, "-l", "brier"])
    assert code == 0, err
    peak, code, err = peak_mb([*common, "-l", "roc_auc"])
    assert code == 0, err
    assert peak - base <= 8 * N / 2**20 + 96, (peak, base)


def _delong_se(s: np.ndarray, y: np.ndarray) -> float:
    """DeLong's standard error from the structural components (float64 reference)."""
    pos, neg = np.sort(s[y == 1]), np.sort(s[y == 0])
    v10 = (np.searchsorted(neg, pos, "left") + np.searchsorted(neg, pos, "right")) / (
        2.0 * neg.size)
    v01 = 1.0 - (np.searchsorted(pos, neg, "left") + np.searchsorted(pos, neg, "right")) / (
        2.0 * pos.size)
    return math.sqrt(v10.var(ddof=1) / pos.size + v01.var(ddof=1) / neg.size)


def test_cli_roc_auc_and_delong_interval_are_exact_for_any_workers_and_chunks(tmp_path):
    """The AUC is the correctly rounded exact value and DeLong's interval has the same bits
    for one or two workers and any chunk size (integer sums over the rows); the interval is
    the reference's to 1e-12."""
    from statistics import NormalDist

    from tests.conftest import run_losscli

    s, y = _data(400_000, seed=23)
    s[::7] = np.round(s[::7], 3)  # ties too, within and across chunks
    path = tmp_path / "scores.parquet"
    pq.write_table(pa.table({"p": s, "y": y}), path, row_group_size=100_000)
    seen = []
    for extra in (["--workers", "1"], ["--workers", "2", "--chunk-size", "30011"],
                  ["--workers", "2", "--chunk-size", "7919"]):
        proc = run_losscli("eval", path, "--pred-col", "p", "--target-col", "y", "-l",
                           "roc_auc", "--ci", "--format", "json", "-q", *extra)
        assert proc.returncode == 0, proc.stderr
        entry = json.loads(proc.stdout)["losses"][0]
        seen.append((entry["value"], entry["interval"]["low"], entry["interval"]["high"]))
    assert seen[0] == seen[1] == seen[2]
    auc, low, high = seen[0]
    assert auc == float(_exact(s, y))
    half = NormalDist().inv_cdf(0.975) * _delong_se(s, y)
    assert high - auc == pytest.approx(half, rel=1e-9)
    assert auc - low == pytest.approx(half, rel=1e-9)
