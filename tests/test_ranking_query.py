"""Ranking metrics per query through the real CLI (issue 23 item 6): ``--query-col`` with
ndcg, mrr, map, precision_at_k and recall_at_k.

References, computed here: ``sklearn.metrics.ndcg_score`` per query (ties averaged, k,
weights per query) and, for the others, their formulas (torchmetrics' RetrievalMRR,
RetrievalMAP, RetrievalPrecision, RetrievalRecall) on one ordering, averaged over every
permutation of the query's rows — the expectation over the orderings of tied scores that
losscli computes in closed form. The data has ties, graded relevance, queries without a
relevant item and integer weights per query; the rows of a query are contiguous in one file
and shuffled in another, and every chunking, two workers and a merge give the same bits.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, ndcg_score

from tests.conftest import run_losscli

LOSSES = ["ndcg", "ndcg:k=3", "mrr", "map", "map:k=2", "precision_at_k:k=2",
          "recall_at_k:k=3"]
LABELS = ["ndcg", "ndcg(k=3)", "mrr", "map", "map(k=2)", "precision_at_k(k=2)",
          "recall_at_k(k=3)"]
RUNS = [(), ("--chunk-size", "1"), ("--workers", "2", "--chunk-size", "7")]


def _ordered(metric: str, k: int | None, s: np.ndarray, r: np.ndarray) -> float:
    """The metric of one ordering: rows sorted by score, ties in the order given."""
    rel = r[np.argsort(-s, kind="stable")]
    hit = rel > 0
    total = int(hit.sum())
    if total == 0:
        return 0.0
    if metric == "mrr":  # torchmetrics retrieval_reciprocal_rank
        return 1.0 / (int(np.flatnonzero(hit)[0]) + 1)
    top = hit[: len(rel) if k is None else k]
    if metric == "precision_at_k":  # torchmetrics retrieval_precision, adaptive_k=False
        return top.sum() / k
    if metric == "recall_at_k":  # torchmetrics retrieval_recall
        return top.sum() / total
    if metric == "map":  # torchmetrics retrieval_average_precision(top_k=k)
        pos = np.flatnonzero(top) + 1
        return 0.0 if len(pos) == 0 else float(np.mean(np.arange(1, len(pos) + 1) / pos))
    raise ValueError(metric)


def brute(metric: str, k: int | None, s: np.ndarray, r: np.ndarray) -> float:
    """The expectation over the orderings of tied items: the mean over every permutation
    of the rows (each ordering of a tie equally often)."""
    if len(np.unique(s)) == len(s):
        return _ordered(metric, k, s, r)
    vals = [_ordered(metric, k, s[list(p)], r[list(p)]) for p in
            itertools.permutations(range(len(s)))]
    return float(np.mean(vals))


def reference(metric: str, k: int | None, s: np.ndarray, r: np.ndarray) -> float:
    if metric == "ndcg":
        if len(s) == 1:  # sklearn refuses one item: DCG = IDCG = its relevance
            return 1.0 if r[0] > 0 else 0.0
        return float(ndcg_score([r], [s], k=k))
    return brute(metric, k, s, r)


def _parse(label_arg: str) -> tuple[str, int | None]:
    name, _, rest = label_arg.partition(":")
    return name, int(rest.split("=")[1]) if rest else None


def references(frame: pd.DataFrame) -> dict[str, float]:
    out = {}
    groups = [(g["w"].iloc[0], g["score"].to_numpy(), g["rel"].to_numpy())
              for _, g in frame.groupby("query", sort=True)]
    w = np.array([g[0] for g in groups])
    for arg, label in zip(LOSSES, LABELS):
        metric, k = _parse(arg)
        values = np.array([reference(metric, k, s, r) for _, s, r in groups])
        out[label] = float(np.sum(w * values) / np.sum(w))
    return out


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """40 queries of 1..6 items: scores with many ties, graded relevance 0..3 (some
    queries all 0), integer weights per query (repeats and a 0); the rows of each query
    contiguous in ``sorted.csv`` and shuffled across the file in ``shuffled.csv``."""
    rng = np.random.default_rng(6)
    rows = []
    for q in range(40):
        n = int(rng.integers(1, 7))
        rel = rng.integers(0, 4, n) * (rng.random(n) < (0.0 if q % 9 == 4 else 0.6))
        score = rng.integers(0, 4, n) + 0.5 * (rel > 1)
        w = 0.0 if q == 7 else float(rng.integers(1, 4))
        rows += [(f"q{q:02d}", float(s), float(r), w) for s, r in zip(score, rel)]
    frame = pd.DataFrame(rows, columns=["query", "score", "rel", "w"])
    folder = tmp_path_factory.mktemp("ranking")
    contiguous, shuffled = folder / "sorted.csv", folder / "shuffled.csv"
    frame.to_csv(contiguous, index=False)
    frame.sample(frac=1.0, random_state=3).to_csv(shuffled, index=False)
    return frame, contiguous, shuffled


COLS = ("--pred-col", "score", "--target-col", "rel", "--query-col", "query",
        "--weight-col", "w")


def _report(*args: object) -> dict:
    proc = run_losscli("eval", *map(str, args), "-f", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _values(report: dict) -> dict[str, float]:
    return {d["label"]: d["value"] for d in report["losses"]}


def test_the_metrics_by_themselves_equal_brute_force_over_permutations():
    """The closed forms of the tie rule against the mean over every permutation (and sklearn
    where it has the metric), on small queries with many ties."""
    from losscli.stats.queries import query_value

    rng = np.random.default_rng(0)
    for _ in range(150):
        n = int(rng.integers(1, 7))
        s = rng.integers(0, 3, n).astype(float)
        r = rng.integers(0, 3, n).astype(float)
        for metric, k in [("ndcg", None), ("ndcg", 2), ("mrr", None), ("map", None),
                          ("map", 1), ("map", 3), ("precision_at_k", 2),
                          ("recall_at_k", 3), ("precision_at_k", 7)]:
            assert query_value(metric, k, s, r) == pytest.approx(
                reference(metric, k, s, r), abs=1e-12), (metric, k, s, r)
        if len(np.unique(s)) == n and (r > 0).any():  # no ties: sklearn's AP
            assert query_value("map", None, s, r) == pytest.approx(
                average_precision_score(r > 0, s), abs=1e-12)


def test_equal_to_references_in_every_order_chunking_and_with_two_workers(data):
    frame, contiguous, shuffled = data
    refs = references(frame)
    losses = [a for name in LOSSES for a in ("-l", name)]
    seen = []
    for path, mode, runs in ((contiguous, "contiguous", RUNS), (shuffled, "keyed", RUNS[:1])):
        for extra in runs:
            report = _report(path, *COLS, *losses, *extra)
            got = _values(report)
            assert got == pytest.approx(refs, abs=1e-12)
            assert {d["details"]["mode"] for d in report["losses"]} == {mode}
            seen.append(got)
        # Parquet row groups of 9 rows: units of a few rows, queries cut between them
        parquet = path.with_suffix(".parquet")
        pd.read_csv(path).to_parquet(parquet, row_group_size=9, index=False)
        report = _report(parquet, *COLS, *losses, "--workers", "2", "--chunk-size", "3")
        assert {d["details"]["mode"] for d in report["losses"]} == {mode}
        seen.append(_values(report))
        if mode == "contiguous" and importlib.util.find_spec("distributed") is not None:
            # the Dask engine: workers in other processes, the mode sent with the job
            report = _report(parquet, *COLS, *losses, "--engine", "dask", "--workers", "2",
                             "--chunk-size", "3")
            assert {d["details"]["mode"] for d in report["losses"]} == {mode}
            seen.append(_values(report))
    # the same bits whatever the row order, chunking, mode or worker count
    assert all(v == seen[0] for v in seen), seen
    details = report["losses"][0]["details"]
    assert details["queries"] == 40
    assert details["queries_without_relevant"] == int(
        (frame.groupby("query")["rel"].max() == 0).sum()) > 0


def test_ndcg_equals_sklearn_on_equal_length_queries_with_sample_weight(tmp_path):
    """sklearn's ndcg_score on the (queries, items) matrix itself, k and sample_weight."""
    rng = np.random.default_rng(11)
    q, n = 25, 5
    y = rng.integers(0, 4, (q, n)).astype(float)
    s = rng.integers(0, 3, (q, n)).astype(float)
    w = rng.integers(1, 5, q).astype(float)
    frame = pd.DataFrame({"query": np.repeat(np.arange(q), n), "score": s.ravel(),
                          "rel": y.ravel(), "w": np.repeat(w, n)})
    path = tmp_path / "m.parquet"
    frame.sample(frac=1.0, random_state=1).to_parquet(path, index=False)
    got = _values(_report(path, *COLS, "-l", "ndcg", "-l", "ndcg:k=2"))
    assert got["ndcg"] == pytest.approx(ndcg_score(y, s, sample_weight=w), abs=1e-12)
    assert got["ndcg(k=2)"] == pytest.approx(ndcg_score(y, s, k=2, sample_weight=w), abs=1e-12)


def test_merge_of_saved_states_equals_the_whole(data, tmp_path):
    """Parts cut inside a query, in both modes, merged in either order: the whole's bits."""
    frame, _, shuffled = data
    losses = [a for name in LOSSES for a in ("-l", name)]
    merged = []
    # the contiguous mode's parts keep their first and open queries (cut here); the keyed
    # mode's merges are the property tests' (tests/test_properties.py)
    for name, source in (("sorted", frame),):
        states = []
        for i, rows in enumerate((slice(0, 61), slice(61, None))):
            part = tmp_path / f"{name}{i}.csv"
            source[rows].to_csv(part, index=False)
            states.append(tmp_path / f"{name}{i}.state")
            proc = run_losscli("eval", part, *COLS, *losses, "-q", "--save-state", states[-1])
            assert proc.returncode == 0, proc.stderr
        proc = run_losscli("merge", states[1], states[0], "-f", "json")
        assert proc.returncode == 0, proc.stderr
        merged.append(_values(json.loads(proc.stdout)))
    assert merged[0] == _values(_report(shuffled, *COLS, *losses))
    assert merged[0] == pytest.approx(references(frame), abs=1e-12)


def test_a_query_reduced_in_two_parts_is_refused_at_merge(data, tmp_path):
    """Two contiguous files that both finish query q00: their merge would count it twice."""
    frame, _, _ = data
    first = frame[frame["query"] <= "q02"]
    states = []
    for i, part_frame in enumerate((first, first)):
        part = tmp_path / f"p{i}.csv"
        part_frame.to_csv(part, index=False)
        states.append(tmp_path / f"p{i}.state")
        assert run_losscli("eval", part, *COLS, "-l", "mrr", "-q", "--save-state",
                           states[-1]).returncode == 0
    proc = run_losscli("merge", *states)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "reduced in two parts" in err and len(err.strip().splitlines()) == 1, err


def test_contiguous_queries_hold_only_the_open_query(tmp_path):
    """2000 queries of 5 rows: contiguous, at most the first and the open query's rows are
    held (10), whatever the rows; shuffled, every row is held until the end; stdin keyed."""
    rng = np.random.default_rng(2)
    q, n = 2000, 5
    frame = pd.DataFrame({"query": np.repeat(np.arange(q), n),
                          "score": rng.integers(0, 5, q * n).astype(float),
                          "rel": rng.integers(0, 3, q * n).astype(float)})
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    cols = ("--pred-col", "score", "--target-col", "rel", "--query-col", "query")
    d = _report(path, *cols, "-l", "ndcg", "--chunk-size", "300")["losses"][0]
    assert d["details"]["mode"] == "contiguous"
    assert d["details"]["rows_held_max"] <= 2 * n
    shuffled = tmp_path / "shuffled.csv"
    frame.sample(frac=1.0, random_state=0).to_csv(shuffled, index=False)
    k = _report(shuffled, *cols, "-l", "ndcg", "--chunk-size", "300")["losses"][0]
    assert k["details"]["mode"] == "keyed" and k["details"]["rows_held_max"] == q * n
    assert k["value"] == d["value"]
    proc = run_losscli("eval", "-", *cols, "-l", "ndcg", "-f", "json", input=path.read_bytes())
    assert proc.returncode == 0, proc.stderr
    piped = json.loads(proc.stdout)["losses"][0]
    assert piped["details"]["mode"] == "keyed" and piped["value"] == d["value"]


def _traced(mode: str, q: int, n: int, chunk: int) -> tuple[int, object]:
    """Bytes an aggregate of ``q`` queries of ``n`` rows holds (tracemalloc), and itself."""
    import tracemalloc

    from losscli.query_aggregate import QueryRanking

    rng = np.random.default_rng(0)
    query = np.repeat(np.arange(q), n).astype(np.uint64) * np.uint64(2654435761)
    score, rel = rng.normal(size=q * n), rng.integers(0, 2, q * n).astype(float)
    agg = QueryRanking("mrr", mode=mode)
    tracemalloc.start()
    for lo in range(0, q * n, chunk):
        agg.update(score[lo:lo + chunk], None, {"target": rel[lo:lo + chunk],
                                                 "query": query[lo:lo + chunk]})
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return held, agg


def test_memory_of_the_contiguous_mode_is_bounded_by_the_open_query():
    """tracemalloc over the aggregate: contiguous, the bytes held do not grow with the rows
    per query (a 25-byte record per finished query, the open query's rows); keyed, every
    row costs 32 bytes (hash, score, relevance, weight) until the end."""
    q = 3000
    few, agg_few = _traced("contiguous", q, 4, 200)
    many, agg_many = _traced("contiguous", q, 40, 200)
    for agg, n in ((agg_few, 4), (agg_many, 40)):
        assert agg.rows_held() <= 2 * n
        assert agg.nbytes() == 25 * (q - 2) + 32 * agg.rows_held()  # first and open held
    # ten times the rows (108 000 more, 3.4 MB if they were kept): a few kB more at most
    # (numpy's cache of small freed buffers, bounded)
    assert many - few < 200_000, (few, many)
    keyed, agg_keyed = _traced("keyed", q, 40, 2000)
    assert agg_keyed.nbytes() == 32 * q * 40
    assert 32 <= keyed / (q * 40) < 32 * 1.1, keyed
    assert agg_keyed.result() == agg_many.result()


def _one_line(proc) -> str:
    err = proc.stderr.decode()
    assert proc.returncode == 2, (proc.returncode, err)
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_bad_inputs_are_one_line_and_exit_2(data, tmp_path):
    frame, contiguous, _ = data
    base = ("--pred-col", "score", "--target-col", "rel")
    line = _one_line(run_losscli("eval", contiguous, *base, "--query-col", "nope", "-l", "ndcg"))
    assert "nope" in line and "sorted.csv" in line
    line = _one_line(run_losscli("eval", contiguous, *base, "--query-col", "query",
                                 "-l", "mse"))
    assert "--query-col" in line and "ndcg" in line
    line = _one_line(run_losscli("eval", contiguous, *base, "--query-col", "query",
                                 "-l", "ndcg", "-l", "mse"))
    assert "mse" in line and "not a metric per query" in line
    line = _one_line(run_losscli("eval", contiguous, *base, "-l", "ndcg"))
    assert "--query-col" in line
    line = _one_line(run_losscli("eval", contiguous, *base, "--query-col", "query",
                                 "-l", "recall_at_k:k=0"))
    assert "'k'" in line and ">= 1" in line
    bad = frame.copy()
    bad.loc[9, "rel"] = np.nan
    path = tmp_path / "nan.csv"
    bad.to_csv(path, index=False)
    line = _one_line(run_losscli("eval", path, *base, "--query-col", "query", "-l", "ndcg"))
    assert "row 9" in line and "rel" in line
    bad = frame.copy()
    bad.loc[bad.index[bad["query"] == "q03"][-1], "w"] = 9.0
    path = tmp_path / "weights.csv"
    bad.to_csv(path, index=False)
    line = _one_line(run_losscli("eval", path, *COLS, "-l", "ndcg"))
    assert "vary within query 'q03'" in line and "row " in line
    bad = frame.copy()
    bad.loc[3, "rel"] = -1.0
    path = tmp_path / "negative.csv"
    bad.to_csv(path, index=False)
    line = _one_line(run_losscli("eval", path, *base, "--query-col", "query", "-l", "map"))
    assert "row 3" in line and ">= 0" in line


def test_intervals_over_queries_in_the_table_and_json(data):
    """The table shows the interval; it is the same in both modes, every chunking and
    merge (the API here, the CLI once)."""
    import losscli

    _, contiguous, shuffled = data
    report = _report(contiguous, *COLS, "-l", "ndcg", "-l", "mrr", "--ci")
    proc = run_losscli("eval", contiguous, *COLS, "-l", "ndcg", "--ci")
    assert proc.returncode == 0 and "95% interval" in proc.stdout.decode()
    for d in report["losses"]:
        assert d["interval"]["low"] < d["value"] < d["interval"]["high"]
        assert d["interval"]["method"] == "normal"
    for method in ("analytic", "bootstrap"):
        got = []
        for path, chunk in ((contiguous, None), (shuffled, 7), (shuffled, 1)):
            r = losscli.evaluate(str(path), pred_col="score", target_col="rel",
                                 query_col="query", weight_col="w", losses=["ndcg", "mrr"],
                                 ci=True, ci_method=method, chunk_size=chunk)
            got.append([x.interval for x in r.losses])
        assert got[0] == got[1] == got[2]
        if method == "analytic":
            assert [x["low"] for x in got[0]] == [d["interval"]["low"] for d in report["losses"]]
        else:
            assert {x["method"] for x in got[0]} == {"percentile"}


def _simulated(rng: np.random.Generator, queries: int) -> pd.DataFrame:
    n = 4
    rel = (rng.random((queries, n)) < 0.4).astype(float)
    score = rel * 0.8 + rng.normal(0.0, 1.0, (queries, n))
    return pd.DataFrame({"query": np.repeat(np.arange(queries), n), "score": score.ravel(),
                         "rel": rel.ravel()})


def test_interval_coverage_by_simulation():
    """The 90% intervals of mrr over 40 queries cover the population mean (from 200 000
    queries) in 200 simulated data sets at the nominal rate, within a binomial tolerance."""
    import losscli
    from losscli.stats.queries import query_value

    big = _simulated(np.random.default_rng(99), 20_000)
    s, r = big["score"].to_numpy().reshape(-1, 4), big["rel"].to_numpy().reshape(-1, 4)
    truth = float(np.mean([query_value("mrr", None, a, b) for a, b in zip(s, r)]))
    rng = np.random.default_rng(5)
    sims, level = 200, 0.9
    hits = {"analytic": 0, "bootstrap": 0}
    for _ in range(sims):
        frame = _simulated(rng, 40)
        for method in hits:
            report = losscli.evaluate(predictions=frame, pred_col="score", target_col="rel",
                                      query_col="query", losses=["mrr"], ci=True,
                                      ci_level=level, ci_method=method, replicates=200)
            iv = report.losses[0].interval
            hits[method] += iv["low"] <= truth <= iv["high"]
    tolerance = 3.5 * math.sqrt(level * (1 - level) / sims)
    for method, hit in hits.items():
        assert abs(hit / sims - level) <= tolerance + 0.02, (method, hit / sims)


def _two_models(rng: np.random.Generator, queries: int, shift: float = 0.0) -> pd.DataFrame:
    """Two models scoring the same items: independent noise of the same size (equal
    models), the second sharpened by ``shift``."""
    n = 5
    rel = rng.integers(0, 3, (queries, n)).astype(float)
    a = rel + rng.normal(0.0, 1.5, (queries, n))
    b = rel * (1.0 + shift) + rng.normal(0.0, 1.5, (queries, n))
    return pd.DataFrame({"query": np.repeat(np.arange(queries), n), "rel": rel.ravel(),
                         "a": a.ravel().round(1), "b": b.ravel().round(1)})


def test_compare_tests_the_per_query_differences(tmp_path):
    """compare's p-value is the paired normal test on the per-query differences (their
    t statistic, scipy's ttest_rel, read on the normal), its interval the differences'
    mean ± z·SE; the same in the paired gate (check --reference-col)."""
    from scipy.stats import norm, ttest_rel

    frame = _two_models(np.random.default_rng(8), 60, shift=0.3)
    path = tmp_path / "two.csv"
    frame.sample(frac=1.0, random_state=2).to_csv(path, index=False)
    proc = run_losscli("compare", path, "--pred-col", "a", "--pred-col", "b", "--target-col",
                       "rel", "--query-col", "query", "-l", "ndcg:k=3", "--ci", "-f", "json")
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)["losses"][0]
    va, vb = ([ndcg_score([g["rel"]], [g[m]], k=3) for _, g in frame.groupby("query")]
              for m in ("a", "b"))
    t = ttest_rel(vb, va).statistic
    assert row["p_value"]["b"] == pytest.approx(2 * norm.sf(abs(t)), rel=1e-9)
    d = np.subtract(vb, va)
    half = norm.ppf(0.975) * d.std(ddof=1) / math.sqrt(len(d))
    low, high = row["diff_interval"]["b"]
    assert (low, high) == pytest.approx((d.mean() - half, d.mean() + half), rel=1e-9)
    assert row["diff"]["b"] == pytest.approx(d.mean(), abs=1e-12)
    gate = run_losscli("check", path, "--pred-col", "b", "--reference-col", "a",
                       "--target-col", "rel", "--query-col", "query", "-l", "ndcg:k=3",
                       "-f", "json")
    assert gate.returncode == 0, gate.stderr
    check = json.loads(gate.stdout)["checks"][0]
    assert check["p_value"] == pytest.approx(2 * norm.sf(abs(t)), rel=1e-9)


def test_compare_false_alarm_rate_on_two_equal_models():
    """Two models of the same quality: the paired test (normal, and the bootstrap over
    queries) rejects at 10% in about 10% of 200 simulated data sets (binomial tolerance)."""
    import losscli
    from losscli.comparison import Model

    rng = np.random.default_rng(12)
    sims, alpha = 200, 0.1
    alarms = {"analytic": 0, "bootstrap": 0}
    for _ in range(sims):
        frame = _two_models(rng, 30)
        for method in alarms:
            comp = losscli.compare([Model("a", frame, "a"), Model("b", frame, "b")],
                                   target_col="rel", query_col="query", losses=["mrr"],
                                   ci_method=method, replicates=200)
            alarms[method] += comp.rows[0].p_value[1] < alpha
    tolerance = 3.5 * math.sqrt(alpha * (1 - alpha) / sims)
    for method, n in alarms.items():
        assert abs(n / sims - alpha) <= tolerance, (method, n / sims)


def test_group_by_ranks_each_groups_queries_and_refuses_a_query_in_two_groups(data, tmp_path):
    frame, _, _ = data
    grouped = frame.assign(g=frame["query"].str[1:].astype(int) % 3)
    path = tmp_path / "groups.csv"
    grouped.sample(frac=1.0, random_state=4).to_csv(path, index=False)
    report = _report(path, *COLS, "-l", "mrr", "-l", "ndcg:k=3", "--group-by", "g",
                     "--chunk-size", "7")
    for group in report["groups"]:
        part = grouped[grouped["g"].astype(str) == str(group["key"]["g"])]
        refs = {k: v for k, v in references(part).items() if k in ("mrr", "ndcg(k=3)")}
        got = {d["label"]: d["value"] for d in group["losses"]}
        assert got == pytest.approx(refs, abs=1e-12)
    bad = grouped.copy()
    bad.loc[bad.index[bad["query"] == "q05"][-1], "g"] = 9
    for chunk in ("7", "1"):  # in one chunk, and across chunks
        bad.to_csv(path, index=False)
        line = _one_line(run_losscli("eval", path, *COLS, "-l", "mrr", "--group-by", "g",
                                     "--chunk-size", chunk))
        assert "query 'q05'" in line and "two groups" in line and "row " in line


def test_the_summary_line_counts_the_queries_and_names_the_mode(tmp_path):
    """The table's summary says how many queries were ranked, how many had no relevant item
    (scored 0) and which mode held them — counted here with pandas."""
    sample = Path(__file__).resolve().parents[1] / "sample_data" / "ranking.csv"
    df = pd.read_csv(sample)
    queries = df["query"].nunique()
    empty = int((df.groupby("query")["relevance"].max() <= 0).sum())
    for path, mode in ((sample, "contiguous"), (tmp_path / "shuffled.csv", "keyed")):
        if mode == "keyed":
            df.sample(frac=1.0, random_state=3).to_csv(path, index=False)
        proc = run_losscli("eval", path, "--pred-col", "score", "--target-col", "relevance",
                           "--query-col", "query", "-l", "ndcg:k=5", "-l", "mrr",
                           env={"COLUMNS": "250"})
        assert proc.returncode == 0, proc.stderr.decode()
        want = f"queries: {queries} ({mode}" + (
            f"; {empty} without a relevant item, scored 0)" if empty else ")")
        assert want in proc.stdout.decode()
