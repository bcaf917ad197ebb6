"""``losscli compare --confusion``: each model's confusion matrix, read from the exact
counts of its own run (the report of each model), in the table, JSON, Markdown and HTML,
overall and per group. Through the real entry point, against
``sklearn.metrics.confusion_matrix`` per model."""

from __future__ import annotations

import json

import numpy as np
from sklearn.metrics import confusion_matrix

from tests.conftest import run_losscli

LABELS = ["ant", "bee", "b|c"]


def _models(tmp_path, n: int = 120, seed: int = 11):
    """Two models' probability files sharing one text target and a region column."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(LABELS), n)
    region = np.where(rng.random(n) < 0.5, "east", "west")
    truth = np.array(LABELS, dtype=object)[y]
    guesses, paths = {}, []
    for name, boost in (("a", 0.2), ("b", 0.7)):
        p = rng.dirichlet(np.ones(len(LABELS)), n)
        p[np.arange(n), y] += boost
        p /= p.sum(axis=1, keepdims=True)
        path = tmp_path / f"{name}.csv"
        with open(path, "w") as f:
            f.write(",".join(f"p_{c}" for c in LABELS) + ",species,region\n")
            for i in range(n):
                f.write(",".join(repr(float(v)) for v in p[i]) + f",{truth[i]},{region[i]}\n")
        guesses[name] = np.array(LABELS, dtype=object)[p.argmax(axis=1)]
        paths.append(f"{name}={path}")
    return paths, truth, guesses, region


def _args(paths, *more):
    return ("compare", *paths, "--pred-col", "p_*", "--target-col", "species", "-l", "f1",
            "--confusion", *more)


def test_json_holds_each_models_matrix(tmp_path):
    paths, truth, guesses, region = _models(tmp_path)
    proc = run_losscli(*_args(paths, "-g", "region", "-f", "json"))
    assert proc.returncode == 0, proc.stderr.decode()
    doc = json.loads(proc.stdout)
    for model in doc["models"]:
        conf = model["confusion"]
        assert conf["labels"] == LABELS and conf["loss"] == "f1" and not conf["weighted"]
        expected = confusion_matrix(truth, guesses[model["name"]], labels=LABELS)
        assert conf["counts"] == expected.tolist(), model["name"]
    for group in doc["groups"]:
        mask = region == group["key"]["region"]
        for name, guess in guesses.items():
            expected = confusion_matrix(truth[mask], guess[mask], labels=LABELS)
            assert group["confusion"][name]["counts"] == expected.tolist(), (name, group["key"])


def _rows(text: str, title: str, sep: str) -> list[list[int]]:
    """The count rows of the matrix printed under ``title`` (a table or Markdown)."""
    after = text[text.index(title):]
    rows = []
    for line in after.splitlines()[1:]:
        cells = [c.strip() for c in line.strip(sep + " \n").rsplit("|", len(LABELS))]
        if cells and cells[0].replace("\\", "") in LABELS:
            rows.append([int(c) for c in cells[1:]])
            if len(rows) == len(LABELS):
                return rows
    raise AssertionError(f"no matrix under {title!r}")


def test_table_and_markdown_show_each_models_matrix(tmp_path):
    paths, truth, guesses, _ = _models(tmp_path)
    for fmt, sep in (("table", ""), ("markdown", "|")):
        proc = run_losscli(*_args(paths, "-f", fmt))
        assert proc.returncode == 0, proc.stderr.decode()
        text = proc.stdout.decode()
        for name, guess in guesses.items():
            expected = confusion_matrix(truth, guess, labels=LABELS).tolist()
            assert _rows(text, f"confusion matrix — model {name} ", sep) == expected, (fmt, name)
        if fmt == "markdown":
            assert "| b\\|c |" in text  # the label escaped where it is printed


def test_html_draws_each_models_matrix(tmp_path):
    paths, truth, guesses, _ = _models(tmp_path)
    page = tmp_path / "compare.html"
    proc = run_losscli(*_args(paths, "--html", page, "-q"))
    assert proc.returncode == 0, proc.stderr.decode()
    html = page.read_text()
    assert '<section id="confusion">' in html
    for name, guess in guesses.items():
        assert f"confusion matrix — model {name} " in html
        expected = confusion_matrix(truth, guess, labels=LABELS)
        svg = html[html.index(f"confusion matrix — model {name} "):]
        for t, p in [(0, 0), (1, 2), (2, 1)]:
            tip = f"true {LABELS[t]}, predicted {LABELS[p]}: {expected[t, p]}"
            assert tip in svg, (name, tip)


def test_compare_without_a_confusion_metric_is_refused(tmp_path):
    paths, *_ = _models(tmp_path)
    proc = run_losscli("compare", *paths, "--pred-col", "p_*", "--target-col", "species",
                       "-l", "cross_entropy", "--confusion")
    assert proc.returncode == 2 and proc.stdout == b""
    err = proc.stderr.decode()
    assert err.count("\n") == 1 and "Traceback" not in err and "--confusion" in err
