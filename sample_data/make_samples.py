"""Regenerate sample_data/ deterministically: python sample_data/make_samples.py

The files are small real examples of every input format, used by the README and the tests.
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
    write_baseline()
    write_extra_samples()


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


if __name__ == "__main__":
    main()
