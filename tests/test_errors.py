"""Every bad input exits 2 with one line on stderr saying what, where and how to fix it."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import run_losscli


def assert_input_error(result, *fragments: str) -> str:
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    err = result.stderr
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("losscli: error: ")
    assert result.stdout == ""
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@pytest.fixture
def csv_file(tmp_path):
    def make(text: str, name: str = "d.csv"):
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return make


def test_missing_file(cli):
    assert_input_error(cli("eval", "nope.parquet"), "File not found: 'nope.parquet'")


def test_directory_without_data_files(cli, tmp_path):
    # A folder is an input of many files (issue 12); one without data files says so.
    (tmp_path / "notes.txt").write_text("x")
    assert_input_error(cli("eval", str(tmp_path)), "No data files in", "looked for")


def test_unknown_extension(cli, tmp_path):
    (tmp_path / "x.dat").write_text("1")
    assert_input_error(cli("eval", str(tmp_path / "x.dat")), "Cannot tell the format",
                       "--format-in")


@pytest.mark.parametrize("name", ["bad.parquet", "bad.npy", "bad.feather"])
def test_corrupt_binary_files(cli, tmp_path, name):
    (tmp_path / name).write_bytes(b"this is not a real file at all" * 10)
    assert_input_error(cli("eval", str(tmp_path / name), "--targets", str(tmp_path / name)),
                       "Cannot read", name)


def test_truncated_parquet(cli, tmp_path):
    pq.write_table(pa.table({"pred": np.arange(1000.0), "target": np.zeros(1000)}),
                   tmp_path / "t.parquet")
    data = (tmp_path / "t.parquet").read_bytes()
    (tmp_path / "cut.parquet").write_bytes(data[: len(data) // 2])
    assert_input_error(cli("eval", str(tmp_path / "cut.parquet")), "cut.parquet")


def test_missing_column_lists_existing_ones(cli, csv_file):
    path = csv_file("pred,target\n1,2\n")
    assert_input_error(cli("eval", path, "--target-col", "trget"), "No column 'trget'",
                       "columns are: pred, target", "Did you mean 'target'?")


def test_non_numeric_value_names_column_and_line(cli, csv_file):
    path = csv_file("pred,target\n1,2\n3,abc\n")
    assert_input_error(cli("eval", path), "Non-numeric value 'abc'", "column 'target'",
                       "at row 1 (line 3 of the file)")


def test_non_numeric_parquet_column(cli, tmp_path):
    pq.write_table(pa.table({"pred": ["a", "b"], "target": [1.0, 2.0]}), tmp_path / "s.parquet")
    assert_input_error(cli("eval", str(tmp_path / "s.parquet")), "Column 'pred'",
                       "type string", "expected numbers")


def test_length_mismatch(cli, samples, tmp_path):
    np.save(tmp_path / "t.npy", np.zeros(10))
    assert_input_error(cli("eval", str(samples / "preds.npy"), "--targets", str(tmp_path / "t.npy")),
                       "has 1000 rows but", "has 10 rows")


def test_empty_input(cli, csv_file):
    assert_input_error(cli("eval", csv_file("pred,target\n")), "no data rows")
    assert_input_error(cli("eval", csv_file("", "empty.csv")), "empty.csv", "empty")


def test_nan_under_raise_counts_and_names_first_row(cli, csv_file):
    path = csv_file("pred,target\n1,2\nnan,2\n3,\n4,inf\n5,5\nnan,1\n")
    line = assert_input_error(cli("eval", path, "--chunk-size", "2"),
                              "column 'pred'", "2 NaN/inf values", "first at row 1",
                              "--nan-policy omit")
    assert "2 more in other columns" in line


def test_nan_omit_and_propagate(cli, csv_file):
    import json

    path = csv_file("pred,target\n1,2\nnan,2\n3,\n5,5\n")
    out = json.loads(cli("eval", path, "--nan-policy", "omit", "-l", "mae", "-f", "json").stdout)
    assert out["rows"] == 2 and out["rows_skipped"] == 2
    assert out["losses"][0]["value"] == 0.5
    out = json.loads(cli("eval", path, "--nan-policy", "propagate", "-l", "mae", "-f",
                         "json").stdout)
    assert out["losses"][0]["value"] is None  # NaN is not JSON: null


def test_out_of_domain_values(cli, csv_file):
    path = csv_file("pred,target\n1,2\n-1.5,2\n")
    assert_input_error(cli("eval", path, "--loss", "msle"), "msle needs values > -1",
                       "column 'pred'", "row 1", "-1.5")


def test_unknown_loss_suggests(cli, samples):
    assert_input_error(cli("eval", str(samples / "regression.csv"), "--loss", "hubr"),
                       "Unknown loss 'hubr'", "Did you mean 'huber'?", "losscli losses")


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--loss", "huber", "--delta", "-1"], ["'delta'", "> 0", "-1"]),
        (["--loss", "huber:delta=abc"], ["must be a number", "abc"]),
        (["--loss", "quantile:quantile=1.5"], ["<= 1"]),
        (["--loss", "huber:dleta=1"], ["no parameter 'dleta'", "Did you mean 'delta'?"]),
        (["--loss", "huber:delta"], ["name=value"]),
        (["--loss", "mse", "--delta", "2"], ["--delta 2.0 is not a parameter of any selected",
                                             "huber"]),
        (["--loss", "rmse", "--reduction", "sum"], ["rmse has no per-row value"]),
        (["--loss", "r2", "--loss", "mse", "--reduction", "none"], ["r2 has no per-row"]),
        (["--loss", "huber", "--loss", "huber_loss"], ["same as"]),
        (["--loss", "mse", "--output", "x.csv"], ["--reduction none"]),
    ],
)
def test_bad_options(cli, samples, args, fragments):
    assert_input_error(cli("eval", str(samples / "regression.csv"), *args), *fragments)


def test_negative_and_zero_weights(cli, csv_file):
    path = csv_file("pred,target,w\n1,2,1\n2,2,-3\n")
    assert_input_error(cli("eval", path, "--weight-col", "w"), "Negative sample weight -3.0",
                       "column 'w'", "row 1")
    path = csv_file("pred,target,w\n1,2,0\n2,2,0\n", "z.csv")
    assert_input_error(cli("eval", path, "--weight-col", "w"), "weights sum to 0")


def test_npy_needs_targets(cli, samples):
    assert_input_error(cli("eval", str(samples / "preds.npy")), "--targets FILE")


def test_real_process_error_has_no_traceback(samples):
    proc = run_losscli("eval", samples / "regression.csv", "--loss", "nosuchloss")
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert proc.stderr.decode().count("\n") == 1 and b"Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["eval", "sample_data/regression.csv", "--reduction", "bogus"], "'bogus' is not one of"),
        (["eval"], "No data on standard input"),  # no FILE: stdin (empty here) is read
        (["evl", "x"], "Did you mean 'eval'?"),
        (["eval", "sample_data/regression.csv", "--chunk-size", "0"], "--chunk-size"),
    ],
)
def test_usage_errors_are_one_line_too(args, fragment):
    proc = run_losscli(*args, input=b"")
    assert proc.returncode == 2 and proc.stdout == b""
    err = proc.stderr.decode()
    assert err.count("\n") == 1 and err.startswith("losscli: error: ") and fragment in err
    assert "--help" in err
