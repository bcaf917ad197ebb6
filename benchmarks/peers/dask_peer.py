"""dask.dataframe on a running cluster: read_parquet of the folder, the same means.

    python dask_peer.py regression hive DIR SCHEDULER   -> mse, mae, huber (delta = 1)

The cluster (SCHEDULER, e.g. tcp://127.0.0.1:8786) is the one losscli --engine dask uses in
the same case; its workers read the files themselves.
"""

import json
import sys

import dask
import dask.dataframe as dd
from distributed import Client


def main() -> None:
    task, fmt, path, scheduler = sys.argv[1:5]
    assert (task, fmt) == ("regression", "hive"), (task, fmt)
    with Client(scheduler, timeout=10):
        df = dd.read_parquet(path, columns=["pred", "target"])
        d = df["pred"] - df["target"]
        ad = d.abs()
        huber = (0.5 * d * d).where(ad < 1.0, ad - 0.5)
        mse, mae, hub = dask.compute((d * d).mean(), ad.mean(), huber.mean())
    print(json.dumps({"mse": float(mse), "mae": float(mae), "huber": float(hub)}))


if __name__ == "__main__":
    main()
