"""The evaluation session and the run description (issue 10).

* every entry point (evaluate, check, compare, inspect) refuses an unknown or ill-typed
  option with a UsageError naming it — before any file is opened;
* the engine, ``inspect`` and the catalogue judge a loss's domain the same way;
* the session's work units know where their rows come from, and its state covers them;
* compare reads shared targets once, and refuses model files whose targets disagree.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import losscli
from losscli.catalog import describe
from losscli.comparison import compare
from losscli.domain import Domain
from losscli.errors import InputError, UsageError
from losscli.execution import run
from losscli.gate import check
from losscli.inspection import inspect_file
from losscli.registry import all_losses
from losscli.session import Session
from losscli.spec import build_spec
from losscli.units import plan_units
from tests.conftest import SAMPLES

MISSING = "no/such/file.parquet"  # were it opened, the error would be "File not found"


@pytest.fixture(autouse=False)
def no_file_opened(monkeypatch):
    """Fail the test if anything tries to open an input."""
    from losscli.io import formats

    def refuse(*args, **kwargs):
        raise AssertionError("an input was opened before the options were validated")

    monkeypatch.setattr(formats, "open_source", refuse)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"chunksize": 10}, "no option 'chunksize'. Did you mean 'chunk_size'?"),
    ({"loss": "mse"}, "Did you mean 'losses'?"),
    ({"chunk_size": "10"}, "chunk_size must be a whole number >= 1"),
    ({"chunk_size": 0}, "chunk_size must be a whole number >= 1"),
    ({"chunk_size": True}, "chunk_size must be a whole number >= 1"),
    ({"reduction": "avg"}, "reduction must be one of: mean, sum, none"),
    ({"nan_policy": "skip"}, "nan_policy must be one of: raise, omit, propagate"),
    ({"task": "classification"}, "task must be one of: regression, binary, multiclass"),
    ({"format_in": "xlsx"}, "format_in must be one of: csv, tsv, parquet"),
    ({"from_logits": "yes"}, "from_logits must be True or False"),
    ({"threshold": float("nan")}, "threshold must be a finite number"),
    ({"pred_col": 3}, "pred_col takes a column name"),
    ({"weight_col": ["a", "b"]}, "weight_col takes one column name"),
    ({"weights": object()}, "weights must be a file path"),
    ({"losses": 5}, "losses takes a loss name"),
    ({"params": {"deltaa": 1}}, "no loss takes a parameter 'deltaa'. Did you mean 'delta'?"),
    ({"params": [1]}, "params must be a dict"),
    ({"output": "x.csv"}, "output is for per-row losses"),
])
def test_evaluate_refuses_bad_options_before_any_file_is_opened(kwargs, message,
                                                                 no_file_opened):
    with pytest.raises(UsageError) as err:
        losscli.evaluate(MISSING, **kwargs)
    assert message in str(err.value)


def test_check_compare_and_inspect_refuse_bad_options_first(no_file_opened):
    with pytest.raises(UsageError, match="check\\(\\) has no option 'chunksize'"):
        check(MISSING, losses=["mse"], chunksize=10)
    with pytest.raises(UsageError, match="max_ takes 'NAME=VALUE' strings"):
        check(MISSING, losses=["mse"], max_=[0.3])
    with pytest.raises(UsageError, match="compare\\(\\) has no option 'nan'"):
        compare({"a": MISSING, "b": MISSING}, nan="omit")
    with pytest.raises(UsageError, match="inspect has no option 'losses'"):
        inspect_file(MISSING, losses=["mse"])


def test_spec_is_plain_data():
    spec = build_spec("p.csv", "t.csv", losses="mse", pred_col="p_*", chunk_size=5)
    assert spec.inputs.pred_col == ("p_*",) and spec.options.losses == ("mse",)
    assert spec.inputs.targets == "t.csv" and spec.inputs.chunk_size == 5


# --- one judge of the domain ------------------------------------------------------------

#: (loss, task or None, arguments for the data, role broken, bad value, extra options)
DOMAIN_CASES = [
    ("msle", None, "pred", -2.0),
    ("msle", None, "target", -3.0),
    ("poisson_nll", None, "pred", -1.0),
    ("poisson_nll", None, "target", -1.0),
    ("gaussian_nll", None, "var", -0.5),
    ("bce", "binary", "pred", 1.5),
    ("bce", "binary", "target", 2.0),
    ("bce", "binary", "target", -1.0),  # both conventions: 0 earlier, -1 here
    ("cross_entropy", "multiclass", "target", 7.0),
    ("cross_entropy", "multiclass", "pred", -0.25),
    ("cross_entropy", "multiclass", "pred_row", 0.9),
    ("kl_div", "multiclass", "target_dist", -0.5),
    ("kl_div", "multiclass", "target_dist_row", 0.9),
    ("hamming", "multilabel", "target", 2.0),
    ("mean_poisson_deviance", None, "pred", 0.0),
    ("mean_poisson_deviance", None, "target", -1.0),
    ("mean_gamma_deviance", None, "target", 0.0),
    ("interval_score", None, "lower", 0.5),  # a lower bound 0.5 above its upper bound
    ("ndcg", None, "target", -1.0),  # relevance grades >= 0 (one rule of every ranking metric)
]


def _domain_data(loss: str, task: str | None, role: str, bad: float):
    """A valid table for ``loss`` with one bad value in row 5, and the options to read it."""
    rng = np.random.default_rng(0)
    n = 20
    if task == "multiclass":
        p = rng.dirichlet(np.ones(3), n)
        cols = {f"p_{i}": p[:, i].copy() for i in range(3)}
        opts = {"pred_col": "p_*", "task": "multiclass"}
        if role.startswith("target_dist"):
            q = rng.dirichlet(np.ones(3), n)
            cols.update({f"q_{i}": q[:, i].copy() for i in range(3)})
            opts["target_col"] = "q_*"
            if role == "target_dist":
                cols["q_0"][5] = bad
            else:  # a row of valid entries summing to `bad`
                for i, v in enumerate((0.5, 0.3, bad - 0.8)):
                    cols[f"q_{i}"][5] = v
        else:
            cols["target"] = rng.integers(0, 3, n).astype(float)
            if role == "target":
                cols["target"][5] = bad
            elif role == "pred":
                cols["p_1"][5] = bad
            else:  # a row of valid probabilities summing to `bad`
                for i, v in enumerate((0.5, 0.3, bad - 0.8)):
                    cols[f"p_{i}"][5] = v
        return cols, opts
    if task == "multilabel":
        cols = {f"p_{i}": rng.uniform(0.05, 0.95, n) for i in range(3)}
        cols.update({f"y_{i}": rng.integers(0, 2, n).astype(float) for i in range(3)})
        cols["y_1"][5] = bad
        return cols, {"pred_col": "p_*", "target_col": "y_*", "task": "multilabel"}
    if task == "binary":
        cols = {"pred": rng.uniform(0.05, 0.95, n), "target": (np.arange(n) % 2).astype(float)}
    else:
        # targets 1..5: > 0, so that a 0 in row 5 is the Gamma deviance's first bad value
        cols = {"pred": rng.uniform(0.5, 3.0, n), "target": rng.integers(1, 6, n).astype(float),
                "var": rng.uniform(0.1, 1.0, n)}
    if role == "lower":  # a forecast interval: lower <= upper, broken in row 5 by `bad`
        cols["lower"], cols["upper"] = cols["pred"] - 1.0, cols["pred"] + 1.0
        cols["lower"][5] = cols["upper"][5] + bad
        return cols, {"lower_col": "lower", "upper_col": "upper"}
    cols[role][5] = bad
    if "query" in all_losses()[loss].aggregate.needs:  # ranking per query: queries of 4 rows
        cols["query"] = np.arange(n) // 4
        return cols, {"query_col": "query"}
    return cols, {"task": task} if task else {}


def _rule_broken(loss: str, role: str, task: str | None) -> Domain:
    spec = all_losses()[loss]
    base = role.split("_")[0]
    rules = [r for r in spec.domain if r.role == base]
    if role.endswith("_row"):
        return next(r for r in rules if "summing to 1" in r.requirement)
    if role == "target_dist":
        return next(r for r in rules if r.requirement == ">= 0")
    if task == "multiclass" and base == "target":
        return next(r for r in rules if "integers" in r.requirement)
    if task == "binary" and base == "target":
        return next(r for r in rules if r.noun == "labels" and "convention" in r.requirement)
    if task == "multilabel":
        return next(r for r in rules if r.requirement == "0/1 per label")
    return next(r for r in rules if "summing" not in r.requirement)


@pytest.mark.parametrize(("loss", "task", "role", "bad"), DOMAIN_CASES,
                         ids=[f"{c[0]}-{c[2]}" for c in DOMAIN_CASES])
def test_engine_inspect_and_catalogue_give_the_same_verdict(loss, task, role, bad, tmp_path):
    cols, opts = _domain_data(loss, task, role, bad)
    path = tmp_path / "data.parquet"
    pq.write_table(pa.table(cols), path)
    rule = _rule_broken(loss, role, task)
    text = rule.text(3 if task == "multiclass" else None)
    # the engine: an error naming the rule and row 5
    with pytest.raises(InputError) as err:
        losscli.evaluate(str(path), losses=[loss], **opts)
    assert f"needs {rule.noun} {text}" in str(err.value) and "row 5 " in str(err.value)
    # inspect: the loss does not fit, for the same rule
    inspect_opts = {k: v for k, v in opts.items() if k != "task"}
    info = inspect_file(str(path), task=task, **inspect_opts)
    reasons = {x["name"]: x["reason"] for x in info["losses"]["not_fit"]}
    assert loss in reasons and text in reasons[loss], info["losses"]
    # the catalogue states the same rule for that input
    assert rule.text() in describe(all_losses()[loss])["domain"][rule.role]


def test_every_domain_rule_has_a_verdict_case():
    covered = {id(_rule_broken(loss, role, task)) for loss, task, role, _ in DOMAIN_CASES}
    rules = {id(r): (s.name, r.role, r.requirement) for s in all_losses().values()
             for r in s.domain}
    missing = [v for k, v in rules.items() if k not in covered]
    assert not missing, f"domain rules without a case in DOMAIN_CASES: {missing}"


# --- units, coverage, one pass for compare ---------------------------------------------

def test_units_know_where_their_rows_come_from():
    session = Session(build_spec(str(SAMPLES / "regression.parquet"), losses=["mse"],
                                 chunk_size=100))
    units = plan_units(session)
    assert len(units) > 1 and {u.file for u in units} == {"regression.parquet"}
    assert units[0].first_row == 0 and sum(u.rows for u in units) == 1000
    assert all(a.first_row + a.rows == b.first_row for a, b in pairwise(units))
    state = run(session)
    assert [(c.file, c.first_row, c.rows) for c in state.coverage] == [
        ("regression.parquet", 0, 1000)]  # the units' ranges, joined



def test_compare_refuses_model_files_whose_targets_disagree(tmp_path):
    y = np.arange(10, dtype=float)
    pq.write_table(pa.table({"pred": y + 0.5, "target": y}), tmp_path / "a.parquet")
    shifted = y.copy()
    shifted[7] = 99.0
    pq.write_table(pa.table({"pred": y - 0.5, "target": shifted}), tmp_path / "b.parquet")
    with pytest.raises(InputError, match=r"differ from those in .* at row 7 .*not aligned"):
        compare({"a": str(tmp_path / "a.parquet"), "b": str(tmp_path / "b.parquet")},
                losses=["mse"])
    pq.write_table(pa.table({"pred": y - 0.5, "target": y}), tmp_path / "b.parquet")
    comp = compare({"a": str(tmp_path / "a.parquet"), "b": str(tmp_path / "b.parquet")},
                   losses=["mse"])
    assert comp.value("a", "mse") == comp.value("b", "mse") == 0.25
