"""DuckDB: one SQL query over read_parquet/read_csv computing every loss in one scan.

    python duckdb_peer.py regression parquet|csv FILE   -> mse, mae, huber (delta = 1)
    python duckdb_peer.py binary parquet|csv FILE       -> bce, brier
"""

import json
import sys

import duckdb

SQL = {
    "regression": """
        SELECT avg(d * d) AS mse,
               avg(abs(d)) AS mae,
               avg(CASE WHEN abs(d) < 1.0 THEN 0.5 * d * d ELSE abs(d) - 0.5 END) AS huber
        FROM (SELECT pred - target AS d FROM {src})""",
    "binary": """
        SELECT -avg(CASE WHEN label = 1 THEN ln(prob) ELSE ln(1.0 - prob) END) AS bce,
               avg((prob - label) * (prob - label)) AS brier
        FROM {src}""",
}


def main() -> None:
    task, fmt, path = sys.argv[1:4]
    reader = {"parquet": "read_parquet", "csv": "read_csv"}[fmt]
    quoted = path.replace("'", "''")
    con = duckdb.connect()
    cur = con.execute(SQL[task].format(src=f"{reader}('{quoted}')"))
    names = [d[0] for d in cur.description]
    row = cur.fetchone()
    print(json.dumps({k: float(v) for k, v in zip(names, row)}))


if __name__ == "__main__":
    main()
