"""The 10-class job (issue 21b) as a user would compute it without losscli: cross-entropy,
accuracy and macro F1 of ten probability columns ``p_<label>`` against a text ``label``
column. Each tool finds the classes from the columns' names (``p_cat`` scores ``cat``), in
column order — which is not the labels' sorted order.

    python tenclass_peer.py TOOL FILE

TOOL: ``duckdb`` (one SQL query: the true label's probability by a CASE lookup, the
predicted label by ``greatest`` + CASE, the confusion matrix by GROUP BY and the three
values from it), ``polars`` (lazy scan, the same lookups as ``max_horizontal`` and
``when``/``coalesce`` expressions, the confusion matrix by ``group_by``), ``pandas`` (read
whole, scikit-learn's ``log_loss``, ``accuracy_score``, ``f1_score(average='macro')`` with
the labels). Prints one flat JSON object: ``cross_entropy``, ``accuracy`` and ``f1``
(macro), the names of losscli's report.

Macro F1 averages 2·tp / (2·tp + fp + fn) over the ten classes (a class never true nor
predicted would count 0, scikit-learn's ``zero_division`` default; with the generated data
every class is both).
"""

from __future__ import annotations

import json
import sys

PREFIX = "p_"


def _labels(columns: list[str]) -> list[str]:
    """The class labels, in column order, from the ``p_<label>`` columns' names."""
    return [c[len(PREFIX):] for c in columns if c.startswith(PREFIX)]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _from_confusion(cells: list[tuple[str, str, int, float]], labels: list[str]) -> dict[str, float]:
    """cross_entropy, accuracy and macro f1 from the confusion matrix: (true label,
    predicted label, rows, Σ ln p_true) per cell."""
    n = sum(c[2] for c in cells)
    true = dict.fromkeys(labels, 0)
    pred = dict.fromkeys(labels, 0)
    tp = dict.fromkeys(labels, 0)
    for y, hat, count, _ in cells:
        true[y] += count
        pred[hat] += count
        if y == hat:
            tp[y] += count
    f1 = [2.0 * tp[k] / (true[k] + pred[k]) if true[k] + pred[k] else 0.0 for k in labels]
    return {"cross_entropy": -sum(c[3] for c in cells) / n,
            "accuracy": sum(tp.values()) / n,
            "f1": sum(f1) / len(labels)}


# -- DuckDB ---------------------------------------------------------------------------------

def duckdb_values(file: str) -> dict[str, float]:
    import duckdb

    con = duckdb.connect()
    src = f"read_parquet({_quote(file)})"
    columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()]
    labels = _labels(columns)
    cols = [_ident(PREFIX + k) for k in labels]
    truth = " ".join(f"WHEN {_quote(k)} THEN {c}" for k, c in zip(labels, cols))
    argmax = " ".join(f"WHEN {c} = m THEN {_quote(k)}" for k, c in zip(labels, cols))
    sql = f"""
    WITH s AS (SELECT label, CASE label {truth} END AS pt, greatest({', '.join(cols)}) AS m,
                      {', '.join(cols)}
               FROM {src})
    SELECT label, CASE {argmax} END AS hat, count(*) AS n, sum(ln(pt)) AS lp
    FROM s GROUP BY ALL
    """
    cells = con.execute(sql).fetchall()
    return _from_confusion(cells, labels)


# -- polars ---------------------------------------------------------------------------------

def polars_values(file: str) -> dict[str, float]:
    import polars as pl

    lf = pl.scan_parquet(file)
    labels = _labels(lf.collect_schema().names())
    cols = [PREFIX + k for k in labels]
    # Row-wise: the first column holding the row's maximum; the true label's column. (A
    # concat_list + list.arg_max / list.get version is ~12x slower.)
    m = pl.max_horizontal(cols)
    hat = pl.coalesce([pl.when(pl.col(c) == m).then(pl.lit(i, pl.UInt32))
                       for i, c in enumerate(cols)])
    truth = pl.coalesce([pl.when(pl.col("label") == k).then(pl.col(c))
                         for k, c in zip(labels, cols)])
    cm = (lf.select(y=pl.col("label"), hat=hat, lp=truth.log())
          .group_by("y", "hat").agg(n=pl.len(), lp=pl.col("lp").sum())
          .collect())
    cells = [(y, labels[hat], n, lp) for y, hat, n, lp in cm.iter_rows()]
    return _from_confusion(cells, labels)


# -- pandas + scikit-learn ------------------------------------------------------------------

def pandas_values(file: str) -> dict[str, float]:
    import numpy as np
    import pandas as pd
    from sklearn import metrics as skm

    df = pd.read_parquet(file)
    labels = _labels(list(df.columns))
    y = df["label"].to_numpy()
    # scikit-learn orders the probability columns by the sorted labels.
    ordered = sorted(labels)
    proba = df[[PREFIX + k for k in ordered]].to_numpy()
    hat = np.asarray(ordered)[proba.argmax(axis=1)]
    return {"cross_entropy": float(skm.log_loss(y, proba, labels=ordered)),
            "accuracy": float(skm.accuracy_score(y, hat)),
            "f1": float(skm.f1_score(y, hat, average="macro", labels=labels))}


def main() -> None:
    tool, file = sys.argv[1:]
    fn = {"duckdb": duckdb_values, "polars": polars_values, "pandas": pandas_values}[tool]
    print(json.dumps(fn(file)))


if __name__ == "__main__":
    main()
