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
    # other classes: columns named by class index, named otherwise by --classes (columns
    # named after the labels and a --classes in another order are refused, see
    # test_classes_contradicting_column_names)
    generic = write(tmp_path / "generic.parquet",
                    {**{f"p_{i}": p[150:, i] for i in range(3)}, "y": NAMES[y][150:],
                     "w": w[150:]})
    assert cli("eval", generic, *args, "-q", "--classes", "virginica,setosa,"
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
    report = losscli.evaluate(predictions=p, targets=text, weights=w, losses=["bce", "f1"], pos_label="spam")
    assert report.inputs["pos_label"] == "spam"
    assert report["f1"] == losscli.evaluate(predictions=p, targets=y, weights=w, losses=["f1"],
                                            task="binary")["f1"]
    q, k, v = multiclass
    names = NAMES[k]
    by_list = losscli.evaluate(predictions=q, targets=names, weights=v, losses="cross_entropy",
                               classes=list(NAMES))
    assert by_list["cross_entropy"] == losscli.evaluate(predictions=q, targets=k, weights=v,
                                                        losses="cross_entropy")["cross_entropy"]
    with pytest.raises(InputError, match=r"Label '\w+' at row 0 of column 'target' of "
                                         "'targets' is not among --classes"):
        losscli.evaluate(predictions=q, targets=names, losses="cross_entropy", classes=["a", "b", "c"])
    with pytest.raises(UsageError, match="classes takes labels"):
        losscli.evaluate(predictions=q, targets=names, classes="a,,b")


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
    monkeypatch.setattr(labels.first_pass, "MAX_LABELS", 5)  # read where the pass reads it
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


# -- issue 19: one label-mapping rule (items 1 and 5, and the "also found" cases) --------------

def run_json(*args) -> dict:
    """The JSON report of the real entry point, checked to exit 0."""
    proc = run_losscli("eval", *args, "--format", "json", "-q")
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


def twelve_classes(n: int = 120, seed: int = 19) -> tuple[np.ndarray, np.ndarray]:
    """A perfect 12-class model: probabilities (n, 12) and the true class of each row."""
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.arange(12), rng.integers(0, 12, n - 12)])
    p = rng.dirichlet(np.ones(12), n) * 0.5
    p[np.arange(n), y] += 0.5
    return p, y


@pytest.mark.parametrize("prefix", ["", "p_"])
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_twelve_classes_named_after_their_labels(tmp_path, prefix, fmt):
    """Item 1: columns class_0 … class_11 (or p_class_0 …) and labels class_0 … class_11:
    each column scores the label of its name (was: the prefix cut, the labels sorted as
    text and paired with the columns in file order — accuracy 0.17)."""
    p, y = twelve_classes()
    names = np.array([f"class_{k}" for k in range(12)])
    order = np.random.default_rng(3).permutation(12)  # any column order in the file
    path = write(tmp_path / f"twelve.{fmt}",
                 {**{f"{prefix}class_{k}": p[:, k] for k in order}, "label": names[y]})
    doc = run_json(path, "--pred-col", f"{prefix}class_*", "--target-col", "label",
                   "-l", "accuracy", "-l", "log_loss", "-l", "f1")
    got = values(doc)
    assert got["accuracy"] == 1.0
    labels_sorted = sorted(names)  # sklearn's columns: the sorted labels
    want = skm.log_loss(names[y], p[:, [list(names).index(c) for c in labels_sorted]],
                        labels=labels_sorted)
    assert got["cross_entropy"] == pytest.approx(want, rel=RTOL)
    assert got["f1"] == pytest.approx(skm.f1_score(names[y], names[p.argmax(axis=1)],
                                                   average="macro"), rel=RTOL)
    assert doc["inputs"]["classes_from"] == "columns"
    assert doc["inputs"]["class_columns"] == [f"{prefix}{c}" for c in doc["inputs"]["classes"]]
    proc = run_losscli("eval", path, "--pred-col", f"{prefix}class_*", "--target-col", "label",
                       "-l", "accuracy")
    assert proc.returncode == 0 and "not by name" not in proc.stdout.decode()


def test_integer_looking_labels_sort_as_numbers(tmp_path):
    """Labels '1' … '12' (text) under columns named by class index: the i-th column scores
    the i-th label in numeric order (2 before 10), as scikit-learn sorts integer labels;
    the table says the mapping was not by name."""
    p, y = twelve_classes()
    labels_ = np.array([str(k + 1) for k in range(12)])
    path = write(tmp_path / "ints.parquet", {**{f"s{k}": p[:, k] for k in range(12)},
                                              "label": pa.array(list(labels_[y]), pa.string())})
    doc = run_json(path, "--pred-col", "s*", "-l", "accuracy", "-l", "cross_entropy")
    assert doc["inputs"]["classes"] == list(labels_)
    assert doc["inputs"]["classes_from"] == "sorted"
    assert values(doc)["accuracy"] == 1.0
    assert values(doc)["cross_entropy"] == pytest.approx(
        skm.log_loss(y + 1, p, labels=list(range(1, 13))), rel=RTOL)
    table = run_losscli("eval", path, "--pred-col", "s*", "-l", "accuracy")
    assert "(sorted labels: not matched by column name)" in table.stdout.decode()


def test_class_index_columns_in_any_order(tmp_path):
    """Columns p_2 p_0 p_1 score classes 2, 0, 1 (by name), for class-index targets and
    for labels (the sorted labels), not the classes of their positions."""
    p, y = twelve_classes(60)
    p, y = p[:, :3] / p[:, :3].sum(axis=1, keepdims=True), y % 3
    cols = {f"p_{k}": p[:, k] for k in (2, 0, 1)}
    want = skm.log_loss(y, p, labels=[0, 1, 2])
    indices = run_json(write(tmp_path / "i.csv", {**cols, "target": y}), "--pred-col", "p_*",
                       "-l", "cross_entropy")
    assert values(indices)["cross_entropy"] == pytest.approx(want, rel=RTOL)
    text = run_json(write(tmp_path / "t.csv", {**cols, "target": np.array(list("abc"))[y]}),
                    "--pred-col", "p_*", "-l", "cross_entropy")
    assert values(text)["cross_entropy"] == pytest.approx(want, rel=RTOL)
    assert text["inputs"]["class_columns"] == ["p_0", "p_1", "p_2"]


def test_names_neither_labels_nor_class_indices_are_an_error(tmp_path):
    cols = {"p_x": [0.2, 0.7, 0.1], "p_y": [0.5, 0.2, 0.8], "p_z": [0.3, 0.1, 0.1]}
    path = write(tmp_path / "xyz.csv", {**cols, "label": ["a", "b", "c"]})
    assert_error(run_losscli("eval", path, "--pred-col", "p_*"), "do not name the labels",
                 "'p_x', 'p_y', 'p_z'", "'a', 'b', 'c'", "--classes A,B,C")
    ok = run_json(path, "--pred-col", "p_*", "--classes", "c,a,b", "-l", "accuracy")
    scores = np.array([cols["p_x"], cols["p_y"], cols["p_z"]]).T
    assert values(ok)["accuracy"] == pytest.approx(
        skm.accuracy_score(["a", "b", "c"], np.array(["c", "a", "b"])[scores.argmax(axis=1)]))


def test_classes_contradicting_column_names(tmp_path):
    path = write(tmp_path / "abc.csv", {"p_a": [0.2, 0.7, 0.1], "p_b": [0.5, 0.2, 0.8],
                                        "p_c": [0.3, 0.1, 0.1], "label": ["a", "b", "c"]})
    assert_error(run_losscli("eval", path, "--pred-col", "p_*", "--classes", "b,a,c"),
                 "column 'p_a' scores 'b'", "its name says 'a'", "--classes a,b,c")
    scores = np.array([[0.2, 0.5, 0.3], [0.7, 0.2, 0.1], [0.1, 0.8, 0.1]])
    assert values(run_json(path, "--pred-col", "p_*", "--classes", "a,b,c", "-l",
                           "accuracy"))["accuracy"] == pytest.approx(skm.accuracy_score(
                               ["a", "b", "c"], np.array(list("abc"))[scores.argmax(axis=1)]))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_binary_column_names_its_positive_label(tmp_path, binary, fmt):
    """Item 5: p_benign is P(benign). With --pos-label malignant it is an error, not a
    silent P(malignant) (was: accuracy 0.021, roc_auc 0.005); alone, or with --pos-label
    benign, benign is positive — equal to scikit-learn with that mapping."""
    p, y, w = binary
    text = np.where(y == 1, "benign", "malignant")
    path = write(tmp_path / f"b.{fmt}", {"p_benign": p, "label": text, "w": w})
    assert_error(run_losscli("eval", path, "--pred-col", "p_benign", "--pos-label", "malignant"),
                 "'p_benign' is P(benign)", "--pos-label malignant", "drop the option")
    assert_error(run_losscli("eval", path, "--pred-col", "p_benign", "--classes",
                             "benign,malignant"), "'p_benign' is P(benign)")
    args = ["--weight-col", "w", *loss_flags(["accuracy", "roc_auc", "log_loss", "f1"])]
    want = binary_expected(p, y == 1, w, "benign", "malignant")
    for extra in ([], ["--pos-label", "benign"], []):
        doc = run_json(path, *args, *extra)  # the last: p_benign found without --pred-col
        assert doc["inputs"]["pos_label"] == "benign"
        got = values(doc)
        for name in ("accuracy", "roc_auc", "f1"):
            assert got[name] == pytest.approx(want[name], rel=1e-9), name
        assert got["bce"] == pytest.approx(want["bce"], rel=1e-9)


def test_p_no_is_the_probability_of_no(tmp_path, binary):
    """A yes/no pair makes yes positive — unless the column says it scores no."""
    p, y, _ = binary
    path = write(tmp_path / "no.csv", {"p_no": p, "label": np.where(y == 1, "no", "yes")})
    doc = run_json(path, "-l", "roc_auc", "-l", "accuracy")
    assert doc["inputs"]["pos_label"] == "no" and doc["inputs"]["classes_from"] == "columns"
    got = values(doc)
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p), rel=1e-9)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, p >= 0.5), rel=1e-9)


def test_a_lone_p_label_column_is_the_predictions(tmp_path, binary):
    """Also found: columns p_yes and label (yes/no), no --pred-col: p_yes is the
    predictions, yes the positive label (was: "No prediction column found")."""
    p, y, _ = binary
    path = write(tmp_path / "yes.csv", {"p_yes": p, "label": np.where(y == 1, "yes", "no")})
    doc = run_json(path, "-l", "accuracy", "-l", "roc_auc")
    assert doc["inputs"]["predictions"]["column"] == "p_yes"
    assert doc["inputs"]["pos_label"] == "yes"
    assert values(doc)["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p), rel=1e-9)
    several = write(tmp_path / "abc.csv", {"p_a": [0.2, 0.7, 0.1], "p_b": [0.5, 0.2, 0.8],
                                           "p_c": [0.3, 0.1, 0.1], "label": ["b", "a", "b"]})
    doc = run_json(several, "-l", "accuracy")
    assert doc["inputs"]["predictions"]["columns"] == ["p_a", "p_b", "p_c"]
    assert values(doc)["accuracy"] == 1.0


def test_a_threshold_decides_the_binary_task(tmp_path):
    """Also found: --loss zero_one:threshold=0 on raw decision scores with 0/1 targets is
    binary (a threshold decides a class), not refused as regression."""
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 200)
    s = rng.normal(2.0 * y - 1.0, 1.5)
    path = write(tmp_path / "scores.csv", {"score": s, "target": y})
    for threshold in (0.0, 0.7):
        doc = run_json(path, "-l", f"zero_one:threshold={threshold:g}", "-l", "mse")
        assert doc["inputs"]["task"] == "binary" and doc["inputs"]["task_from"] == "losses"
        assert doc["losses"][0]["value"] == pytest.approx(
            skm.zero_one_loss(y, s > threshold), rel=RTOL)


def test_compared_models_map_columns_by_name(tmp_path, multiclass, binary):
    """compare: each model's columns score the labels of their names, whatever their order
    in its file (was: model b read in its file order under model a's classes — accuracy 0
    for the same predictions); a binary model whose column scores the other label is an
    error."""
    p, y, _ = multiclass
    names = NAMES[y]
    a = write(tmp_path / "a.csv", {**{f"p_{c}": p[:, i] for i, c in enumerate(NAMES)},
                                   "y": names})
    b = write(tmp_path / "b.parquet", {**{f"p_{NAMES[i]}": p[:, i] for i in (2, 0, 1)},
                                       "y": names})
    proc = run_losscli("compare", f"a={a}", f"b={b}", "--pred-col", "p_*", "--target-col", "y",
                       "-l", "accuracy", "-l", "cross_entropy", "--format", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    doc = json.loads(proc.stdout)
    want = multiclass_expected(p, names, None, list(NAMES))
    got = {r["label"]: r["values"] for r in doc["losses"]}
    for model in ("a", "b"):
        assert got["accuracy"][model] == pytest.approx(want["accuracy"], rel=RTOL)
        assert got["cross_entropy"][model] == pytest.approx(want["cross_entropy"], rel=RTOL)
    p_bin, y_bin, _ = binary
    yes = write(tmp_path / "yes.csv", {"p_yes": p_bin, "label": np.where(y_bin == 1, "yes", "no")})
    no = write(tmp_path / "no.csv", {"p_no": 1 - p_bin, "label": np.where(y_bin == 1, "yes", "no")})
    assert_error(run_losscli("compare", f"y={yes}", f"n={no}", "-l", "accuracy"),
                 "'p_no' is P(no)", "positive label", "'yes'", "no.csv")


def test_the_mapping_rule():
    """The pure pieces of the rule (losscli.labels): by name, by class index, the order."""
    twelve = [f"class_{k}" for k in range(12)]
    assert labels.match_columns(twelve, twelve[::-1]) == twelve
    assert labels.match_columns(["p_" + c for c in twelve], twelve) == twelve
    assert labels.match_columns(["p_a_x", "p_b_x", "p_c_x"], ["b", "a"]) == ["a", "b", "c"]
    assert labels.match_columns(["p_sa", "p_sb"], ["sa", "sb"]) == ["sa", "sb"]
    assert labels.match_columns(["p_x", "p_y"], ["a", "b"]) is None
    assert labels.match_columns(["p_a", "p_b"], ["a", "b", "c"]) is None  # c has no column
    assert labels.match_columns(["Cat", "Dog"], ["cat", "dog"]) is None  # exactly
    assert labels.match_columns(["p_true", "p_false"], [True, False], "bool") == [True, False]
    assert labels.column_indices(["p_2", "p_0", "p_1"]) == [2, 0, 1]
    assert labels.column_indices(["class0", "class1"]) == [0, 1]
    assert labels.column_indices(["s0_prob", "s1_prob"]) == [0, 1]
    assert labels.column_indices(["p_1", "p_2"]) is None  # not 0 … K-1
    assert labels.column_indices(["p_0", "q_1"]) is None  # no shared prefix
    assert labels.sort_labels(["10", "2", "1", "-3"]) == ["-3", "1", "2", "10"]
    assert labels.sort_labels(["b10", "b2", "a"]) == ["a", "b10", "b2"]
    assert labels.sort_labels(["10", "2", "x"]) == ["10", "2", "x"]
    assert labels.column_label("p_benign", ["benign", "malignant"], "text") == "benign"
    assert labels.column_label("malignant_proba", ["benign", "malignant"], "text") == "malignant"
    assert labels.column_label("prob", ["benign", "malignant"], "text") is None
    assert labels.column_label("p_other", ["benign", "malignant"], "text") is None
    assert labels.column_label("p_0", [0.0, 1.0], "number") == 0.0
    assert labels.column_label("P_FALSE", [False, True], "bool") is False
