"""Targets as users write them (issue 11, item 2): string and boolean label columns,
--pos-label and --classes, through the CLI.

Every value equals the value of the same data with 0/1 or class-index targets (exactly: the
same float targets reach the kernels) and scikit-learn's, computed here on data with tied
scores and sample weights, for CSV, Parquet, NDJSON and Feather, chunk sizes 1 and large,
1 and 2 workers (bit for bit). Every mistake is exit 2 with one line on stderr naming what,
where and the fix.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from sklearn import metrics as skm

import losscli
from losscli import labels
from losscli.errors import InputError, UsageError
from tests.conftest import SAMPLES, run_losscli

RTOL = 1e-12
FORMATS = ("csv", "parquet", "ndjson", "feather")
BINARY_LOSSES = ["bce", "brier", "accuracy", "f1", "precision", "recall", "roc_auc",
                 "average_precision", "zero_one"]
MULTI_LOSSES = ["cross_entropy", "accuracy", "f1", "f1:average=micro", "roc_auc", "brier",
                "zero_one"]


def write(path: Path, columns: dict, fmt: str | None = None) -> str:
    """``columns`` as a file of ``fmt`` (default: the extension's)."""
    fmt = fmt or path.suffix.lstrip(".")
    table = pa.table(columns)
    if fmt == "csv":
        pacsv.write_csv(table, path)
    elif fmt == "parquet":
        pq.write_table(table, path, row_group_size=max(1, table.num_rows // 5))
    elif fmt == "feather":
        feather.write_feather(table, path, chunksize=max(1, table.num_rows // 4))
    else:
        with open(path, "w") as f:
            for row in table.to_pylist():
                f.write(json.dumps(row) + "\n")
    return str(path)


def loss_flags(names: list[str]) -> list[str]:
    return [flag for name in names for flag in ("-l", name)]


def evaluate(cli, *args) -> dict:
    """The JSON report of ``losscli eval ARGS`` (in process), checked to exit 0."""
    result = cli("eval", *args, "--format", "json", "-q")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def values(doc: dict) -> dict[str, float]:
    return {res["label"]: res["value"] for res in doc["losses"]}


def assert_error(proc, *fragments: str) -> str:
    """The real entry point failed with exit 2 and one line on stderr holding
    ``fragments``, nothing on stdout, no traceback."""
    err = proc.stderr.decode()
    assert proc.returncode == 2, (proc.returncode, err)
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("losscli: error: ")
    assert proc.stdout == b""
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


# -- data -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def binary():
    """Scores on 11 levels (ties), weights with zeros, labels 0/1."""
    rng = np.random.default_rng(11)
    n = 240
    y = rng.integers(0, 2, n)
    p = np.round(np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0.0, 1.0), 1)
    w = rng.integers(0, 4, n) + rng.choice([0.0, 0.5], n)
    return p, y, w


@pytest.fixture(scope="module")
def multiclass():
    """Three classes, probabilities on a coarse grid (ties in the AUC), weights."""
    rng = np.random.default_rng(12)
    n = 300
    y = rng.integers(0, 3, n)
    z = np.round(rng.normal(0, 1, (n, 3)) + 1.2 * np.eye(3)[y], 1)
    p = np.round(np.exp(z) / np.exp(z).sum(axis=1, keepdims=True), 3)
    p[:, 2] = np.round(1.0 - p[:, 0] - p[:, 1], 3)
    w = np.round(rng.uniform(0, 3, n), 2)
    return p, y, w


NAMES = np.array(["setosa", "versicolor", "virginica"])


def binary_expected(p, is_pos, w, pos, neg) -> dict[str, float]:
    """scikit-learn on the labels themselves (``pos`` positive)."""
    y = np.where(is_pos, pos, neg)
    pred = np.where(p >= 0.5, pos, neg)
    order = sorted([neg, pos])  # sklearn's columns: the sorted labels
    proba = np.column_stack([1 - p, p] if order[1] == pos else [p, 1 - p])
    return {
        "bce": skm.log_loss(y, proba, labels=order, sample_weight=w),
        "accuracy": skm.accuracy_score(y, pred, sample_weight=w),
        "f1": skm.f1_score(y, pred, pos_label=pos, sample_weight=w),
        "precision": skm.precision_score(y, pred, pos_label=pos, sample_weight=w),
        "recall": skm.recall_score(y, pred, pos_label=pos, sample_weight=w),
        "roc_auc": skm.roc_auc_score(y == pos, p, sample_weight=w),
        "average_precision": skm.average_precision_score(y, p, pos_label=pos, sample_weight=w),
        "brier": skm.brier_score_loss(y, p, pos_label=pos, sample_weight=w),
    }


def multiclass_expected(p, y_names, w, classes) -> dict[str, float]:
    """scikit-learn on class names; ``classes``: the label of each column of ``p``."""
    order = sorted(classes)
    sorted_p = p[:, [list(classes).index(c) for c in order]]
    pred = np.array(classes)[p.argmax(axis=1)]
    return {
        "cross_entropy": skm.log_loss(y_names, sorted_p, labels=order, sample_weight=w),
        "accuracy": skm.accuracy_score(y_names, pred, sample_weight=w),
        "f1": skm.f1_score(y_names, pred, average="macro", labels=order, sample_weight=w),
        "f1(average=micro)": skm.f1_score(y_names, pred, average="micro", sample_weight=w),
        "roc_auc": skm.roc_auc_score(y_names, sorted_p, multi_class="ovr", average="macro",
                                     labels=order, sample_weight=w),
    }


def close(got: dict[str, float], expected: dict[str, float]) -> None:
    """The losses of ``got`` that scikit-learn computed agree with it (at least three)."""
    shared = [name for name in expected if name in got]
    assert len(shared) >= 3, (list(got), list(expected))
    for name in shared:
        assert got[name] == pytest.approx(expected[name], rel=RTOL, abs=1e-14), (
            name, got[name], expected[name])


# -- binary -----------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("pos", "neg", "flags"), [
    ("yes", "no", []),                          # a known pair: no option needed
    ("dog", "cat", ["--pos-label", "dog"]),     # any two labels with --pos-label
    ("No", "Yes", ["--pos-label", "No"]),       # the positive label need not sort last
    ("b", "a", ["--classes", "a,b"]),           # NEGATIVE,POSITIVE
])
def test_binary_string_labels_equal_0_1_labels_and_sklearn(cli, tmp_path, binary, fmt, pos,
                                                           neg, flags):
    p, y, w = binary
    text = write(tmp_path / f"s.{fmt}", {"prob": p, "label": np.where(y == 1, pos, neg),
                                         "w": w})
    numeric = write(tmp_path / f"n.{fmt}", {"prob": p, "label": y, "w": w})
    base = ["--weight-col", "w", *loss_flags(BINARY_LOSSES)]
    for chunk in ("1", "100000"):
        run = [*base, "--chunk-size", chunk]
        want = values(evaluate(cli, numeric, *run))
        for workers in ("1", "2"):
            doc = evaluate(cli, text, *run, *flags, "--workers", workers)
            assert values(doc) == want  # bit for bit: the same float targets
            assert doc["inputs"]["task"] == "binary"
            assert doc["inputs"]["pos_label"] == pos
            assert doc["inputs"]["classes"] == [neg, pos]
        close(want, binary_expected(p, y == 1, w, pos, neg))


@pytest.mark.parametrize(("fmt", "spelling"), [
    ("parquet", None), ("feather", None), ("ndjson", None),   # boolean types
    ("csv", ("True", "False")),                               # pandas' to_csv
    ("csv", ("true", "false")),                               # pyarrow's, and JSON's words
    ("csv", ("TRUE", "FALSE")),
])
def test_boolean_labels_true_is_positive(cli, tmp_path, binary, fmt, spelling):
    p, y, w = binary
    path = tmp_path / f"b.{fmt}"
    if spelling is None:
        write(path, {"prob": p, "label": y == 1, "w": w})
    else:
        rows = "".join(f"{pi!r},{spelling[0] if yi else spelling[1]},{wi!r}\n"
                       for pi, yi, wi in zip(p.tolist(), y, w.tolist()))
        path.write_text("prob,label,w\n" + rows)
    numeric = write(tmp_path / "n.csv", {"prob": p, "label": y, "w": w})
    base = ["--weight-col", "w", *loss_flags(BINARY_LOSSES)]
    doc = evaluate(cli, path, *base)
    assert values(doc) == values(evaluate(cli, numeric, *base))
    assert doc["inputs"]["classes"] == [False, True] and doc["inputs"]["pos_label"] is True
    assert doc["inputs"]["classes_from"] == "boolean"
    flipped = evaluate(cli, path, *base, "--pos-label", "false")  # false is positive now
    assert values(flipped) == values(evaluate(
        cli, write(tmp_path / "f.csv", {"prob": p, "label": 1 - y, "w": w}), *base))


@pytest.mark.parametrize("words", [("1", "0"), ("+1", "-1"), ("Y", "N"), ("positive",
                                                                           "negative")])
def test_known_pairs_need_no_option(cli, tmp_path, binary, words):
    p, y, _ = binary
    path = write(tmp_path / "k.parquet", {"prob": p, "label": np.where(y == 1, *words)})
    doc = evaluate(cli, path, "-l", "bce", "-l", "f1")
    assert doc["inputs"]["pos_label"] == words[0] and doc["inputs"]["classes_from"] == "pair"
    numeric = write(tmp_path / "n.parquet", {"prob": p, "label": y})
    assert values(doc) == values(evaluate(cli, numeric, "-l", "bce", "-l", "f1"))


def test_numeric_labels_named_by_pos_label(cli, tmp_path, binary):
    """Labels 1/2 (or 0/1 with 0 positive) become binary labels with --pos-label."""
    p, y, w = binary
    one_two = write(tmp_path / "12.csv", {"prob": p, "label": y + 1, "w": w})
    numeric = write(tmp_path / "n.csv", {"prob": p, "label": y, "w": w})
    args = ["--weight-col", "w", "-l", "f1", "-l", "roc_auc", "-l", "bce"]
    doc = evaluate(cli, one_two, *args, "--pos-label", "2")
    assert values(doc) == values(evaluate(cli, numeric, *args))
    assert doc["inputs"]["classes"] == [1, 2] and doc["inputs"]["pos_label"] == 2
    zero = evaluate(cli, numeric, *args, "--pos-label", "0")
    flipped = write(tmp_path / "f.csv", {"prob": p, "label": 1 - y, "w": w})
    assert values(zero) == values(evaluate(cli, flipped, *args))


# -- multi-class ------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_class_names_equal_class_indices_and_sklearn(cli, tmp_path, multiclass, fmt):
    p, y, w = multiclass
    cols = {f"p_{c}": p[:, i] for i, c in enumerate(NAMES)}
    text = write(tmp_path / f"s.{fmt}", {**cols, "species": NAMES[y], "w": w})
    numeric = write(tmp_path / f"n.{fmt}", {**cols, "species": y, "w": w})
    base = ["--pred-col", "p_*", "--target-col", "species", "--weight-col", "w",
            *loss_flags(MULTI_LOSSES)]
    for chunk in ("1", "100000"):
        want = values(evaluate(cli, numeric, *base, "--chunk-size", chunk))
        for workers in ("1", "2"):
            doc = evaluate(cli, text, *base, "--chunk-size", chunk, "--workers", workers)
            assert values(doc) == want  # bit for bit
        close(want, multiclass_expected(p, NAMES[y], w, list(NAMES)))
    assert doc["inputs"]["classes"] == list(NAMES)
    assert doc["inputs"]["classes_from"] == "columns"
    assert doc["inputs"]["task_from"] == "labels"


def test_class_order_option_columns_and_sorted(cli, tmp_path, multiclass):
    """The same scores read three ways: --classes, the columns' names, the sorted labels."""
    p, y, w = multiclass
    order = ["virginica", "setosa", "versicolor"]  # the order of the columns in the file
    cols = [list(NAMES).index(c) for c in order]
    named = write(tmp_path / "named.csv", {**{f"{c}_prob": p[:, i] for c, i in zip(order, cols)},
                                           "y": NAMES[y], "w": w})
    plain = write(tmp_path / "plain.csv", {**{f"s{k}": p[:, i] for k, i in enumerate(cols)},
                                           "y": NAMES[y], "w": w})
    losses = ["-l", "cross_entropy", "-l", "f1", "-l", "roc_auc"]
    common = ["--target-col", "y", "--weight-col", "w", *losses]
    by_columns = evaluate(cli, named, "--pred-col", "*_prob", *common)
    assert by_columns["inputs"]["classes"] == order
    assert by_columns["inputs"]["classes_from"] == "columns"
    by_option = evaluate(cli, plain, "--pred-col", "s*", "--classes", ",".join(order), *common)
    assert by_option["inputs"]["classes"] == order
    assert by_option["inputs"]["classes_from"] == "option"
    assert values(by_columns) == values(by_option)
    close(values(by_columns), multiclass_expected(p[:, cols], NAMES[y], w, order))
    # without names or --classes: the sorted labels, so the columns are read as sorted ones
    by_sorted = evaluate(cli, plain, "--pred-col", "s*", *common)
    assert by_sorted["inputs"]["classes"] == sorted(NAMES)
    assert by_sorted["inputs"]["classes_from"] == "sorted"
    close(values(by_sorted), multiclass_expected(p[:, cols], NAMES[y], w, sorted(NAMES)))


def test_more_classes_in_the_model_than_in_the_data(cli, tmp_path, multiclass):
    p, y, _ = multiclass
    keep = y != 2  # no virginica in the data, still a column for it
    cols = {f"p_{c}": p[keep, i] for i, c in enumerate(NAMES)}
    doc = evaluate(cli, write(tmp_path / "m.csv", {**cols, "y": NAMES[y[keep]]}),
                   "--pred-col", "p_*", "--target-col", "y", "-l", "cross_entropy")
    assert doc["inputs"]["classes"] == list(NAMES)
    assert doc["losses"][0]["value"] == pytest.approx(
        skm.log_loss(NAMES[y[keep]], p[keep], labels=list(NAMES)), rel=RTOL)


def test_one_based_classes_read_as_labels(cli, tmp_path, multiclass):
    p, y, w = multiclass
    cols = {f"p_{k}": p[:, k] for k in range(3)}
    one = write(tmp_path / "one.parquet", {**cols, "label": y + 1, "w": w})
    zero = write(tmp_path / "zero.parquet", {**cols, "label": y, "w": w})
    args = ["--pred-col", "p_*", "--weight-col", "w", "-l", "cross_entropy", "-l", "f1"]
    doc = evaluate(cli, one, *args, "--classes", "1,2,3")
    assert values(doc) == values(evaluate(cli, zero, *args))
    assert doc["inputs"]["classes"] == [1, 2, 3]
    # names for class indices: the targets stay indices, the classes get names
    named = evaluate(cli, zero, *args, "--classes", "a,b,c")
    assert values(named) == values(evaluate(cli, zero, *args))
    assert named["inputs"]["classes"] == ["a", "b", "c"]


def test_column_label_rule():
    assert labels.column_labels(["p_setosa", "p_versicolor"]) == ["setosa", "versicolor"]
    assert labels.column_labels(["prob_a", "prob_b", "prob_c"]) == ["a", "b", "c"]
    assert labels.column_labels(["setosa_prob", "virginica_prob"]) == ["setosa", "virginica"]
    assert labels.column_labels(["p_sa", "p_sb"]) == ["sa", "sb"]  # cut at a separator only
    assert labels.column_labels(["cat", "dog"]) == ["cat", "dog"]
    assert labels.column_labels(["score.cat.v2", "score.dog.v2"]) == ["cat", "dog"]
    assert labels.column_labels(["p_a"]) is None
    assert labels.column_labels(["p_", "p_"]) is None


# -- missing labels, groups, states, other commands ------------------------------------------

@pytest.mark.parametrize("fmt", ["csv", "parquet", "ndjson"])
def test_a_null_label_is_a_missing_target(cli, tmp_path, binary, fmt):
    p, y, w = binary
    text = np.where(y == 1, "yes", "no").astype(object)
    text[[3, 50]] = None
    numeric = y.astype(float)
    numeric[[3, 50]] = np.nan
    path = write(tmp_path / f"x.{fmt}", {"prob": p, "label": pa.array(list(text), pa.string()),
                                         "w": w})
    base = ["--weight-col", "w", "-l", "bce", "-l", "f1", "-l", "roc_auc"]
    omit = evaluate(cli, path, *base, "--nan-policy", "omit")
    assert omit["rows_skipped"] == 2
    want = evaluate(cli, write(tmp_path / "n.parquet", {"prob": p, "label": numeric, "w": w}),
                    *base, "--nan-policy", "omit")
    assert values(omit) == values(want)
    proc = run_losscli("eval", path, *base)
    assert_error(proc, "column 'label' of", "first at row 3", "--nan-policy omit")


def test_group_by_the_label_column(cli, tmp_path, multiclass):
    p, y, w = multiclass
    cols = {f"p_{c}": p[:, i] for i, c in enumerate(NAMES)}
    text = write(tmp_path / "g.parquet", {**cols, "species": NAMES[y], "w": w})
    doc = evaluate(cli, text, "--pred-col", "p_*", "--target-col", "species", "--weight-col",
                   "w", "-l", "accuracy", "-l", "cross_entropy", "--group-by", "species")
    by_group = {g["key"]["species"]: g["losses"][0]["value"] for g in doc["groups"]}
    for k, name in enumerate(NAMES):
        rows = y == k
        assert by_group[name] == pytest.approx(
            skm.accuracy_score(y[rows], p[rows].argmax(axis=1), sample_weight=w[rows]), rel=RTOL)


def test_saved_states_merge_to_the_single_run_and_refuse_other_classes(cli, tmp_path,
                                                                       multiclass):
    p, y, w = multiclass
    cols = {f"p_{c}": p[:, i] for i, c in enumerate(NAMES)}
    parts = tmp_path / "parts"
    parts.mkdir()
    write(parts / "a.parquet", {k: v[:150] for k, v in {**cols, "y": NAMES[y], "w": w}.items()})
    write(parts / "b.parquet", {k: v[150:] for k, v in {**cols, "y": NAMES[y], "w": w}.items()})
    args = ["--pred-col", "p_*", "--target-col", "y", "--weight-col", "w", "-l", "f1", "-l",
            "cross_entropy", "--chunk-size", "50"]
    whole = evaluate(cli, parts, *args)
    for name in ("a", "b"):
        assert cli("eval", parts / f"{name}.parquet", *args, "-q", "--save-state",
                   tmp_path / f"{name}.state").exit_code == 0
    merged = cli("merge", tmp_path / "a.state", tmp_path / "b.state", "--format", "json")
    assert merged.exit_code == 0, merged.stderr
    doc = json.loads(merged.stdout)
    assert values(doc) == values(whole)
    assert doc["inputs"]["classes"] == list(NAMES)
    assert cli("eval", parts / "b.parquet", *args, "-q", "--classes", "virginica,setosa,"
               "versicolor", "--save-state", tmp_path / "c.state").exit_code == 0
    proc = run_losscli("merge", tmp_path / "a.state", tmp_path / "c.state")
    assert_error(proc, "different options", "'labels'", "virginica")


def test_check_and_compare_read_labels(cli, tmp_path, binary):
    p, y, _ = binary
    a = write(tmp_path / "a.csv", {"prob": p, "label": np.where(y == 1, "yes", "no")})
    b = write(tmp_path / "b.csv", {"prob": np.round(0.5 * p + 0.25, 3),
                                   "label": np.where(y == 1, "yes", "no")})
    checked = cli("check", a, "-l", "f1", "--min", "f1=0.1", "--format", "json")
    assert checked.exit_code == 0, checked.stderr
    assert json.loads(checked.stdout)["inputs"]["pos_label"] == "yes"
    compared = cli("compare", a, b, "-l", "roc_auc", "-l", "bce")
    assert compared.exit_code == 0, compared.stderr
    assert "positive: yes (vs no)" in compared.stdout


def test_summary_line_and_class_rows_name_the_labels(cli):
    iris = cli("eval", SAMPLES / "iris_like.csv", "--pred-col", "p_*", "--target-col",
               "species", "-l", "f1")
    assert iris.exit_code == 0, iris.stderr
    assert "classes: setosa, versicolor, virginica" in iris.stdout
    assert "class versicolor" in iris.stdout
    churn = cli("eval", SAMPLES / "yes_no.csv", "--target-col", "churned")
    assert churn.exit_code == 0 and "positive: yes (vs no)" in churn.stdout


def test_the_api_takes_labels(binary, multiclass):
    p, y, w = binary
    text = np.where(y == 1, "spam", "ham")
    report = losscli.evaluate(p, text, weights=w, losses=["bce", "f1"], pos_label="spam")
    assert report.inputs["pos_label"] == "spam"
    assert report["f1"] == losscli.evaluate(p, y, weights=w, losses=["f1"], task="binary")["f1"]
    q, k, v = multiclass
    names = NAMES[k]
    by_list = losscli.evaluate(q, names, weights=v, losses="cross_entropy",
                               classes=list(NAMES))
    assert by_list["cross_entropy"] == losscli.evaluate(q, k, weights=v,
                                                        losses="cross_entropy")["cross_entropy"]
    with pytest.raises(InputError, match=r"Label '\w+' at row 0 of column 'target' of "
                                         "'targets' is not among --classes"):
        losscli.evaluate(q, names, losses="cross_entropy", classes=["a", "b", "c"])
    with pytest.raises(UsageError, match="classes takes labels"):
        losscli.evaluate(q, names, classes="a,,b")


def test_workers_and_unit_splits_give_the_same_bits(cli, tmp_path):
    """Many row groups and a folder of CSV parts (units per file), chunk sizes 1 to large."""
    rng = np.random.default_rng(13)
    n = 2000
    y = rng.integers(0, 3, n)
    z = rng.normal(0, 1, (n, 3)) + np.eye(3)[y]
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    cols = {f"p_{c}": p[:, i] for i, c in enumerate(NAMES)}
    path = tmp_path / "many.parquet"
    pq.write_table(pa.table({**cols, "y": NAMES[y]}), path, row_group_size=97)
    folder = tmp_path / "csv"
    folder.mkdir()
    for i in range(4):
        write(folder / f"part-{i}.csv", {k: v[i * 500:(i + 1) * 500]
                                         for k, v in {**cols, "y": NAMES[y]}.items()})
    args = ["--pred-col", "p_*", "--target-col", "y", "-l", "cross_entropy", "-l", "f1", "-l",
            "roc_auc", "-l", "accuracy"]
    for source in (path, folder):
        runs = [values(evaluate(cli, source, *args, "--chunk-size", chunk, "--workers", workers))
                for chunk in ("1", "300") for workers in ("1", "2")]
        assert runs[0] == runs[1] and runs[2] == runs[3]
        assert runs[0] == pytest.approx(runs[2], rel=1e-12)


def test_stdin_with_pos_label_or_classes(binary, multiclass):
    p, y, _ = binary
    rows = "prob,label\n" + "".join(f"{a!r},{'yes' if b else 'no'}\n"
                                     for a, b in zip(p.tolist(), y))
    proc = run_losscli("eval", "-", "--pos-label", "yes", "-l", "f1", "--format", "json",
                       input=rows.encode())
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["losses"][0]["value"] == pytest.approx(skm.f1_score(y, p >= 0.5), rel=RTOL)
    assert doc["inputs"]["pos_label"] == "yes"
    q, k, _ = multiclass
    text = "s0,s1,s2,label\n" + "".join(
        f"{a!r},{b!r},{c!r},{NAMES[i]}\n" for (a, b, c), i in zip(q.tolist(), k))
    proc = run_losscli("eval", "-", "--pred-col", "s*", "--classes", ",".join(NAMES), "-l",
                       "cross_entropy", "--format", "json", input=text.encode())
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["losses"][0]["value"] == pytest.approx(
        skm.log_loss(NAMES[k], q, labels=list(NAMES)), rel=RTOL)


def test_readme_sample_files():
    """The sample files the docs' label commands run on: their labels and columns."""
    iris = pacsv.read_csv(SAMPLES / "iris_like.csv")
    assert sorted(set(iris.column("species").to_pylist())) == list(NAMES)
    assert iris.column_names[:3] == [f"p_{c}" for c in NAMES]
    churn = pacsv.read_csv(SAMPLES / "yes_no.csv")
    assert set(churn.column("churned").to_pylist()) == {"yes", "no"}


# -- mistakes: exit 2, one line, what / where / fix ---------------------------------------------

@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("label-errors")
    three = {"p_a": [0.2, 0.7, 0.1], "p_b": [0.8, 0.3, 0.9]}
    return {
        "cat_dog": write(folder / "cd.csv", {"prob": [0.2, 0.7, 0.4, 0.9],
                                             "label": ["cat", "dog", "dog", "cat"]}),
        "third": write(folder / "three.parquet", {"prob": [0.2, 0.7, 0.4, 0.9],
                                                  "label": ["no", "yes", "maybe", "no"]}),
        "no_column": write(folder / "nc.csv", {**three, "label": ["a", "b", "c"]}),
        "count": write(folder / "count.csv", {"s0": [0.2, 0.7, 0.1], "s1": [0.8, 0.3, 0.9],
                                              "label": ["x", "y", "z"]}),
        "ab": write(folder / "ab.ndjson", {**three, "label": ["a", "b", "a"]}),
        "one_two": write(folder / "12.csv", {"prob": [0.2, 0.7, 0.4, 0.9],
                                             "label": [1, 2, 2, 1]}),
        "one_based": write(folder / "1b.csv", {**three, "label": [1, 2, 2]}),
    }


def test_ambiguous_binary_labels_ask_for_pos_label(files):
    assert_error(run_losscli("eval", files["cat_dog"]), "'cat', 'dog'", "cd.csv",
                 "--pos-label LABEL", "yes/no")


def test_a_third_label_is_named_with_its_row(files):
    assert_error(run_losscli("eval", files["third"], "--pos-label", "yes"), "'maybe'",
                 "row 2", "three.parquet", "third label", "'no' (first at row 0)")
    assert_error(run_losscli("eval", files["third"]), "holds 3", "'maybe'",
                 "one prediction column per class")
    assert_error(run_losscli("eval", files["third"], "--pos-label", "Yes"),
                 "--pos-label Yes is not a label", "case matters")


def test_a_label_without_a_prediction_column(files):
    assert_error(run_losscli("eval", files["no_column"], "--pred-col", "p_*"), "Label 'c'",
                 "row 2", "nc.csv", "no prediction column", "'p_a', 'p_b'", "--classes")


def test_as_many_labels_as_columns_or_classes(files):
    assert_error(run_losscli("eval", files["count"], "--pred-col", "s*"), "holds 3 labels",
                 "2 per row", "count.csv", "--classes A,B,C")
    assert_error(run_losscli("eval", files["ab"], "--pred-col", "p_*", "--classes", "a,b,c"),
                 "--classes gives 3 labels", "2 per row", "one label per prediction column")
    assert_error(run_losscli("eval", files["ab"], "--pred-col", "p_*", "--classes", "a,a"),
                 "names 'a' twice")


def test_an_unknown_label_under_classes_is_named_at_any_worker_count(files):
    lines = {assert_error(run_losscli("eval", files["ab"], "--pred-col", "p_*", "--classes",
                                      "a,z", "--chunk-size", "1", "--workers", workers),
                          "Label 'b'", "row 1", "ab.ndjson", "not among --classes")
             for workers in ("1", "2")}
    assert len(lines) == 1


def test_option_mistakes(files):
    assert_error(run_losscli("eval", files["ab"], "--pred-col", "p_*", "--pos-label", "a"),
                 "--pos-label picks the positive class of binary data", "--classes")
    assert_error(run_losscli("eval", files["cat_dog"], "--classes", "cat,dog,bird"),
                 "two classes", "NEGATIVE,POSITIVE")
    assert_error(run_losscli("eval", files["cat_dog"], "--classes", "cat,dog", "--pos-label",
                             "cat"), "disagree")
    assert_error(run_losscli("eval", files["cat_dog"], "--task", "regression"),
                 "holds labels", "--task regression needs numbers")
    assert_error(run_losscli("eval", files["cat_dog"], "--classes", "cat,"), "none empty")
    assert_error(run_losscli("eval", files["one_two"], "--pos-label", "yes"),
                 "--pos-label 'yes'", "holds numbers")


def test_standard_input_needs_the_classes_first(files):
    data = Path(files["cat_dog"]).read_bytes()
    assert_error(run_losscli("eval", "-", input=data), "standard input is read once",
                 "--pos-label")
    line = assert_error(run_losscli("eval", "-", "--pred-col", "p_*", input=Path(
        files["no_column"]).read_bytes()), "Label 'c'", "no prediction column", "--classes")
    assert "<stdin>" in line


def test_one_based_labels_say_so(files):
    assert_error(run_losscli("eval", files["one_two"], "-l", "bce"), "look 1-based",
                 "--pos-label 2")
    assert_error(run_losscli("eval", files["one_based"], "--pred-col", "p_*"), "look 1-based",
                 "--classes 1,2")
    note = run_losscli("eval", files["one_two"])  # read as regression: a note, not an error
    assert note.returncode == 0 and "--pos-label 2" in note.stderr.decode()


def test_too_many_distinct_labels(tmp_path, monkeypatch):
    monkeypatch.setattr(labels, "MAX_LABELS", 5)
    ids = [f"id{i}" for i in range(20)]
    path = write(tmp_path / "ids.csv", {"p_a": [0.5] * 20, "p_b": [0.5] * 20, "y": ids})
    with pytest.raises(InputError, match=r"more than 5 distinct labels.*--target-col"):
        losscli.evaluate(path, pred_col="p_*", target_col="y")


def test_the_dask_engine_maps_labels_as_the_client_decided(tmp_path, multiclass):
    """The workers reuse the client's class order (no pass of their own): the local bits."""
    distributed = pytest.importorskip("distributed")
    p, y, w = multiclass
    path = write(tmp_path / "d.parquet", {**{f"s{k}": p[:, k] for k in range(3)},
                                          "y": NAMES[y], "w": w})
    args = {"pred_col": "s*", "target_col": "y", "weight_col": "w", "chunk_size": 40,
            "losses": ["cross_entropy", "f1", "roc_auc"]}
    local = losscli.evaluate(path, **args)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None, processes=True) as cluster:
        remote = losscli.evaluate(path, engine="dask", scheduler=cluster.scheduler_address,
                                  **args)
    assert [r.value for r in remote.losses] == [r.value for r in local.losses]
    assert remote.inputs["classes"] == sorted(NAMES) == local.inputs["classes"]


def test_numbers_with_a_bad_value_are_not_labels(tmp_path):
    """A CSV column of numbers with one bad value is read as text by its first block, but it
    is no column of labels: the reader names the value and its row, as before."""
    path = tmp_path / "typo.csv"
    path.write_text("pred,target\n0.5,2\n0.25,abc\n0.75,3\n")
    assert_error(run_losscli("eval", path), "Non-numeric value 'abc'", "column 'target'",
                 "at row 1")
    assert_error(run_losscli("eval", "-", input=path.read_bytes()), "holds text, not numbers",
                 "--pos-label", "one of its first values is not a number")


def test_a_label_with_a_nul_character_is_named_not_a_crash(tmp_path):
    # found by the fuzzer: numpy's == drops a string's trailing NULs
    from losscli.errors import LossCliError

    path = tmp_path / "nul.csv"
    path.write_bytes(b"pred,target\n,\x00\n0.5,\x00\n")
    with pytest.raises(LossCliError):
        losscli.evaluate(str(path))
