"""DuckDB: one SQL query over read_parquet/read_csv computing every loss in one scan.

    python duckdb_peer.py regression parquet|csv FILE   -> mse, mae, huber (delta = 1)
    python duckdb_peer.py regression hive DIR           -> the same over
                                                           read_parquet('DIR/**/*.parquet',
                                                           hive_partitioning = true)
    python duckdb_peer.py binary parquet|csv FILE       -> bce, brier
    python duckdb_peer.py groups parquet FILE COL       -> mse, mae overall, and per value k of
                                                           COL: "COL=k/mse", "COL=k/mae",
                                                           "COL=k/rows" (one GROUP BY)
    python duckdb_peer.py ci parquet FILE               -> mse, mae, huber and their normal 95 %
                                                           intervals: mean ± z·stddev_samp/√n
"""

import json
import sys
from statistics import NormalDist

import duckdb

HUBER = "CASE WHEN abs(d) < 1.0 THEN 0.5 * d * d ELSE abs(d) - 0.5 END"
SQL = {
    "regression": f"""
        SELECT avg(d * d) AS mse,
               avg(abs(d)) AS mae,
               avg({HUBER}) AS huber
        FROM (SELECT pred - target AS d FROM {{src}})""",
    "binary": """
        SELECT -avg(CASE WHEN label = 1 THEN ln(prob) ELSE ln(1.0 - prob) END) AS bce,
               avg((prob - label) * (prob - label)) AS brier
        FROM {src}""",
    "groups": """
        SELECT {col} AS k, count(*) AS n, sum(d * d) AS mse, sum(abs(d)) AS mae
        FROM (SELECT {col}, pred - target AS d FROM {src})
        GROUP BY {col}""",
    "ci": f"""
        SELECT count(*) AS n,
               avg(d * d) AS mse, stddev_samp(d * d) AS "mse.sd",
               avg(abs(d)) AS mae, stddev_samp(abs(d)) AS "mae.sd",
               avg({HUBER}) AS huber, stddev_samp({HUBER}) AS "huber.sd"
        FROM (SELECT pred - target AS d FROM {{src}})""",
}


def source(fmt: str, path: str) -> str:
    quoted = path.replace("'", "''")
    if fmt == "hive":
        return f"read_parquet('{quoted.rstrip('/')}/**/*.parquet', hive_partitioning = true)"
    reader = {"parquet": "read_parquet", "csv": "read_csv"}[fmt]
    return f"{reader}('{quoted}')"


def main() -> None:
    task, fmt, path, *extra = sys.argv[1:]
    con = duckdb.connect()
    src = source(fmt, path)
    if task == "groups":
        col = extra[0]
        rows = con.execute(SQL["groups"].format(src=src, col=f'"{col}"')).fetchall()
        n = sum(r[1] for r in rows)
        out = {"mse": sum(r[2] for r in rows) / n, "mae": sum(r[3] for r in rows) / n}
        for key, k_rows, mse, mae in rows:
            out.update({f"{col}={key}/rows": float(k_rows), f"{col}={key}/mse": mse / k_rows,
                        f"{col}={key}/mae": mae / k_rows})
        print(json.dumps(out))
        return
    cur = con.execute(SQL[task].format(src=src))
    names = [d[0] for d in cur.description]
    row = dict(zip(names, cur.fetchone()))
    if task == "ci":
        z = NormalDist().inv_cdf(0.975)
        out = {}
        for k in ("mse", "mae", "huber"):
            half = z * row[f"{k}.sd"] / row["n"] ** 0.5
            out.update({k: row[k], f"{k}.low": row[k] - half, f"{k}.high": row[k] + half})
        row = out
    print(json.dumps({k: float(v) for k, v in row.items()}))


if __name__ == "__main__":
    main()
