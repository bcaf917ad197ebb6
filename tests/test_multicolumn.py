"""Inputs with several values per row, from real files: globs and repeated --pred-col
(CSV, Parquet), list and fixed-size-list columns (Parquet, Feather), 2-D NPY arrays; extra
roles (var, anchor/positive/negative); task detection and default losses; every output
format with the new losses."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

import losscli
import losscli.errors
from tests.conftest import SAMPLES, run_losscli


@pytest.fixture(scope="module")
def multiclass():
    """The 4-class sample as numpy: probabilities, labels, weights, soft targets, logits."""
    table = pq.read_table(SAMPLES / "multiclass.parquet")
    probs = np.column_stack([table[f"p_{c}"].to_numpy() for c in range(4)])
    soft = pq.read_table(SAMPLES / "multiclass_list.parquet")["soft"].combine_chunks()
    return {
        "probs": probs,
        "label": table["label"].to_numpy(),
        "weight": table["weight"].to_numpy(),
        "soft": soft.values.to_numpy().reshape(-1, 4),
        "logits": np.load(SAMPLES / "logits.npy"),
    }


def _nll(probs, label, weight=None):
    """Reference cross-entropy with numpy: −log p_y, weighted mean."""
    values = -np.log(np.clip(probs[np.arange(len(label)), label], 2.2e-16, 1))
    return float(np.average(values, weights=weight))


# --- the same classifier in every form ---------------------------------------------------

@pytest.mark.parametrize("args", [
    ("multiclass.parquet", "--pred-col", "p_*"),
    ("multiclass.csv", "--pred-col", "p_*"),
    ("multiclass.csv", "--pred-col", "p_0", "--pred-col", "p_1", "--pred-col", "p_2",
     "--pred-col", "p_3"),
    ("multiclass.parquet", "--pred-col", "p_[01]", "--pred-col", "p_[23]"),
    ("multiclass_list.parquet",),  # list column 'probs' and 'label', detected by name
])
def test_every_multicolumn_form_gives_the_same_cross_entropy(cli, samples, multiclass, args):
    result = cli("eval", samples / args[0], *args[1:], "--loss", "cross_entropy",
                 "--loss", "zero_one", "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    values = {r["name"]: r["value"] for r in doc["losses"]}
    assert values["cross_entropy"] == pytest.approx(
        _nll(multiclass["probs"], multiclass["label"]), rel=1e-12)
    wrong = np.argmax(multiclass["probs"], axis=1) != multiclass["label"]
    assert values["zero_one"] == pytest.approx(wrong.mean())
    assert doc["inputs"]["task"] == "multiclass"
    assert doc["inputs"]["task_from"] == "shape"
    assert doc["inputs"]["predictions"]["values_per_row"] == 4


def test_glob_columns_named_by_class_index_score_their_class(tmp_path):
    path = tmp_path / "shuffled.parquet"
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    # columns in the file: p_2, p_0, p_1; column p_i scores class i whatever its place
    # (issue 19: this test read p_2 as class 0, the first column the glob matched)
    pq.write_table(pa.table({"p_2": probs[:, 0], "p_0": probs[:, 1], "p_1": probs[:, 2],
                             "label": [0, 2]}), path)
    report = losscli.evaluate(str(path), pred_col="p_*", losses=["cross_entropy"])
    assert report.inputs["predictions"]["columns"] == ["p_0", "p_1", "p_2"]
    # row 0 is class 0 (p_0 = 0.2), row 1 class 2 (p_2 = 0.1)
    assert report["cross_entropy"] == pytest.approx(-(np.log(0.2) + np.log(0.1)) / 2)
    # columns whose names are no class index keep the file's order
    pq.write_table(pa.table({"c": probs[:, 0], "a": probs[:, 1], "b": probs[:, 2],
                             "label": [0, 2]}), path)
    report = losscli.evaluate(str(path), pred_col=["c", "a", "b"], losses=["cross_entropy"])
    assert report.inputs["predictions"]["columns"] == ["c", "a", "b"]
    assert report["cross_entropy"] == pytest.approx(-(np.log(0.7) + np.log(0.6)) / 2)


def test_2d_npy_logits_with_1d_npy_labels(samples, multiclass):
    report = losscli.evaluate(str(samples / "logits.npy"), str(samples / "labels.npy"),
                              from_logits=True, losses=["cross_entropy", "zero_one"])
    z = multiclass["logits"]
    logp = z - z.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    expected = -logp[np.arange(len(z)), multiclass["label"]].mean()
    assert report["cross_entropy"] == pytest.approx(expected, rel=1e-12)
    # the probability columns are the rounded softmax of these logits
    assert report["cross_entropy"] == pytest.approx(
        _nll(multiclass["probs"], multiclass["label"]), rel=1e-5)
    assert report.inputs["predictions"]["column"] is None
    assert report.inputs["from_logits"] is True


def test_distribution_targets_from_a_fixed_size_list_column(samples, multiclass):
    report = losscli.evaluate(str(samples / "multiclass_list.parquet"), target_col="soft",
                              losses=["kl_div", "cross_entropy", "js_div"])
    p, q = multiclass["probs"], multiclass["soft"]
    kl = np.sum(np.where(q > 0, q * (np.log(np.where(q > 0, q, 1)) - np.log(p)), 0), axis=1)
    assert report["kl_div"] == pytest.approx(kl.mean(), rel=1e-12)
    assert report["cross_entropy"] == pytest.approx(np.mean(-np.sum(q * np.log(p), 1)), rel=1e-12)
    assert report.inputs["targets"]["values_per_row"] == 4


def test_distribution_targets_from_glob_columns(tmp_path, multiclass):
    path = tmp_path / "dist.csv"
    cols = {**{f"p_{c}": multiclass["probs"][:, c] for c in range(4)},
            **{f"q_{c}": multiclass["soft"][:, c] for c in range(4)}}
    pacsv.write_csv(pa.table(cols), path)
    a = losscli.evaluate(str(path), pred_col="p_*", target_col="q_*", losses="kl_div")
    b = losscli.evaluate(str(SAMPLES / "multiclass_list.parquet"), target_col="soft",
                         losses="kl_div")
    assert a["kl_div"] == pytest.approx(b["kl_div"], rel=1e-12)


def test_list_column_in_feather_and_chunking(tmp_path, multiclass):
    path = tmp_path / "m.feather"
    table = pa.table({"probs": pa.FixedSizeListArray.from_arrays(
        pa.array(multiclass["probs"].ravel()), 4), "label": multiclass["label"]})
    feather.write_feather(table, path, chunksize=128)
    expected = _nll(multiclass["probs"], multiclass["label"])
    for chunk in (1, 7, 1000):
        report = losscli.evaluate(str(path), losses="cross_entropy", chunk_size=chunk)
        assert report["cross_entropy"] == pytest.approx(expected, rel=1e-12)


def test_variable_list_column_with_null_rows(tmp_path):
    path = tmp_path / "nulls.parquet"
    pq.write_table(pa.table({
        "probs": pa.array([[0.5, 0.5], None, [0.9, 0.1]], pa.list_(pa.float64())),
        "label": [0, 1, 0],
    }), path)
    report = losscli.evaluate(str(path), losses="cross_entropy", nan_policy="omit")
    assert report.rows == 2 and report.rows_skipped == 1
    assert report["cross_entropy"] == pytest.approx(-(np.log(0.5) + np.log(0.9)) / 2)


def test_weighted_multiclass_matches_numpy(samples, multiclass):
    report = losscli.evaluate(str(samples / "multiclass.parquet"), pred_col="p_*",
                              weight_col="weight", losses=["cross_entropy", "brier"])
    w = multiclass["weight"]
    assert report["cross_entropy"] == pytest.approx(
        _nll(multiclass["probs"], multiclass["label"], w), rel=1e-12)
    onehot = np.eye(4)[multiclass["label"]]
    brier = np.sum((onehot - multiclass["probs"]) ** 2, axis=1)
    assert report["brier"] == pytest.approx(np.average(brier, weights=w), rel=1e-12)


# --- binary files ------------------------------------------------------------------------

def test_binary_csv_defaults_and_values(cli, samples):
    result = cli("eval", samples / "binary.csv", "--weight-col", "weight", "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [r["name"] for r in doc["losses"]] == ["bce", "brier", "zero_one"]
    assert doc["inputs"]["task"] == "binary" and doc["inputs"]["task_from"] == "values"
    assert doc["inputs"]["threshold"] == 0.5
    table = pacsv.read_csv(samples / "binary.csv")
    p, y, w = (table[c].to_numpy().astype(float) for c in ("prob", "label", "weight"))
    pc = np.clip(p, 2.220446049250313e-16, 1 - 2.220446049250313e-16)
    bce = -(y * np.log(pc) + (1 - y) * np.log(1 - pc))
    values = {r["name"]: r["value"] for r in doc["losses"]}
    assert values["bce"] == pytest.approx(np.average(bce, weights=w), rel=1e-12)
    assert values["brier"] == pytest.approx(np.average((p - y) ** 2, weights=w), rel=1e-12)
    assert values["zero_one"] == pytest.approx(np.average((p >= 0.5) != y, weights=w))


def test_binary_logits_column_with_from_logits(samples):
    probs = losscli.evaluate(str(samples / "binary.parquet"), pred_col="prob",
                             losses=["bce", "zero_one", "brier"])
    logits = losscli.evaluate(str(samples / "binary.parquet"), pred_col="logit",
                              from_logits=True, losses=["bce", "zero_one", "brier"])
    assert logits.inputs["threshold"] == 0.0
    for name in ("bce", "zero_one", "brier"):  # prob = sigmoid(logit) rounded to 6 decimals
        assert logits[name] == pytest.approx(probs[name], rel=1e-5)


# --- probabilistic and embedding files ---------------------------------------------------

def test_gaussian_nll_var_column_and_var_file(tmp_path, samples):
    table = pq.read_table(samples / "probabilistic.parquet")
    mu, v, y = (table[c].to_numpy() for c in ("pred", "var", "target"))
    expected = np.mean(0.5 * (np.log(v) + (mu - y) ** 2 / v))
    detected = losscli.evaluate(str(samples / "probabilistic.parquet"), losses="gaussian_nll")
    assert detected["gaussian_nll"] == pytest.approx(expected, rel=1e-12)
    assert detected.inputs["variances"]["column"] == "var"
    np.save(tmp_path / "v.npy", v)
    from_file = losscli.evaluate(str(samples / "probabilistic.parquet"), losses="gaussian_nll",
                                 var=str(tmp_path / "v.npy"))
    assert from_file["gaussian_nll"] == pytest.approx(expected, rel=1e-12)


def test_poisson_nll_sample(samples):
    table = pq.read_table(samples / "probabilistic.parquet")
    rate, count = table["rate"].to_numpy(), table["count"].to_numpy()
    report = losscli.evaluate(str(samples / "probabilistic.parquet"), pred_col="rate",
                              target_col="count", losses="poisson_nll")
    assert report["poisson_nll"] == pytest.approx(np.mean(rate - count * np.log(rate + 1e-8)),
                                                  rel=1e-12)
    assert report.inputs["task"] == "regression"


@pytest.fixture(scope="module")
def triplet_reference():
    a, p, n = (np.load(SAMPLES / f"triplet_{r}.npy") for r in ("anchor", "positive", "negative"))
    d_ap = np.linalg.norm(a - p + 1e-6, axis=1)
    d_an = np.linalg.norm(a - n + 1e-6, axis=1)
    return float(np.mean(np.maximum(d_ap - d_an + 1.0, 0.0)))


@pytest.mark.parametrize("args", [
    ("triplets.parquet",),  # list columns anchor/positive/negative, detected: no --loss
    ("triplets.parquet", "--loss", "triplet", "--anchor-col", "anchor"),
    ("triplet_anchor.npy", "--positive", "triplet_positive.npy", "--negative",
     "triplet_negative.npy"),
])
def test_triplet_forms(cli, samples, triplet_reference, args):
    args = [samples / a if a.endswith((".npy", ".parquet")) else a for a in args]
    result = cli("eval", *args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["losses"][0]["name"] == "triplet"
    assert doc["losses"][0]["value"] == pytest.approx(triplet_reference, rel=1e-12)
    assert doc["inputs"]["task"] == "embedding"
    assert doc["inputs"]["predictions"] is None
    assert doc["inputs"]["anchors"]["values_per_row"] == 8


def test_triplet_from_glob_columns(tmp_path, triplet_reference):
    cols = {}
    for role in ("anchor", "positive", "negative"):
        arr = np.load(SAMPLES / f"triplet_{role}.npy")
        cols.update({f"{role[0]}_{d}": arr[:, d] for d in range(8)})
    pq.write_table(pa.table(cols), tmp_path / "t.parquet")
    report = losscli.evaluate(str(tmp_path / "t.parquet"), losses="triplet", anchor_col="a_*",
                              positive_col="p_*", negative_col="n_*")
    assert report["triplet"] == pytest.approx(triplet_reference, rel=1e-12)


def test_bool_parameter_flag_and_inline_form_agree(cli, samples):
    inline = cli("eval", samples / "triplets.parquet", "--loss", "triplet:swap=true",
                 "--format", "json")
    flag = cli("eval", samples / "triplets.parquet", "--loss", "triplet", "--swap",
               "--format", "json")
    off = cli("eval", samples / "triplets.parquet", "--loss", "triplet", "--no-swap",
              "--format", "json")
    a, b, c = (json.loads(r.stdout)["losses"][0] for r in (inline, flag, off))
    assert a == b and a["params"]["swap"] is True and c["params"]["swap"] is False
    assert a["value"] >= c["value"]  # the swap can only shrink d(a, n)


# --- task detection ----------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "task", "source", "losses"), [
    ({"predictions": "regression.csv"}, "regression", "values", ["mse", "rmse", "mae"]),
    ({"predictions": "binary.csv"}, "binary", "values", ["bce", "brier", "zero_one"]),
    ({"predictions": "binary.csv", "task": "regression"}, "regression", "option",
     ["mse", "rmse", "mae"]),
    ({"predictions": "binary.parquet", "pred_col": "logit"}, "regression", "values",
     ["mse", "rmse", "mae"]),  # logits outside [0, 1] and no --from-logits
    ({"predictions": "binary.parquet", "pred_col": "logit", "from_logits": True}, "binary",
     "values", ["bce", "brier", "zero_one"]),
    ({"predictions": "binary.parquet", "pred_col": "logit", "losses": ["hinge"]}, "binary",
     "losses", ["hinge"]),
    ({"predictions": "regression.csv", "losses": ["mse", "zero_one"]}, "regression", "values",
     ["mse", "zero_one"]),
    ({"predictions": "multiclass.parquet", "pred_col": "p_*"}, "multiclass", "shape",
     ["cross_entropy", "zero_one"]),
    ({"predictions": "triplets.parquet"}, "embedding", "inputs", ["triplet"]),
    ({"predictions": "probabilistic.parquet", "losses": ["gaussian_nll"]}, "regression",
     "losses", ["gaussian_nll"]),
])
def test_task_detection_and_default_losses(kwargs, task, source, losses):
    kwargs = dict(kwargs)
    report = losscli.evaluate(str(SAMPLES / kwargs.pop("predictions")), **kwargs)
    assert report.inputs["task"] == task
    assert report.inputs["task_from"] == source
    assert [r.name for r in report.losses] == losses


def test_zero_one_follows_the_task(samples):
    # on binary.csv the label form (threshold 0.5); forced to regression, the tolerance form
    # counts every row with a non-zero error
    binary = losscli.evaluate(str(samples / "binary.csv"), losses="zero_one")
    regression = losscli.evaluate(str(samples / "binary.csv"), losses="zero_one",
                                  task="regression")
    assert binary.losses[0].params == {}
    assert regression.losses[0].params == {"tolerance": 0.0}
    assert 0 < binary["zero_one"] < 0.5 and regression["zero_one"] > 0.9


# --- outputs -----------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["table", "json", "markdown", "csv"])
def test_every_output_format(cli, samples, fmt):
    result = cli("eval", samples / "multiclass.parquet", "--pred-col", "p_*", "--loss",
                 "cross_entropy", "--loss", "focal:gamma=1", "--format", fmt)
    assert result.exit_code == 0, result.stderr
    assert "cross_entropy" in result.stdout and "focal" in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".npy", ".ndjson"])
def test_per_row_output_files(cli, samples, tmp_path, suffix, multiclass):
    out = tmp_path / f"rows{suffix}"
    result = cli("eval", samples / "logits.npy", "--targets", samples / "labels.npy",
                 "--from-logits", "--loss", "cross_entropy", "--reduction", "none",
                 "--output", out)
    assert result.exit_code == 0, result.stderr
    z = multiclass["logits"]
    ref = (np.log(np.exp(z - z.max(1, keepdims=True)).sum(1)) + z.max(1)
           - z[np.arange(len(z)), multiclass["label"]])
    if suffix == ".npy":
        values = np.load(out)
    elif suffix == ".parquet":
        values = pq.read_table(out).column(1).to_numpy()
    elif suffix == ".csv":
        values = pacsv.read_csv(out).column(1).to_numpy()
    else:
        values = np.array([list(json.loads(line).values())[1]
                           for line in out.read_text().splitlines()])
    np.testing.assert_allclose(values, ref, rtol=1e-12)


def test_sum_reduction_and_weights_with_a_weights_file(tmp_path, samples, multiclass):
    np.save(tmp_path / "w.npy", multiclass["weight"])
    report = losscli.evaluate(str(samples / "multiclass_list.parquet"), weights=str(tmp_path / "w.npy"),
                              losses="cross_entropy", reduction="sum")
    values = -np.log(multiclass["probs"][np.arange(500), multiclass["label"]])
    assert report["cross_entropy"] == pytest.approx(np.sum(multiclass["weight"] * values),
                                                    rel=1e-12)


def test_subprocess_multiclass_json():
    result = run_losscli("eval", "sample_data/multiclass.parquet", "--pred-col", "p_*",
                         "--loss", "cross_entropy", "--loss", "hinge", "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [r["name"] for r in doc["losses"]] == ["cross_entropy", "hinge"]
    assert result.stderr == b""


# --- the docs sections --------------------------------------------------------------------

def _section(page: str, heading: str) -> str:
    from tests.conftest import ROOT

    text = (ROOT / "docs" / page).read_text()
    start = text.index(heading)
    return text[start:text.index("\n## ", start + 3)]


def _readme_commands() -> list[str]:
    import re

    # the README's classification section, now the losses page's, and its labels part,
    # now on the inputs page
    section = (_section("losses.md", "## Classification, probabilistic and embedding losses")
               + _section("inputs.md", "## Labels as written"))
    return [line.removeprefix("$ ") for block in re.findall(r"```(?:sh|console)\n(.*?)```",
                                                            section, re.S)
            for line in block.splitlines() if line.removeprefix("$ ").startswith("losscli ")]


def test_readme_section_has_commands():
    assert len(_readme_commands()) >= 10


@pytest.mark.parametrize("line", _readme_commands())
def test_readme_classification_commands_work(cli, line, tmp_path, monkeypatch, samples):
    """Every command of the docs' classification sections runs from the repository root
    (here a folder linking sample_data, so --output writes nowhere in the repository)."""
    import shlex

    (tmp_path / "sample_data").symlink_to(samples)
    monkeypatch.chdir(tmp_path)
    from tests.test_docs import EXPECT

    expected = EXPECT.search(line)
    result = cli(*shlex.split(line, comments=True)[1:])
    assert result.exit_code == (int(expected.group(1)) if expected else 0), result.stderr
    assert result.stdout.strip() or "--output" in line or expected


def test_readme_console_output_is_current(cli, monkeypatch):
    """The console example shows what the command prints (apart from the time)."""
    import re

    from tests.conftest import ROOT

    text = (ROOT / "docs" / "losses.md").read_text()
    start = text.index("## Classification, probabilistic and embedding losses")
    block = re.search(r"```console\n\$ (.*?)\n(.*?)```", text[start:], re.S)
    assert block is not None
    monkeypatch.chdir(ROOT)
    result = cli(*block.group(1).split()[1:])
    strip = lambda s: re.sub(r"time: [0-9.]+ s", "time: …", "\n".join(  # noqa: E731
        line.rstrip() for line in s.strip().splitlines()))
    assert strip(result.stdout) == strip(block.group(2))


def test_soft_margin_on_logits_equals_bce_with_logits(samples):
    # log(1 + exp(−y±·s)) is −log σ(s) for y = 1 and −log(1 − σ(s)) for y = 0
    report = losscli.evaluate(str(samples / "binary.parquet"), pred_col="logit",
                              losses=["soft_margin", "bce_with_logits"])
    assert report["soft_margin"] == pytest.approx(report["bce_with_logits"], rel=1e-14)


def test_task_detection_does_not_depend_on_the_chunk_size(tmp_path):
    # 0/1 targets and probabilities for 50 rows, then a real-valued target: the first
    # 10,000 rows decide, so one chunk of 1 row and one of all rows see the same data
    y = np.r_[np.tile([0.0, 1.0], 25), [3.5]]
    p = np.r_[np.linspace(0.1, 0.9, 50), [0.5]]
    pq.write_table(pa.table({"pred": p, "target": y}), tmp_path / "d.parquet")
    for chunk in (1, 7, 1000):
        report = losscli.evaluate(str(tmp_path / "d.parquet"), chunk_size=chunk)
        assert report.inputs["task"] == "regression", chunk
    # with a binary sample, the rows are replayed, not read twice, whatever the chunk size
    pq.write_table(pa.table({"pred": p[:50], "target": y[:50]}), tmp_path / "b.parquet")
    values = {chunk: losscli.evaluate(str(tmp_path / "b.parquet"), chunk_size=chunk)
              for chunk in (1, 7, 1000)}
    assert {r.inputs["task"] for r in values.values()} == {"binary"}
    assert {r.rows for r in values.values()} == {50}
    assert values[1]["bce"] == pytest.approx(values[1000]["bce"], rel=1e-12)


def test_null_fixed_size_list_rows_are_nan_rows_even_first(tmp_path):
    pq.write_table(pa.table({
        "probs": pa.array([None, [0.2, 0.8], [0.6, 0.4]], pa.list_(pa.float64(), 2)),
        "label": [0, 1, 0]}), tmp_path / "f.parquet")
    if int(pa.__version__.split(".")[0]) < 26:
        # pyarrow < 26 cannot read the null row back (its bug, fixed in 26; mlflow, a test
        # dependency, holds pyarrow below 26): one line naming it and the fix, exit 2.
        with pytest.raises(losscli.errors.InputError,
                           match=r"null row, which pyarrow .* cannot read from Parquet "
                                 r"\(fixed in pyarrow 26\); upgrade pyarrow"):
            losscli.evaluate(str(tmp_path / "f.parquet"), losses="cross_entropy",
                             nan_policy="omit", chunk_size=1)
        return
    report = losscli.evaluate(str(tmp_path / "f.parquet"), losses="cross_entropy",
                              nan_policy="omit", chunk_size=1)
    assert report.rows_skipped == 1
    assert report["cross_entropy"] == pytest.approx(-(np.log(0.8) + np.log(0.6)) / 2)
    with pytest.raises(losscli.errors.InputError, match="first at row 0"):
        losscli.evaluate(str(tmp_path / "f.parquet"), losses="cross_entropy", chunk_size=1)


# --- inspect -----------------------------------------------------------------------------

def test_inspect_multicolumn_and_embedding_files(cli, samples):
    import json as _json

    info = _json.loads(cli("inspect", samples / "multiclass.parquet", "--pred-col", "p_*",
                           "-f", "json").stdout)
    assert info["roles"]["pred"]["columns"] == ["p_0", "p_1", "p_2", "p_3"]
    assert info["roles"]["pred"]["values_per_row"] == 4
    assert info["task"] == {"task": "multiclass", "from": "shape", "from_logits": False}
    assert "cross_entropy" in info["losses"]["fit"] and "kl_div" in info["losses"]["fit"]
    (mse,) = [x for x in info["losses"]["not_fit"] if x["name"] == "mse"]
    assert mse["reason"] == "is for regression or binary data, and these look multiclass"

    logits = _json.loads(cli("inspect", samples / "logits.npy", "--targets",
                             samples / "labels.npy", "-f", "json").stdout)
    (ce,) = [x for x in logits["losses"]["not_fit"] if x["name"] == "cross_entropy"]
    assert "probabilities in [0, 1]" in ce["reason"]
    assert "softmax_cross_entropy" in logits["losses"]["fit"]  # it implies --from-logits
    with_flag = _json.loads(cli("inspect", samples / "logits.npy", "--targets",
                                samples / "labels.npy", "--from-logits", "-f", "json").stdout)
    assert "cross_entropy" in with_flag["losses"]["fit"]

    emb = _json.loads(cli("inspect", samples / "triplets.parquet", "-f", "json").stdout)
    assert emb["task"]["task"] == "embedding" and emb["losses"]["fit"] == ["triplet"]
    text = cli("inspect", samples / "probabilistic.parquet").stdout
    assert "variance   var" in text and "gaussian_nll" in text.split("losses fit")[1].splitlines()[0]


# --- standard input ----------------------------------------------------------------------

@pytest.mark.parametrize(("command", "extra"), [
    ("cat sample_data/logits.npy | {py} -m losscli eval - --targets sample_data/labels.npy "
     "--from-logits -l cross_entropy -f json", ["sample_data/logits.npy", "--targets",
                                                 "sample_data/labels.npy", "--from-logits"]),
    # a small --chunk-size: the rows read to detect the task are replayed, not re-read
    ("cat sample_data/multiclass.csv | {py} -m losscli eval - --pred-col 'p_*' "
     "--chunk-size 7 -l cross_entropy -f json", ["sample_data/multiclass.csv", "--pred-col",
                                                 "p_*"]),
])
def test_multicolumn_inputs_from_standard_input(cli, command, extra, monkeypatch):
    import json as _json
    import shlex
    import subprocess
    import sys

    from tests.conftest import ROOT

    proc = subprocess.run(command.format(py=shlex.quote(sys.executable)), shell=True,
                          capture_output=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    piped = _json.loads(proc.stdout)["losses"][0]["value"]
    monkeypatch.chdir(ROOT)
    direct = _json.loads(cli("eval", *extra, "-l", "cross_entropy", "-f", "json").stdout)
    assert piped == pytest.approx(direct["losses"][0]["value"], rel=1e-12)


def test_fortran_ordered_2d_npy_cannot_stream_from_a_pipe(tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    np.save(tmp_path / "f.npy", np.asfortranarray(np.full((3, 2), 0.5)))
    np.save(tmp_path / "t.npy", np.zeros(3))
    with open(tmp_path / "f.npy", "rb") as f:
        proc = subprocess.run([sys.executable, "-m", "losscli", "eval", "-", "--targets",
                               str(tmp_path / "t.npy"), "-l", "cross_entropy"], stdin=f,
                              capture_output=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2 and b"Fortran-ordered" in proc.stderr
    assert proc.stderr.decode().count("\n") == 1
