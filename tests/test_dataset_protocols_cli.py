"""A folder of files read through the capability protocols of :mod:`losscli.io.base`
(``Releasable``, ``ArrowTyped``, ``JsonTyped``), through the real entry point: a key column
of another kind of type in a later file is one stderr line naming both files (exit 2); files
released between reads (CSV, NDJSON) give the values of the rows read at once."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import run_losscli


def _one_error_line(proc) -> str:
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


def test_a_parquet_key_of_another_type_in_a_later_file_is_refused(tmp_path):
    for i, ids in enumerate(([1, 2], [3.5, 4.5])):
        pq.write_table(pa.table({"pred": [1.0, 2.0], "target": [1.5, 2.0], "id": ids}),
                       tmp_path / f"p{i}.parquet")
    err = _one_error_line(run_losscli("eval", tmp_path, "-l", "mse", "-g", "id", "-f", "json"))
    assert "Column 'id' of" in err and "p1.parquet' holds float64 keys" in err
    assert "p0.parquet' holds int64" in err and "one type in every file" in err


def test_an_ndjson_key_takes_the_first_files_type(tmp_path):
    for i, ids in enumerate(([1, 2], [3.5, 4.5])):
        (tmp_path / f"n{i}.ndjson").write_text("".join(
            json.dumps({"pred": 1.0, "target": 1.0, "id": v}) + "\n" for v in ids))
    err = _one_error_line(run_losscli("eval", tmp_path, "-l", "mse", "-g", "id", "-f", "json"))
    assert "n1.ndjson' holds double 3.5 on line 1, but int64 on the first line" in err


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_released_files_read_every_row_once(tmp_path, fmt):
    rng = np.random.default_rng(7)
    preds, targets, groups = [], [], []
    for i in range(4):  # each file is released after it is opened, and opened again to read
        n = 50 + 10 * i
        p, t = rng.normal(size=n), rng.normal(size=n)
        g = [f"g{(i + j) % 3}" for j in range(n)]
        preds.append(p)
        targets.append(t)
        groups += g
        rows = [{"pred": float(a), "target": float(b), "grp": c} for a, b, c in zip(p, t, g)]
        path = tmp_path / f"part-{i}.{fmt}"
        if fmt == "csv":
            path.write_text("pred,target,grp\n" + "".join(
                f"{r['pred']!r},{r['target']!r},{r['grp']}\n" for r in rows))
        else:
            path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    proc = run_losscli("eval", tmp_path, "-l", "mse", "-g", "grp", "-f", "json",
                       "--chunk-size", "17")
    assert proc.returncode == 0, proc.stderr.decode()
    doc = json.loads(proc.stdout)
    p, t, g = np.concatenate(preds), np.concatenate(targets), np.array(groups)
    assert doc["rows"] == len(p)
    assert doc["losses"][0]["value"] == pytest.approx(np.mean((p - t) ** 2), rel=1e-12)
    by_group = {grp["key"]["grp"]: grp["losses"][0]["value"] for grp in doc["groups"]}
    for key in ("g0", "g1", "g2"):
        mask = g == key
        assert by_group[key] == pytest.approx(np.mean((p[mask] - t[mask]) ** 2), rel=1e-12)
