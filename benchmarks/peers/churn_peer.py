"""The churn job (issue 21) as a user would compute it without losscli: accuracy, f1, exact
ROC AUC and log loss (bce) of ``p_yes`` against text labels ``yes``/``no`` (threshold 0.5:
``p_yes >= 0.5`` predicts yes), overall and per ``channel``.

    python churn_peer.py TOOL one FILE            -> the values of data.parquet
    python churn_peer.py TOOL join PRED TARGET    -> the same, PRED joined to TARGET on id

TOOL: ``duckdb`` (one SQL query; AUC by an integer rank sum with ties at their mid-rank),
``polars`` (lazy scan, AUC by average ranks), ``pandas`` (read whole, merge on id,
scikit-learn per channel). Prints one flat JSON object: ``accuracy``, ``f1``, ``roc_auc``,
``bce`` and ``channel=web/accuracy`` ..., ``channel=web/rows``.
"""

from __future__ import annotations

import json
import sys

METRICS = ("accuracy", "f1", "roc_auc", "bce")


def _flat(rows: list[dict]) -> dict:
    """Rows of (k or None for overall, rows, metrics...) as the flat object."""
    out: dict = {}
    for r in rows:
        prefix = "" if r["k"] is None else f"channel={r['k']}/"
        if r["k"] is not None:
            out[prefix + "rows"] = int(r["n"])
        for m in METRICS:
            out[prefix + m] = float(r[m])
    return out


# -- DuckDB ---------------------------------------------------------------------------------

_DUCK = """
WITH src AS ({src}),
t AS (SELECT channel, p_yes AS p, CASE WHEN label = 'yes' THEN 1 ELSE 0 END AS y FROM src),
r AS (SELECT channel, p, y,
             2 * rank() OVER (PARTITION BY {part} ORDER BY p)
               + count(*) OVER (PARTITION BY {part}, p) - 1 AS r2
      FROM t)
SELECT {key} AS k, count(*) AS n,
       avg(CASE WHEN (p >= 0.5) = (y = 1) THEN 1.0 ELSE 0.0 END) AS accuracy,
       2.0 * sum(CASE WHEN p >= 0.5 AND y = 1 THEN 1 ELSE 0 END)
         / (sum(CASE WHEN p >= 0.5 THEN 1 ELSE 0 END) + sum(y)) AS f1,
       (sum(CASE WHEN y = 1 THEN r2 ELSE 0 END)::HUGEINT - sum(y)::HUGEINT * (sum(y) + 1))::DOUBLE
         / (2 * sum(y)::HUGEINT * (count(*) - sum(y)))::DOUBLE AS roc_auc,
       -avg(CASE WHEN y = 1 THEN ln(p) ELSE ln(1.0 - p) END) AS bce
FROM r {group}
"""


def duckdb_values(mode: str, files: list[str]) -> dict:
    import duckdb

    if mode == "one":
        src = f"SELECT channel, p_yes, label FROM read_parquet('{files[0]}')"
    else:
        src = (f"SELECT a.channel, a.p_yes, b.label FROM read_parquet('{files[0]}') a "
               f"JOIN read_parquet('{files[1]}') b USING (id)")
    con = duckdb.connect()
    rows = []
    for key, part, group in (("NULL", "0", ""), ("channel", "channel", "GROUP BY channel")):
        cur = con.execute(_DUCK.format(src=src, key=key, part=part, group=group))
        names = [d[0] for d in cur.description]
        rows += [dict(zip(names, row)) for row in cur.fetchall()]
    return _flat(rows)


# -- polars ---------------------------------------------------------------------------------

def polars_values(mode: str, files: list[str]) -> dict:
    import polars as pl

    if mode == "one":
        lf = pl.scan_parquet(files[0]).select("channel", "p_yes", "label")
    else:
        lf = (pl.scan_parquet(files[0]).select("id", "channel", "p_yes")
              .join(pl.scan_parquet(files[1]).select("id", "label"), on="id"))
    y = (pl.col("label") == "yes").cast(pl.Int64)
    lf = lf.with_columns(y=y, hat=(pl.col("p_yes") >= 0.5).cast(pl.Int64))

    def metrics(rank: pl.Expr) -> list[pl.Expr]:
        pos = pl.col("y").sum()
        neg = pl.len() - pos
        tp = (pl.col("y") * pl.col("hat")).sum()
        return [
            pl.len().alias("n"),
            (pl.col("y") == pl.col("hat")).mean().alias("accuracy"),
            (2.0 * tp / (pl.col("hat").sum() + pos)).alias("f1"),
            (((rank * pl.col("y")).sum() - pos * (pos + 1) / 2) / (pos * neg)).alias("roc_auc"),
            (-pl.when(pl.col("y") == 1).then(pl.col("p_yes").log())
             .otherwise((1.0 - pl.col("p_yes")).log()).mean()).alias("bce"),
        ]

    lf = lf.with_columns(rk=pl.col("p_yes").rank("average"),
                         gk=pl.col("p_yes").rank("average").over("channel"))
    overall, groups = pl.collect_all([
        lf.select(metrics(pl.col("rk"))),
        lf.group_by("channel").agg(metrics(pl.col("gk"))),
    ])
    rows = [{"k": None, **overall.row(0, named=True)}]
    rows += [{"k": r.pop("channel"), **r} for r in groups.iter_rows(named=True)]
    return _flat(rows)


# -- pandas + scikit-learn ------------------------------------------------------------------

def pandas_values(mode: str, files: list[str]) -> dict:
    import numpy as np
    import pandas as pd
    from sklearn import metrics as skm

    if mode == "one":
        df = pd.read_parquet(files[0], columns=["channel", "p_yes", "label"])
    else:
        df = pd.read_parquet(files[0], columns=["id", "channel", "p_yes"]).merge(
            pd.read_parquet(files[1], columns=["id", "label"]), on="id")
    y = (df["label"] == "yes").to_numpy()
    p = df["p_yes"].to_numpy()

    def values(k, yy, pp) -> dict:
        hat = pp >= 0.5
        return {"k": k, "n": len(yy), "accuracy": skm.accuracy_score(yy, hat),
                "f1": skm.f1_score(yy, hat), "roc_auc": skm.roc_auc_score(yy, pp),
                "bce": skm.log_loss(yy, pp, labels=[False, True])}

    rows = [values(None, y, p)]
    channel = df["channel"].to_numpy()
    for k in np.unique(channel):
        sel = channel == k
        rows.append(values(k, y[sel], p[sel]))
    return _flat(rows)


def main() -> None:
    tool, mode, *files = sys.argv[1:]
    fn = {"duckdb": duckdb_values, "polars": polars_values, "pandas": pandas_values}[tool]
    print(json.dumps(fn(mode, files)))


if __name__ == "__main__":
    main()
