"""expected_cost from a cost matrix (issue 23 item 5): ``--cost-matrix`` in scikit-learn's
confusion-matrix layout (rows: true class, columns: predicted), inline or from a CSV/JSON
file, at the best threshold or a fixed one (binary) and over the argmax (multi-class) —
each equal to a reference computed here with ``sklearn.metrics.confusion_matrix`` (with
``sample_weight``) and a brute force over ``roc_curve``'s thresholds, on data with ties and
weights, at chunk sizes 1, 7, the default and with 2 workers, per group and in compare,
through the real CLI. Every bad matrix: one line, exit 2.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix, roc_curve

import losscli
from tests.conftest import run_losscli

MATRICES = ("0,1;5,0", "0.5,2;7,-1")
RUNS = (("--chunk-size", "1"), ("--chunk-size", "7"), (),
        ("--chunk-size", "50", "--workers", "2"))


def _cm(text: str) -> np.ndarray:
    return np.array([[float(x) for x in row.split(",")] for row in text.split(";")])


def _cost(c: np.ndarray, y: np.ndarray, pred: np.ndarray, w: np.ndarray | None) -> float:
    k = c.shape[0]
    cm = confusion_matrix(y, pred, sample_weight=w, labels=list(range(k)))
    return float((c * cm).sum() / (len(y) if w is None else w.sum()))


def binary_reference(c: np.ndarray, s: np.ndarray, y: np.ndarray, w: np.ndarray | None,
                     threshold: float | None = None) -> tuple[float, float]:
    """(cost, threshold): at ``threshold``, or the best of roc_curve's thresholds (its
    first, +inf, is "predict nothing"), by brute force with confusion_matrix."""
    if threshold is not None:
        return _cost(c, y, (s >= threshold).astype(int), w), threshold
    _, _, thr = roc_curve(y, s, sample_weight=w, drop_intermediate=False)
    costs = [_cost(c, y, (s >= t).astype(int), w) for t in thr]
    j = int(np.argmin(costs))
    return costs[j], float(thr[j])


def _binary(seed: int = 4, n: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    s = np.round(rng.random(n), 1)  # ties
    y = (rng.random(n) < 0.2 + 0.6 * s).astype(int)
    w = rng.integers(0, 4, n).astype(float)  # zero weights too
    return pd.DataFrame({"prob": s, "label": y, "weight": w,
                         "prob_b": np.round(np.clip(s + rng.normal(0, 0.3, n), 0, 1), 1),
                         "g": rng.choice(["x", "y", "z"], n)})


def _json(*args: object) -> dict:
    r = run_losscli(*map(str, args), "--format", "json")
    assert r.returncode == 0, r.stderr.decode()
    assert b"Traceback" not in r.stderr
    return json.loads(r.stdout)


def _one_line_exit_2(*args: object) -> str:
    r = run_losscli(*map(str, args))
    err = r.stderr.decode()
    assert r.returncode == 2, (r.returncode, err)
    assert b"Traceback" not in r.stderr and len(err.strip().splitlines()) == 1, err
    return err


@pytest.mark.parametrize("matrix", MATRICES)
def test_binary_best_and_fixed_threshold_equal_sklearn_for_every_chunking(tmp_path, matrix):
    df = _binary()
    path = tmp_path / "scores.csv"
    df.to_csv(path, index=False)
    s, y, w = df["prob"].to_numpy(), df["label"].to_numpy(), df["weight"].to_numpy()
    c = _cm(matrix)
    losses = ("--loss", "expected_cost", "--loss", "expected_cost:threshold=0.5",
              "--loss", "expected_cost:threshold=0.35")
    docs = [_json("eval", path, "--weight-col", "weight", "--cost-matrix", matrix, *losses,
                  *run) for run in RUNS]
    best, fixed, fixed2 = docs[0]["losses"]
    want, t = binary_reference(c, s, y, w)
    assert best["value"] == pytest.approx(want, rel=1e-12, abs=1e-12)
    assert best["details"]["at"]["threshold"] == t  # the threshold it was read at
    for got, thr in ((fixed, 0.5), (fixed2, 0.35)):
        assert got["value"] == pytest.approx(binary_reference(c, s, y, w, thr)[0],
                                             rel=1e-12, abs=1e-12)
        assert got["details"]["at"]["threshold"] == thr and got["params"]["threshold"] == thr
        assert f"threshold={thr:g}" in got["label"]
    for doc in docs[1:]:  # every chunking and 2 workers: the same bits
        assert [(x["value"], x["details"]) for x in doc["losses"]] == [
            (x["value"], x["details"]) for x in docs[0]["losses"]]
    # unweighted (the integer-count state)
    plain = _json("eval", path, "--cost-matrix", matrix, *losses, "--chunk-size", "7")
    assert plain["losses"][0]["value"] == pytest.approx(binary_reference(c, s, y, None)[0],
                                                        rel=1e-12, abs=1e-12)
    assert plain["losses"][1]["value"] == pytest.approx(
        binary_reference(c, s, y, None, 0.5)[0], rel=1e-12, abs=1e-12)
    # the table says which threshold each row used
    table = run_losscli("eval", path, "--cost-matrix", matrix, *losses).stdout.decode()
    assert "threshold=0.5" in table and "at threshold" in table


def test_the_matrix_from_a_csv_or_json_file_or_the_api_is_the_same_loss(tmp_path):
    df = _binary(seed=6)
    path = tmp_path / "scores.csv"
    df.to_csv(path, index=False)
    (csv := tmp_path / "costs.csv").write_text("0,1\n5,0\n")
    (js := tmp_path / "costs.json").write_text("[[0, 1], [5, 0]]")
    inline = _json("eval", path, "--loss", "expected_cost", "--cost-matrix", "0,1;5,0")
    spaced = _json("eval", path, "--loss", "expected_cost:cost_matrix=0 1; 5 0")
    from_csv = _json("eval", path, "--loss", "expected_cost", "--cost-matrix", csv)
    from_json = _json("eval", path, "--loss", "expected_cost", "--cost-matrix", js)
    for doc in (spaced, from_csv, from_json):
        assert doc["losses"][0]["label"] == inline["losses"][0]["label"]
        assert doc["losses"][0]["value"] == inline["losses"][0]["value"]
    # the off-diagonal matrix is cost_fp/cost_fn
    pair = _json("eval", path, "--loss", "expected_cost:cost_fp=1,cost_fn=5")
    assert pair["losses"][0]["value"] == inline["losses"][0]["value"]
    api = losscli.evaluate(predictions=df["prob"].to_numpy(), targets=df["label"].to_numpy(),
                           losses=["expected_cost"], cost_matrix=[[0, 1], [5, 0]])
    assert api.losses[0].value == inline["losses"][0]["value"]
    api_file = losscli.evaluate(predictions=df["prob"].to_numpy(),
                                targets=df["label"].to_numpy(), losses=["expected_cost"],
                                cost_matrix=str(js))
    assert api_file.losses[0].value == inline["losses"][0]["value"]


def _multiclass(tmp_path, seed: int = 8, n: int = 180) -> tuple:
    rng = np.random.default_rng(seed)
    p = np.round(rng.random((n, 3)), 1)  # ties: the first maximum is the prediction
    y = rng.integers(0, 3, n)
    w = rng.integers(0, 4, n).astype(float)
    df = pd.DataFrame({"p_0": p[:, 0], "p_1": p[:, 1], "p_2": p[:, 2], "label": y,
                       "weight": w, "g": rng.choice(["u", "v"], n)})
    path = tmp_path / "classes.csv"
    df.to_csv(path, index=False)
    return path, df, p, y, w


def test_multiclass_equals_sklearn_confusion_matrix_for_every_chunking(tmp_path):
    path, df, p, y, w = _multiclass(tmp_path)
    matrix = "0,1,4;2,0,1;10,3,0.5"
    c = _cm(matrix)
    docs = [_json("eval", path, "--pred-col", "p_*", "--weight-col", "weight", "--from-logits",
                  "--loss", "expected_cost", "--cost-matrix", matrix, *run) for run in RUNS]
    want = _cost(c, y, p.argmax(axis=1), w)
    assert docs[0]["losses"][0]["value"] == pytest.approx(want, rel=1e-12)
    assert {d["losses"][0]["value"] for d in docs} == {docs[0]["losses"][0]["value"]}
    plain = _json("eval", path, "--pred-col", "p_*", "--from-logits", "--loss",
                  "expected_cost", "--cost-matrix", matrix)
    assert plain["losses"][0]["value"] == pytest.approx(_cost(c, y, p.argmax(axis=1), None),
                                                        rel=1e-12)
    # per group
    grouped = _json("eval", path, "--pred-col", "p_*", "--weight-col", "weight",
                    "--from-logits", "--loss", "expected_cost", "--cost-matrix", matrix,
                    "--group-by", "g", "--chunk-size", "7")
    for g in grouped["groups"]:
        rows = (df["g"] == g["key"]["g"]).to_numpy()
        assert g["losses"][0]["value"] == pytest.approx(
            _cost(c, y[rows], p[rows].argmax(axis=1), w[rows]), rel=1e-12)


def test_group_by_and_compare_two_models(tmp_path):
    df = _binary(seed=11)
    path = tmp_path / "scores.csv"
    df.to_csv(path, index=False)
    matrix = "0,2;3,0"
    c = _cm(matrix)
    doc = _json("eval", path, "--weight-col", "weight", "--loss", "expected_cost",
                "--loss", "expected_cost:threshold=0.5", "--cost-matrix", matrix,
                "--group-by", "g", "--chunk-size", "7")
    for g in doc["groups"]:
        part = df[df["g"] == g["key"]["g"]]
        s, y, w = part["prob"].to_numpy(), part["label"].to_numpy(), part["weight"].to_numpy()
        assert g["losses"][0]["value"] == pytest.approx(binary_reference(c, s, y, w)[0],
                                                        rel=1e-12, abs=1e-12)
        assert g["losses"][1]["value"] == pytest.approx(binary_reference(c, s, y, w, 0.5)[0],
                                                        rel=1e-12, abs=1e-12)
    cmp = _json("compare", path, "--pred-col", "prob", "--pred-col", "prob_b", "--weight-col",
                "weight", "--loss", "expected_cost", "--cost-matrix", matrix)
    values = cmp["losses"][0]["values"]
    y, w = df["label"].to_numpy(), df["weight"].to_numpy()
    for col in ("prob", "prob_b"):
        assert values[col] == pytest.approx(binary_reference(c, df[col].to_numpy(), y, w)[0],
                                            rel=1e-12, abs=1e-12)


def test_check_gates_on_it_and_the_interval_reads_the_matrix(tmp_path):
    df = _binary(seed=12)
    path = tmp_path / "scores.csv"
    df.to_csv(path, index=False)
    want = binary_reference(_cm("0,1;5,0"), df["prob"].to_numpy(), df["label"].to_numpy(),
                            None)[0]
    ok = run_losscli("check", path, "--loss", "expected_cost", "--cost-matrix", "0,1;5,0",
                     "--max", f"expected_cost={want + 0.01}")
    assert ok.returncode == 0, ok.stderr.decode()
    bad = run_losscli("check", path, "--loss", "expected_cost", "--cost-matrix", "0,1;5,0",
                      "--max", f"expected_cost={want - 0.01}")
    assert bad.returncode == 1
    # the per-score bootstrap reads the same matrix and threshold: its interval holds the value
    doc = _json("eval", path, "--loss", "expected_cost", "--loss",
                "expected_cost:threshold=0.5", "--cost-matrix", "0.5,1;5,-1", "--ci",
                "--replicates", "100")
    for x in doc["losses"]:
        low, high = x["interval"]["low"], x["interval"]["high"]
        assert low <= x["value"] <= high, x


@pytest.mark.parametrize(("matrix", "said"), [
    ("0,1;5", "row 2 has 1 entries"),
    ("0,1;5,nan", "entry [2,2]"),
    ("0,x;1,0", "entry [1,2] is 'x'"),
    ("7", "2 or more"),
    ("no_such_costs.csv", "no file 'no_such_costs.csv'"),
])
def test_a_bad_matrix_is_one_line_before_any_data_is_read(tmp_path, matrix, said):
    # the data file does not exist: the matrix is refused first
    err = _one_line_exit_2("eval", tmp_path / "missing.csv", "--loss", "expected_cost",
                           "--cost-matrix", matrix)
    assert "--cost-matrix" in err and said in err


def test_a_matrix_of_the_wrong_size_or_given_twice_is_one_line(tmp_path):
    df = _binary()
    path = tmp_path / "scores.csv"
    df.to_csv(path, index=False)
    err = _one_line_exit_2("eval", path, "--loss", "expected_cost", "--cost-matrix",
                           "0,1,1;1,0,1;1,1,0")
    assert "3×3" in err and "2 classes" in err
    err = _one_line_exit_2("eval", path, "--loss", "expected_cost", "--cost-matrix", "0,1;5,0",
                           "--cost-fn", "3")
    assert "not both" in err
    err = _one_line_exit_2("eval", path, "--loss", "mse", "--cost-matrix", "0,1;5,0")
    assert "expected_cost" in err
    mpath, *_ = _multiclass(tmp_path)
    err = _one_line_exit_2("eval", mpath, "--pred-col", "p_*", "--from-logits", "--loss",
                           "expected_cost", "--cost-matrix", "0,1;5,0")
    assert "3 classes" in err
    err = _one_line_exit_2("eval", mpath, "--pred-col", "p_*", "--from-logits", "--loss",
                           "expected_cost:cost_fn=3")
    assert "binary cost" in err and "--cost-matrix" in err
    (bad := tmp_path / "bad.json").write_text("{\"a\": 1}")
    err = _one_line_exit_2("eval", path, "--loss", "expected_cost", "--cost-matrix", bad)
    assert "list of rows" in err


def test_bins_bound_the_exact_value_at_the_best_and_a_fixed_threshold(tmp_path):
    rng = np.random.default_rng(13)
    s = rng.random(400)
    y = (rng.random(400) < s).astype(int)
    path = tmp_path / "scores.csv"
    pd.DataFrame({"prob": s, "label": y}).to_csv(path, index=False)
    for matrix in MATRICES:
        c = _cm(matrix)
        doc = _json("eval", path, "--auc-bins", "20", "--cost-matrix", matrix, "--loss",
                    "expected_cost", "--loss", "expected_cost:threshold=0.37", "--loss",
                    "expected_cost:threshold=0.5")
        for got, thr in zip(doc["losses"], (None, 0.37, 0.5)):
            exact = binary_reference(c, s, y, None, thr)[0]
            low, high = got["details"]["bound"]
            assert low - 1e-12 <= exact <= high + 1e-12, (matrix, thr, low, exact, high)
            assert low <= got["value"] <= high


def test_compare_gives_expected_cost_with_a_matrix_its_paired_test(tmp_path):
    """The paired bootstrap of expected_cost reads the cost matrix and the fixed threshold
    (before: "no paired test" as soon as a matrix was given). Its interval is checked against
    the normal interval of the per-row cost differences computed here (at a fixed threshold
    the expected cost is a mean of per-row costs); with the default 0-1 costs instead, the
    interval would lie elsewhere (the control)."""
    rng = np.random.default_rng(21)
    n = 6000
    y = (rng.random(n) < 0.3).astype(int)
    common = rng.normal(0, 1, n)
    a = 1 / (1 + np.exp(-(1.6 * (2 * y - 1) + common + rng.normal(0, 1, n))))
    b = 1 / (1 + np.exp(-(1.2 * (2 * y - 1) + common + rng.normal(0, 1, n))))
    path = tmp_path / "two.csv"
    pd.DataFrame({"a": np.round(a, 3), "b": np.round(b, 3), "target": y}).to_csv(path, index=False)
    matrix = "0,10;1,0"
    c = _cm(matrix)

    def row_costs(s: np.ndarray, costs: np.ndarray) -> np.ndarray:
        pred = (s >= 0.5).astype(int)
        return costs[y, pred]

    frame = pd.read_csv(path)
    d = row_costs(frame["b"].to_numpy(), c) - row_costs(frame["a"].to_numpy(), c)
    half = 1.959963984540054 * d.std(ddof=1) / np.sqrt(n)
    zero_one = (row_costs(frame["b"].to_numpy(), 1 - np.eye(2))
                - row_costs(frame["a"].to_numpy(), 1 - np.eye(2))).mean()
    assert abs(zero_one - d.mean()) > 3 * half  # the control: other costs, another interval
    runs = [_json("compare", path, "--pred-col", "a", "--pred-col", "b", "-l",
                  "expected_cost:threshold=0.5", "--cost-matrix", matrix, "--replicates", "2000",
                  *extra) for extra in ((), ("--chunk-size", "7", "--workers", "2"))]
    row = runs[0]["losses"][0]
    assert row["diff"]["b"] == pytest.approx(d.mean(), abs=1e-12)
    low, high = row["diff_interval"]["b"]
    assert low == pytest.approx(d.mean() - half, abs=0.15 * half)
    assert high == pytest.approx(d.mean() + half, abs=0.15 * half)
    assert row["p_value"]["b"] is not None
    assert runs[1]["losses"][0]["diff_interval"] == row["diff_interval"]  # any chunking


def test_multiclass_without_a_matrix_is_the_argmax_error_rate(tmp_path):
    """Multi-class with no matrix: every error costs 1 — the analogue of the binary default
    (cost_fp = cost_fn = 1) — so the value is the argmax's error rate, 1 − accuracy_score
    (weighted), at any chunking."""
    from sklearn.metrics import accuracy_score

    mpath, _, p, y, w = _multiclass(tmp_path)
    want = 1 - accuracy_score(y, p.argmax(axis=1), sample_weight=w)
    for extra in RUNS:
        doc = _json("eval", mpath, "--pred-col", "p_*", "--target-col", "label",
                    "--weight-col", "weight",
                    "--loss", "expected_cost", *extra)
        assert doc["losses"][0]["value"] == pytest.approx(want, rel=1e-12, abs=1e-12)
