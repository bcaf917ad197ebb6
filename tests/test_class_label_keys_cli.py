"""Per-class values in the JSON report are keyed by the class labels as read (not by class
index) whenever the target holds labels; the label is escaped only where it is printed
(the Markdown cell), never in the JSON. Through the real entry point, against
scikit-learn's per-class scores."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_score, roc_auc_score

from tests.conftest import run_losscli

LABELS = ["ant", "bee", "b|c"]  # a label with a Markdown pipe: raw in JSON, escaped in Markdown


def _write(path, n: int = 150, seed: int = 3):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(LABELS), n)
    p = rng.dirichlet(np.ones(len(LABELS)), n)
    p[np.arange(n), y] += 0.4
    p /= p.sum(axis=1, keepdims=True)
    region = np.where(rng.random(n) < 0.5, "east", "west")
    with open(path, "w") as f:
        f.write(",".join(f"p_{c}" for c in LABELS) + ",species,region\n")
        for i in range(n):
            f.write(",".join(repr(float(v)) for v in p[i]) + f",{LABELS[y[i]]},{region[i]}\n")
    truth = np.array(LABELS, dtype=object)[y]
    guess = np.array(LABELS, dtype=object)[p.argmax(axis=1)]
    return truth, guess, p, region


def test_per_class_is_keyed_by_label_in_json(tmp_path):
    path = tmp_path / "labels.csv"
    truth, guess, p, region = _write(path)
    proc = run_losscli("eval", path, "--pred-col", "p_*", "--target-col", "species", "-l", "f1",
                       "-l", "precision", "-l", "roc_auc", "-g", "region", "-f", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    doc = json.loads(proc.stdout)
    assert doc["inputs"]["classes"] == LABELS
    by_name = {r["name"]: r for r in doc["losses"]}
    expected = {
        "f1": f1_score(truth, guess, labels=LABELS, average=None),
        "precision": precision_score(truth, guess, labels=LABELS, average=None),
        "roc_auc": [roc_auc_score(truth == c, p[:, i]) for i, c in enumerate(LABELS)],
    }
    for name, values in expected.items():
        per_class = by_name[name]["details"]["per_class"]
        assert list(per_class) == LABELS, name  # the labels as read, in class order
        assert [per_class[c] for c in LABELS] == pytest.approx(list(values), rel=1e-12)
    for group in doc["groups"]:  # the groups' details too
        mask = region == group["key"]["region"]
        f1 = {r["name"]: r for r in group["losses"]}["f1"]["details"]["per_class"]
        assert list(f1) == LABELS
        assert [f1[c] for c in LABELS] == pytest.approx(
            list(f1_score(truth[mask], guess[mask], labels=LABELS, average=None)), rel=1e-12)


def test_the_label_is_escaped_only_where_it_is_printed(tmp_path):
    path = tmp_path / "labels.csv"
    _write(path)
    args = ("eval", path, "--pred-col", "p_*", "--target-col", "species", "-l", "f1")
    markdown = run_losscli(*args, "-f", "markdown")
    assert markdown.returncode == 0, markdown.stderr.decode()
    assert "| ↳ class b\\|c |" in markdown.stdout.decode()
    ndjson = run_losscli(*args, "-f", "ndjson")
    assert "b|c" in json.loads(ndjson.stdout.splitlines()[0])["details"]["per_class"]
