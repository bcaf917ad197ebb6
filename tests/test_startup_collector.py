"""Start-up without the cyclic garbage collector (issue 21): the command pauses it before
it imports anything (``losscli.__main__.entry``) and, once the command's body is loaded,
freezes what start-up made and collects again (:mod:`losscli.collector`); the importable
API leaves the collector as it found it. Each run is a real process; the values are
checked against numpy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "regression.parquet"

#: Written on stderr at exit: whether the collector runs and how many objects it froze.
_REPORT = ("import atexit, gc, sys\n"
           "atexit.register(lambda: sys.stderr.write("
           "f'\\nGC {int(gc.isenabled())} {gc.get_freeze_count()}\\n'))\n")


def _gc_state(code: str) -> tuple[subprocess.CompletedProcess, bool, int]:
    proc = subprocess.run([sys.executable, "-c", _REPORT + code], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    enabled, frozen = proc.stderr.rpartition("GC ")[2].split()
    return proc, enabled == "1", int(frozen)


def _truth() -> float:
    table = pq.read_table(SAMPLE)
    pred, target = (table.column(c).to_numpy().astype(float) for c in ("pred", "target"))
    return float(np.mean((pred - target) ** 2))


def test_the_command_runs_with_the_collector_and_start_up_frozen():
    proc, enabled, frozen = _gc_state(
        "import runpy\n"
        f"sys.argv = ['losscli', 'eval', {str(SAMPLE)!r}, '-l', 'mse', '-f', 'json']\n"
        "runpy.run_module('losscli', run_name='__main__', alter_sys=True)\n")
    assert enabled and frozen > 10_000  # typer, numpy, pyarrow and losscli's modules
    value = json.loads(proc.stdout)["losses"][0]["value"]
    assert value == pytest.approx(_truth(), rel=1e-12)


def test_the_api_leaves_the_collector_alone():
    proc, enabled, frozen = _gc_state(
        "import losscli, json\n"
        f"r = losscli.evaluate({str(SAMPLE)!r}, losses=['mse'])\n"
        "print(json.dumps(r.to_dict()))\n")
    assert enabled and frozen == 0
    assert json.loads(proc.stdout)["losses"][0]["value"] == pytest.approx(_truth(), rel=1e-12)


def test_a_user_who_turned_the_collector_off_keeps_it_off():
    import gc

    from losscli import collector

    gc.disable()
    try:
        collector.pause()
        collector.resume()
        assert not gc.isenabled() and gc.get_freeze_count() == 0
    finally:
        gc.enable()
