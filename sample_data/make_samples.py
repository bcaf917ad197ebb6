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
    write_extra_samples()


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
