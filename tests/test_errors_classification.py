"""Every new input or usage error (classification, multi-column inputs, extra roles) exits 2
with one line on stderr saying what, where (file, column, row) and how to fix it."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from losscli.registry import all_losses
from tests.conftest import SAMPLES, run_losscli
from tests.test_errors import assert_input_error


@pytest.fixture
def csv(tmp_path):
    def make(name: str, **columns):
        path = tmp_path / name
        pacsv.write_csv(pa.table(columns), path)
        return str(path)

    return make


def test_probability_out_of_range_suggests_from_logits(cli, csv):
    path = csv("p.csv", prob=[0.2, 1.5, 0.4], label=[0, 1, 1])
    assert_input_error(cli("eval", path, "--loss", "bce"),
                       "bce needs probabilities in [0, 1]", "column 'prob' of", "row 1 has 1.5",
                       "pass --from-logits")


def test_logits_without_from_logits_name_the_column_of_the_array(cli):
    assert_input_error(cli("eval", SAMPLES / "logits.npy", "--targets", SAMPLES / "labels.npy"),
                       "cross_entropy needs probabilities in [0, 1]", "column 0 of",
                       "logits.npy", "row 0", "pass --from-logits")


def test_rows_not_summing_to_one(cli, csv):
    path = csv("s.csv", p_0=[0.2, 0.5], p_1=[0.8, 0.6], label=[0, 1])
    assert_input_error(cli("eval", path, "--pred-col", "p_*"),
                       "summing to 1", "columns 'p_0', 'p_1' of", "row 1 has [0.5, 0.6] (sum 1.1)",
                       "pass --from-logits")


def test_label_outside_0_1(cli, csv):
    path = csv("l.csv", prob=[0.2, 0.5, 0.4], label=[0, 2, 1])
    assert_input_error(cli("eval", path, "--loss", "bce", "--loss", "brier"),
                       "bce needs labels 0/1 or -1/1", "column 'label' of", "row 1 has 2.0",
                       "--pred-col 'p_*'")


def test_labels_mixing_0_and_minus_1_across_chunks(cli, csv):
    path = csv("m.csv", prob=[0.2, 0.5, 0.4, 0.7], label=[0, 1, 1, -1])
    assert_input_error(cli("eval", path, "--loss", "hinge", "--chunk-size", "2"),
                       "not both 0 and -1", "row 3 has -1.0")


@pytest.mark.parametrize(("label", "shown"), [(2, "2.0"), (0.5, "0.5"), (-1, "-1.0")])
def test_class_index_out_of_range_or_fractional(cli, csv, label, shown):
    path = csv("c.csv", p_0=[0.2, 0.5], p_1=[0.8, 0.5], label=[0, label])
    assert_input_error(cli("eval", path, "--pred-col", "p_*", "--loss", "cross_entropy"),
                       "class indices that are integers in [0, 2)", f"row 1 has {shown}",
                       "check --pred-col")


def test_negative_or_unnormalised_target_distribution(cli, csv):
    path = csv("d.csv", p_0=[0.2, 0.5], p_1=[0.8, 0.5], q_0=[1.2, 0.5], q_1=[-0.2, 0.5])
    assert_input_error(cli("eval", path, "--pred-col", "p_*", "--target-col", "q_*",
                           "--loss", "kl_div"),
                       "target distributions with entries >= 0", "column 'q_1' of",
                       "row 0 has -0.2")
    path = csv("e.csv", p_0=[0.2, 0.5], p_1=[0.8, 0.5], q_0=[0.9, 0.5], q_1=[0.2, 0.5])
    assert_input_error(cli("eval", path, "--pred-col", "p_*", "--target-col", "q_*",
                           "--loss", "js_div"), "target distributions summing to 1", "row 0")


def test_target_width_differs_from_prediction_width(cli, csv):
    path = csv("w.csv", p_0=[0.2], p_1=[0.8], q_0=[1.0], q_1=[0.0], q_2=[0.0])
    assert_input_error(cli("eval", path, "--pred-col", "p_*", "--target-col", "q_*"),
                       "2 values per row", "targets have 3", "same 2 classes")


def test_ragged_list_column(cli, tmp_path):
    pq.write_table(pa.table({"probs": pa.array([[0.5, 0.5], [0.2, 0.3, 0.5]]),
                             "label": [0, 1]}), tmp_path / "r.parquet")
    assert_input_error(cli("eval", tmp_path / "r.parquet"),
                       "Column 'probs' of", "holds lists of 2 values, but row 1 has 3")


def test_list_column_mixed_with_scalar_columns(cli, tmp_path):
    pq.write_table(pa.table({"probs": pa.array([[0.5, 0.5]]), "p_x": [0.1], "label": [0]}),
                   tmp_path / "x.parquet")
    assert_input_error(cli("eval", tmp_path / "x.parquet", "--pred-col", "probs",
                           "--pred-col", "p_x"), "holds several values per row",
                       "cannot be combined")


def test_list_of_strings_is_not_numbers(cli, tmp_path):
    pq.write_table(pa.table({"probs": pa.array([["a", "b"]]), "label": [0]}),
                   tmp_path / "s.parquet")
    assert_input_error(cli("eval", tmp_path / "s.parquet"), "has type list<", "string",
                       "expected numbers")


def test_glob_matching_no_column(cli):
    assert_input_error(cli("eval", SAMPLES / "multiclass.parquet", "--pred-col", "q_*"),
                       "No column matches 'q_*' (--pred-col)", "its columns are: p_0")


def test_npy_with_three_dimensions(cli, tmp_path):
    np.save(tmp_path / "cube.npy", np.zeros((3, 2, 2)))
    np.save(tmp_path / "t.npy", np.zeros(3))
    assert_input_error(cli("eval", tmp_path / "cube.npy", "--targets", tmp_path / "t.npy"),
                       "shape (3, 2, 2)", "2-D (rows, values)")


def test_loss_that_does_not_fit_the_shape(cli):
    assert_input_error(cli("eval", SAMPLES / "multiclass.parquet", "--pred-col", "p_*",
                           "--loss", "mse"), "mse does not apply to multiclass inputs",
                       "losses for multiclass: ")
    assert_input_error(cli("eval", SAMPLES / "binary.csv", "--loss", "cross_entropy"),
                       "cross_entropy needs one prediction per class", "column 'prob'",
                       "use bce")
    assert_input_error(cli("eval", SAMPLES / "regression.csv", "--task", "multiclass"),
                       "--task multiclass needs one prediction per class")


def test_losses_of_different_tasks(cli):
    assert_input_error(cli("eval", SAMPLES / "probabilistic.parquet", "--loss", "gaussian_nll",
                           "--loss", "bce"), "do not fit one task",
                       "regression: gaussian_nll; binary: bce")


def test_unknown_task():
    # an option value Typer rejects: one line through the real entry point
    proc = run_losscli("eval", "sample_data/regression.csv", "--task", "ranking")
    assert proc.returncode == 2 and proc.stdout == b""
    err = proc.stderr.decode()
    assert err.count("\n") == 1 and "'ranking' is not one of" in err and "multiclass" in err


def test_threshold_without_a_binary_zero_one(cli):
    assert_input_error(cli("eval", SAMPLES / "regression.csv", "--threshold", "0.3"),
                       "--threshold 0.3 is not a parameter of any selected loss (mse, rmse, mae)",
                       "It applies to: " + ", ".join(sorted(
                           s.name for s in all_losses().values() if s.param("threshold"))))
    assert_input_error(cli("eval", SAMPLES / "binary.csv", "--loss", "bce", "--threshold", "0.3"),
                       "not a parameter of any selected loss (bce)")
    # a threshold makes the task binary (issue 19): real-valued targets are then refused
    assert_input_error(cli("eval", SAMPLES / "regression.csv", "-l", "zero_one:threshold=0.3"),
                       "zero_one needs labels 0/1 or -1/1", "--task regression")


def test_tolerance_on_labels(cli):
    assert_input_error(cli("eval", SAMPLES / "binary.csv", "--loss", "zero_one:tolerance=0.1"),
                       "tolerance applies to regression only", "--task regression")


def test_role_options_without_the_loss_that_reads_them(cli):
    assert_input_error(cli("eval", SAMPLES / "regression.csv", "--var-col", "weight"),
                       "--var-col is read only by gaussian_nll", "add --loss gaussian_nll")
    assert_input_error(cli("eval", SAMPLES / "regression.csv", "--loss", "mse", "--positive",
                           SAMPLES / "triplet_positive.npy"), "--positive is read only by triplet")
    assert_input_error(cli("eval", SAMPLES / "triplets.parquet", "--targets",
                           SAMPLES / "labels.npy"), "triplet reads no targets")


def test_missing_roles(cli, tmp_path):
    assert_input_error(cli("eval", SAMPLES / "triplet_anchor.npy", "--loss", "triplet"),
                       "holds one array (the anchors)", "--positive FILE")
    assert_input_error(cli("eval", SAMPLES / "regression.csv", "--loss", "gaussian_nll"),
                       "No variance column found", "--var-col", "--var")
    pq.write_table(pa.table({"pred": [1.0], "target": [1.0], "var": [-0.5]}),
                   tmp_path / "v.parquet")
    assert_input_error(cli("eval", tmp_path / "v.parquet", "--loss", "gaussian_nll"),
                       "gaussian_nll needs variances >= 0", "column 'var'", "row 0 has -0.5")


def test_negative_rates_and_counts(cli, tmp_path):
    pq.write_table(pa.table({"pred": [1.0, -2.0], "target": [1.0, 2.0]}), tmp_path / "r.parquet")
    assert_input_error(cli("eval", tmp_path / "r.parquet", "--loss", "poisson_nll"),
                       "poisson_nll needs rates >= 0", "row 1 has -2.0", "pass --from-logits")
    pq.write_table(pa.table({"pred": [1.0, 2.0], "target": [1.0, -2.0]}), tmp_path / "c.parquet")
    assert_input_error(cli("eval", tmp_path / "c.parquet", "--loss", "poisson_nll"),
                       "poisson_nll needs counts >= 0", "row 1 has -2.0")


def test_embedding_lengths_differ(cli, tmp_path):
    pq.write_table(pa.table({"anchor": pa.array([[0.0, 1.0]]), "positive": pa.array([[0.0, 1.0, 2.0]]),
                             "negative": pa.array([[0.0, 1.0]])}), tmp_path / "d.parquet")
    assert_input_error(cli("eval", tmp_path / "d.parquet"), "same length",
                       "positive: 3 values per row")


@pytest.mark.parametrize(("loss", "fragment"), [
    ("triplet:swap=maybe", "must be true or false, got 'maybe'"),
    ("multi_margin:p=3", "must be >= 1 and <= 2, got '3'"),
    ("focal:gamma=-1", "must be >= 0"),
    ("cross_entropy:label_smoothing=1.5", "must be >= 0 and <= 1"),
])
def test_bad_parameter_values(cli, loss, fragment):
    assert_input_error(cli("eval", SAMPLES / "multiclass.parquet", "--pred-col", "p_*",
                           "--loss", loss), fragment)


def test_parameter_flag_no_selected_loss_takes(cli):
    assert_input_error(cli("eval", SAMPLES / "binary.csv", "--loss", "bce", "--gamma", "2"),
                       "--gamma 2", "It applies to: focal")


def test_error_in_a_real_subprocess():
    result = run_losscli("eval", "sample_data/logits.npy", "--targets", "sample_data/labels.npy",
                         "--loss", "kl_div")
    assert result.returncode == 2
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "pass --from-logits" in lines[0]
    assert result.stdout == b""
