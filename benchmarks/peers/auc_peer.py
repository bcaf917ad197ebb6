"""The exact ROC AUC of distinct scores (issue 21) as a user would compute it without losscli:
``p`` (float64 scores, all distinct) against ``y`` (0/1), by ranks.

    python auc_peer.py polars FILE   -> {"roc_auc": ...}: lazy scan, average ranks,
                                        (Σ rank of the positives − P(P+1)/2) / (P·N)
    python auc_peer.py duckdb FILE   -> the same from an integer rank sum with ties at their
                                        mid-rank: 2·rank() + ties − 1 summed as HUGEINT
"""

from __future__ import annotations

import json
import sys


def polars_auc(path: str) -> float:
    import polars as pl

    y = pl.col("y").cast(pl.Int64)
    pos = y.sum()
    neg = pl.len() - pos
    auc = (((pl.col("p").rank("average") * y).sum() - pos * (pos + 1) / 2) / (pos * neg))
    return float(pl.scan_parquet(path).select(auc.alias("roc_auc")).collect().item())


_DUCK = """
WITH r AS (SELECT y, 2 * rank() OVER (ORDER BY p) + count(*) OVER (PARTITION BY p) - 1 AS r2
           FROM read_parquet('{path}'))
SELECT (sum(CASE WHEN y = 1 THEN r2 ELSE 0 END)::HUGEINT
        - sum(y)::HUGEINT * (sum(y) + 1))::DOUBLE
       / (2 * sum(y)::HUGEINT * (count(*) - sum(y)))::DOUBLE AS roc_auc
FROM r
"""


def duckdb_auc(path: str) -> float:
    import duckdb

    quoted = path.replace("'", "''")
    return float(duckdb.connect().execute(_DUCK.format(path=quoted)).fetchone()[0])


def main() -> None:
    tool, path = sys.argv[1:]
    fn = {"polars": polars_auc, "duckdb": duckdb_auc}[tool]
    print(json.dumps({"roc_auc": fn(path)}))


if __name__ == "__main__":
    main()
