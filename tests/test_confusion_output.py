"""Issue 23 item 1: ``--confusion`` — the confusion matrix as an output, read from the exact
streamed counts of a confusion-based metric: JSON (overall and per group), table, Markdown,
CSV, the terminal heat map of ``--plot`` (on a real pty) and the SVG of ``--html``. Every
reference is ``sklearn.metrics.confusion_matrix`` computed here, on data with ties and
fractional weights, at chunk sizes down to 1, with 2 workers and through a merge of saved
parts; labels from the data are escaped on the terminal."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix

import losscli
from tests.conftest import run_losscli, run_pty

TOL = 1e-12


def _same(counts, ref) -> None:
    got = np.asarray(counts, dtype=float)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=TOL, atol=1e-12)


@pytest.fixture(scope="module")
def binary(tmp_path_factory):
    rng = np.random.default_rng(23)
    n = 160
    p = np.round(rng.uniform(0, 1, n), 1)  # ties, some exactly at the threshold
    y = (rng.uniform(0, 1, n) < p).astype(int)
    w = np.round(rng.uniform(0, 3, n), 2)
    g = rng.choice(["a", "b", "c"], n)
    path = tmp_path_factory.mktemp("confusion") / "binary.csv"
    pd.DataFrame({"pred": p, "target": y, "w": w, "g": g}).to_csv(path, index=False)
    return path, p, y, w, g


@pytest.fixture(scope="module")
def multiclass(tmp_path_factory):
    rng = np.random.default_rng(5)
    n, c = 150, 3
    p = np.round(rng.dirichlet(np.ones(c), n), 1)
    p[:, 0] += 1e-3  # argmax ties broken towards class 0, as numpy (losscli) does
    y = rng.integers(0, c, n)
    w = rng.uniform(0, 2, n)
    path = tmp_path_factory.mktemp("confusion") / "multi.csv"
    frame = pd.DataFrame({f"p_{k}": p[:, k] for k in range(c)})
    frame["target"], frame["w"] = y, w
    frame.to_csv(path, index=False)
    return path, p, y, w


@pytest.mark.parametrize("chunk", ["1", "7", "1000"])
def test_binary_json_equals_sklearn_weighted(binary, chunk):
    path, p, y, w, _ = binary
    proc = run_losscli("eval", path, "-l", "mcc", "--confusion", "--weight-col", "w",
                       "--chunk-size", chunk, "--workers", "2", "-f", "json", "-q")
    assert proc.returncode == 0, proc.stderr
    conf = json.loads(proc.stdout)["confusion"]
    ref = confusion_matrix(y, (p >= 0.5).astype(int), labels=[0, 1], sample_weight=w)
    assert conf["labels"] == [0, 1] and conf["weighted"] is True and conf["loss"] == "mcc"
    _same(conf["counts"], ref)


def test_binary_threshold_and_unweighted_counts_are_integers(binary):
    path, p, y, _, _ = binary
    proc = run_losscli("eval", path, "-l", "f1:threshold=0.3", "--confusion", "-f", "json")
    assert proc.returncode == 0, proc.stderr
    conf = json.loads(proc.stdout)["confusion"]
    ref = confusion_matrix(y, (p >= 0.3).astype(int), labels=[0, 1])
    assert conf["counts"] == ref.tolist() and conf["weighted"] is False
    assert all(isinstance(v, int) for row in conf["counts"] for v in row)


def test_multiclass_with_workers_and_chunks(multiclass):
    path, p, y, w = multiclass
    ref = confusion_matrix(y, p.argmax(axis=1), labels=[0, 1, 2], sample_weight=w)
    for chunk in ("1", "13"):
        proc = run_losscli("eval", path, "--pred-col", "p_*", "-l", "cohen_kappa",
                           "--confusion", "--weight-col", "w", "--chunk-size", chunk,
                           "--workers", "2", "-f", "json")
        assert proc.returncode == 0, proc.stderr
        _same(json.loads(proc.stdout)["confusion"]["counts"], ref)


def test_group_by_gives_each_groups_matrix(binary):
    path, p, y, w, g = binary
    proc = run_losscli("eval", path, "-l", "precision", "--confusion", "--weight-col", "w",
                       "--group-by", "g", "--chunk-size", "5", "-f", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    pred = (p >= 0.5).astype(int)
    _same(doc["confusion"]["counts"], confusion_matrix(y, pred, labels=[0, 1], sample_weight=w))
    assert len(doc["groups"]) == 3
    for group in doc["groups"]:
        rows = g == group["key"]["g"]
        ref = confusion_matrix(y[rows], pred[rows], labels=[0, 1], sample_weight=w[rows])
        _same(group["confusion"]["counts"], ref)


def test_merge_of_two_saved_states_gives_the_whole_matrix(multiclass, tmp_path):
    path, p, y, w = multiclass
    frame = pd.read_csv(path)
    states = []
    for i, rows in enumerate((slice(0, 70), slice(70, None))):
        part = tmp_path / f"part{i}.csv"
        frame[rows].to_csv(part, index=False)
        states.append(tmp_path / f"part{i}.state")
        proc = run_losscli("eval", part, "--pred-col", "p_*", "-l", "mcc", "--confusion",
                           "--weight-col", "w", "-q", "--save-state", states[-1])
        assert proc.returncode == 0, proc.stderr
    proc = run_losscli("merge", states[1], states[0], "-f", "json")
    assert proc.returncode == 0, proc.stderr
    ref = confusion_matrix(y, p.argmax(axis=1), labels=[0, 1, 2], sample_weight=w)
    _same(json.loads(proc.stdout)["confusion"]["counts"], ref)


def test_api_report_carries_the_matrix(multiclass):
    _, p, y, w = multiclass
    report = losscli.evaluate(predictions=p, targets=y, weights=w, losses=["mcc"],
                              confusion=True, chunk_size=4)
    _same(report.confusion["counts"],
          confusion_matrix(y, p.argmax(axis=1), labels=[0, 1, 2], sample_weight=w))
    assert report.to_dict()["confusion"] == report.confusion


def test_table_markdown_csv_with_escaped_labels(tmp_path):
    y = np.array([0, 1, 2, 2, 1, 0, 2])
    p = np.eye(3)[[0, 2, 2, 1, 1, 0, 2]]
    path = tmp_path / "m.csv"
    frame = pd.DataFrame({f"p_{k}": p[:, k] for k in range(3)})
    frame["target"] = y
    frame.to_csv(path, index=False)
    bad = "evil\x1b[31m"
    ref = confusion_matrix(y, p.argmax(axis=1), labels=[0, 1, 2])
    args = ("eval", path, "--pred-col", "p_*", "-l", "mcc", "--confusion",
            "--classes", f"{bad},b,c")
    table = run_losscli(*args)
    assert table.returncode == 0, table.stderr
    out = table.stdout.decode()
    assert "\x1b" not in out and "evil\\x1b[31m" in out
    assert "confusion matrix" in out and "true \\ predicted" in out
    # each true class's line holds its counts in order
    for label, row in zip(["evil\\x1b[31m", "b", "c"], ref):
        line = next(ln for ln in out.splitlines()
                    if ln.replace("│", "|").strip(" |").split("|")[0].strip() == label)
        numbers = [int(x) for x in line.replace("│", " ").replace("|", " ").split()
                   if x.isdigit()]
        assert numbers == row.tolist()
    md = run_losscli(*args, "-f", "markdown").stdout.decode()
    assert "\x1b" not in md and "| true \\ predicted |" in md
    assert f"| c | {' | '.join(str(v) for v in ref[2])} |" in md
    csv = run_losscli(*args, "-f", "csv")
    assert csv.returncode == 0, csv.stderr
    rows = pd.read_csv(__import__("io").BytesIO(csv.stdout))
    cells = rows[rows["loss"] == "confusion"]
    assert len(cells) == 9 and cells["value"].astype(int).tolist() == ref.ravel().tolist()
    raw = run_losscli(*args, "-f", "json")
    assert json.loads(raw.stdout)["confusion"]["labels"] == [bad, "b", "c"]  # JSON keeps it


def test_plot_draws_a_heat_map_on_a_terminal(binary):
    path, p, y, _, _ = binary
    ref = confusion_matrix(y, (p >= 0.5).astype(int), labels=[0, 1])
    code, _, seen = run_pty([str(path), "-l", "mcc", "--confusion", "--plot"],
                            command=[__import__("sys").executable, "-m", "losscli", "eval"],
                            stdout_to_pty=True, columns=100)
    text = seen.decode(errors="replace")
    assert code == 0, text
    assert "confusion matrix (mcc)" in text and "rows: true class" in text
    assert any(s in text for s in "░▒▓█")
    for v in ref.ravel():
        assert str(v) in text


def test_html_has_an_svg_heat_map(binary, tmp_path):
    path, p, y, _, _ = binary
    page = tmp_path / "r.html"
    proc = run_losscli("eval", path, "-l", "mcc", "--confusion", "--html", page, "-q",
                       "--classes", "<no>,yes")
    assert proc.returncode == 0, proc.stderr
    html = page.read_text()
    assert '<section id="confusion">' in html and "<svg" in html
    assert "&lt;no&gt;" in html and "<no>" not in html
    ref = confusion_matrix(y, (p >= 0.5).astype(int), labels=[0, 1])
    assert f"true &lt;no&gt;, predicted yes: {ref[0, 1]}" in html
    assert "<script" not in html


def test_refusals_are_one_line(binary, tmp_path):
    path = binary[0]
    proc = run_losscli("eval", path, "-l", "bce", "--confusion")
    err = proc.stderr.decode().strip()
    assert proc.returncode == 2 and len(err.splitlines()) == 1 and "--loss mcc" in err
    assert "Traceback" not in err and not proc.stdout
    ml = tmp_path / "ml.csv"
    pd.DataFrame({"p_a": [0.9, 0.2, 0.6], "p_b": [0.1, 0.7, 0.4], "t_a": [1, 0, 1],
                  "t_b": [0, 1, 1]}).to_csv(ml, index=False)
    proc = run_losscli("eval", ml, "--pred-col", "p_*", "--target-col", "t_*", "--task",
                       "multilabel", "-l", "f1:average=micro", "--confusion")
    err = proc.stderr.decode().strip()
    assert proc.returncode == 2 and len(err.splitlines()) == 1 and "per label" in err


def test_check_prints_the_matrix_beside_its_verdict(binary, tmp_path):
    # check --confusion: the same matrix in the table, Markdown, JSON and the HTML page
    path, p, y, _, _ = binary
    ref = confusion_matrix(y, (p >= 0.5).astype(int), labels=[0, 1])
    args = ["check", path, "-l", "f1", "--max", "f1=0.01", "--confusion"]
    page = tmp_path / "c.html"
    doc = run_losscli(*args, "-f", "json", "--html", page)
    assert doc.returncode == 1, doc.stderr  # the bound fails: the matrix is still shown
    _same(json.loads(doc.stdout)["confusion"]["counts"], ref)
    table = run_losscli(*args, env={"COLUMNS": "200"})
    assert table.returncode == 1
    text = table.stdout.decode()
    assert "confusion matrix (rows: true, columns: predicted" in text
    row0 = next(x for x in text.splitlines() if x.split("|")[0].strip() == "0")
    assert [int(v) for v in row0.split("|")[1:]] == list(ref[0])
    md = run_losscli(*args, "-f", "markdown").stdout.decode()
    assert f"| 1 | {ref[1, 0]} | {ref[1, 1]} |" in md
    assert '<section id="confusion">' in page.read_text()
