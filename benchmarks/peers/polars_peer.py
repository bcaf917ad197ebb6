"""polars: a lazy scan and the same expressions, collected once.

    python polars_peer.py regression parquet|csv FILE   -> mse, mae, huber (delta = 1)
    python polars_peer.py binary parquet|csv FILE       -> bce, brier
"""

import json
import sys

import polars as pl


def main() -> None:
    task, fmt, path = sys.argv[1:4]
    lf = pl.scan_parquet(path) if fmt == "parquet" else pl.scan_csv(path)
    if task == "regression":
        d = pl.col("pred") - pl.col("target")
        ad = d.abs()
        exprs = {
            "mse": (d * d).mean(),
            "mae": ad.mean(),
            "huber": pl.when(ad < 1.0).then(0.5 * d * d).otherwise(ad - 0.5).mean(),
        }
    else:
        p, y = pl.col("prob"), pl.col("label")
        exprs = {
            "bce": -pl.when(y == 1).then(p.log()).otherwise((1.0 - p).log()).mean(),
            "brier": ((p - y) * (p - y)).mean(),
        }
    row = lf.select(**exprs).collect().row(0, named=True)
    print(json.dumps({k: float(v) for k, v in row.items()}))


if __name__ == "__main__":
    main()
