"""--group-by's memory (issue 21): the overall exact ranking keeps no score of its own — its
rows are exactly its groups' rows (null keys a group of their own), so its AUC and DeLong
interval are read from the groups' states — and the values stay the same bits: equal to
scikit-learn per group and overall, to the run without --group-by, across workers, chunk
sizes, saved states and ``losscli merge``. And the command allocates Arrow's buffers with
the system allocator (mimalloc kept the pages of freed batches)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    log_loss,
    roc_auc_score,
)

from tests.conftest import ROOT, run_losscli, traced_peak

_CHURN = ["--pred-col", "p_yes", "--target-col", "label", "--pos-label", "yes"]
_FOUR = ["--loss", "accuracy", "--loss", "f1", "--loss", "roc_auc", "--loss", "bce"]



def _churn(path, n: int, *, groups: int = 6, seed: int = 0, ties: bool = False,
           nulls: bool = False, row_group: int | None = None) -> None:
    """p_yes (distinct, or rounded to 3 digits: ties), labels yes/no, a text channel (with
    null keys when ``nulls``)."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    p = np.clip(rng.normal(0.3 + 0.3 * y, 0.2), 0, 1)
    if ties:
        p = np.round(p, 3)
    names = np.array([f"ch{i:02d}" for i in range(groups)] + [None], dtype=object)
    channel = names[rng.integers(0, groups + (1 if nulls else 0), n)]
    w = rng.integers(1, 4, n) * 0.25  # fractional weights, for the runs that name them
    pq.write_table(pa.table({"p_yes": p, "label": np.where(y, "yes", "no"),
                             "channel": pa.array(channel, pa.string()), "w": w}),
                   path, row_group_size=row_group)


def _doc(path, *args: str) -> dict:
    proc = run_losscli("eval", path, *_CHURN, "--format", "json", *args)
    assert proc.returncode == 0, proc.stderr.decode()
    doc = json.loads(proc.stdout)
    doc.pop("elapsed_seconds", None)
    return doc


def _losses(cell: dict) -> dict[str, dict]:
    return {loss["name"]: loss for loss in cell["losses"]}


def test_the_overall_ranking_holds_no_copy_of_the_groups_scores(tmp_path):
    """4M distinct scores, roc_auc by channel: the traced peak is within 8 bytes a row of
    the same run without --group-by (a second copy of every score is 8 B a row: main held
    the overall ranking and the groups' — 12 B a row over; now ~4, the groups' split)."""
    n = 4_000_000
    path = tmp_path / "churn.parquet"
    _churn(path, n, groups=10, row_group=500_000)
    common = [str(path), *_CHURN, "--loss", "roc_auc", "--workers", "1", "--format", "json"]
    plain = traced_peak("eval", *common)
    grouped = traced_peak("eval", *common, "--group-by", "channel")
    assert grouped - plain < 8 * n, (
        f"--group-by adds {(grouped - plain) / n:.1f} bytes a row to the traced peak "
        f"({grouped / 1e6:.0f} MB against {plain / 1e6:.0f} MB)")


@pytest.mark.parametrize("ties", [False, True])
def test_grouped_values_equal_sklearn_per_group_and_overall(tmp_path, ties):
    n = 40_000
    path = tmp_path / "churn.parquet"
    _churn(path, n, seed=3 + ties, ties=ties, nulls=True, row_group=9_000)
    doc = _doc(path, *_FOUR, "--loss", "average_precision", "--group-by", "channel",
               "--ci")
    table = pq.read_table(path).to_pandas()
    y = (table["label"] == "yes").to_numpy()
    p = table["p_yes"].to_numpy()
    channel = table["channel"]
    cells = [(doc, np.ones(n, bool))] + [
        (g, (channel.isna() if g["key"]["channel"] is None
             else channel == g["key"]["channel"]).to_numpy()) for g in doc["groups"]]
    assert len(doc["groups"]) == 7 and doc["groups"][-1]["key"]["channel"] is None
    for cell, rows in cells:
        got = _losses(cell)
        assert cell["rows"] == int(rows.sum())
        yy, pp = y[rows], p[rows]
        assert got["roc_auc"]["value"] == pytest.approx(roc_auc_score(yy, pp), rel=1e-13)
        assert got["average_precision"]["value"] == pytest.approx(
            average_precision_score(yy, pp), rel=1e-12)
        assert got["accuracy"]["value"] == pytest.approx(accuracy_score(yy, pp >= 0.5),
                                                         rel=1e-13)
        assert got["f1"]["value"] == pytest.approx(f1_score(yy, pp >= 0.5), rel=1e-13)
        assert got["bce"]["value"] == pytest.approx(log_loss(yy, pp, labels=[0, 1]),
                                                    rel=1e-9)
        low, high = got["roc_auc"]["interval"]["low"], got["roc_auc"]["interval"]["high"]
        assert low < got["roc_auc"]["value"] < high


@pytest.mark.parametrize("extra", [[], ["--weight-col", "w"]])  # counts; fractional sums
def test_the_grouped_overall_is_the_ungrouped_run_bit_for_bit(tmp_path, extra):
    """Read from the groups, the overall roc_auc, its DeLong interval and the curve read from
    the built union (average precision) are the bits of the run without --group-by."""
    path = tmp_path / "churn.parquet"
    _churn(path, 30_000, seed=5, ties=True, nulls=True, row_group=7_000)
    args = [*_FOUR, "--loss", "average_precision", "--ci", *extra]
    grouped, plain = _doc(path, *args, "--group-by", "channel"), _doc(path, *args)
    for name in ("roc_auc", "average_precision", "accuracy", "f1"):
        assert _losses(grouped)[name] == _losses(plain)[name], name


def test_bit_identical_across_workers_and_chunk_sizes(tmp_path):
    path = tmp_path / "churn.parquet"
    _churn(path, 50_000, seed=7, nulls=True, row_group=6_000)
    args = [*_FOUR, "--group-by", "channel", "--ci"]
    base = _doc(path, *args, "--workers", "1")
    assert _doc(path, *args, "--workers", "2") == base

    def without_bce(doc: dict) -> dict:
        # bce's float sums by group are not chunk-invariant in the last bits (on main too)
        for cell in (doc, *doc["groups"]):
            cell["losses"] = [x for x in cell["losses"] if x["name"] != "bce"]
        return doc

    for chunk, workers in (("4099", "2"), ("20000", "1")):
        got = _doc(path, *args, "--chunk-size", chunk, "--workers", workers)
        assert without_bce(got) == without_bce(json.loads(json.dumps(base)))


def test_saved_states_and_merge_give_the_same_numbers(tmp_path):
    """Two halves saved with --save-state and merged: the numbers of one run over all the
    rows; a grouped state saves the overall ranking as an ungrouped run does."""
    n = 30_000
    whole = tmp_path / "whole.parquet"
    _churn(whole, n, seed=11, nulls=True, row_group=5_000)
    table = pq.read_table(whole)
    halves = []
    for i, part in enumerate((table.slice(0, n // 2), table.slice(n // 2))):
        halves.append(tmp_path / f"half{i}.parquet")
        pq.write_table(part, halves[-1], row_group_size=5_000)
    args = [*_FOUR, "--group-by", "channel", "--ci"]
    states = []
    for i, half in enumerate(halves):
        states.append(tmp_path / f"half{i}.state")
        proc = run_losscli("eval", half, *_CHURN, *args, "--save-state", states[-1], "-q")
        assert proc.returncode == 0, proc.stderr.decode()
    merged = run_losscli("merge", *states, "--format", "json")
    assert merged.returncode == 0, merged.stderr.decode()
    got = json.loads(merged.stdout)
    want = _doc(whole, *args)
    for mine, theirs in zip((got, *got["groups"]), (want, *want["groups"])):
        assert mine.get("key") == theirs.get("key")
        a, b = _losses(mine), _losses(theirs)
        for name in ("roc_auc", "accuracy", "f1"):
            assert a[name]["value"] == b[name]["value"], name
            assert a[name]["interval"] == b[name]["interval"], name
        assert a["bce"]["value"] == pytest.approx(b["bce"]["value"], rel=1e-12)

    # the saved overall ranking: the one an ungrouped run saves, table for table
    def ranking(state_path, *extra: str) -> dict:
        proc = run_losscli("eval", whole, *_CHURN, "--loss", "roc_auc", *extra,
                           "--save-state", state_path, "-q")
        assert proc.returncode == 0, proc.stderr.decode()
        return json.loads(state_path.read_text())["state"]["cells"][0]["losses"][0]

    assert (ranking(tmp_path / "g.state", "--group-by", "channel")
            == ranking(tmp_path / "p.state"))


def test_the_dask_engine_gives_the_local_bits(tmp_path):
    """A unit's state travels pickled, its overall ranking read from its groups' (the link
    is a module-level function of the state's groups: it pickles with them)."""
    distributed = pytest.importorskip("distributed")
    import losscli

    path = tmp_path / "churn.parquet"
    _churn(path, 12_000, seed=13, nulls=True, row_group=2_000)
    opts = dict(pred_col="p_yes", target_col="label", pos_label="yes",
                losses=["roc_auc", "f1", "average_precision"], group_by=["channel"], ci=True,
                chunk_size=1_000)

    def bits(report) -> list:
        return [(tuple(getattr(g, "key", {}).items()), g.rows,
                 [(r.name, r.value, r.interval) for r in g.losses])
                for g in [report, *report.groups]]

    local = losscli.evaluate(str(path), **opts)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None, processes=True) as cluster:
        remote = losscli.evaluate(str(path), engine="dask",
                                  scheduler=cluster.scheduler_address, **opts)
    assert bits(local) == bits(remote)


@pytest.mark.parametrize("span", [64, 1 << 19])  # many steps, or one
@pytest.mark.parametrize("seed", range(4))
def test_union_sums_are_the_merged_states_sums(monkeypatch, span, seed):
    """The walk over several states' runs (ties, integer counts, empty classes) gives the
    integer sums of the one merged state: the same AUC and DeLong variance."""
    from losscli.stats import score_union
    from losscli.stats.score_counts import ScoreCounts, delong_fraction

    monkeypatch.setattr(score_union, "SPAN", span)
    rng = np.random.default_rng(seed)
    states = []
    for g in range(rng.integers(1, 6)):
        state = ScoreCounts()
        for _ in range(rng.integers(0, 4)):
            n = int(rng.integers(1, 400))
            s = np.round(rng.normal(size=n), int(rng.integers(0, 3)))
            y = rng.random(n) < (0.0 if g == 0 else 0.4)
            state.add(s, y, rng.integers(0, 3, n) if seed % 2 else None)
        states.append(state)
    merged = ScoreCounts()
    for state in states:
        merged.merge(state)
    n_total, p_total = merged.totals()
    for squares in (False, True):
        got = score_union.union_sums(states, squares)
        assert (got.n, got.p) == (n_total, p_total)
        if n_total and p_total:
            assert got.x1 == merged.auc_fraction() * 2 * n_total * p_total
    if n_total > 1 and p_total > 1:
        assert delong_fraction(got.n, got.p, got.x1, got.x2, got.y1, got.y2) == (
            merged.delong_variance())


# -- the label column read as dictionary codes only --------------------------------------

def test_a_codes_only_text_column_keeps_its_rows_right():
    """The label column's rows are not spelled out (8 B a row less): its codes and values
    give every row, through slices, concatenation and element access; a row read as an
    object refuses, loudly."""
    from losscli.io.arrow import CodesOnly, concatenate, raw_values

    words = ["no", "yes", None, "yes", "no", "no"] * 5
    array = pa.array(words, pa.string()).dictionary_encode()
    plain = raw_values("f", "label", array, 0)
    lazy = raw_values("f", CodesOnly("label"), array, 0)
    assert lazy.unread and lazy.strides == (0,) and not plain.unread
    assert [lazy.values[c] for c in lazy.codes] == words == plain.tolist()
    assert [lazy[i] for i in range(len(words))] == words
    assert lazy[np.arange(3)].tolist() == words[:3]
    joined = concatenate([lazy[:7], lazy[7:20], lazy[20:]])
    assert joined.unread and [joined.values[c] for c in joined.codes] == words
    mixed = concatenate([lazy[:7], plain[7:]])
    assert not mixed.unread and mixed.tolist() == words
    with pytest.raises(TypeError, match="codes only"):
        lazy.view(np.ndarray)[0] == "yes"  # noqa: B015


@pytest.mark.parametrize("form", ["parquet", "csv", "feather", "ndjson"])
def test_text_labels_read_as_codes_equal_sklearn(tmp_path, form):
    """Text labels with nulls (missing targets, omitted), cut into chunks across batches:
    the values scikit-learn gives; a third label is named with its row."""
    import pyarrow.csv as pcsv
    import pyarrow.feather as pf

    rng = np.random.default_rng(17)
    n = 20_000
    y = rng.random(n) < 0.3
    p = np.round(rng.random(n), 3)
    labels = np.where(y, "yes", "no").astype(object)
    labels[rng.random(n) < 0.02] = None
    table = pa.table({"p_yes": p, "label": pa.array(labels, pa.string())})
    path = tmp_path / f"labels.{form}"
    if form == "parquet":
        pq.write_table(table, path, row_group_size=3_000)
    elif form == "csv":
        pcsv.write_csv(table, path)
    elif form == "feather":
        pf.write_feather(table, path, chunksize=3_000)
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in table.to_pylist()))
    doc = _doc(path, "--loss", "roc_auc", "--loss", "f1", "--nan-policy", "omit",
               "--chunk-size", "1999")
    keep = np.array([v is not None for v in labels])
    yy, pp = y[keep], p[keep]
    got = _losses(doc)
    assert doc["rows"] == int(keep.sum())
    assert got["roc_auc"]["value"] == pytest.approx(roc_auc_score(yy, pp), rel=1e-13)
    assert got["f1"]["value"] == pytest.approx(f1_score(yy, pp >= 0.5), rel=1e-13)
    if form == "parquet":
        labels[12_345] = "maybe"
        pq.write_table(table.set_column(1, "label", pa.array(labels, pa.string())), path,
                       row_group_size=3_000)
        proc = run_losscli("eval", path, *_CHURN, "--loss", "f1", "--nan-policy", "omit")
        assert proc.returncode == 2
        assert "Label 'maybe' at row 12345" in proc.stderr.decode()


#: The command's entry (``losscli.__main__.entry``) with a stand-in CLI that prints the
#: backend of Arrow's default memory pool.
_POOL = """
import sys, types

def main():
    import pyarrow as pa
    print(pa.default_memory_pool().backend_name)

sys.modules["losscli.cli"] = types.SimpleNamespace(main=main)
from losscli.__main__ import entry
entry()
"""


@pytest.mark.parametrize("given", [None, "mimalloc"])
def test_the_command_allocates_arrow_buffers_with_the_system_allocator(given):
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if given is not None:
        env["ARROW_DEFAULT_MEMORY_POOL"] = given
    proc = subprocess.run([sys.executable, "-c", _POOL], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[-1] == (given or "system")
