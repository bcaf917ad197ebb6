"""Issue 23 items 1–2: the deviances, explained variance and D², and the metrics read from
the confusion counts (MCC, balanced accuracy, Cohen's kappa, specificity, NPV).

Every reference is computed here by scikit-learn, on data with ties, zero weights and
fractional weights, and must agree to 1e-12 at chunk sizes down to 1, with 1 and 2
workers, and through a merge of saved parts; each family also runs through the real entry
point (``python -m losscli``).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

import losscli
from losscli.errors import InputError, UsageError
from tests.conftest import run_losscli

CHUNKS = (1, 7, 1000)
RTOL = 1e-12


def _close(a: float, b: float) -> bool:
    if math.isnan(b):
        return math.isnan(a)
    return a == pytest.approx(b, rel=RTOL, abs=1e-13)


def _value(report, name):
    return report.losses[[r.label for r in report.losses].index(name)].value


# -- regression -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def counts():
    """Counts (with zeros and ties) against positive predicted means; weights with zeros."""
    rng = np.random.default_rng(7)
    n = 240
    mu = np.round(rng.uniform(0.2, 6.0, n), 1)
    y = rng.poisson(mu).astype(float)
    w = rng.integers(0, 4, n).astype(float) + rng.choice([0.0, 0.25], n)
    return mu, y, w


@pytest.fixture(scope="module")
def positive():
    """Positive targets (Gamma, inverse Gaussian) with ties."""
    rng = np.random.default_rng(8)
    n = 240
    mu = np.round(rng.uniform(0.5, 5.0, n), 1)
    y = np.round(rng.gamma(2.0, mu / 2.0) + 0.01, 2)
    w = rng.uniform(0.0, 3.0, n)
    return mu, y, w


def _tweedie(power):
    return lambda y, p, sample_weight=None: skm.mean_tweedie_deviance(
        y, p, sample_weight=sample_weight, power=power)


def _d2(power):
    return lambda y, p, sample_weight=None: skm.d2_tweedie_score(
        y, p, sample_weight=sample_weight, power=power)


COUNT_LOSSES = {
    "mean_poisson_deviance": skm.mean_poisson_deviance,
    "mean_tweedie_deviance": _tweedie(0),
    "mean_tweedie_deviance:power=1": _tweedie(1),
    "mean_tweedie_deviance:power=1.5": _tweedie(1.5),
    "mean_tweedie_deviance:power=-1": _tweedie(-1),
    "mean_tweedie_deviance:power=-0.5": _tweedie(-0.5),
    "d2_tweedie": _d2(0),
    "d2_tweedie:power=1": _d2(1),
    "d2_tweedie:power=1.5": _d2(1.5),
    "d2_tweedie:power=-1": _d2(-1),
    "explained_variance": skm.explained_variance_score,
}
POSITIVE_LOSSES = {
    "mean_gamma_deviance": skm.mean_gamma_deviance,
    "mean_tweedie_deviance:power=2": _tweedie(2),
    "mean_tweedie_deviance:power=3": _tweedie(3),
    "mean_tweedie_deviance:power=2.5": _tweedie(2.5),
    "d2_tweedie:power=2": _d2(2),
    "d2_tweedie:power=3": _d2(3),
    "d2_tweedie:power=1.2": _d2(1.2),
}


def _label(arg: str) -> str:
    name, _, rest = arg.partition(":")
    return f"{name}({rest})" if rest else name


@pytest.mark.parametrize("chunk", CHUNKS)
@pytest.mark.parametrize("data,losses", [("counts", COUNT_LOSSES),
                                         ("positive", POSITIVE_LOSSES)])
def test_deviances_equal_sklearn(request, data, losses, chunk):
    mu, y, w = request.getfixturevalue(data)
    for weights in (None, w):
        for workers in (1, 2):
            report = losscli.evaluate(predictions=mu, targets=y, weights=weights,
                                      losses=list(losses), chunk_size=chunk, workers=workers)
            for arg, ref in losses.items():
                expected = ref(y, mu, sample_weight=weights)
                got = _value(report, _label(arg))
                assert _close(got, expected), (arg, weights is None, got, expected)


def test_integer_weights_are_repeated_rows(counts):
    mu, y, _ = counts
    reps = np.arange(len(y)) % 3
    a = losscli.evaluate(predictions=mu, targets=y, weights=reps.astype(float),
                         losses=["d2_tweedie:power=1.5", "explained_variance"])
    b = losscli.evaluate(predictions=np.repeat(mu, reps), targets=np.repeat(y, reps),
                         losses=["d2_tweedie:power=1.5", "explained_variance"])
    for x, z in zip(a.losses, b.losses):
        assert _close(x.value, z.value)


def test_explained_variance_force_finite_and_d2_edges():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    biased = y + 5.0  # constant residual: explained variance 1, r2 far below
    ev = losscli.evaluate(predictions=biased, targets=y, losses=["explained_variance", "r2"])
    assert ev["explained_variance"] == skm.explained_variance_score(y, biased) == 1.0
    assert ev["r2"] < 0
    const = np.full(4, 2.0)
    ev = losscli.evaluate(predictions=y, targets=const, losses=["explained_variance"])
    assert ev["explained_variance"] == skm.explained_variance_score(const, y) == 0.0
    # one row: sklearn's d2_tweedie_score is NaN ("not well-defined with less than two")
    with pytest.warns(Warning):
        ref = skm.d2_tweedie_score([2.0], [1.0], power=1)
    one = losscli.evaluate(predictions=np.array([1.0]), targets=np.array([2.0]),
                           losses=["d2_tweedie:power=1"])
    assert math.isnan(ref) and math.isnan(one["d2_tweedie(power=1)"])


def test_multioutput_explained_variance_equals_sklearn():
    rng = np.random.default_rng(5)
    y = rng.normal(size=(100, 3)) * [1.0, 3.0, 0.5]
    p = y + rng.normal(size=(100, 3)) + [0.0, 1.0, 0.0]
    w = rng.uniform(0, 2, 100)
    for mo in ("uniform_average", "variance_weighted"):
        got = losscli.evaluate(predictions=p, targets=y, weights=w, task="regression",
                               losses=[f"explained_variance:multioutput={mo}"],
                               chunk_size=7).losses[0].value
        want = skm.explained_variance_score(y, p, sample_weight=w, multioutput=mo)
        assert _close(got, want), mo
    # every output constant: sklearn's variance weights are all 0, and it falls back to
    # the uniform average (r2 shares the rule; it used to give 0.0 here)
    const = np.ones((4, 2))
    pred = np.array([[1.0, 1.0], [1.0, 2.0], [1.0, 1.0], [1.0, 1.0]])
    report = losscli.evaluate(predictions=pred, targets=const, task="regression",
                              losses=["explained_variance:multioutput=variance_weighted",
                                      "r2:multioutput=variance_weighted"])
    assert report.losses[0].value == skm.explained_variance_score(
        const, pred, multioutput="variance_weighted") == 0.5
    assert report.losses[1].value == skm.r2_score(
        const, pred, multioutput="variance_weighted") == 0.5


def test_tweedie_power_between_0_and_1_is_refused():
    with pytest.raises(UsageError, match=r"power.*outside \(0, 1\).*0\.5"):
        losscli.evaluate(predictions=np.ones(3), targets=np.ones(3),
                         losses=["mean_tweedie_deviance:power=0.5"])
    with pytest.raises(ValueError):  # sklearn refuses it as well
        skm.mean_tweedie_deviance(np.ones(3), np.ones(3), power=0.5)


def test_deviance_domains_name_the_row():
    y = np.array([1.0, 0.0, 2.0, 3.0])
    with pytest.raises(InputError, match=r"mean_gamma_deviance needs values > 0 in .*row 1"):
        losscli.evaluate(predictions=np.ones(4), targets=y, losses=["mean_gamma_deviance"])
    with pytest.raises(ValueError):  # sklearn: strictly positive y for the Gamma deviance
        skm.mean_gamma_deviance(y, np.ones(4))
    with pytest.raises(InputError, match=r"mean_poisson_deviance needs values > 0 in .*row 2"):
        losscli.evaluate(predictions=np.array([1.0, 2.0, 0.0, 1.0]), targets=y,
                         losses=["mean_poisson_deviance"])
    # the Tweedie deviance's domain follows its power
    for power, refused in ((2, True), (3, True), (1.5, False), (-1, False), (0, False)):
        for loss in (f"mean_tweedie_deviance:power={power}", f"d2_tweedie:power={power}"):
            if refused:
                with pytest.raises(InputError, match=r"needs values > 0 .*'target'.*row 1"):
                    losscli.evaluate(predictions=np.ones(4), targets=y, losses=[loss])
                with pytest.raises(ValueError):
                    skm.mean_tweedie_deviance(y, np.ones(4), power=power)
            else:
                losscli.evaluate(predictions=np.ones(4), targets=y, losses=[loss])
    with pytest.raises(InputError, match=r"mean_tweedie_deviance needs values >= 0 .*row 1"):
        losscli.evaluate(predictions=np.ones(4), targets=y - 0.5, losses=["mean_tweedie_deviance:"
                                                                      "power=1.2"])
    with pytest.raises(InputError, match=r"d2_tweedie needs values > 0 in .*'pred'.*row 0"):
        losscli.evaluate(predictions=-np.ones(4), targets=y, losses=["d2_tweedie:power=-1"])
    # power 0 is the squared error: any real values
    out = losscli.evaluate(predictions=-np.ones(4), targets=-y, losses=["d2_tweedie"])
    assert _close(out["d2_tweedie"], skm.d2_tweedie_score(-y, -np.ones(4), power=0))


def test_regression_family_through_the_cli(tmp_path, counts):
    mu, y, w = counts
    path = tmp_path / "counts.csv"
    pd.DataFrame({"pred": mu, "target": y, "w": w}).to_csv(path, index=False)
    losses = ["mean_poisson_deviance", "mean_tweedie_deviance:power=1.5",
              "d2_tweedie:power=1", "explained_variance"]
    args = ["eval", path, "--weight-col", "w", "--chunk-size", "7", "--workers", "2",
            "--format", "json"]
    for arg in losses:
        args += ["--loss", arg]
    proc = run_losscli(*args)
    assert proc.returncode == 0, proc.stderr
    values = {e["label"]: e["value"] for e in json.loads(proc.stdout)["losses"]}
    refs = {**COUNT_LOSSES}
    for arg in losses:
        assert _close(values[_label(arg)], refs[arg](y, mu, sample_weight=w)), arg
    # a negative count: one line, exit 2, the row named
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"pred": [1.0, 2.0], "target": [1.0, -1.0]}).to_csv(bad, index=False)
    proc = run_losscli("eval", bad, "--loss", "mean_poisson_deviance")
    assert proc.returncode == 2
    err = proc.stderr.decode().strip()
    assert "\n" not in err and "Traceback" not in err
    assert "mean_poisson_deviance needs values >= 0" in err and "row 1" in err
    # the Tweedie power's own domain, through the same rule machinery
    proc = run_losscli("eval", bad, "--loss", "d2_tweedie:power=2")
    err = proc.stderr.decode().strip()
    assert proc.returncode == 2 and "\n" not in err
    assert "d2_tweedie needs values > 0 (for a power >= 2)" in err and "row 1" in err


# -- classification ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def binary():
    rng = np.random.default_rng(0)
    n = 300
    y = rng.integers(0, 2, n).astype(float)
    p = np.round(np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1), 1)  # ties at the threshold
    w = rng.integers(0, 4, n).astype(float) + rng.choice([0.0, 0.5], n)
    return p, y, w


@pytest.fixture(scope="module")
def multiclass():
    rng = np.random.default_rng(1)
    n, c = 400, 5
    y = rng.integers(0, c - 1, n)  # class 4 never a true label
    z = np.round(rng.normal(0, 1, (n, c)) + 1.2 * np.eye(c)[y], 1)
    z[:, 2] -= 0.3  # class 2 predicted rarely
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    w = rng.uniform(0, 3, n)
    w[::11] = 0.0
    return p, y.astype(float), w


def _classification_refs(y, pred, w, classes):
    labels = list(range(classes))
    return {
        "mcc": skm.matthews_corrcoef(y, pred, sample_weight=w),
        "balanced_accuracy": skm.balanced_accuracy_score(y, pred, sample_weight=w),
        "balanced_accuracy:adjusted=true": skm.balanced_accuracy_score(
            y, pred, sample_weight=w, adjusted=True),
        "cohen_kappa": skm.cohen_kappa_score(y, pred, sample_weight=w),
        "cohen_kappa:weighting=linear": skm.cohen_kappa_score(
            y, pred, sample_weight=w, weights="linear", labels=labels),
        "cohen_kappa:weighting=quadratic": skm.cohen_kappa_score(
            y, pred, sample_weight=w, weights="quadratic", labels=labels),
    }


@pytest.mark.parametrize("chunk", CHUNKS)
def test_binary_confusion_metrics_equal_sklearn(binary, chunk):
    p, y, w = binary
    pred = (p >= 0.5).astype(int)
    for weights in (None, w):
        expected = {
            **_classification_refs(y, pred, weights, 2),
            "specificity": skm.recall_score(y, pred, pos_label=0, sample_weight=weights),
            "npv": skm.precision_score(y, pred, pos_label=0, sample_weight=weights),
        }
        for workers in (1, 2):
            report = losscli.evaluate(predictions=p, targets=y, weights=weights,
                                      losses=list(expected), chunk_size=chunk,
                                      workers=workers, task="binary")
            for arg, value in expected.items():
                assert _close(_value(report, _label(arg)), value), (arg, value)


def test_binary_minus_one_labels_and_threshold(binary):
    p, y, w = binary
    signs = 2 * y - 1
    pred = (p >= 0.3).astype(int)
    report = losscli.evaluate(predictions=p, targets=signs, weights=w, task="binary",
                              losses=["mcc", "specificity", "npv"], threshold=0.3)
    assert _close(report["mcc"], skm.matthews_corrcoef(y, pred, sample_weight=w))
    assert _close(report["specificity"], skm.recall_score(y, pred, pos_label=0,
                                                          sample_weight=w))
    assert _close(report["npv"], skm.precision_score(y, pred, pos_label=0, sample_weight=w))


@pytest.mark.parametrize("chunk", CHUNKS)
def test_multiclass_confusion_metrics_equal_sklearn(multiclass, chunk):
    p, y, w = multiclass
    pred = p.argmax(axis=1)
    for weights in (None, w):
        expected = _classification_refs(y, pred, weights, 5)
        report = losscli.evaluate(predictions=p, targets=y, weights=weights,
                                  losses=list(expected), chunk_size=chunk, workers=2)
        assert report.inputs["task"] == "multiclass"
        for arg, value in expected.items():
            assert _close(_value(report, _label(arg)), value), (arg, value)


def test_kappa_distances_are_between_class_indices():
    # classes 0 and 2 occur, 1 never: the distance 0–2 is 2 (labels=range(C)), where
    # sklearn's default (the labels that occur) would make it 1
    y = np.array([0, 0, 2, 2, 0, 2])
    pred = np.array([0, 2, 2, 0, 0, 2])
    scores = np.eye(3)[pred]
    got = losscli.evaluate(predictions=scores, targets=y.astype(float),
                           losses=["cohen_kappa:weighting=quadratic"])
    want = skm.cohen_kappa_score(y, pred, weights="quadratic", labels=[0, 1, 2])
    assert _close(got["cohen_kappa(weighting=quadratic)"], want)


def test_degenerate_matrices_follow_sklearn():
    y = np.array([1.0, 1.0, 1.0, 1.0])
    p = np.array([0.9, 0.8, 0.2, 0.7])
    pred = (p >= 0.5).astype(int)
    report = losscli.evaluate(predictions=p, targets=y, task="binary",
                              losses=["mcc", "specificity", "npv", "balanced_accuracy"])
    assert report["mcc"] == skm.matthews_corrcoef(y, pred) == 0.0
    with pytest.warns(Warning):
        assert report["specificity"] == skm.recall_score(y, pred, pos_label=0) == 0.0
    assert report["npv"] == skm.precision_score(y, pred, pos_label=0) == 0.0
    assert _close(report["balanced_accuracy"], skm.balanced_accuracy_score(y, pred))


def test_merged_parts_equal_the_whole(multiclass, tmp_path):
    # two files evaluated apart, their saved states merged by `losscli merge`
    p, y, w = multiclass
    losses = ["mcc", "cohen_kappa:weighting=linear", "balanced_accuracy:adjusted=true",
              "balanced_accuracy"]
    frame = pd.DataFrame({f"p_{c}": p[:, c] for c in range(5)})
    frame["target"], frame["w"] = y, w
    loss_args = [a for arg in losses for a in ("--loss", arg)]
    states = []
    for i, rows in enumerate((slice(0, 150), slice(150, None))):
        path = tmp_path / f"part{i}.csv"
        frame[rows].to_csv(path, index=False)
        states.append(tmp_path / f"part{i}.state")
        proc = run_losscli("eval", path, "--pred-col", "p_*", "--weight-col", "w", "-q",
                           "--save-state", states[-1], *loss_args)
        assert proc.returncode == 0, proc.stderr
    proc = run_losscli("merge", states[1], states[0], "--format", "json")
    assert proc.returncode == 0, proc.stderr
    merged = {e["label"]: e["value"] for e in json.loads(proc.stdout)["losses"]}
    refs = _classification_refs(y, p.argmax(axis=1), w, 5)
    for arg in losses:
        assert _close(merged[_label(arg)], refs[arg]), arg


def test_bootstrap_interval_is_of_the_metric_itself(binary):
    # the interval's replicates are read from resampled counts with the metric's own
    # formula (not precision/recall/F1's): it lies around the estimate
    p, y, w = binary
    report = losscli.evaluate(predictions=p, targets=y, weights=w, task="binary",
                              losses=["mcc", "npv", "f1"], ci=True, replicates=200)
    for name in ("mcc", "npv", "f1"):
        r = report.result(name)
        assert r.interval["low"] <= r.value <= r.interval["high"], (name, r.interval)
    mcc, f1 = report.result("mcc"), report.result("f1")
    assert not mcc.interval["low"] <= f1.value <= mcc.interval["high"]  # another metric


def test_classification_family_through_the_cli(tmp_path, multiclass, binary):
    p, y, w = multiclass
    frame = pd.DataFrame({f"p_{c}": p[:, c] for c in range(5)})
    frame["target"], frame["w"] = y, w
    path = tmp_path / "mc.csv"
    frame.to_csv(path, index=False)
    refs = _classification_refs(y, p.argmax(axis=1), w, 5)
    args = ["eval", path, "--pred-col", "p_*", "--weight-col", "w", "--chunk-size", "3",
            "--workers", "2", "--format", "json"]
    for arg in refs:
        args += ["--loss", arg]
    proc = run_losscli(*args)
    assert proc.returncode == 0, proc.stderr
    values = {e["label"]: e["value"] for e in json.loads(proc.stdout)["losses"]}
    # a CSV holds the probabilities to the last digit: the argmax, hence the counts, agree
    for arg, value in refs.items():
        assert _close(values[_label(arg)], value), arg
    pb, yb, _ = binary
    bpath = tmp_path / "b.csv"
    pd.DataFrame({"pred": pb, "target": yb}).to_csv(bpath, index=False)
    proc = run_losscli("eval", bpath, "--loss", "specificity", "--loss", "npv", "--format",
                       "json")
    assert proc.returncode == 0, proc.stderr
    values = {e["label"]: e["value"] for e in json.loads(proc.stdout)["losses"]}
    pred = (pb >= 0.5).astype(int)
    assert _close(values["specificity"], skm.recall_score(yb, pred, pos_label=0))
    assert _close(values["npv"], skm.precision_score(yb, pred, pos_label=0))
    # specificity is binary: on multi-class data the message says so, exit 2
    proc = run_losscli("eval", path, "--pred-col", "p_*", "--loss", "specificity")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr.decode()


def test_mcc_is_found_and_listed():
    # the issue: `--loss mcc` suggested "mce"; now it is a loss, and a slip finds it
    proc = run_losscli("losses")
    assert proc.returncode == 0
    out = proc.stdout.decode()
    for name in ("mcc", "balanced_accuracy", "cohen_kappa", "specificity", "npv",
                 "mean_poisson_deviance", "mean_gamma_deviance", "mean_tweedie_deviance",
                 "d2_tweedie", "explained_variance"):
        assert name in out, name
    assert "matthews_corrcoef" in out
    proc = run_losscli("eval", "sample_data/binary.csv", "--loss", "cmc")
    assert proc.returncode == 2 and "Did you mean 'mcc'" in proc.stderr.decode()
    proc = run_losscli("eval", "sample_data/binary.csv", "--loss", "mcc", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    entry = json.loads(proc.stdout)["losses"][0]
    assert entry["name"] == "mcc" and entry["higher_is_better"] is True


# -- top-k accuracy (item 3 of the brief) -------------------------------------------------

@pytest.mark.parametrize("chunk", CHUNKS)
def test_top_k_accuracy_equals_sklearn_with_ties(chunk):
    import warnings

    rng = np.random.default_rng(3)
    n, c = 300, 5
    y = rng.integers(0, c, n)
    scores = np.round(rng.normal(size=(n, c)))  # many tied scores: the tie rule matters
    scores[np.arange(n), y] += 0.5
    probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    w = rng.uniform(0, 2, n)
    w[::7] = 0.0
    for k in (1, 2, 3, 5, 6):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # k ≥ C: sklearn warns that every row is a hit
            want = skm.top_k_accuracy_score(y, scores, k=k, sample_weight=w, labels=range(c))
        for pred, logits in ((scores, True), (probs, False)):
            got = losscli.evaluate(predictions=pred, targets=y.astype(float), weights=w,
                                   losses=[f"top_k_accuracy:k={k}"], from_logits=logits,
                                   chunk_size=chunk, workers=2).losses[0].value
            assert _close(got, want), (k, logits, got, want)


def test_top_k_accuracy_through_the_cli():
    frame = pd.read_csv("sample_data/multiclass.csv")
    probs = frame[[f"p_{c}" for c in range(4)]].to_numpy()
    proc = run_losscli("eval", "sample_data/multiclass.csv", "--pred-col", "p_*",
                       "--weight-col", "weight", "--loss", "top_k_accuracy",
                       "--loss", "top_k_accuracy:k=3", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    values = {e["label"]: e["value"] for e in json.loads(proc.stdout)["losses"]}
    for k, label in ((2, "top_k_accuracy"), (3, "top_k_accuracy(k=3)")):
        want = skm.top_k_accuracy_score(frame["label"], probs, k=k,
                                        sample_weight=frame["weight"], labels=range(4))
        assert _close(values[label], want), label
    proc = run_losscli("eval", "sample_data/multiclass.csv", "--pred-col", "p_*", "--loss",
                       "top_k_accuracy:k=0")
    assert proc.returncode == 2 and "must be >= 1" in proc.stderr.decode()
