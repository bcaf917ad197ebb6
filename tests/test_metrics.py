"""Classification metrics and multi-output losses against scikit-learn (issue 11).

Every value is computed by sklearn in the test, on data with tied scores and sample weights,
and must agree to 1e-12 at any chunk size (down to 1) and worker count. Also: the
logit/probability guards, the notes, the decision threshold and the 1-based class hint.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize

import losscli
from losscli.errors import InputError, UsageError

CHUNKS = (1, 7, 1000)
RTOL = 1e-12


def _close(a, b):
    return a == pytest.approx(b, rel=RTOL, abs=1e-14)


@pytest.fixture(scope="module")
def binary():
    rng = np.random.default_rng(0)
    n = 300
    y = rng.integers(0, 2, n).astype(float)
    p = np.round(np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1), 1)  # ties: 11 levels
    w = rng.integers(0, 4, n).astype(float) + rng.choice([0.0, 0.5], n)
    return p, y, w


@pytest.mark.parametrize("chunk", CHUNKS)
def test_binary_metrics_equal_sklearn(binary, chunk):
    p, y, w = binary
    pred = (p >= 0.5).astype(int)
    expected = {
        "accuracy": skm.accuracy_score(y, pred, sample_weight=w),
        "precision": skm.precision_score(y, pred, sample_weight=w),
        "recall": skm.recall_score(y, pred, sample_weight=w),
        "f1": skm.f1_score(y, pred, sample_weight=w),
        "f1:average=macro": skm.f1_score(y, pred, average="macro", sample_weight=w),
        "f1:average=micro": skm.f1_score(y, pred, average="micro", sample_weight=w),
        "precision:average=weighted": skm.precision_score(y, pred, average="weighted",
                                                          sample_weight=w),
        "roc_auc": skm.roc_auc_score(y, p, sample_weight=w),
        "average_precision": skm.average_precision_score(y, p, sample_weight=w),
        "hamming": skm.hamming_loss(y, pred, sample_weight=w),
    }
    for workers in (1, 2):
        report = losscli.evaluate(predictions=p, targets=y, weights=w, losses=list(expected),
                                  chunk_size=chunk, workers=workers, task="binary")
        for name, value in expected.items():
            assert _close(report[name], value), (name, report[name], value)


def test_threshold_is_a_parameter_and_visible(binary):
    p, y, _ = binary
    s = 2.0 * p - 1.0  # decision scores around 0
    report = losscli.evaluate(predictions=s, targets=y, losses=["zero_one:threshold=0", "accuracy"],
                              task="binary", threshold=0.0)
    assert _close(report["zero_one"], 1 - skm.accuracy_score(y, s >= 0))
    assert report.inputs["threshold"] == 0.0
    logits = losscli.evaluate(predictions=s, targets=y, losses=["zero_one"], task="binary", from_logits=True)
    assert logits.inputs["threshold"] == 0.0 and logits.losses[0].label == "zero_one"


@pytest.fixture(scope="module")
def multiclass():
    rng = np.random.default_rng(1)
    n, c = 400, 4
    y = rng.integers(0, c, n)
    z = np.round(rng.normal(0, 1, (n, c)) + 1.2 * np.eye(c)[y], 1)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    w = rng.uniform(0, 3, n)
    return p, y.astype(float), w


@pytest.mark.parametrize("chunk", CHUNKS)
def test_multiclass_metrics_equal_sklearn(multiclass, chunk):
    p, y, w = multiclass
    pred = p.argmax(axis=1)
    onehot = label_binarize(y, classes=range(4))
    expected = {
        "accuracy": skm.accuracy_score(y, pred, sample_weight=w),
        "f1": skm.f1_score(y, pred, average="macro", sample_weight=w),
        "precision:average=micro": skm.precision_score(y, pred, average="micro", sample_weight=w),
        "recall:average=weighted": skm.recall_score(y, pred, average="weighted",
                                                    sample_weight=w),
        "roc_auc": skm.roc_auc_score(y, p, multi_class="ovr", average="macro", sample_weight=w),
        "average_precision": skm.average_precision_score(onehot, p, average="macro",
                                                         sample_weight=w),
        "log_loss": skm.log_loss(y, p, sample_weight=w),
    }
    report = losscli.evaluate(predictions=p, targets=y, weights=w, losses=list(expected), chunk_size=chunk,
                              workers=2)
    assert report.inputs["task"] == "multiclass"
    for name, value in expected.items():
        assert _close(report[name], value), (name, report[name], value)
    # log_loss resolves to the task's cross-entropy, under its canonical name
    assert [r.name for r in report.losses][-1] == "cross_entropy"
    f1 = report.result("f1")
    per_class = skm.f1_score(y, pred, average=None, sample_weight=w)
    assert f1.details is not None
    assert [f1.details["per_class"][str(i)] for i in range(4)] == pytest.approx(per_class,
                                                                               rel=RTOL)


@pytest.mark.parametrize("chunk", CHUNKS)
def test_multilabel_metrics_equal_sklearn(chunk):
    rng = np.random.default_rng(2)
    n, labels = 250, 3
    y = rng.integers(0, 2, (n, labels)).astype(float)
    p = np.round(np.clip(rng.normal(0.3 + 0.4 * y, 0.25), 0.001, 0.999), 2)
    w = rng.uniform(0, 2, n)
    pred = (p >= 0.5).astype(int)
    expected = {
        "hamming": skm.hamming_loss(y, pred, sample_weight=w),
        "accuracy": skm.accuracy_score(y, pred, sample_weight=w),
        "f1": skm.f1_score(y, pred, average="macro", sample_weight=w),
        "f1:average=micro": skm.f1_score(y, pred, average="micro", sample_weight=w),
        "recall:average=weighted": skm.recall_score(y, pred, average="weighted",
                                                    sample_weight=w),
        "roc_auc": skm.roc_auc_score(y, p, average="macro", sample_weight=w),
        "average_precision": skm.average_precision_score(y, p, average="macro",
                                                         sample_weight=w),
        # bce per label is sklearn's log_loss on that label; the row value is their mean
        "bce": np.mean([skm.log_loss(y[:, j], p[:, j], sample_weight=w) for j in range(labels)]),
    }
    report = losscli.evaluate(predictions=p, targets=y, weights=w, losses=list(expected), task="multilabel",
                              chunk_size=chunk)
    for name, value in expected.items():
        assert _close(report[name], value), (name, report[name], value)
    bce = report.result("bce")
    assert bce.details is not None and len(bce.details["per_column"]) == labels


def test_multioutput_regression_equals_sklearn():
    rng = np.random.default_rng(3)
    n, k = 300, 3
    y = rng.normal(0, [1.0, 5.0, 0.1], (n, k))
    p = y + rng.normal(0, 0.5, (n, k))
    w = rng.uniform(0, 2, n)
    report = losscli.evaluate(predictions=p, targets=y, weights=w, chunk_size=37,
                              losses=["mse", "mae", "rmse", "r2",
                                      "r2:multioutput=variance_weighted"])
    assert report.inputs["task"] == "regression"
    assert _close(report["mse"], skm.mean_squared_error(y, p, sample_weight=w))
    assert _close(report["mae"], skm.mean_absolute_error(y, p, sample_weight=w))
    assert _close(report["rmse"], skm.root_mean_squared_error(y, p, sample_weight=w))
    assert _close(report["r2"], skm.r2_score(y, p, sample_weight=w))
    assert _close(report["r2:multioutput=variance_weighted"],
                  skm.r2_score(y, p, sample_weight=w, multioutput="variance_weighted"))
    per_output = report.result("mse").details["per_column"]  # type: ignore[index]
    assert per_output == pytest.approx(
        skm.mean_squared_error(y, p, sample_weight=w, multioutput="raw_values"), rel=RTOL)


def test_binned_auc_bounds_the_exact_value(binary):
    p, y, w = binary
    exact = skm.roc_auc_score(y, p, sample_weight=w)
    for bins in (4, 50, 1000):
        report = losscli.evaluate(predictions=p, targets=y, weights=w, losses=[f"roc_auc:bins={bins}"],
                                  task="binary")
        low, high = report.losses[0].details["bound"]  # type: ignore[index]
        assert low - 1e-12 <= exact <= high + 1e-12, (bins, low, exact, high)
    fine = losscli.evaluate(predictions=p, targets=y, weights=w, losses=["roc_auc:bins=1000"], task="binary")
    assert _close(fine["roc_auc"], exact)  # scores on 11 levels: no bin holds two levels


def test_auc_bins_sets_the_ranking_metrics_bins_alone(cli, samples):
    # --auc-bins N bins roc_auc and average_precision and leaves ece's confidence bins
    # alone (--bins sets both); it is refused when no ranking metric is selected.
    out = cli("eval", samples / "binary.csv", "-l", "roc_auc", "-l", "average_precision",
              "-l", "ece", "--auc-bins", "100", "--format", "json")
    assert out.exit_code == 0, out.stderr
    params = {e["name"]: e["params"] for e in json.loads(out.stdout)["losses"]}
    assert params["roc_auc"]["bins"] == params["average_precision"]["bins"] == 100
    assert params["ece"].get("bins", 15) == 15
    exact = cli("eval", samples / "binary.csv", "-l", "roc_auc:bins=100", "--format",
                "json")
    assert json.loads(exact.stdout)["losses"][0]["value"] == json.loads(out.stdout)[
        "losses"][0]["value"]
    bound = json.loads(out.stdout)["losses"][0]["details"]["bound"]
    table = cli("eval", samples / "binary.csv", "-l", "roc_auc", "--auc-bins", "100").stdout
    low, high = (line.split("|")[2].strip() for line in table.splitlines()
                 if "exact value" in line)
    assert float(low) == pytest.approx(bound[0], rel=1e-5)  # the table shows 6 digits
    assert float(high) == pytest.approx(bound[1], rel=1e-5)
    assert "exact value" not in cli("eval", samples / "binary.csv", "-l", "roc_auc").stdout
    bad = cli("eval", samples / "binary.csv", "-l", "ece", "--auc-bins", "100")
    assert bad.exit_code == 2 and "--auc-bins 100 is not a parameter" in bad.stderr
    assert "roc_auc" in bad.stderr


# --- the guards ------------------------------------------------------------------------

def test_probabilities_with_from_logits_are_refused(binary, multiclass):
    p, y, _ = binary
    with pytest.raises(UsageError, match=r"look like probabilities .*drop --from-logits, or "
                                         "pass --assume-logits"):
        losscli.evaluate(predictions=p, targets=y, losses=["bce"], from_logits=True)
    assert losscli.evaluate(predictions=p, targets=y, losses=["bce"], from_logits=True, assume_logits=True)
    q, k, _ = multiclass
    with pytest.raises(UsageError, match=r"every row sums to 1 .*softmax_cross_entropy take"):
        losscli.evaluate(predictions=q, targets=k, losses=["softmax_cross_entropy"])


def test_logits_without_the_flag_say_so(binary):
    p, y, _ = binary
    with pytest.raises(InputError, match=r"These look like logits .*pass --from-logits"):
        losscli.evaluate(predictions=4 * p - 2, targets=y, losses=["bce"])


def test_one_based_class_indices_get_a_hint(multiclass):
    p, y, _ = multiclass
    with pytest.raises(InputError, match=r"look 1-based \(1\.\.4\): subtract 1"):
        losscli.evaluate(predictions=p, targets=y + 1, losses=["cross_entropy"])


def test_notes_for_unbounded_scores_on_0_1_targets(cli, tmp_path):
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 200).astype(float)
    path = tmp_path / "lin.parquet"
    pq.write_table(pa.table({"pred": 3 * y - 1 + rng.normal(0, 1, 200), "target": y}), path)
    r = cli("eval", path, "-f", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["inputs"]["task"] == "regression"
    assert "pass --task binary --from-logits" in r.stderr
    quiet = cli("eval", path, "-f", "json", "-q")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    scores = cli("eval", path, "--task", "binary", "-l", "zero_one", "-f", "json")
    assert scores.exit_code == 0 and "pass --threshold 0" in scores.stderr
