"""A naive streaming script: pyarrow's batch readers with their default sizes, numpy per
batch, Python-float running sums. What a user writes in ten minutes without tuning.

    python pyarrow_stream_peer.py regression parquet|csv FILE   -> mse, mae, huber (delta = 1)
"""

import json
import sys

import numpy as np


def batches(fmt: str, path: str):
    if fmt == "parquet":
        import pyarrow.parquet as pq

        yield from pq.ParquetFile(path).iter_batches(columns=["pred", "target"])
    else:
        import pyarrow.csv as pacsv

        yield from pacsv.open_csv(path)


def main() -> None:
    task, fmt, path = sys.argv[1:4]
    assert task == "regression", task
    n, s_mse, s_mae, s_huber = 0, 0.0, 0.0, 0.0
    for batch in batches(fmt, path):
        p = batch.column("pred").to_numpy()
        t = batch.column("target").to_numpy()
        d = p - t
        ad = np.abs(d)
        n += len(d)
        s_mse += float(np.sum(d * d))
        s_mae += float(np.sum(ad))
        s_huber += float(np.sum(np.where(ad < 1.0, 0.5 * d * d, ad - 0.5)))
    print(json.dumps({"mse": s_mse / n, "mae": s_mae / n, "huber": s_huber / n}))


if __name__ == "__main__":
    main()
