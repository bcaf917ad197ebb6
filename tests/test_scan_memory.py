"""What a Parquet scan holds besides the state (issue 21: exact roc_auc on 10M distinct
scores within 300 MB): the Arrow memory of the batches decoded at once, bounded by
:data:`~losscli.io.formats.parquet.BATCH_VALUES` per batch, and what the allocators keep
after the scan (handed back once per worker thread, :mod:`losscli.io.release`).

Measured through the real entry point in a subprocess: Arrow's peak pool bytes
(``max_memory``), written at exit. Row groups of 2**20 rows, two columns: before, every
worker decoded a whole row group at a time (2**21 values) and the scan's Arrow peak was
67–75 MB on two workers (45 MB on one); now 28–32 MB (18–20 MB).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
import time
from fractions import Fraction

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import roc_auc_score

from losscli.executor import ordered_map
from losscli.io.formats.parquet import BATCH_VALUES
from tests.conftest import ROOT, run_losscli

#: The real entry point, with Arrow's peak pool bytes written to stderr at exit.
ARROW_PEAK = """import atexit, sys
def report():
    import pyarrow
    sys.stderr.write('ARROW_PEAK %d' % pyarrow.default_memory_pool().max_memory() + chr(10))
atexit.register(report)
sys.argv = ['losscli', *sys.argv[1:]]
from losscli.__main__ import entry
entry()
"""


def _arrow_peak(args: list[str]) -> int:
    proc = subprocess.run([sys.executable, "-c", ARROW_PEAK, *args], capture_output=True,
                          cwd=ROOT, timeout=120)
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    return int(err.rsplit("ARROW_PEAK ", 1)[1].split()[0])


def _scores(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    s = rng.random(n)
    return s, (rng.random(n) < s).astype(np.int64)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_scan_decodes_a_few_bounded_batches_at_a_time(tmp_path, workers):
    """Arrow's peak over the whole run is at most two batches per thread reading (the
    workers, and the first rows read to detect the task): a batch's columns and their
    float64 conversions are at most 16 bytes a value of BATCH_VALUES — whatever the row
    groups' size (2**20 rows here, twice a batch)."""
    s, y = _scores(2 << 20, seed=31)
    path = tmp_path / "scores.parquet"
    pq.write_table(pa.table({"p": s, "y": y}), path, row_group_size=1 << 20)
    bound = (workers + 1) * 2 * 16 * BATCH_VALUES
    for loss in ("roc_auc", "brier"):
        peak = _arrow_peak(["eval", str(path), "--pred-col", "p", "--target-col", "y",
                            "-l", loss, "--format", "json", "-q", "--workers", str(workers)])
        assert 0 < peak <= bound, (loss, peak / 2**20, bound / 2**20)


def test_the_same_bits_whatever_the_batches_chunks_and_workers(tmp_path):
    """Row groups longer than a batch (a group is read in several batches, a chunk spans two
    of them): every loss has the same bits on one worker or two, for each chunk size; the
    exact AUC — the correctly rounded Mann–Whitney fraction, scikit-learn's value — for
    every chunk size too."""
    n, group = 2_300_000, 1_100_000
    assert group > BATCH_VALUES // 2  # two columns: a group is more than one batch
    s, y = _scores(n, seed=32)
    s[::5] = np.round(s[::5], 2)  # ties, within and across batches
    path = tmp_path / "scores.parquet"
    pq.write_table(pa.table({"p": s, "y": y}), path, row_group_size=group)
    aucs = set()
    for chunk in ([], ["--chunk-size", "30011"], ["--chunk-size", str(1 << 19)]):
        seen = set()
        for workers in ("1", "2"):
            proc = run_losscli("eval", path, "--pred-col", "p", "--target-col", "y", "-l",
                               "roc_auc", "-l", "brier", "-l", "log_loss", "--format",
                               "json", "-q", "--workers", workers, *chunk)
            assert proc.returncode == 0, proc.stderr
            report = json.loads(proc.stdout)
            assert report["rows"] == n
            seen.add(tuple(entry["value"] for entry in report["losses"]))
        assert len(seen) == 1, (chunk, seen)
        aucs.add(next(iter(seen))[0])
    assert len(aucs) == 1, aucs
    auc = aucs.pop()
    pos, neg = s[y == 1], np.sort(s[y == 0])
    ranks = np.searchsorted(neg, pos, "left") + np.searchsorted(neg, pos, "right")
    assert auc == float(Fraction(int(ranks.sum()), 2 * pos.size * neg.size))
    # scikit-learn's float trapezoid: within one ulp of the correctly rounded fraction
    assert abs(auc - roc_auc_score(y, s)) <= math.ulp(auc)


def test_when_idle_runs_on_each_worker_thread_once_nothing_is_left_to_start():
    """``when_idle`` (what hands the allocators' free memory back) runs on the worker
    threads after their units once every unit has been started — never on the consumer's
    thread, never while units are still to be started, never for a serial run."""
    started: list[int] = []
    calls: list[tuple[str, int]] = []
    lock = threading.Lock()

    def work(i: int, _stop: threading.Event) -> int:
        with lock:
            started.append(i)
        time.sleep(0.002)
        return i * i

    def idle() -> None:
        with lock:
            calls.append((threading.current_thread().name, len(started)))

    items = list(range(12))
    out = list(ordered_map(work, items, workers=2, when_idle=idle))
    assert out == [(i, i * i) for i in items]  # in order, as before
    assert calls, "never called"
    assert all(name.startswith("losscli-unit") for name, _ in calls)
    # only once the last units were handed out (at most 2 × workers ahead of the consumer)
    assert all(count >= len(items) - 4 for _, count in calls), calls
    assert len(calls) <= 4
    calls.clear()
    assert list(ordered_map(work, items, workers=1, when_idle=idle)) == [
        (i, i * i) for i in items]
    assert calls == []
