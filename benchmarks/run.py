"""``python -m benchmarks``: generate data, run losscli and its peers interleaved, check
they agree, and write ``results/latest.md`` and ``results/latest.json``.

Per case: every tool runs ``--warmup`` times (untimed, also warming the page cache) and then
``--repeats`` rounds; each round runs every tool once, in an order rotated from round to
round, so drift on a shared machine hits all tools alike. Every run's printed values are
checked against the consensus (1e-9 relative) before any time is reported; a tool that
disagrees or fails is reported loudly and not timed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import data
from benchmarks.cases import CASE_NAMES, LOSSES, STARTUP_BASELINE, TOOLS, Case, Tool
from benchmarks.harness import Run, Stats, rel_diff, run_once, wait_quiet

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
TOLERANCE = 1e-9


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark losscli against DuckDB, polars, pandas+sklearn, numpy, torch.",
    )
    ap.add_argument("--sizes", default=None,
                    help="regression row counts, comma-separated (default 1M,10M; 100M only "
                         "when asked: it needs ~5 GB of disk and minutes to generate)")
    ap.add_argument("--cases", default=",".join(CASE_NAMES),
                    help=f"comma-separated subset of: {', '.join(CASE_NAMES)}")
    ap.add_argument("--tools", default=None,
                    help="comma-separated peers to run besides losscli (default: all installed)")
    ap.add_argument("--repeats", type=int, default=None, help="timed rounds per case (default 5)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed rounds first (default 1)")
    ap.add_argument("--binary-rows", default=None, help="rows of the binary case (default 10M)")
    ap.add_argument("--multiclass-rows", default=None,
                    help="rows of the multi-class case, 100 classes (default 1M)")
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
    args.repeats = args.repeats if args.repeats is not None else (1 if q else 5)
    args.warmup = args.warmup if args.warmup is not None else (0 if q else 1)
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
    cases: list[Case] = []
    notes: list[str] = []
    for name in args.cases:
        if name in ("parquet", "csv", "npy"):
            for n in args.sizes:
                folder = data.ensure(args.cache, "regression", n, log)
                cases.append(Case("regression", name, n, data.files("regression", folder)[name]))
        elif name in ("binary", "multiclass"):
            need = set(LOSSES[name])
            missing = ""
            if not need <= losses:
                missing = (f"losscli does not list {', '.join(sorted(need - losses))} yet "
                           "(issue 3)")
                notes.append(f"{name} cases: {missing}; the peers ran alone, for reference.")
            n = args.binary_rows if name == "binary" else args.multiclass_rows
            folder = data.ensure(args.cache, name, n, log)
            for fmt, paths in data.files(name, folder).items():
                cases.append(Case(name, fmt, n, paths, losscli_missing=missing))
        elif name == "startup":
            cases.append(Case("startup", "", 0, baseline=STARTUP_BASELINE))
    return cases, notes


def parse_values(tool: Tool, case: Case, run: Run) -> dict[str, float]:
    """The loss values a tool printed (losscli: its JSON report; peers: a flat object)."""
    doc = json.loads(run.stdout)
    if tool.is_losscli:
        values = {entry["name"]: entry["value"] for entry in doc["losses"]}
    else:
        values = doc
    want = LOSSES[case.task]
    missing = [k for k in want if k not in values or values[k] is None]
    if missing:
        raise ValueError(f"printed no value for {', '.join(missing)}")
    return {k: float(values[k]) for k in want}


def consensus(values: dict[str, dict[str, float]], order: list[str]) -> str | None:
    """The tool agreeing with most others (ties: earliest in ``order``, losscli first)."""
    def agree(a: str, b: str) -> bool:
        return all(rel_diff(values[a][k], values[b][k]) <= TOLERANCE for k in values[a])

    best = max(order, key=lambda t: (sum(agree(t, o) for o in order if o != t), -order.index(t)),
               default=None)
    return best


def run_case(case: Case, tools: list[Tool], args: argparse.Namespace,
             exact: dict[str, float] | None) -> dict[str, Any]:
    """Warm-up and timed rounds of every tool on one case; validation on every run."""
    entries: dict[str, dict[str, Any]] = {}
    active: list[Tool] = []
    for tool in tools:
        argv = tool.command(case)
        if argv is None:
            continue
        entry: dict[str, Any] = {"tool": tool.name, "command": _short(argv), "status": "ok"}
        entries[tool.name] = entry
        missing = tool.missing()
        if tool.is_losscli and case.losscli_missing:
            entry.update(status="skipped", note=case.losscli_missing)
            continue
        if missing:
            entry.update(status="skipped", note=f"not installed: {', '.join(missing)}")
            continue
        entry["argv"] = argv
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
            run = run_once(entries[tool.name]["argv"], cwd=ROOT, timeout=args.timeout)
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
            ref = consensus(round_values, names)
            for name in names:
                vals = round_values[name]
                assert ref is not None
                worst = max(rel_diff(vals[k], round_values[ref][k]) for k in vals)
                if worst > TOLERANCE:
                    _fail(entries[name], "MISMATCH",
                          f"values differ from {ref} by {worst:.2e} relative "
                          f"(> {TOLERANCE:g}): {vals} vs {round_values[ref]}")
                    log(f"  !!! MISMATCH in {case.id}: {name} {vals} vs {ref} {round_values[ref]}")
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
    return {"id": case.id, "task": case.task, "format": case.fmt, "rows": case.rows,
            "files": [_rel(p) for p in case.files], "baseline": case.baseline,
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
    started = time.time()
    load_before = os.getloadavg()
    losses, why = losscli_capabilities()
    if not losses:
        log(f"losscli cannot list its losses ({why}); is it installed in {sys.executable}?")
        return 2
    tools = [t for t in TOOLS if t.is_losscli or args.tools is None or t.name in args.tools]
    cases, notes = build_cases(args, losses)
    for t in tools:
        if t.missing():
            notes.append(f"{t.name} not run: {', '.join(t.missing())} not importable "
                         "(pip install -e '.[bench]'; torch separately).")
    results = []
    for case in cases:
        log(f"case {case.id}")
        exact = None
        if case.task == "regression" and case.rows <= args.accuracy_max_rows:
            exact = exact_reference(case.files[0].parent)
        results.append(run_case(case, tools, args, exact))
    doc = {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "duration_s": round(time.time() - started, 1),
        "machine": report.machine_info(),
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "settings": {
            "repeats": args.repeats, "warmup": args.warmup, "quick": args.quick,
            "sizes": args.sizes, "binary_rows": args.binary_rows,
            "multiclass_rows": args.multiclass_rows, "tolerance": TOLERANCE,
        },
        "tools": {t.name: t.description for t in tools if t.description},
        "notes": notes,
        "cases": results,
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
