"""Where a ``losscli`` process spends its start-up: import time per top-level package.

    python -m benchmarks.prototypes.imports [--runs 5] [-- LOSSCLI ARGS...]

Runs ``python -X importtime -m losscli ARGS`` (default: ``eval`` of the 1M Parquet file
with mse, mae, huber, JSON output) several times and prints the median self time of each
top-level package's modules, so "which import to avoid or defer" has a number.
"""

from __future__ import annotations

import argparse
import collections
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def importtime(argv: list[str]) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "losscli", *argv],
                          cwd=ROOT, capture_output=True, text=True)
    per_pkg: collections.Counter[str] = collections.Counter()
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, name = line[len("import time:"):].split("|")
        per_pkg[name.strip().split(".")[0]] += int(self_us) / 1e6
    return dict(per_pkg)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("losscli_args", nargs="*")
    args = ap.parse_args()
    argv = args.losscli_args or [
        "eval", str(ROOT / "benchmarks/.cache/regression_1M/data.parquet"),
        "--loss", "mse", "--loss", "mae", "--loss", "huber", "--format", "json"]
    runs = [importtime(argv) for _ in range(args.runs)]
    pkgs = sorted({p for r in runs for p in r}, key=lambda p: -statistics.median(
        r.get(p, 0.0) for r in runs))
    total = statistics.median(sum(r.values()) for r in runs)
    print(f"losscli {' '.join(argv[:1])} ...: import self time by top-level package, "
          f"median of {args.runs} runs (total {total:.3f} s)")
    for p in pkgs[:20]:
        print(f"  {statistics.median(r.get(p, 0.0) for r in runs):6.3f} s  {p}")


if __name__ == "__main__":
    main()
