"""``python -m benchmarks``: generate data, run losscli and its peers interleaved, check
they agree, and write ``results/latest.md`` and ``results/latest.json``.

Per case: every tool runs ``--warmup`` times (untimed, also warming the page cache) and then
``--repeats`` rounds; each round runs every tool once, in an order rotated from round to
round, so drift on a shared machine hits all tools alike. Every run's printed values are
checked against the consensus (1e-9 relative) before any time is reported; a tool that
disagrees or fails is reported loudly and not timed. The consensus is per printed value:
tools that print more (per-group values, intervals) are checked on every value they share
with another tool.

Cases that need a server (``s3``: a moto S3 server; ``dask``: a 2-worker cluster) start it
before their first round and stop it after their last (``benchmarks/services.py``). With
``startup``, an import report (``python -X importtime``) of a few commands is added.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import data
from benchmarks.cases import CASE_NAMES, FULL_ONLY, LOSSES, STARTUP_BASELINE, TOOLS, Case, Tool
from benchmarks.harness import Run, Stats, rel_diff, run_once, wait_quiet

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
TOLERANCE = 1e-9


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark losscli against DuckDB, polars, pandas+sklearn, numpy, torch, "
                    "dask.dataframe (see benchmarks/README.md for the cases).",
    )
    ap.add_argument("--sizes", default=None,
                    help="regression row counts, comma-separated (default 1M,10M; 100M only "
                         "when asked: it needs ~5 GB of disk and minutes to generate)")
    ap.add_argument("--cases", default=None,
                    help=f"comma-separated subset of: {', '.join(CASE_NAMES)} (default: all; "
                         f"with --quick all but {', '.join(FULL_ONLY)})")
    ap.add_argument("--tools", default=None,
                    help="comma-separated peers to run besides losscli (default: all installed)")
    ap.add_argument("--repeats", type=int, default=None, help="timed rounds per case (default 5)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed rounds first (default 1)")
    ap.add_argument("--binary-rows", default=None, help="rows of the binary case (default 10M)")
    ap.add_argument("--multiclass-rows", default=None,
                    help="rows of the multi-class case, 100 classes (default 1M)")
    ap.add_argument("--big-rows", default=None,
                    help="rows of the 'big' Parquet case (default 100M, ~1.6 GB, generated in "
                         "1M-row chunks; 20k with --quick)")
    ap.add_argument("--scale-rows", default=None,
                    help="rows of the workers, hive, s3, groups-*, ci and dask cases (default: "
                         "the largest of --sizes)")
    ap.add_argument("--boot-rows", default=None,
                    help="rows of the bootstrap case (default 1M; 10k with --quick)")
    ap.add_argument("--churn-rows", default=None,
                    help="rows of the churn and churn-join cases (default 10M; 10k with --quick)")
    ap.add_argument("--tenclass-rows", default=None,
                    help="rows of the tenclass case (10 classes, text labels; default 10M; "
                         "10k with --quick)")
    ap.add_argument("--auc-rows", default=None,
                    help="rows of the auc case (distinct scores; default 10M; 10k with --quick)")
    ap.add_argument("--quick", action="store_true",
                    help="tiny data (10k rows), 1 round, no warm-up: checks the harness works")
    ap.add_argument("--cache", type=Path, default=HERE / ".cache", help="data folder")
    ap.add_argument("--out", type=Path, default=None,
                    help="results folder (default benchmarks/results, or CACHE/quick-results "
                         "with --quick)")
    ap.add_argument("--accuracy-max-rows", default="10M",
                    help="exact (math.fsum) reference for regression sizes up to this (0: none)")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per process")
    ap.add_argument("--render-only", action="store_true",
                    help="rewrite OUT/latest.md (and the targets) from OUT/latest.json, run nothing")
    ap.add_argument("--quiet-cores", type=float, default=0.5,
                    help="before each round wait until other processes keep at most this many "
                         "cores busy (default 0.5) ...")
    ap.add_argument("--quiet-wait", type=float, default=None,
                    help="... but at most this many seconds (default 20; 0 with --quick)")
    args = ap.parse_args(argv)
    q = args.quick
    args.sizes = [data.parse_size(s) for s in (args.sizes or ("10k" if q else "1M,10M")).split(",")]
    args.binary_rows = data.parse_size(args.binary_rows or ("10k" if q else "10M"))
    args.multiclass_rows = data.parse_size(args.multiclass_rows or ("2k" if q else "1M"))
    args.big_rows = data.parse_size(args.big_rows or ("20k" if q else "100M"))
    args.scale_rows = (data.parse_size(args.scale_rows) if args.scale_rows else max(args.sizes))
    args.boot_rows = data.parse_size(args.boot_rows or ("10k" if q else "1M"))
    args.churn_rows = data.parse_size(args.churn_rows or ("10k" if q else "10M"))
    args.tenclass_rows = data.parse_size(args.tenclass_rows or ("10k" if q else "10M"))
    args.auc_rows = data.parse_size(args.auc_rows or ("10k" if q else "10M"))
    if args.scale_rows < data.PARTS:
        ap.error(f"--scale-rows must be at least {data.PARTS} (one row per hive part)")
    args.repeats = args.repeats if args.repeats is not None else (1 if q else 5)
    args.warmup = args.warmup if args.warmup is not None else (0 if q else 1)
    if args.cases is None:
        args.cases = ",".join(c for c in CASE_NAMES if not (q and c in FULL_ONLY))
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = set(args.cases) - set(CASE_NAMES)
    if unknown:
        ap.error(f"unknown case(s) {', '.join(sorted(unknown))}; use: {', '.join(CASE_NAMES)}")
    args.tools = None if args.tools is None else {t.strip() for t in args.tools.split(",")}
    if args.quiet_wait is None:
        args.quiet_wait = 0.0 if q else 20.0
    args.accuracy_max_rows = (0 if args.accuracy_max_rows in ("0", "")
                              else data.parse_size(args.accuracy_max_rows))
    if args.out is None:
        args.out = args.cache / "quick-results" if q else HERE / "results"
    if args.repeats < 1 or args.warmup < 0:
        ap.error("--repeats must be >= 1 and --warmup >= 0")
    return args


def losscli_capabilities() -> tuple[set[str], str]:
    """Loss names ``losscli losses --format json`` lists (to skip cases it cannot run)."""
    run = run_once([sys.executable, "-m", "losscli", "losses", "--format", "json"], cwd=ROOT)
    if run.returncode != 0:
        lines = run.stderr.strip().splitlines()
        return set(), lines[-1] if lines else f"exit {run.returncode}"
    return {entry["name"] for entry in json.loads(run.stdout)}, ""


def build_cases(args: argparse.Namespace, losses: set[str]) -> tuple[list[Case], list[str]]:
    from benchmarks import cases as c

    cases: list[Case] = []
    notes: list[str] = []
    label = data.size_label

    def parquet_only(n: int) -> Path:
        """``data.parquet`` with the rows of ``regression_N`` (no CSV/NPY generated)."""
        return data.files("regression-parquet",
                          data.ensure(args.cache, "regression-parquet", n, log))["parquet"][0]

    n = args.scale_rows
    for name in args.cases:
        if name in ("parquet", "csv", "npy"):
            for rows in args.sizes:
                folder = data.ensure(args.cache, "regression", rows, log)
                cases.append(Case("regression", name, rows, data.files("regression", folder)[name]))
        elif name in ("binary", "multiclass"):
            need = set(LOSSES[name])
            missing = ""
            if not need <= losses:
                missing = (f"losscli does not list {', '.join(sorted(need - losses))} yet "
                           "(issue 3)")
                notes.append(f"{name} cases: {missing}; the peers ran alone, for reference.")
            rows = args.binary_rows if name == "binary" else args.multiclass_rows
            folder = data.ensure(args.cache, name, rows, log)
            for fmt, paths in data.files(name, folder).items():
                cases.append(Case(name, fmt, rows, paths, losscli_missing=missing, name=name))
        elif name == "startup":
            cases.append(Case("startup", "", 0, [parquet_only(1000)], baseline=STARTUP_BASELINE,
                              name="startup"))
        elif name == "big":
            cases.append(Case("regression", "parquet", args.big_rows, [parquet_only(args.big_rows)],
                              name="big"))
        elif name == "workers":
            cases.append(Case("regression", "parquet", n, [parquet_only(n)], name="workers",
                              label=f"--workers 1, 2, auto: regression parquet {label(n)}"))
        elif name in ("hive", "s3", "dask"):
            folder = data.files("hive", data.ensure(args.cache, "hive", n, log))["hive"][0]
            title = {"hive": "hive folder", "s3": "S3 (moto server), hive folder",
                     "dask": "--engine dask (2-worker cluster), hive folder"}[name]
            case = Case("regression", name if name != "dask" else "hive", n, [folder], name=name,
                        label=f"{title}: {data.PARTS} Parquet parts, {label(n)} rows")
            if name == "hive":
                case.extra["one_file"] = str(parquet_only(n))
            elif name == "s3":
                case.requires = ("moto", "boto3", "flask")
                case.extra["endpoint"] = "http://127.0.0.1:PORT"  # set when the server runs
            else:
                case.requires = ("distributed",)
                case.extra["scheduler"] = "tcp://127.0.0.1:PORT"
            cases.append(case)
        elif name in ("groups-int", "groups-str"):
            file = data.files("grouped", data.ensure(args.cache, "grouped", n, log))["parquet"][0]
            col = "g" if name == "groups-int" else "s"
            kind = "int64" if col == "g" else "string, dictionary-encoded pages"
            outputs = {t: {"groups"} for t in ("losscli", "polars", "duckdb")}
            cases.append(Case("groups", "parquet", n, [file], name=name, outputs=outputs,
                              label=f"--group-by {col} ({data.GROUPS} values, {kind}): "
                                    f"parquet {label(n)}",
                              extra={"column": col, "groups": min(data.GROUPS, n)}))
        elif name == "ci":
            outputs = {t: {"intervals"} for t in ("losscli", "polars", "duckdb")}
            cases.append(Case("regression", "parquet", n, [parquet_only(n)], name="ci",
                              outputs=outputs, label=f"--ci (analytic): parquet {label(n)}"))
        elif name in c.CHURN_CASES:
            rows = args.churn_rows
            files = data.files("churn", data.ensure(args.cache, "churn", rows, log))
            fmt = "join" if name == "churn-join" else "parquet"
            grouped = (c.CHURN_GROUPS, c.CHURN_GROUPS_CI, "duckdb", "polars", "pandas+sklearn")
            per_channel = {t: {"groups"} for t in grouped}
            title = ("predictions and targets joined by id (two files)" if fmt == "join"
                     else "one file")
            cases.append(Case("churn", fmt, rows, files[fmt], name=name, outputs=per_channel,
                              label=f"churn job, {title}: text labels yes/no, accuracy + f1 + "
                                    f"roc_auc + bce, {label(rows)} rows",
                              extra={"groups": min(len(data.CHANNELS), rows)}))
        elif name == "tenclass":
            rows = args.tenclass_rows
            files = data.files("tenclass", data.ensure(args.cache, "tenclass", rows, log))
            k = len(data.TENCLASS_LABELS)
            cases.append(Case("tenclass", "parquet", rows, files["parquet"], name=name,
                              label=f"{k} classes, text labels matched to the p_LABEL columns: "
                                    f"cross_entropy + accuracy + macro f1, {label(rows)} rows"))
        elif name == "auc":
            rows = args.auc_rows
            files = data.files("auc", data.ensure(args.cache, "auc", rows, log))
            cases.append(Case("auc", "parquet", rows, files["parquet"], name=name,
                              label=f"exact roc_auc of {label(rows)} distinct scores"))
        elif name == "bootstrap":
            rows = args.boot_rows
            outputs = {t: {"intervals"} for t in ("losscli", c.FLOOR)}
            cases.append(Case("regression", "parquet", rows, [parquet_only(rows)], name="bootstrap",
                              outputs=outputs,
                              label=f"--ci --ci-method bootstrap --replicates {c.REPLICATES}: "
                                    f"parquet {label(rows)}"))
    return cases, notes


def flatten_report(doc: dict[str, Any]) -> dict[str, float]:
    """losscli's JSON report as flat values, named as the peers name theirs: ``mse``;
    ``mse.low`` / ``mse.high`` (an interval); ``g=7/mse`` and ``g=7/rows`` (a group)."""
    out: dict[str, Any] = {}

    def losses(entries: list[dict[str, Any]], prefix: str = "") -> None:
        for entry in entries:
            out[prefix + entry["name"]] = entry["value"]
            interval = entry.get("interval") or {}
            if interval.get("low") is not None and interval.get("high") is not None:
                out[f"{prefix}{entry['name']}.low"] = interval["low"]
                out[f"{prefix}{entry['name']}.high"] = interval["high"]

    losses(doc["losses"])
    for group in doc.get("groups") or []:
        prefix = ",".join(f"{k}={v}" for k, v in group["key"].items()) + "/"
        out[prefix + "rows"] = group["rows"]
        losses(group["losses"], prefix)
    return out


def parse_values(tool: Tool, case: Case, run: Run) -> dict[str, float]:
    """The values a tool printed (losscli: its JSON report; peers: a flat object), checked
    to hold at least what the tool must print in this case: the task's losses, and their
    intervals or every group's losses and rows where ``case.outputs`` says so."""
    doc = json.loads(run.stdout)
    values = flatten_report(doc) if tool.is_losscli else doc
    want = list(LOSSES[case.task])
    outputs = case.outputs.get(tool.name, set())
    if "intervals" in outputs:
        want += [f"{k}.{end}" for k in LOSSES[case.task] for end in ("low", "high")]
    missing = [k for k in want if k not in values or values[k] is None]
    if missing:
        raise ValueError(f"printed no value for {', '.join(missing)}")
    if "groups" in outputs:
        groups = {k.rsplit("/", 1)[0] for k in values if "/" in k}
        if len(groups) != case.extra["groups"]:
            raise ValueError(f"printed {len(groups)} groups, expected {case.extra['groups']}")
        incomplete = [g for g in groups for k in (*LOSSES[case.task], "rows")
                      if values.get(f"{g}/{k}") is None]
        if incomplete:
            raise ValueError(f"groups without every value: {', '.join(sorted(set(incomplete))[:5])}")
    return {k: float(v) for k, v in values.items() if v is not None}


def check_round(values: dict[str, dict[str, float]], order: list[str]
                ) -> dict[str, tuple[float, str, str]]:
    """Per printed value, the consensus among the tools that print it: the tool agreeing
    with most others on it (ties: earliest in ``order``, losscli first). Returns, per tool,
    its worst relative difference to a consensus, with that value's name and the tool it
    was compared with."""
    worst: dict[str, tuple[float, str, str]] = {t: (0.0, "", t) for t in values}
    keys = dict.fromkeys(k for t in order for k in values[t])
    for key in keys:
        holders = [t for t in order if key in values[t]]

        score = {t: (sum(rel_diff(values[t][key], values[o][key]) <= TOLERANCE
                         for o in holders if o != t), -i) for i, t in enumerate(holders)}
        ref = max(holders, key=score.__getitem__)
        for t in holders:
            d = rel_diff(values[t][key], values[ref][key])
            if d > worst[t][0]:
                worst[t] = (d, key, ref)
    return worst


def run_case(case: Case, tools: list[Tool], args: argparse.Namespace,
             exact: dict[str, float] | None, failure: str = "") -> dict[str, Any]:
    """Warm-up and timed rounds of every tool on one case; validation on every run.
    ``failure``: the case could not be set up (its server did not start): every tool
    fails with that note."""
    entries: dict[str, dict[str, Any]] = {}
    envs: dict[str, dict[str, str] | None] = {}
    active: list[Tool] = []
    case_missing = case.missing()
    for tool in tools:
        argv = tool.command(case)
        if argv is None:
            continue
        entry: dict[str, Any] = {"tool": tool.name, "command": _short(argv), "status": "ok"}
        entries[tool.name] = entry
        missing = tool.missing()
        if case_missing:
            entry.update(status="skipped", note=f"not installed: {', '.join(case_missing)} "
                                                "(the case needs it)")
            continue
        if tool.is_losscli and case.losscli_missing:
            entry.update(status="skipped", note=case.losscli_missing)
            continue
        if missing:
            entry.update(status="skipped", note=f"not installed: {', '.join(missing)}")
            continue
        if failure:
            entry.update(status="failed", note=failure)
            continue
        entry["argv"] = argv
        envs[tool.name] = tool.env(case) if tool.env is not None else None
        active.append(tool)
    stats = {t.name: Stats() for t in active}
    first_values: dict[str, dict[str, float]] = {}
    total_rounds = args.warmup + args.repeats
    contention: list[float] = []
    for rnd in range(total_rounds):
        timed = rnd >= args.warmup
        if timed and args.quiet_wait > 0:
            busy, waited = wait_quiet(args.quiet_cores, args.quiet_wait)
            if busy is not None:
                contention.append(round(busy, 2))
            if waited > 1:
                log(f"  [{case.id}] waited {waited:.0f} s for a quieter machine "
                    f"(other processes busy on {busy:.1f} cores)")
        k = rnd % len(active) if active else 0
        order = active[k:] + active[:k]
        round_values: dict[str, dict[str, float]] = {}
        round_runs: dict[str, Run] = {}
        for tool in order:
            run = run_once(entries[tool.name]["argv"], cwd=ROOT, env=envs[tool.name],
                           timeout=args.timeout)
            label = "timed" if timed else "warm-up"
            log(f"  [{case.id}] {label} {rnd + 1 - (args.warmup if timed else 0)}: "
                f"{tool.name:<26} {run.wall:7.3f} s  {run.rss / 2**20:7.1f} MB"
                + ("" if run.returncode == 0 else f"  EXIT {run.returncode}"))
            if run.returncode != 0 or run.timed_out:
                err = run.stderr.strip().splitlines()
                why = "timed out" if run.timed_out else f"exit {run.returncode}"
                _fail(entries[tool.name], "failed", f"{why}: {err[-1] if err else '(no stderr)'}")
                continue
            if case.task != "startup":
                try:
                    round_values[tool.name] = parse_values(tool, case, run)
                except (ValueError, KeyError, TypeError) as exc:
                    _fail(entries[tool.name], "failed", f"unreadable output: {exc}")
                    continue
            elif not run.stdout.strip() and tool.is_losscli:
                _fail(entries[tool.name], "failed", "printed nothing")
                continue
            round_runs[tool.name] = run
        # Validate this round before keeping any of its times.
        if round_values:
            names = [t.name for t in order if t.name in round_values]
            for name, (worst, key, ref) in check_round(round_values, names).items():
                vals = round_values[name]
                if worst > TOLERANCE:
                    _fail(entries[name], "MISMATCH",
                          f"{key} differs from {ref}'s by {worst:.2e} relative (> {TOLERANCE:g}): "
                          f"{vals[key]!r} vs {round_values[ref][key]!r}")
                    log(f"  !!! MISMATCH in {case.id}: {name} {key}={vals[key]!r} vs {ref} "
                        f"{round_values[ref][key]!r}")
                    round_runs.pop(name, None)
                    continue
                first_values.setdefault(name, vals)
        for name, run in round_runs.items():
            if entries[name]["status"] == "ok" and timed:
                stats[name].add(run)
        active = [t for t in active if entries[t.name]["status"] == "ok"]
    for tool_name, entry in entries.items():
        entry.pop("argv", None)
        if tool_name in stats and entry["status"] == "ok":
            entry.update(stats[tool_name].summary())
        if tool_name in first_values:
            entry["values"] = first_values[tool_name]
            if exact:
                entry["rel_error_vs_fsum"] = max(
                    rel_diff(first_values[tool_name][k], exact[k]) for k in exact)
    _ratios(case, entries)
    return {"id": case.id, "name": case.name, "task": case.task, "format": case.fmt,
            "rows": case.rows, "files": [_rel(p) for p in case.files], "baseline": case.baseline,
            "other_busy_cores_before_rounds": contention, "tools": list(entries.values())}


def _fail(entry: dict[str, Any], status: str, note: str) -> None:
    if entry["status"] == "ok":
        entry.update(status=status, note=note)


def _ratios(case: Case, entries: dict[str, dict[str, Any]]) -> None:
    """Ratio column: losscli median / tool median (start-up: tool / baseline)."""
    timed = {n: e for n, e in entries.items() if "median_s" in e}
    if case.baseline:
        base = timed.get(case.baseline)
        for e in timed.values():
            e["ratio"] = e["median_s"] / base["median_s"] if base else None
        return
    ours = timed.get("losscli")
    for e in timed.values():
        e["ratio"] = ours["median_s"] / e["median_s"] if ours else None


def _short(argv: list[str]) -> str:
    out = []
    for a in argv:
        p = Path(a)
        if a == sys.executable:
            out.append("python")
        elif p.is_absolute():
            out.append(_rel(p))
        else:
            out.append(a)
    return " ".join(out)


def _rel(p: Path) -> str:
    try:
        return str(Path(p).resolve().relative_to(ROOT))
    except ValueError:
        return Path(p).name


def exact_reference(folder: Path) -> dict[str, float]:
    """mse, mae and huber(delta=1) of a regression dataset as exactly as float64 per-row
    values allow: each row's loss in float64, then ``math.fsum`` over all rows (rounded
    once), divided by n. Cached next to the data."""
    import itertools

    import numpy as np

    cached = folder / "exact.json"
    if cached.exists():
        return json.loads(cached.read_text())
    started = time.perf_counter()
    pred = np.load(folder / "pred.npy", mmap_mode="r")
    target = np.load(folder / "target.npy", mmap_mode="r")
    n = len(pred)
    step = 1 << 20

    def rows(kind: str) -> Any:
        for s in range(0, n, step):
            d = np.asarray(pred[s:s + step]) - np.asarray(target[s:s + step])
            ad = np.abs(d)
            if kind == "mse":
                v = d * d
            elif kind == "mae":
                v = ad
            else:
                v = np.where(ad < 1.0, 0.5 * ad * ad, ad - 0.5)
            yield v.tolist()

    out = {k: math.fsum(itertools.chain.from_iterable(rows(k))) / n for k in LOSSES["regression"]}
    cached.write_text(json.dumps(out) + "\n")
    log(f"  exact reference for {folder.name} in {time.perf_counter() - started:.1f} s")
    return out


@contextlib.contextmanager
def services(case: Case, args: argparse.Namespace) -> Any:
    """Start the server a case needs (S3: moto; dask: a 2-worker cluster) and yield "" —
    or yield why it could not start (every tool of the case then fails with it)."""
    from benchmarks import services as svc

    if case.name not in ("s3", "dask") or case.missing():
        yield ""
        return
    log_file = args.cache / "logs" / f"{case.name}-server.log"
    server = (svc.moto_s3(case.files[0], log_file) if case.name == "s3"
              else svc.dask_cluster(2, log_file))
    try:
        address = server.__enter__()
    except svc.ServiceError as exc:
        log(f"  [{case.id}] {exc}")
        yield str(exc)
        return
    log(f"  [{case.id}] server at {address} (log: {_rel(log_file)})")
    case.extra["endpoint" if case.name == "s3" else "scheduler"] = address
    try:
        yield ""
    finally:
        server.__exit__(None, None, None)


#: Commands whose imports are reported (``python -X importtime ...``); TINY: a 1000-row file.
IMPORT_COMMANDS = (
    ("eval, JSON", ["-m", "losscli", "eval", "TINY", "-f", "json"]),
    ("eval, table", ["-m", "losscli", "eval", "TINY"]),
    ("--help", ["-m", "losscli", "--help"]),
)


def import_report(case: Case, args: argparse.Namespace) -> list[dict[str, Any]]:
    """What each of :data:`IMPORT_COMMANDS` imports, per top-level package."""
    from benchmarks import importtime

    out = []
    runs = 1 if args.quick else 3
    for title, argv in IMPORT_COMMANDS:
        argv = [str(case.files[0]) if a == "TINY" else a for a in argv]
        result = importtime.measure(argv, runs, cwd=ROOT)
        result["title"] = title
        result["command"] = "python -X importtime " + _short(argv).replace(
            _rel(case.files[0]), "tiny.parquet")
        log(f"  imports of {result['command']}: {result['total_ms']:.0f} ms, "
            f"{len(result['packages'])} packages")
        out.append(result)
    return out


def compile_losscli() -> str:
    """Write losscli's bytecode, as ``pip install`` of a wheel does, so a run measures the
    installed tool and not Python compiling its sources.

    An editable install (``pip install -e .``) compiles nothing, and with
    ``PYTHONDONTWRITEBYTECODE`` set (as on the CI machines) no run ever writes the cache: every
    ``losscli`` process then compiles ~60 modules, about 50-90 ms here, which the peers (Rust,
    C++) never pay. Python reads an up-to-date ``__pycache__`` whatever that variable says.
    """
    import compileall

    package = ROOT / "losscli"
    ok = compileall.compile_dir(str(package), quiet=1, force=False)
    return f"losscli bytecode compiled ({'ok' if ok else 'with errors'})"


def main(argv: list[str] | None = None) -> int:
    from benchmarks import report

    args = parse_args(argv)
    if args.render_only:
        doc = json.loads((args.out / "latest.json").read_text())
        doc["targets"] = report.targets(doc)
        (args.out / "latest.json").write_text(json.dumps(doc, indent=1) + "\n")
        (args.out / "latest.md").write_text(report.markdown(doc))
        log(f"rewrote {args.out / 'latest.md'}")
        return 0
    args.cache.mkdir(parents=True, exist_ok=True)
    compiled = compile_losscli()
    started = time.time()
    load_before = os.getloadavg()
    losses, why = losscli_capabilities()
    if not losses:
        log(f"losscli cannot list its losses ({why}); is it installed in {sys.executable}?")
        return 2
    tools = [t for t in TOOLS if t.is_losscli or args.tools is None or t.name in args.tools]
    cases, notes = build_cases(args, losses)
    notes.append(compiled + ": losscli runs as installed from a wheel, not compiling its "
                 "sources on every start")
    for t in tools:
        if t.missing():
            notes.append(f"{t.name} not run: {', '.join(t.missing())} not importable "
                         "(pip install -e '.[bench]'; torch separately).")
    results = []
    imports: list[dict[str, Any]] = []
    for case in cases:
        log(f"case {case.id}")
        exact = None
        if case.name in ("parquet", "csv", "npy") and case.rows <= args.accuracy_max_rows:
            exact = exact_reference(case.files[0].parent)
        with services(case, args) as failure:
            results.append(run_case(case, tools, args, exact, failure))
        if case.task == "startup":
            imports = import_report(case, args)
    doc = {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "duration_s": round(time.time() - started, 1),
        "machine": report.machine_info(),
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "settings": {
            "repeats": args.repeats, "warmup": args.warmup, "quick": args.quick,
            "sizes": args.sizes, "binary_rows": args.binary_rows,
            "multiclass_rows": args.multiclass_rows, "tolerance": TOLERANCE,
            "big_rows": args.big_rows, "scale_rows": args.scale_rows,
            "boot_rows": args.boot_rows, "churn_rows": args.churn_rows,
            "tenclass_rows": args.tenclass_rows, "auc_rows": args.auc_rows,
            "cases": args.cases,
        },
        "tools": {t.name: t.description for t in tools if t.description},
        "notes": notes,
        "cases": results,
        "imports": imports,
    }
    doc["targets"] = report.targets(doc)
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = args.out / "latest.json.tmp"
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    shutil.move(tmp, args.out / "latest.json")
    (args.out / "latest.md").write_text(report.markdown(doc))
    log(f"wrote {args.out / 'latest.md'} and {args.out / 'latest.json'}")
    bad = [(c["id"], e["tool"], e["status"]) for c in results for e in c["tools"]
           if e["status"] in ("MISMATCH", "failed")]
    for cid, tool, status in bad:
        log(f"!!! {status}: {tool} in {cid}")
    losscli_failed = any(s == "failed" and tool.startswith("losscli") for _, tool, s in bad)
    return 1 if losscli_failed or any(s == "MISMATCH" for _, _, s in bad) else 0
