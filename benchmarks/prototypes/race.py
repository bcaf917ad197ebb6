"""Race the pipeline prototype against losscli and the fastest peers, with the harness's
interleaving and value checks (same rules as ``python -m benchmarks``).

    python -m benchmarks.prototypes.race [--sizes 10M] [--cases parquet,csv,npy] [--repeats 5]

Writes ``benchmarks/results/prototype-race-SIZES.md`` (and .json): what the ideas of issue 6
buy, measured, before losscli itself changes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks import data, report, run
from benchmarks.cases import TOOLS, Case, Tool

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "pipeline.py"


def proto(name: str, *flags: str) -> Tool:
    def command(case: Case):
        if case.task != "regression":
            return None
        return [sys.executable, str(SCRIPT), case.fmt, *map(str, case.files), *flags]

    return Tool(name, command, ("numpy", "pyarrow"), "pipeline.py " + " ".join(flags))


PROTOS = [
    proto("proto serial 64k", "--serial", "--chunk", "65536"),
    proto("proto thread 64k", "--chunk", "65536"),
    proto("proto map-reduce 2w", "--workers", "2", "--chunk", "65536"),
    proto("proto map-reduce 2w 1MB", "--workers", "2", "--chunk", "65536", "--csv-block",
          str(1 << 20)),
    proto("proto map-reduce 2w +typer", "--workers", "2", "--chunk", "65536", "--cli-imports"),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10M")
    ap.add_argument("--cases", default="parquet,csv,npy")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=HERE.parent / "results")
    ap.add_argument("--protos", default=None, help="comma-separated prototype names to run")
    a = ap.parse_args()
    args = run.parse_args(["--repeats", str(a.repeats)])
    peers = [t for t in TOOLS if t.name in ("losscli", "duckdb", "polars", "numpy")]
    cases = []
    for n in map(data.parse_size, a.sizes.split(",")):
        folder = data.ensure(args.cache, "regression", n, run.log)
        for fmt in a.cases.split(","):
            cases.append(Case("regression", fmt, n, data.files("regression", folder)[fmt]))
    protos = [p for p in PROTOS if a.protos is None or p.name in a.protos.split(",")]
    results = [run.run_case(c, [*peers, *protos], args, None) for c in cases]
    doc = {"generated": "", "duration_s": 0, "machine": report.machine_info(),
           "settings": {"repeats": args.repeats, "warmup": args.warmup, "tolerance": run.TOLERANCE},
           "tools": {t.name: t.description for t in [*peers, *protos]}, "notes": [],
           "cases": results, "targets": []}
    a.out.mkdir(parents=True, exist_ok=True)
    stem = f"prototype-race-{a.sizes.replace(',', '-')}"
    (a.out / f"{stem}.json").write_text(json.dumps(doc, indent=1) + "\n")
    md = report.markdown(doc).split("## Results", 1)[1]
    (a.out / f"{stem}.md").write_text(
        "# Prototype race: pipeline.py vs losscli and the peers\n\n"
        "`python -m benchmarks.prototypes.race`; same harness, interleaving and value checks "
        "as `python -m benchmarks`. `losscli / tool` compares today's losscli.\n" + md)
    print((a.out / f"{stem}.md").read_text())


if __name__ == "__main__":
    main()
