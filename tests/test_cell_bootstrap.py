"""--ci for the confusion metrics by the cell bootstrap (issue 21, "intervals that cost
little"): each replicate draws Poisson(n_c) per confusion cell from the exact counts (no work
per row). Coverage by simulation (binomial tolerance) for f1, mcc, cohen_kappa and
balanced_accuracy, binary and 3 classes; the same bits at chunk sizes 1, 7 and the default,
with 2 workers and after ``losscli merge``; group gaps from the groups' draws; rows weighted
other than 0/1 on the per-row path (and JSON says which ran); a state saved before the cell
bootstrap still merges; the vectorised replicate metrics equal the exact ones."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    balanced_accuracy_score,
    cohen_kappa_score,
    f1_score,
    matthews_corrcoef,
)

import losscli
from losscli.stats.cell_bootstrap import CellResample, cell_draws, group_stream
from losscli.stats.confusion import ConfusionMatrix
from losscli.stats.confusion_replicates import ConfusionSpec, replicate_values
from tests.conftest import run_losscli

METRICS = ["f1", "mcc", "cohen_kappa", "balanced_accuracy"]


def _truth(table: np.ndarray, metrics: dict) -> dict[str, float]:
    """Each metric of the population table (cell probabilities) by scikit-learn, with the
    probabilities as sample weights of one row per cell."""
    k = table.shape[0]
    t, p = np.divmod(np.arange(k * k), k)
    return {name: float(fn(t, p, sample_weight=table.ravel())) for name, fn in metrics.items()}


def _coverage(table: np.ndarray, losses: list[str], names: list[str], metrics: dict,
              datasets: int, rows: int, seed: int) -> dict[str, float]:
    truth = dict(zip(names, _truth(table, metrics).values()))
    k = table.shape[0]
    rng = np.random.default_rng(seed)
    hits = dict.fromkeys(names, 0)
    for i in range(datasets):
        cells = rng.choice(k * k, size=rows, p=table.ravel())
        true, pred = np.divmod(cells, k)
        if k == 2:
            scores = np.where(pred == 1, 0.8, 0.2)
        else:
            scores = np.full((rows, k), 0.1)
            scores[np.arange(rows), pred] = 0.8
        report = losscli.evaluate(predictions=scores, targets=true, losses=losses, ci=True,
                                  seed=i, task="binary" if k == 2 else "multiclass")
        for name, res in zip(names, report.losses):
            iv = res.interval
            assert iv["method"] == "percentile" and iv["resampling"] == "cells", iv
            hits[name] += iv["low"] <= truth[name] <= iv["high"]
    return {name: h / datasets for name, h in hits.items()}


def _assert_95(rates: dict[str, float], datasets: int) -> None:
    # 95 % ± 3 binomial standard errors of the simulated rate
    tolerance = 3 * np.sqrt(0.95 * 0.05 / datasets)
    for name, rate in rates.items():
        assert abs(rate - 0.95) <= tolerance, (name, rate, tolerance)


def test_binary_intervals_cover_the_truth_95_percent_of_the_time():
    # P(y = 1) = 0.4; predicted positive with probability 0.75 (y = 1) or 0.2 (y = 0)
    table = np.array([[0.6 * 0.8, 0.6 * 0.2], [0.4 * 0.25, 0.4 * 0.75]])
    metrics = {"f1": f1_score, "mcc": matthews_corrcoef, "cohen_kappa": cohen_kappa_score,
               "balanced_accuracy": balanced_accuracy_score}
    _assert_95(_coverage(table, METRICS, METRICS, metrics, 300, 400, 21), 300)


def test_three_class_intervals_cover_the_truth_95_percent_of_the_time():
    table = np.array([[0.30, 0.05, 0.02], [0.06, 0.20, 0.06], [0.03, 0.08, 0.20]])
    table = table / table.sum()
    metrics = {"f1": lambda t, p, **kw: f1_score(t, p, average="macro", **kw),
               "mcc": matthews_corrcoef,
               "kappa": lambda t, p, **kw: cohen_kappa_score(t, p, weights="quadratic", **kw),
               "balanced_accuracy": balanced_accuracy_score}
    losses = ["f1:average=macro", "mcc", "cohen_kappa:weighting=quadratic",
              "balanced_accuracy"]
    _assert_95(_coverage(table, losses, list(metrics), metrics, 300, 400, 22), 300)


# -- the same bits at any chunking, workers and merges ----------------------------------------
@pytest.fixture(scope="module")
def churn(tmp_path_factory):
    rng = np.random.default_rng(5)
    n = 700
    y = rng.integers(0, 2, n)
    p = np.clip(0.35 * y + rng.uniform(0, 0.65, n), 0, 1).round(3)
    g = rng.choice(np.array(["web", "shop", "phone"]), n)
    unit = rng.integers(0, 2, n).astype(float)  # weights 0/1: still the cell bootstrap
    mixed = np.where(rng.uniform(size=n) < 0.2, rng.uniform(0.5, 2, n).round(2), 1.0)
    df = pd.DataFrame({"pred": p, "target": y, "g": g, "unit": unit, "mixed": mixed})
    root = tmp_path_factory.mktemp("cells")
    (root / "all").mkdir()  # one input of two files, each also evaluated alone and merged
    df.iloc[:300].to_csv(root / "all" / "a.csv", index=False)
    df.iloc[300:].to_csv(root / "all" / "b.csv", index=False)
    return root, df


LOSSES = ["-l", "f1", "-l", "mcc", "-l", "cohen_kappa", "-l", "balanced_accuracy",
          "-l", "accuracy"]


def _intervals(doc: dict) -> list:
    out = [(r["name"], r["interval"]["low"], r["interval"]["high"],
            r["interval"].get("resampling")) for r in doc["losses"]]
    for g in doc.get("groups") or []:
        out += [(tuple(g["key"].values()), r["name"], r["interval"]["low"],
                 r["interval"]["high"]) for r in g["losses"]]
    out += [(r["name"], "gap", r["group_gap"]["value"], r["group_gap"]["interval"]["low"],
             r["group_gap"]["interval"]["high"]) for r in doc["losses"]]
    return out


def _run(*args) -> dict:
    proc = run_losscli(*args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _same(got: list, want: list, exact: bool) -> None:
    if exact:
        assert got == want
        return
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert [x == pytest.approx(y, rel=1e-12) if isinstance(y, float) else x == y
                for x, y in zip(g, w)] == [True] * len(w), (g, w)


@pytest.mark.parametrize("weight, chunks", [
    (None, ([], ["--chunk-size", "1"], ["--chunk-size", "7"],
            ["--chunk-size", "50", "--workers", "2"])),
    ("mixed", ([], ["--chunk-size", "7", "--workers", "2"])),
])
def test_the_same_bits_at_any_chunk_size_worker_count_and_merge(churn, tmp_path, weight,
                                                                 chunks):
    root, _ = churn
    extra = ["--weight-col", weight] if weight else []
    common = [*LOSSES, "--ci", "--group-by", "g", "--group-gap", "difference",
              "--ci-method", "bootstrap", "--replicates", "60", "--seed", "3", "-f", "json",
              *extra]
    runs = [_run("eval", root / "all", *common, *chunk) for chunk in chunks]
    for part in ("a", "b"):
        proc = run_losscli("eval", root / "all" / f"{part}.csv", *common, "--chunk-size", "13",
                           "--save-state", tmp_path / f"{part}.state", "-q")
        assert proc.returncode == 0, proc.stderr
    runs.append(_run("merge", tmp_path / "b.state", tmp_path / "a.state", "-f", "json"))
    first = _intervals(runs[0])
    for other in runs[1:]:
        # accuracy's per-row bootstrap (and rows weighted other than 0/1): 1e-12 across
        # chunk sizes, as before (a chunk's float sums); the cell bootstrap: the same bits
        _same(_intervals(other), first, exact=False)
    resampling = {r["name"]: r["interval"].get("resampling") for r in runs[0]["losses"]}
    expected = "cells+rows" if weight == "mixed" else "cells"
    assert all(resampling[m] == expected for m in METRICS), resampling
    cells = [x for x in first if x[0] in METRICS or (len(x) == 4 and x[1] in METRICS)]
    for other in runs[1:]:
        got = [x for x in _intervals(other) if x[0] in METRICS or (len(x) == 4
                                                                     and x[1] in METRICS)]
        _same(got, cells, exact=weight != "mixed")
    gaps = [r["group_gap"]["interval"] for r in runs[0]["losses"] if r["name"] in METRICS]
    assert all(iv["low"] is not None and iv["low"] <= iv["high"] for iv in gaps), gaps


def test_rows_of_weight_0_or_1_are_the_cell_bootstrap_of_the_rows_of_weight_1():
    rng = np.random.default_rng(8)
    n = 300
    y = rng.integers(0, 3, n)
    scores = rng.dirichlet(np.ones(3), n)
    w = rng.integers(0, 2, n).astype(float)
    losses = ["f1:average=macro", "mcc", "cohen_kappa", "balanced_accuracy"]
    both = [losscli.evaluate(predictions=s, targets=t, weights=ww, losses=losses, ci=True,
                             seed=4, task="multiclass")
            for s, t, ww in ((scores, y, w), (scores[w == 1], y[w == 1], None))]
    for a, b in zip(*(r.losses for r in both)):
        assert a.value == b.value and a.interval == b.interval
        assert a.interval["resampling"] == "cells"


def test_groups_draw_from_streams_of_their_own():
    # two groups with the same counts: their replicates differ (independent rows)
    counts = np.array([30, 5, 7, 40])
    a = cell_draws(counts, 50, 0, group_stream(("web",)))
    b = cell_draws(counts, 50, 0, group_stream(("shop",)))
    assert not np.array_equal(a, b)
    assert np.array_equal(a, cell_draws(counts, 50, 0, group_stream(("web",))))
    assert group_stream((1,)) == group_stream((1.0,)) == group_stream((True,))
    assert group_stream(None) == 0 and group_stream(("1",)) != group_stream((1,))


def test_the_cell_draws_are_the_poisson_bootstrap_of_the_rows():
    # the sum of n independent Poisson(1) counts is Poisson(n): mean and variance n per cell
    counts = np.array([0, 3, 50, 400])
    draws = cell_draws(counts, 20000, 7, 0)
    assert (draws[:, 0] == 0).all()
    for j in range(1, 4):
        se = np.sqrt(counts[j] / 20000)
        assert abs(draws[:, j].mean() - counts[j]) < 5 * se
        assert abs(draws[:, j].var() / counts[j] - 1) < 0.05


# -- a state saved before the cell bootstrap ------------------------------------------------
def test_a_state_saved_with_per_row_sums_still_reads_and_merges(churn, tmp_path):
    from losscli.stats.resample import BootstrapSums, file_key, row_ids

    root, df = churn
    common = ["-l", "f1", "-l", "mcc", "--ci", "--replicates", "40", "--seed", "2"]
    proc = run_losscli("eval", root / "all" / "a.csv", *common, "--save-state",
                       tmp_path / "a.state", "-q")
    assert proc.returncode == 0, proc.stderr
    # rewrite it as the per-row bootstrap wrote it: the replicate sums of the one-hot cells
    doc = json.loads((tmp_path / "a.state").read_text())
    part = df.iloc[:300]
    true = part["target"].to_numpy()
    cells = true * 2 + (part["pred"].to_numpy() >= 0.5)
    onehot = np.zeros((300, 4))
    onehot[np.arange(300), cells] = 1.0
    old = BootstrapSums(40, 2, 4)
    old.update(row_ids(file_key("a.csv"), 0, 300), onehot)
    for u in doc["state"]["cells"][0]["uncertainty"]:
        assert u["bootstrap"]["kind"] == "confusion_cells"
        u["bootstrap"] = old.to_dict()
        u.pop("metric")
    (tmp_path / "old.state").write_text(json.dumps(doc))
    alone = _run("merge", tmp_path / "old.state", "-f", "json")
    assert all(r["interval"]["low"] is not None for r in alone["losses"])
    proc = run_losscli("eval", root / "all" / "b.csv", *common, "--save-state",
                       tmp_path / "b.state", "-q")
    assert proc.returncode == 0, proc.stderr
    both = _run("merge", tmp_path / "old.state", tmp_path / "b.state", "-f", "json")
    direct = _run("eval", root / "all", *common, "-f", "json")
    for got, want in zip(both["losses"], direct["losses"]):
        assert got["value"] == want["value"]
        assert got["interval"]["resampling"] == "cells+rows"
        assert got["interval"]["low"] <= got["value"] <= got["interval"]["high"]


# -- the vectorised metrics equal the exact ones --------------------------------------------
SPECS = [ConfusionSpec(m, a, b) for m in ("precision", "recall", "f1")
         for a in ("micro", "macro", "weighted") for b in (1.0, 0.5, 0.0, 2.0)] + [
    ConfusionSpec("mcc"), ConfusionSpec("balanced_accuracy"),
    ConfusionSpec("balanced_accuracy", option="adjusted"), ConfusionSpec("cohen_kappa"),
    ConfusionSpec("cohen_kappa", option="linear"),
    ConfusionSpec("cohen_kappa", option="quadratic")]


@pytest.mark.parametrize("k", [2, 3, 5])
def test_replicate_values_equal_the_exact_confusion_metrics(k):
    from losscli.metric_aggregates import Confusion

    rng = np.random.default_rng(k)
    tables = rng.poisson(rng.uniform(0, 6, (1, k, k)), size=(25, k, k)).astype(float)
    tables[0] = 0.0
    tables[1] = 0.0
    tables[1, 0, 0] = 3.0  # one class only
    tables[2, :, 1:] = 0.0  # one predicted class
    tables[3] *= rng.uniform(0.1, 3, (k, k))  # weighted
    specs = SPECS + ([ConfusionSpec("f1", "binary"), ConfusionSpec("precision", "binary"),
                      ConfusionSpec("specificity"), ConfusionSpec("npv")] if k == 2 else [])
    for spec in specs:
        agg = Confusion(spec.metric if spec.metric != "f1" else "f1", spec.average, k,
                        beta=spec.beta, binary=k == 2, option=spec.option)
        got = replicate_values(tables, spec)
        for table, value in zip(tables, got):
            cm = ConfusionMatrix(k)
            t, p = np.nonzero(table > 0)
            cm.update(t, p, table[t, p])
            want = float(agg.value_of(cm)) if t.size else np.nan
            assert value == pytest.approx(want, rel=1e-12, abs=1e-12, nan_ok=True), (spec, table)


def test_a_cell_state_round_trips_and_merges_exactly():
    a = CellResample(3, 40, 9, stream=5)
    a.update(np.array([0, 1, 2, 2]), np.array([0, 2, 2, 1]), None)
    b = CellResample(3, 40, 9, stream=5)
    b.update(np.array([1, 1]), np.array([1, 0]), np.array([1.0, 0.0]))
    back = CellResample.from_dict(json.loads(json.dumps(a.to_dict())))
    assert back == a
    merged = back.merge(b)
    assert merged.rows == 6 and merged.positive == 5 and int(merged.counts.sum()) == 5
    assert np.array_equal(merged.tables(), CellResample.from_dict(merged.to_dict()).tables())
