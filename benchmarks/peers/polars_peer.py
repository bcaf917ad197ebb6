"""polars: a lazy scan and the same expressions, collected once.

    python polars_peer.py regression parquet|csv FILE   -> mse, mae, huber (delta = 1)
    python polars_peer.py regression hive DIR           -> the same over DIR/**/*.parquet
    python polars_peer.py regression s3 URI ENDPOINT    -> the same over URI/**/*.parquet on an
                                                           S3 endpoint (credentials: AWS_* env)
    python polars_peer.py binary parquet|csv FILE       -> bce, brier
    python polars_peer.py groups parquet FILE COL       -> mse, mae overall, and per value k of
                                                           COL: "COL=k/mse", "COL=k/mae",
                                                           "COL=k/rows" (one group_by().agg())
    python polars_peer.py ci parquet FILE               -> mse, mae, huber and their normal 95 %
                                                           intervals "mse.low", "mse.high", ...:
                                                           mean ± z·s/√n (s with ddof 1)
"""

import json
import os
import sys
from statistics import NormalDist

import polars as pl


def scan(fmt: str, path: str, extra: list[str]) -> pl.LazyFrame:
    if fmt == "parquet":
        return pl.scan_parquet(path)
    if fmt == "csv":
        return pl.scan_csv(path)
    if fmt == "hive":
        return pl.scan_parquet(f"{path.rstrip('/')}/**/*.parquet")
    if fmt == "s3":
        options = {"aws_endpoint_url": extra[0], "aws_allow_http": "true",
                   "aws_access_key_id": os.environ["AWS_ACCESS_KEY_ID"],
                   "aws_secret_access_key": os.environ["AWS_SECRET_ACCESS_KEY"],
                   "aws_region": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
        return pl.scan_parquet(f"{path.rstrip('/')}/**/*.parquet", storage_options=options)
    raise ValueError(f"unknown format {fmt!r}")


def regression_rows() -> dict[str, pl.Expr]:
    d = pl.col("pred") - pl.col("target")
    ad = d.abs()
    return {"mse": d * d, "mae": ad,
            "huber": pl.when(ad < 1.0).then(0.5 * d * d).otherwise(ad - 0.5)}


def main() -> None:
    task, fmt, path, *extra = sys.argv[1:]
    lf = scan(fmt, path, extra)
    if task == "regression":
        exprs = {k: e.mean() for k, e in regression_rows().items()}
    elif task == "binary":
        p, y = pl.col("prob"), pl.col("label")
        exprs = {
            "bce": -pl.when(y == 1).then(p.log()).otherwise((1.0 - p).log()).mean(),
            "brier": ((p - y) * (p - y)).mean(),
        }
    elif task == "groups":
        col = extra[0]
        rows = regression_rows()
        per = (lf.group_by(col)
               .agg(pl.len().alias("rows"), rows["mse"].sum().alias("mse"),
                    rows["mae"].sum().alias("mae"))
               .collect())
        out: dict[str, float] = {}
        n = int(per["rows"].sum())
        out["mse"] = float(per["mse"].sum()) / n
        out["mae"] = float(per["mae"].sum()) / n
        for key, k_rows, mse, mae in per.select(col, "rows", "mse", "mae").iter_rows():
            out[f"{col}={key}/rows"] = float(k_rows)
            out[f"{col}={key}/mse"] = mse / k_rows
            out[f"{col}={key}/mae"] = mae / k_rows
        print(json.dumps(out))
        return
    elif task == "ci":
        exprs = {}
        for k, e in regression_rows().items():
            exprs[k] = e.mean()
            exprs[f"{k}.sd"] = e.std(ddof=1)
        exprs["n"] = pl.len()
    else:
        raise ValueError(f"unknown task {task!r}")
    row = lf.select(**exprs).collect().row(0, named=True)
    if task == "ci":
        z = NormalDist().inv_cdf(0.975)
        out = {}
        for k in regression_rows():
            half = z * row[f"{k}.sd"] / row["n"] ** 0.5
            out.update({k: row[k], f"{k}.low": row[k] - half, f"{k}.high": row[k] + half})
        row = out
    print(json.dumps({k: float(v) for k, v in row.items()}))


if __name__ == "__main__":
    main()
