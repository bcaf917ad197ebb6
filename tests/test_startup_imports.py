"""Start-up (issue 20): a regression eval imports only what it runs. The label mapping, the
interval kinds (:data:`losscli.interval_parts.KIND_MODULES`), the per-query statistics, the
optional parts of a state and the MLflow glue are imported when a run uses them — and then
work: each run here is the real CLI in a subprocess, its values checked against
scikit-learn or numpy computed here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import f1_score, log_loss, ndcg_score, roc_auc_score

from losscli.interval_parts import BOOTSTRAP_MODULES, KIND_MODULES

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_data"

LABELS = {"losscli.labels", "losscli.labels.binding", "losscli.labels.first_pass",
          "losscli.labels.mapping", "losscli.labels.rule"}
#: Every module of an interval kind, and the interval state itself.
INTERVALS = ({m for mods in KIND_MODULES.values() for m in mods} | set(BOOTSTRAP_MODULES)
             | {"losscli.uncertainty", "losscli.uncertainty_state",
                "losscli.stats.paired_proportions"})
#: The optional parts of a cell (sketches, calibration bins) and the other tasks' statistics.
PARTS = {"losscli.stats.sketch", "losscli.stats.calibration", "losscli.calibrate",
         "losscli.stats.confusion", "losscli.stats.ranking", "losscli.stats.one_vs_rest",
         "losscli.stats.score_counts", "losscli.state_parts"}
QUERIES = {"losscli.query_aggregate", "losscli.stats.queries"}
TRACKING = {"losscli.tracking_log", "mlflow"}
NOT_FOR_REGRESSION = LABELS | INTERVALS | PARTS | QUERIES | TRACKING


def _run(*args: object) -> tuple[dict, set[str]]:
    """A real ``python -m losscli ARGS -f json``: its JSON document and the modules it had
    imported when it exited (its ``sys.modules``, written on stderr at exit)."""
    code = ("import atexit, runpy, sys\n"
            "atexit.register(lambda: sys.stderr.write('\\nMODULES ' + ' '.join(sys.modules)))\n"
            f"sys.argv = ['losscli', *{[str(a) for a in args] + ['-f', 'json']!r}]\n"
            "runpy.run_module('losscli', run_name='__main__', alter_sys=True)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout), set(proc.stderr.rpartition("MODULES ")[2].split())


def _entry(doc: dict, name: str) -> dict:
    return next(e for e in doc["losses"] if e["name"] == name)


def _regression() -> tuple[np.ndarray, np.ndarray]:
    table = pq.read_table(SAMPLES / "regression.parquet")
    return (table.column("pred").to_numpy().astype(float),
            table.column("target").to_numpy().astype(float))


def test_a_regression_eval_imports_none_of_the_optional_modules():
    doc, modules = _run("eval", "sample_data/regression.parquet")
    assert "losscli.engine" in modules and "losscli.session" in modules  # the walk sees it
    assert not modules & NOT_FOR_REGRESSION, sorted(modules & NOT_FOR_REGRESSION)
    pred, target = _regression()
    assert _entry(doc, "mse")["value"] == pytest.approx(np.mean((pred - target) ** 2),
                                                        rel=1e-12)
    assert "classes" not in doc["inputs"]  # numbers, as they are


def test_an_analytic_interval_loads_the_interval_state_but_no_bootstrap():
    doc, modules = _run("eval", "sample_data/regression.parquet", "-l", "mse", "--ci")
    assert "losscli.uncertainty" in modules
    unused = {"losscli.stats.row_bootstrap", "losscli.stats.cell_bootstrap",
              "losscli.stats.score_bootstrap", "losscli.stats.ratio_moments"} | LABELS | QUERIES
    assert not modules & unused, sorted(modules & unused)
    pred, target = _regression()
    sq = (pred - target) ** 2
    half = 1.959963984540054 * sq.std(ddof=1) / np.sqrt(len(sq))
    iv = _entry(doc, "mse")["interval"]
    assert (iv["low"], iv["high"]) == pytest.approx((sq.mean() - half, sq.mean() + half),
                                                    rel=1e-6)


def test_a_row_bootstrap_loads_its_modules_and_gives_an_interval():
    doc, modules = _run("eval", "sample_data/regression.parquet", "-l", "mse", "-l", "r2",
                        "--ci", "--ci-method", "bootstrap", "--replicates", "200")
    assert set(BOOTSTRAP_MODULES) <= modules
    assert not modules & {"losscli.stats.cell_bootstrap", "losscli.stats.score_bootstrap"}
    pred, target = _regression()
    truth = {"mse": np.mean((pred - target) ** 2),
             "r2": 1 - np.sum((pred - target) ** 2) / np.sum((target - target.mean()) ** 2)}
    for name, value in truth.items():
        entry = _entry(doc, name)
        assert entry["value"] == pytest.approx(value, rel=1e-12)
        iv = entry["interval"]
        assert iv["low"] < value < iv["high"] and iv["resampling"] == "rows", (name, iv)


def test_a_confusion_metric_with_an_interval_loads_the_cell_bootstrap():
    doc, modules = _run("eval", "sample_data/binary.csv", "-l", "f1", "--ci")
    assert {"losscli.stats.cell_bootstrap", "losscli.stats.confusion_replicates"} <= modules
    assert not modules & LABELS  # 0/1 targets, one "prob" column
    frame = pd.read_csv(SAMPLES / "binary.csv")
    value = f1_score(frame["label"], frame["prob"] >= 0.5)
    entry = _entry(doc, "f1")
    assert entry["value"] == pytest.approx(value, rel=1e-12)
    iv = entry["interval"]
    assert iv["low"] < value < iv["high"] and iv["resampling"] == "cells", iv


def test_a_ranking_per_query_loads_the_query_statistics(tmp_path):
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"query": np.repeat([f"q{i}" for i in range(12)], 6),
                          "score": rng.normal(size=72), "rel": rng.integers(0, 3, 72)})
    path = tmp_path / "queries.csv"
    frame.to_csv(path, index=False)
    doc, modules = _run("eval", path, "--pred-col", "score", "--target-col", "rel",
                        "--query-col", "query", "-l", "ndcg", "--ci")
    assert QUERIES <= modules
    value = np.mean([ndcg_score([g["rel"]], [g["score"]]) for _, g in frame.groupby("query")])
    entry = _entry(doc, "ndcg")
    assert entry["value"] == pytest.approx(value, rel=1e-12)
    assert entry["interval"]["low"] < value < entry["interval"]["high"]


def test_text_labels_load_the_label_mapping():
    doc, modules = _run("eval", "sample_data/yes_no.csv", "--pred-col", "prob",
                        "--target-col", "churned", "-l", "roc_auc")
    assert LABELS <= modules
    frame = pd.read_csv(SAMPLES / "yes_no.csv")
    assert doc["inputs"]["pos_label"] == "yes"
    assert _entry(doc, "roc_auc")["value"] == pytest.approx(
        roc_auc_score(frame["churned"] == "yes", frame["prob"]), rel=1e-12)


def test_a_column_named_after_a_numeric_label_still_goes_through_the_labels(tmp_path):
    """``p_0`` on 0/1 targets is the probability of 0 (as --pos-label 0 says): the test that
    keeps the label package out of a regression run must send such a run to it."""
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 200)
    p0 = np.clip(0.7 - 0.4 * y + rng.normal(0, 0.2, 200), 0.01, 0.99)
    path = tmp_path / "p0.csv"
    pd.DataFrame({"p_0": p0, "label": y}).to_csv(path, index=False)
    doc, modules = _run("eval", path, "-l", "roc_auc")
    assert LABELS <= modules
    assert doc["inputs"]["pos_label"] == 0
    assert _entry(doc, "roc_auc")["value"] == pytest.approx(roc_auc_score(y == 0, p0),
                                                            rel=1e-12)


def test_columns_named_by_class_index_are_put_in_their_order(tmp_path):
    """``p_2 p_0 p_1`` on class-index targets: column p_i scores class i (the label
    package's ordering rule), whatever the order in the file."""
    rng = np.random.default_rng(5)
    y = rng.integers(0, 3, 150)
    probs = rng.dirichlet(np.ones(3), 150)
    path = tmp_path / "shuffled.csv"
    pd.DataFrame({"p_2": probs[:, 2], "p_0": probs[:, 0], "p_1": probs[:, 1],
                  "label": y}).to_csv(path, index=False)
    doc, modules = _run("eval", path, "--pred-col", "p_*", "-l", "cross_entropy")
    assert LABELS <= modules
    assert _entry(doc, "cross_entropy")["value"] == pytest.approx(
        log_loss(y, probs, labels=[0, 1, 2]), rel=1e-9)


# --- the table of interval kinds -----------------------------------------------------------
#: A method under which each kind is built (the kinds that are bootstrap only: bootstrap).
_METHODS = {"r2": "bootstrap", "calibration": "bootstrap", "confusion": "bootstrap",
            "confusion_paired": "bootstrap", "ranking_bootstrap": "bootstrap",
            "ranking_paired": "bootstrap"}
_EXTRA = {"calibration": {"metric": "l1:binary"}, "confusion_paired": {"paired": True},
          "delong_paired": {"paired": True},
          "ranking_paired": {"paired": True, "metric": "average_precision||0.0"},
          "query_paired": {"paired": True}, "subset": {"metric": "precision"}}


@pytest.mark.parametrize("kind", sorted(KIND_MODULES))
def test_each_interval_kind_loads_its_modules_when_built_or_read(kind):
    """Building a state of ``kind`` and reading it back imports the modules
    ``KIND_MODULES`` names for it — and no other interval kind's (reading replicates: those
    that tell them apart)."""
    method = _METHODS.get(kind, "analytic")
    build = (f"Uncertainty({kind!r}, CIConfig(method={method!r}), method={method!r}, "
             f"**{_EXTRA.get(kind, {})!r})")
    if kind == "query_paired":  # its pairs come from the aggregate's config
        build = "Uncertainty.for_aggregate(agg, CIConfig(), paired=True)"
    code = (
        "import json, sys\n"
        "from losscli.aggregate_base import kind\n"
        "from losscli.uncertainty import CIConfig, Uncertainty\n"
        f"agg = kind('query_ranking')() if {kind!r} == 'query_paired' else None\n"
        "before = set(sys.modules)\n"
        f"u = {build}\n"
        "built = set(sys.modules) - before\n"
        "assert Uncertainty.from_dict(json.loads(json.dumps(u.to_dict()))) == u\n"
        "print(json.dumps([sorted(set(built)), sorted(set(sys.modules) - before), u.kind,\n"
        "                  u.boot is not None]))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    built, read, got, resamples = json.loads(proc.stdout)
    assert got == kind
    loaded = set(read) | ({"losscli.query_aggregate"} if kind == "query_paired" else set())
    assert set(KIND_MODULES[kind]) <= loaded, (kind, read)
    allowed = set(KIND_MODULES[kind]) | {"losscli.uncertainty_state"} | (
        set(BOOTSTRAP_MODULES) if method == "bootstrap" else set())
    assert not (set(built) & INTERVALS) - allowed, sorted((set(built) & INTERVALS) - allowed)
    if resamples:  # reading replicates tells the three kinds of them apart
        allowed |= {"losscli.stats.cell_bootstrap", "losscli.stats.confusion_replicates",
                    "losscli.stats.score_bootstrap", *BOOTSTRAP_MODULES}
    assert not (set(read) & INTERVALS) - allowed, sorted((set(read) & INTERVALS) - allowed)


def _threads_after_numpy(code_env: dict[str, str]) -> int:
    # no thread setting of the test's own environment (OMP_NUM_THREADS too: OpenBLAS reads it)
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    proc = subprocess.run(
        [sys.executable, "-c", "import os\nfrom losscli.__main__ import one_blas_thread\n"
         "if os.environ.get('CALL'):\n    one_blas_thread()\n"
         "import numpy\nprint(len(os.listdir('/proc/self/task')), "
         "os.environ.get('OPENBLAS_NUM_THREADS'))"],
        env={**env, **code_env}, capture_output=True, text=True, check=True)
    return int(proc.stdout.split()[0])


@pytest.mark.skipif(not os.path.isdir("/proc/self/task") or (os.cpu_count() or 1) < 2,
                    reason="counts the process's threads in /proc; needs two cores")
def test_the_command_starts_numpy_with_one_blas_thread():
    """The command sets OPENBLAS_NUM_THREADS=1 before numpy loads (its BLAS threads spin at
    start-up and losscli makes no BLAS call); a value the user set is kept. The control
    shows numpy starting more threads without it on this machine."""
    assert _threads_after_numpy({}) > 1  # the control: OpenBLAS's own threads
    assert _threads_after_numpy({"CALL": "1"}) == 1
    assert _threads_after_numpy({"CALL": "1", "OPENBLAS_NUM_THREADS": "2"}) == 2
