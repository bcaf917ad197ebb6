"""Regenerate sample_data/ deterministically: python sample_data/make_samples.py

The files are small real examples of every input format, used by the README and the tests:
regression (every format), binary classification (probabilities, logits, 0/1 labels),
multi-class classification (one column per class, a list column, an (N, C) NPY of logits
with 1-D NPY labels), probabilistic regression (mean/variance, rate/count) and triplet
embeddings (list columns, and one (N, D) NPY per role), and targets that are labels (class
names, yes/no).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq

HERE = Path(__file__).parent


def main() -> None:
    rng = np.random.default_rng(20261121)
    n = 1000
    x = rng.uniform(0, 10, n)
    target = np.round(2.0 * x + 1.0 + rng.normal(0, 1.0, n), 4)
    pred = np.round(2.0 * x + 1.0 + rng.normal(0, 0.8, n) + rng.standard_t(3, n) * 0.3, 4)
    weight = np.round(rng.uniform(0.5, 2.0, n), 3)
    table = pa.table({"pred": pred, "target": target, "weight": weight})
    pq.write_table(table, HERE / "regression.parquet", row_group_size=300)
    pacsv.write_csv(table, HERE / "regression.csv")
    feather.write_feather(table, HERE / "regression.feather")
    np.save(HERE / "preds.npy", pred)
    np.save(HERE / "targets.npy", target)
    # A predictions-only file plus a separate truth file with other column names.
    pq.write_table(pa.table({"yhat": pred}), HERE / "model_preds.parquet")
    with open(HERE / "truth.csv", "w") as f:
        f.write("id\ty\tw\n")
        for i, (t, w) in enumerate(zip(target, weight)):
            f.write(f"{i}\t{float(t)!r}\t{float(w)!r}\n")
    (HERE / "truth.csv").rename(HERE / "truth.tsv")
    # Models to compare and gate (drawn after everything above, so those files keep their
    # bytes): model_a is `pred` above; model_b is better, model_c worse and biased.
    pred_b = np.round(2.0 * x + 1.0 + rng.normal(0, 0.6, n), 4)
    pred_c = np.round(2.0 * x + 1.3 + rng.normal(0, 1.1, n), 4)
    pq.write_table(pa.table({"yhat": pred_b}), HERE / "model_b.parquet")
    pq.write_table(
        pa.table({"target": target, "model_a": pred, "model_b": pred_b, "model_c": pred_c}),
        HERE / "models.parquet",
    )
    classification()
    probabilistic()
    forecast()
    triplets()
    write_baseline()
    write_extra_samples()
    several_per_row()
    write_parts()
    keyed()
    ten_vs_seven()
    labels()


def several_per_row() -> None:
    """Multi-label scores (three labels) and a regression with three outputs per row."""
    rng = np.random.default_rng(20261130)
    n = 400
    labels = rng.integers(0, 2, (n, 3))
    score = rng.normal(0.0, 1.2, (n, 3)) + 1.4 * (2 * labels - 1)
    prob = np.round(_sigmoid(score), 4)
    pq.write_table(pa.table({**{f"p_{k}": prob[:, k] for k in range(3)},
                             **{f"y_{k}": labels[:, k] for k in range(3)}}),
                   HERE / "multilabel.parquet")
    target = np.round(rng.normal([10.0, 0.0, 100.0], [1.0, 0.5, 20.0], (n, 3)), 3)
    pred = np.round(target + rng.normal(0.0, [0.5, 0.4, 8.0], (n, 3)), 3)
    pq.write_table(pa.table({**{f"pred_{k}": pred[:, k] for k in range(3)},
                             **{f"target_{k}": target[:, k] for k in range(3)}}),
                   HERE / "multioutput.parquet")


def keyed() -> None:
    """The regression rows with segments (region with a null, channel, day: --group-by)
    and with ids: predictions in another order than the targets (--id-col)."""
    import datetime as dt

    table = pq.read_table(HERE / "regression.parquet")
    n = table.num_rows
    rng = np.random.default_rng(20261201)
    region = np.array(["north", "south", "east", "west", None], dtype=object)[
        rng.choice(5, n, p=[0.3, 0.3, 0.2, 0.15, 0.05])]
    channel = np.array(["web", "app"])[rng.integers(0, 2, n)]
    day = [dt.date(2026, 11, 1 + int(d)) for d in rng.integers(0, 3, n)]
    pred = table.column("pred").to_numpy().copy()
    target = table.column("target").to_numpy()
    pred[region == "east"] = target[region == "east"] + 2.5 * (pred - target)[region == "east"]
    pq.write_table(pa.table({"pred": pred, "target": target,
                             "region": pa.array(region, pa.string()), "channel": channel,
                             "day": pa.array(day, pa.date32())}),
                   HERE / "segments.parquet", row_group_size=250)
    ids = np.array([f"u{i:04d}" for i in rng.permutation(10_000)[:n]])
    order = rng.permutation(n)
    pq.write_table(pa.table({"user_id": ids[order], "pred": pred[order]}),
                   HERE / "preds_by_id.parquet")
    with open(HERE / "truth_by_id.csv", "w") as f:
        f.write("user_id,target\n")
        for i, t in zip(ids, target):
            f.write(f"{i},{float(t)!r}\n")


def ten_vs_seven() -> None:
    """Two classifiers' 0/1 predictions on 171 rows of class 0: a wrong on 10 rows, b on 7
    (the issue's case: not a significant difference, McNemar p = 0.375)."""
    n = 171
    a, b = np.zeros(n), np.zeros(n)
    a[:10] = 1.0
    b[:6] = 1.0
    b[10] = 1.0
    pq.write_table(pa.table({"label": np.zeros(n), "clf_a": a, "clf_b": b}),
                   HERE / "ten_vs_seven.parquet")


def write_baseline() -> None:
    """The committed baseline of the README's `check` example: model_a's report, as
    `losscli check sample_data/regression.parquet --loss ... --save` writes it (with the
    elapsed time zeroed, so regenerating gives the same bytes)."""
    import os

    from losscli import evaluate
    from losscli.gate import save_report

    os.chdir(HERE.parent)  # paths in the report relative to the repository root
    report = evaluate("sample_data/regression.parquet",
                      losses=["mse", "mae", "huber", "r2"])
    report.elapsed_seconds = 0.0
    save_report(report, "sample_data/baseline.json")


def write_extra_samples() -> None:
    """NDJSON of the regression data, and counts (values >= 0, for msle and the like)."""
    table = pq.read_table(HERE / "regression.parquet")
    with open(HERE / "regression.ndjson", "w") as f:
        for row in table.to_pylist():
            f.write(json.dumps(row) + "\n")
    rng = np.random.default_rng(20261122)
    rate = rng.gamma(2.0, 2.0, 200)
    counts = pa.table({"pred": np.round(rate * rng.uniform(0.8, 1.25, 200), 3),
                       "target": rng.poisson(rate).astype(np.int64)})
    pacsv.write_csv(counts, HERE / "counts.csv")


def write_parts() -> None:
    """The regression rows as a hive-partitioned folder of Parquet parts, predictions and
    targets apart (preds_dir/, truth_dir/, paired by relative path; a _SUCCESS marker)."""
    import shutil

    table = pq.read_table(HERE / "regression.parquet")
    for name, columns in (("preds_dir", ["pred", "weight"]), ("truth_dir", ["target"])):
        root = HERE / name
        shutil.rmtree(root, ignore_errors=True)
        start = 0
        for date, part, rows in (("2026-11-01", 0, 300), ("2026-11-01", 1, 200),
                                 ("2026-11-02", 0, 250), ("2026-11-02", 1, 250)):
            folder = root / f"date={date}"
            folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(table.select(columns).slice(start, rows),
                           folder / f"part-{part}.parquet")
            start += rows
        (root / "_SUCCESS").write_bytes(b"")


def labels() -> None:
    """Targets as users write them: a 3-class classifier whose label column holds the class
    names and whose probability columns are named after them (iris_like.csv), and a binary
    one with yes/no labels (yes_no.csv)."""
    rng = np.random.default_rng(20261201)
    names = np.array(["setosa", "versicolor", "virginica"])
    n = 150
    klass = np.repeat(np.arange(3), n // 3)
    rng.shuffle(klass)
    logits = rng.normal(0.0, 1.0, (n, 3))
    logits[np.arange(n), klass] += 2.0
    proba = np.round(_softmax(logits), 4)
    proba[:, 2] = np.round(1.0 - proba[:, 0] - proba[:, 1], 4)  # rows sum to 1
    weight = np.round(rng.uniform(0.5, 2.0, n), 2)
    pacsv.write_csv(pa.table({**{f"p_{c}": proba[:, i] for i, c in enumerate(names)},
                              "species": names[klass], "weight": weight}),
                    HERE / "iris_like.csv")
    n = 200
    true_logit = rng.normal(0.0, 1.5, n)
    label = rng.uniform(size=n) < _sigmoid(true_logit)
    prob = np.round(_sigmoid(true_logit + rng.normal(0.0, 1.0, n)), 3)
    pacsv.write_csv(pa.table({"prob": prob, "churned": np.where(label, "yes", "no"),
                              "weight": np.round(rng.uniform(0.5, 2.0, n), 2)}),
                    HERE / "yes_no.csv")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def classification() -> None:
    """A binary and a 4-class classifier whose scores are informative but noisy."""
    rng = np.random.default_rng(20261122)
    n = 600
    true_logit = rng.normal(0.0, 2.0, n)
    label = (rng.uniform(size=n) < _sigmoid(true_logit)).astype(np.int64)
    logit = np.round(true_logit + rng.normal(0.0, 1.0, n), 6)
    prob = np.round(_sigmoid(logit), 6)
    weight = np.round(rng.uniform(0.5, 2.0, n), 3)
    pacsv.write_csv(pa.table({"prob": prob, "label": label, "weight": weight}),
                    HERE / "binary.csv")
    pq.write_table(pa.table({"prob": prob, "logit": logit, "label": label, "weight": weight}),
                   HERE / "binary.parquet")

    classes = 4
    n = 500
    klass = rng.integers(0, classes, n)
    logits = rng.normal(0.0, 1.0, (n, classes))
    logits[np.arange(n), klass] += 1.5
    logits = np.round(logits, 6)
    proba = np.round(_softmax(logits), 6)
    weight = np.round(rng.uniform(0.5, 2.0, n), 3)
    columns = {f"p_{c}": proba[:, c] for c in range(classes)}
    table = pa.table({**columns, "label": klass, "weight": weight})
    pacsv.write_csv(table, HERE / "multiclass.csv")
    pq.write_table(table, HERE / "multiclass.parquet")
    # A soft target (e.g. a teacher's distribution): the one-hot label, smoothed and jittered.
    soft = 0.8 * np.eye(classes)[klass] + 0.2 * _softmax(rng.normal(0.0, 1.0, (n, classes)))
    soft = np.round(soft / soft.sum(axis=1, keepdims=True), 6)
    pq.write_table(pa.table({
        "probs": pa.array(list(proba), pa.list_(pa.float64())),
        "label": klass,
        "soft": pa.FixedSizeListArray.from_arrays(pa.array(soft.ravel()), classes),
    }), HERE / "multiclass_list.parquet")
    np.save(HERE / "logits.npy", logits)
    np.save(HERE / "labels.npy", klass)


def probabilistic() -> None:
    """Gaussian mean/variance predictions and Poisson rate predictions with their targets."""
    rng = np.random.default_rng(20261123)
    n = 500
    mean = rng.normal(10.0, 3.0, n)
    sigma = rng.uniform(0.5, 2.0, n)
    target = np.round(mean + rng.normal(0.0, 1.0, n) * sigma, 4)
    rate = rng.gamma(2.0, 1.5, n)
    count = rng.poisson(rate * rng.uniform(0.7, 1.3, n))
    pq.write_table(pa.table({
        "pred": np.round(mean, 4), "var": np.round(sigma**2, 4), "target": target,
        "rate": np.round(rate, 4), "count": count,
    }), HERE / "probabilistic.parquet")


def forecast() -> None:
    """A seasonal series (period 7) with a point forecast, a central 90 % interval and the
    seasonal naive forecast y[t − 7] (forecast metrics: coverage, interval_score, mase)."""
    rng = np.random.default_rng(20261207)
    n = 200
    t = np.arange(n + 7)
    level = 50.0 + 10.0 * np.sin(2 * np.pi * t / 7) + 0.05 * t
    series = level + rng.normal(0.0, 2.0, n + 7)
    target, naive = series[7:], series[:-7]
    pred = level[7:] + rng.normal(0.0, 0.5, n)
    half = 1.645 * 2.0 * rng.uniform(0.8, 1.2, n)
    # the 0.1, 0.5 and 0.9 quantiles of a normal forecast (z = 1.2816)
    quantiles = {f"q_{q}": np.round(pred + z * half / 1.645, 4)
                 for q, z in ((0.1, -1.2816), (0.5, 0.0), (0.9, 1.2816))}
    pq.write_table(pa.table({
        "pred": np.round(pred, 4), "target": np.round(target, 4),
        "lower": np.round(pred - half, 4), "upper": np.round(pred + half, 4),
        "naive": np.round(naive, 4), **quantiles,
    }), HERE / "forecast.parquet")


def triplets() -> None:
    """8-dimensional embeddings: positives near their anchor, negatives farther on average."""
    rng = np.random.default_rng(20261124)
    n, dim = 400, 8
    anchor = rng.normal(0.0, 1.0, (n, dim))
    positive = np.round(anchor + rng.normal(0.0, 0.4, (n, dim)), 6)
    negative = np.round(anchor + rng.normal(0.0, 0.9, (n, dim)), 6)
    anchor = np.round(anchor, 6)
    lists = {name: pa.FixedSizeListArray.from_arrays(pa.array(a.ravel()), dim)
             for name, a in (("anchor", anchor), ("positive", positive), ("negative", negative))}
    pq.write_table(pa.table(lists), HERE / "triplets.parquet")
    for name, a in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        np.save(HERE / f"triplet_{name}.npy", a)


if __name__ == "__main__":
    main()
