"""Issue 19: one label-mapping rule, checked on generated label sets.

Labels of 2–40 classes — words, integer-looking text, unicode, terminal escapes and U+202E,
with shared prefixes and suffixes — and prediction columns in any order, named after their
label (under ``p_``, ``prob_``, a ``_prob`` suffix or nothing) or by class index, in CSV and
Parquet. The test knows which column scores which label; every run either equals
scikit-learn computed with that true mapping (accuracy, log loss, macro f1) or ends with exit
2 and one line on stderr — never a different number with exit 0. Runs in process (the Typer
app) to stay fast; tests/test_labels.py runs the same rules through the real entry point.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

RTOL = 1e-9
TARGET = "truth col"
#: What pyarrow's CSV reader takes for a null (a missing target, not a label).
CSV_NULLS = {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
             "1.#QNAN", "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null"}
ESCAPES = ["\x1b[31m", "\x1b]0;pwn\x07", "\u202e", "\x07", "\x1b[2J"]
WORD = st.text("abcxyzAB019_- .:[]*?", min_size=1, max_size=6)
UNICODE = st.text("éßαβ漢字🙂ĳ\u0301", min_size=1, max_size=4)


def _runner():
    from typer.testing import CliRunner

    from losscli.cli import app

    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"},
                             catch_exceptions=False)

    return invoke


CLI = _runner()


@st.composite
def label_sets(draw) -> list[str]:
    k = draw(st.integers(2, 40))
    style = draw(st.sampled_from(["word", "int", "unicode", "escape"]))
    if style == "int":
        base = [str(v) for v in draw(st.lists(st.integers(-3, 150), min_size=k, max_size=k,
                                              unique=True))]
    else:
        part = UNICODE if style == "unicode" else WORD
        items = st.tuples(part, st.sampled_from(ESCAPES)).map("".join) if style == "escape" \
            else part
        base = draw(st.lists(items, min_size=k, max_size=k, unique=True))
    prefix = draw(st.sampled_from(["", "", "class_", "c", "x-", "\x1b[1m"]))
    suffix = draw(st.sampled_from(["", "", "_v2", "!", "\u202e"]))
    labels = [prefix + b + suffix for b in base]
    # a label pyarrow's CSV reader reads as a null is a missing target, not a label
    return [x for x in labels if x.strip() and x not in CSV_NULLS and x != TARGET] or ["a", "b"]


def csv_distinct(labels: list[str]) -> bool:
    """The labels stay distinct once a CSV reader has typed them: ``0`` and ``00`` (or ``1``
    and ``1.0``) are one number to pyarrow, pandas, polars and DuckDB alike — a CSV file
    carries no type that would keep them apart."""
    def typed(x: str) -> object:
        try:
            return float(x)
        except ValueError:
            return x
    return len({typed(x) for x in labels}) == len(labels)


def _numeric(labels: list[str]) -> bool:
    try:
        [float(x) for x in labels]
    except ValueError:
        return False
    return True


def true_order(labels: list[str]) -> list[str]:
    """The class order the rule promises when columns are named by class index: the labels
    sorted, integer-looking ones by value (as scikit-learn sorts integer labels)."""
    if all(x.lstrip("+-").isdigit() and x.isascii() for x in labels):
        return sorted(labels, key=lambda x: (int(x), x))
    return sorted(labels)


def write(path: Path, columns: dict[str, np.ndarray], fmt: str) -> None:
    table = pa.table({name: pa.array(list(v)) if v.dtype == object else v
                      for name, v in columns.items()})
    if fmt == "csv":
        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path)


def check(run, truth: np.ndarray, proba: np.ndarray, must_succeed: bool) -> None:
    """``run`` equals scikit-learn on class indices ``truth`` and probabilities ``proba``
    (columns in class order), or is exit 2 with one line."""
    event(f"exit {run.exit_code}")
    if run.exit_code != 0:
        err = run.stderr.strip()
        assert run.exit_code == 2, (run.exit_code, run.stderr)
        assert len(err.splitlines()) == 1 and err.startswith("losscli: error: "), err
        assert "Traceback" not in err
        assert not must_succeed or "two ways" in err, err
        return
    doc = json.loads(run.stdout)
    got = {r["label"]: r["value"] for r in doc["losses"]}
    k = proba.shape[1]
    pred = proba.argmax(axis=1)
    want = {
        "accuracy": skm.accuracy_score(truth, pred),
        "cross_entropy": skm.log_loss(truth, proba, labels=list(range(k))),
        "f1": skm.f1_score(truth, pred, average="macro", labels=list(range(k))),
    }
    for name, value in want.items():
        assert np.isclose(got[name], value, rtol=RTOL, atol=1e-12), (name, got[name], value,
                                                                      doc["inputs"])


@settings(max_examples=45, deadline=None, derandomize=True)
@given(labels=label_sets(), naming=st.sampled_from(["p_{}", "prob_{}", "{}", "{}_prob",
                                                    "p_{i}", "{i}", "class{i}", "s{i}_prob"]),
       fmt=st.sampled_from(["csv", "parquet"]), seed=st.integers(0, 2**16))
def test_multiclass_columns_map_to_their_true_labels(labels, naming, fmt, seed):
    assume(fmt != "csv" or csv_distinct(labels))
    rng = np.random.default_rng(seed)
    k = len(labels)
    n = k + int(rng.integers(1, 30))
    truth = np.concatenate([np.arange(k), rng.integers(0, k, n - k)])  # every label appears
    rng.shuffle(truth)
    proba = rng.dirichlet(np.ones(k), n)
    if "{i}" in naming:  # by class index: column i scores the i-th label in sorted order
        order = true_order(labels)
        labels = order  # class j of proba is label order[j]; column j is named j
        names = [naming.format(i=j) for j in range(k)]
    else:
        names = [naming.format(x) for x in labels]
    if len(set(names)) != k or TARGET in names:
        return
    columns = rng.permutation(k)  # the file's column order
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"data.{fmt}"
        write(path, {**{names[j]: proba[:, j] for j in columns},
                     TARGET: np.array(labels, dtype=object)[truth]}, fmt)
        run = CLI("eval", path, *[f"--pred-col={names[j]}" for j in columns],
                  f"--target-col={TARGET}", "-l", "accuracy", "-l", "log_loss",
                  "-l", "f1", "--format", "json", "-q")
    # a CSV column of numbers (or true/false words) is read as such, not as text labels;
    # text labels that are numbers but for some are a column of numbers with a bad value
    numbers = sum(_numeric([x]) for x in labels)
    as_text = (fmt == "parquet" or not (numbers or {x.lower() for x in labels}
                                        <= {"true", "false", "1", "0"}))
    check(run, truth, proba, must_succeed=as_text and numbers in (0, k))


@settings(max_examples=30, deadline=None, derandomize=True)
@given(labels=label_sets(), named=st.booleans(), pos=st.sampled_from([None, 0, 1]),
       fmt=st.sampled_from(["csv", "parquet"]), seed=st.integers(0, 2**16))
def test_binary_column_scores_the_label_it_names(labels, named, pos, fmt, seed):
    """One column: ``p_<label>`` is the probability of that label; ``prob`` is that of
    --pos-label. A --pos-label naming the other label is exit 2, never the complement
    read silently."""
    assume(fmt != "csv" or csv_distinct(labels[:2]))
    a, b = labels[:2]
    if not named and pos is None:
        pos = 0
    scored = a if named else (a, b)[pos]  # the label whose probability the column holds
    rng = np.random.default_rng(seed)
    n = 40
    is_scored = rng.integers(0, 2, n).astype(bool)
    is_scored[:2] = [True, False]
    p = np.round(rng.uniform(0.01, 0.99, n), 3)
    other = b if scored == a else a
    name = f"p_{a}" if named else "prob"
    args = [] if pos is None else ["--pos-label", (a, b)[pos]]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"bin.{fmt}"
        write(path, {name: p, TARGET: np.where(is_scored, scored, other).astype(object)}, fmt)
        run = CLI("eval", path, f"--pred-col={name}", f"--target-col={TARGET}", *args,
                  "-l", "accuracy", "-l", "roc_auc", "-l", "log_loss", "--format", "json",
                  "-q")
    against = named and pos == 1  # --pos-label names the label the column does not score
    event(f"exit {run.exit_code}")
    if run.exit_code != 0:
        err = run.stderr.strip()
        assert run.exit_code == 2 and len(err.splitlines()) == 1, run.stderr
        assert err.startswith("losscli: error: ") and "Traceback" not in err
        if against:
            assert "by its name" in err, err
        else:  # only the CSV reader's typing (mixed numbers and words) may refuse it
            assert fmt == "csv" or (0 < sum(_numeric([x]) for x in (a, b)) < 2), err
        return
    assert not against, "a --pos-label against the column's name was accepted"
    doc = json.loads(run.stdout)
    got = {r["label"]: r["value"] for r in doc["losses"]}
    assert doc["inputs"]["pos_label"] in (scored, _as_read(scored)), doc["inputs"]
    assert np.isclose(got["accuracy"], skm.accuracy_score(is_scored, p >= 0.5), rtol=RTOL)
    assert np.isclose(got["roc_auc"], skm.roc_auc_score(is_scored, p), rtol=RTOL)
    assert np.isclose(got["bce"], skm.log_loss(is_scored, p, labels=[False, True]), rtol=RTOL)


def _as_read(label: str):
    """A label as a CSV reader may have typed it (a number, a boolean)."""
    try:
        value = float(label)
    except ValueError:
        return {"true": True, "false": False}.get(label.lower(), label)
    return int(value) if value.is_integer() else value
