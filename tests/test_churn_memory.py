"""The churn job's memory (issue 21): text columns read through their Arrow dictionary
(labels yes/no, the group column) keep their codes one byte a row for a few distinct values,
not eight — and the values and intervals stay the same bits, equal to scikit-learn."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from tests.conftest import ROOT, run_losscli, traced_peak

_CHURN = ["--pred-col", "p_yes", "--target-col", "label", "--pos-label", "yes",
          "--loss", "accuracy", "--loss", "f1", "--loss", "roc_auc", "--loss", "bce"]



def _churn_file(path, n: int, groups: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    p = np.clip(np.round(rng.normal(0.3 + 0.3 * y, 0.2), 4), 0, 1)
    names = np.array([f"ch{i:03d}" for i in range(groups)])
    pq.write_table(pa.table({"p_yes": p, "label": np.where(y, "yes", "no"),
                             "channel": names[rng.integers(0, groups, n)]}), path)


def test_grouped_churn_job_peak_memory_per_row(tmp_path):
    """1M rows, the four metrics by channel: the traced peak stays under 100 bytes a row
    (111 MB before the codes were narrowed, ~86 MB after)."""
    n = 1_000_000
    path = tmp_path / "churn.parquet"
    _churn_file(path, n, groups=10)
    peak = traced_peak("eval", path, *_CHURN, "--group-by", "channel")
    assert peak < 100 * n, f"traced peak {peak / 1e6:.1f} MB for {n:,} rows"


def _doc(path, *extra: str) -> dict:
    proc = run_losscli("eval", path, *_CHURN, "--group-by", "channel", "--format", "json",
                       *extra)
    assert proc.returncode == 0, proc.stderr.decode()
    doc = json.loads(proc.stdout)
    doc.pop("elapsed_seconds", None)
    return doc


def _without_bce(doc: dict) -> dict:
    for cell in (doc, *doc["groups"]):
        cell["losses"] = [loss for loss in cell["losses"] if loss["name"] != "bce"]
    return doc


def _values(losses: list[dict]) -> dict[str, float]:
    return {loss["name"]: loss["value"] for loss in losses}


@pytest.mark.parametrize("groups", [10, 300])  # int8 and int16 codes for the group column
def test_narrow_codes_same_bits_across_workers_and_chunks_and_equal_to_sklearn(
        tmp_path, groups):
    n = 60_000
    path = tmp_path / "churn.parquet"
    _churn_file(path, n, groups=groups, seed=groups)
    base = _doc(path, "--ci", "--workers", "1")
    assert _doc(path, "--ci", "--workers", "2") == base
    # Another chunk size: the same bits, but for bce (with --group-by its sums are not yet
    # chunk-invariant in the last bits, on main too: a known gap, not this change's)
    for extra in (["--chunk-size", "7001"], ["--chunk-size", "7001", "--workers", "2"]):
        assert _without_bce(_doc(path, "--ci", *extra)) == _without_bce(base)

    table = pq.read_table(path).to_pandas()
    y = (table["label"] == "yes").to_numpy()
    p = table["p_yes"].to_numpy()
    got = _values(base["losses"])
    assert got["roc_auc"] == pytest.approx(roc_auc_score(y, p), rel=1e-12)
    assert got["accuracy"] == pytest.approx(accuracy_score(y, p >= 0.5), rel=1e-12)
    assert got["f1"] == pytest.approx(f1_score(y, p >= 0.5), rel=1e-12)
    assert len(base["groups"]) == groups
    for group in base["groups"]:
        rows = (table["channel"] == group["key"]["channel"]).to_numpy()
        assert group["rows"] == int(rows.sum())
        got = _values(group["losses"])
        assert got["roc_auc"] == pytest.approx(roc_auc_score(y[rows], p[rows]), rel=1e-12)
        assert got["accuracy"] == pytest.approx(
            accuracy_score(y[rows], p[rows] >= 0.5), rel=1e-12)
        assert got["f1"] == pytest.approx(f1_score(y[rows], p[rows] >= 0.5), rel=1e-12)


#: The command's entry (``losscli.__main__.entry``) with a stand-in CLI whose eight threads
#: allocate at once, then count glibc's malloc arenas (``malloc_info``'s heaps).
_ARENAS = """
import ctypes, os, sys, tempfile, threading, types

def main():
    import numpy as np
    barrier = threading.Barrier(8)
    keep = []
    def work():
        barrier.wait()
        keep.append([np.ones(1000) for _ in range(200)])
    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    libc = ctypes.CDLL("libc.so.6")
    libc.fopen.restype = ctypes.c_void_p
    path = tempfile.mktemp()
    fp = libc.fopen(path.encode(), b"w")
    libc.malloc_info(0, ctypes.c_void_p(fp))
    libc.fclose(ctypes.c_void_p(fp))
    print(open(path).read().count("<heap nr="))
    os.unlink(path)

sys.modules["losscli.cli"] = types.SimpleNamespace(main=main)
from losscli.__main__ import entry
if sys.argv[1] == "entry":
    entry()
else:
    main()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux")
                    or platform.libc_ver()[0] != "glibc",
                    reason="glibc's malloc arenas")
def test_the_command_keeps_two_malloc_arenas():
    """Eight threads allocating: nine arenas in a plain process, two under the command (as
    MALLOC_ARENA_MAX=2 — ~40–60 MB less peak RSS on the 10M-row churn job)."""
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}

    def arenas(how: str) -> int:
        proc = subprocess.run([sys.executable, "-c", _ARENAS, how], capture_output=True,
                              text=True, cwd=ROOT, env=env, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return int(proc.stdout.split()[-1])

    assert arenas("plain") > 2
    assert arenas("entry") <= 2
