"""One verdict (issue 19, items 11, 12, 13, 15, 16): the gate decides once and every output
reads the decision — the exit code, JSON ``passed``/``failed``/``verdict``, the table, the
Markdown, the ``check failed: …`` line on stderr and the HTML badge and sentences.

Each test runs the CLI through its real entry point (``python -m losscli``); the expected
group values are computed here with numpy."""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import run_losscli


def _regions(path, n: int = 600, seed: int = 0) -> dict[str, np.ndarray]:
    """A regression file whose east rows are much noisier than the rest."""
    rng = np.random.default_rng(seed)
    region = np.array(["east", "west", "north"])[rng.integers(0, 3, n)]
    y = rng.normal(size=n)
    noise = np.where(region == "east", 2.0, 0.5)
    pred = y + rng.normal(size=n) * noise
    cols = {"pred": pred, "target": y, "region": region}
    pq.write_table(pa.table(cols), path)
    return cols


def _mse(cols, mask=None) -> float:
    d = cols["pred"] - cols["target"]
    return float(np.mean(d[mask] ** 2 if mask is not None else d ** 2))


def page_text(raw: str) -> str:
    """The visible text of a page (tags dropped, entities decoded, runs of white space one
    space — as a browser shows it: a tag inside a sentence adds no space)."""
    body = re.sub(r"<style>.*?</style>|<title>.*?</title>", "", raw, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def badge(raw: str) -> tuple[str, str]:
    """The class (fail, pass, none) and text of the page's verdict badge."""
    found = re.search(r'<span class="badge (\w+)">(.*?)</span>', raw)
    assert found, "no badge"
    return found.group(1), html.unescape(found.group(2))


# -- item 11: a failing group fails every output -------------------------------------------

def test_a_failing_group_fails_every_output(tmp_path):
    data = tmp_path / "regions.parquet"
    cols = _regions(data)
    overall = _mse(cols)
    per_group = {g: _mse(cols, cols["region"] == g) for g in ("east", "west", "north")}
    # against a baseline without groups every group must do as well as the whole did
    failing = sorted(g for g, v in per_group.items() if v > overall * 1.6)
    assert failing == ["east"]
    base = tmp_path / "base.json"
    r = run_losscli("eval", data, "--loss", "mse", "-f", "json")
    assert r.returncode == 0, r.stderr
    base.write_bytes(r.stdout)

    page = tmp_path / "r.html"
    args = ["check", data, "--loss", "mse", "-b", base, "--group-by", "region", "--rtol", "0.6"]
    runs = {fmt: run_losscli(*args, "-f", fmt, "--html", page if fmt == "json" else
                             tmp_path / f"{fmt}.html") for fmt in ("json", "table", "markdown")}
    for fmt, r in runs.items():
        assert r.returncode == 1, (fmt, r.stderr)
        assert r.stderr.decode().splitlines()[-1] == (
            "losscli: check failed: 1 group (region=east)"), fmt
    doc = json.loads(runs["json"].stdout)
    assert doc["passed"] is False
    assert doc["failed"] == ["region=east: mse"]  # the failing group checks, not []
    assert doc["verdict"]["status"] == "failed" and doc["verdict"]["exit_code"] == 1
    assert doc["failed_groups"] == [{"region": "east"}]
    for shown in (page, tmp_path / "table.html", tmp_path / "markdown.html"):
        raw = shown.read_text()
        css, text = badge(raw)
        assert css == "fail" and text == "FAILED: 1 of 3 groups (region=east)"
        assert "PASSED" not in page_text(raw)
    table = runs["table"].stdout.decode()
    assert table.splitlines()[-1].startswith("FAILED: 1 of 3 groups (region=east)")
    md = runs["markdown"].stdout.decode()
    assert md.startswith("### ❌ losscli check failed: 1 group (`region=east`)")


# -- item 12: the paired sentence is one sentence ------------------------------------------

def test_the_paired_bound_sentence_is_the_same_everywhere(tmp_path):
    rng = np.random.default_rng(3)
    y = rng.normal(size=400)
    ref = y + rng.normal(size=400) * 0.5
    cand = ref + rng.normal(size=400) * 0.05
    data = tmp_path / "pair.parquet"
    pq.write_table(pa.table({"cand": cand, "ref": ref, "target": y}), data)
    page = tmp_path / "p.html"
    args = ["check", data, "--pred-col", "cand", "--reference-col", "ref", "--loss", "mse",
            "--rtol", "0.01"]
    js = run_losscli(*args, "-f", "json", "--html", page)
    table = run_losscli(*args)
    md = run_losscli(*args, "-f", "markdown")
    assert js.returncode == table.returncode == md.returncode
    sentence = json.loads(js.stdout)["checks"][0]["bound_text"]
    assert "(reference, significant, rtol 0.01)" in sentence
    shown = page_text(page.read_text())
    assert sentence in shown and "(baseline" not in shown
    assert sentence in " ".join(table.stdout.decode().split())  # (the table may wrap it)
    assert sentence in md.stdout.decode()



def test_a_paired_check_without_a_paired_test_does_not_say_significant(tmp_path):
    # binned average precision has no paired test: the gate judged it on the values, and
    # says so (exact average precision has the paired bootstrap now)
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 300)
    ref = np.clip(rng.normal(0.3 + 0.4 * y, 0.2), 0, 1)
    cand = np.clip(ref + rng.normal(0, 0.2, 300), 0, 1)
    data = tmp_path / "pair.parquet"
    pq.write_table(pa.table({"cand": cand, "ref": ref, "target": y}), data)
    proc = run_losscli("check", data, "--pred-col", "cand", "--reference-col", "ref",
                       "--loss", "average_precision:bins=100", "--loss", "bce", "-f", "json")
    checks = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}
    assert checks["average_precision"].get("p_value") is None
    assert "no paired test for average_precision" in checks["average_precision"]["notes"][0]
    assert "(reference, on the values)" in checks["average_precision"]["bound_text"]
    assert checks["bce"]["p_value"] is not None
    assert "(reference, significant)" in checks["bce"]["bound_text"]

# -- item 13: a baseline with groups checked without --group-by ----------------------------

def test_a_baseline_with_groups_checked_without_them_says_so(tmp_path):
    data = tmp_path / "regions.parquet"
    _regions(data)
    base = tmp_path / "base.json"
    r = run_losscli("eval", data, "--loss", "mse", "--group-by", "region", "-f", "json")
    base.write_bytes(r.stdout)
    note = (f"baseline '{base}' has per-group values for region; they were not checked "
            "here: run with --group-by region to check them")
    page = tmp_path / "r.html"
    runs = {fmt: run_losscli("check", data, "-b", base, "--atol", "0.01", "-f", fmt,
                             *(["--html", page] if fmt == "json" else []))
            for fmt in ("json", "table", "markdown", "csv")}
    for fmt, r in runs.items():
        assert r.returncode == 0, (fmt, r.stderr)
        assert f"losscli: note: {note}" in r.stderr.decode().splitlines(), fmt
    doc = json.loads(runs["json"].stdout)
    assert doc["groups_unchecked"] == ["region"] and note in doc["verdict"]["notes"]
    assert f"- ℹ️ {note}" in runs["markdown"].stdout.decode()
    assert note in " ".join(page_text(page.read_text()).split())


# -- item 15: a compare report is not a baseline -------------------------------------------

def test_a_compare_report_as_baseline_is_a_usage_error(tmp_path, samples):
    comp = tmp_path / "compare.json"
    r = run_losscli("compare", f"a={samples / 'model_preds.parquet'}",
                    f"b={samples / 'model_b.parquet'}", "-t", samples / "truth.tsv", "-l", "mse",
                    "-f", "json")
    assert r.returncode == 0, r.stderr
    comp.write_bytes(r.stdout)
    r = run_losscli("check", samples / "model_b.parquet", "-t", samples / "truth.tsv",
                    "-b", comp, "--atol", "1")
    err = r.stderr.decode()
    assert r.returncode == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert "not an eval/check report: it is a compare report" in err and str(comp) in err


# -- item 16: the level of the group intervals, the methods of a table ---------------------

def test_bonferroni_level_is_printed_as_it_is(tmp_path):
    rng = np.random.default_rng(5)
    n, groups = 2000, 20
    y = rng.normal(size=n)
    g = rng.integers(0, groups, n)
    data = tmp_path / "many.parquet"
    pq.write_table(pa.table({"pred": y + rng.normal(size=n) * 0.3, "target": y, "g": g}), data)
    base = tmp_path / "base.json"
    base.write_bytes(run_losscli("eval", data, "--loss", "mse", "-f", "json").stdout)
    args = ["check", data, "--loss", "mse", "--group-by", "g", "--ci", "--max", "mse=1",
            "-b", base, "--rtol", "0.5"]
    table = run_losscli(*args)
    doc = json.loads(run_losscli(*args, "-f", "json").stdout)
    assert table.returncode == 0, table.stderr
    level = 1 - 0.05 / groups  # Bonferroni over 20 groups × 1 loss: 99.75% each
    checks = [c for grp in doc["groups"] for c in grp["checks"]]
    assert {c["interval_level"] for c in checks} == {"99.75%"}
    assert all(grp["losses"][0]["interval"]["level"] == pytest.approx(level)
               for grp in doc["groups"])
    text = " ".join(table.stdout.decode().split())
    sentence = checks[0]["bound_text"]
    assert "(baseline, whole 99.75% interval each, Bonferroni over 20 groups × 1 loss" in (
        sentence)
    assert "100%" not in text and sentence in text  # the table says what JSON says
    assert "group intervals at 99.75% each" in text


def test_the_page_names_every_interval_method(tmp_path, samples):
    page = tmp_path / "b.html"
    r = run_losscli("eval", samples / "binary.parquet", "--pred-col", "prob", "-l", "bce",
                    "-l", "accuracy", "-l", "f1", "--ci", "-f", "json", "--html", page)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    methods = {x["label"]: x["interval"]["method"] for x in doc["losses"]}
    assert set(methods.values()) == {"normal", "wilson", "percentile"}  # a mixed table
    caption = re.search(r"<caption>(intervals:.*?)</caption>", page.read_text()).group(1)
    caption = html.unescape(caption)
    for label, method in methods.items():
        assert method in caption and label in caption, caption
