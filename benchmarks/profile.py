"""Profile one ``losscli eval`` process with py-spy and summarise where its time goes.

    python -m benchmarks.profile parquet|csv|npy [--rows 10M] [--rate 250] [--runs 5] [--out FILE]

Needs ``pip install py-spy``. Samples every Python thread without pausing the process
(``--nonblocking``; ``--idle`` included, so time spent inside C++ counts), pools the
samples of ``--runs`` runs, then prints:

- phases: start-up imports, each reader step, the engine's checks, every kernel, the
  accumulator, output; as percentages of all samples of the main thread;
- the functions with the most inclusive and the most self time.

Line numbers are dropped so a function is one row however many lines it spans.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def _strip_line(frame: str) -> str:
    return re.sub(r":\d+\)$", ")", frame)


_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*):(?P<line>\d+)\)$")


def _source_line(file: str, line: int, cache: dict[str, list[str]]) -> str:
    if file not in cache:
        try:
            cache[file] = (ROOT / file).read_text().splitlines()
        except OSError:
            cache[file] = []
    lines = cache[file]
    return lines[line - 1].strip() if 0 < line <= len(lines) else "?"


def phase_of(stack: list[str], cache: dict[str, list[str]]) -> str:
    """Imports are one phase (pandas apart: pyarrow pulls it in on first to_numpy); any
    other sample goes to the deepest losscli line on its stack, which names the step
    (C++ work of pyarrow/numpy shows as the losscli line that called it)."""
    text = ";".join(stack)
    if "_find_and_load" in text:
        if "<module> (pandas/" in text:
            return "import pandas (pulled in by pyarrow Array.to_numpy / np.asarray)"
        return "imports (typer, numpy, pyarrow, losscli, ...)"
    for frame in reversed(stack):
        m = _FRAME.match(frame)
        if m and m.group("file").startswith("losscli/") and m.group("file") != "losscli/__main__.py":
            line = int(m.group("line"))
            return f"{m.group('file')}:{line} {_source_line(m.group('file'), line, cache)[:60]}"
    return "outside losscli (typer dispatch, interpreter)"


def summarise(raw: Path) -> str:
    stacks: list[tuple[list[str], int]] = []
    for line in raw.read_text().splitlines():
        text, _, count = line.rpartition(" ")
        if text:
            stacks.append((text.split(";"), int(count)))
    main = [(s, c) for s, c in stacks if s and "_run_module_as_main" in s[0]]
    other = [(s, c) for s, c in stacks if not (s and "_run_module_as_main" in s[0])]
    total = sum(c for _, c in main) or 1
    out = [f"main thread: {total} samples; other Python threads: {sum(c for _, c in other)}",
           "", "% of main thread | step (imports, or the deepest losscli line on the stack)"]
    cache: dict[str, list[str]] = {}
    phases: collections.Counter[str] = collections.Counter()
    for s, c in main:
        phases[phase_of(s, cache)] += c
    for name, c in phases.most_common(25):
        out.append(f"  {100 * c / total:5.1f}  {name}")
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    for s, c in main:
        for f in {_strip_line(f) for f in s}:
            inclusive[f] += c
        own[_strip_line(s[-1])] += c
    out += ["", "inclusive % (main thread), top 30 below the CLI dispatch"]
    skip = ("<frozen runpy>", "typer/", "losscli/__main__.py", "losscli/cli.py")
    for f, c in [(f, c) for f, c in inclusive.most_common() if not any(k in f for k in skip)][:30]:
        out.append(f"  {100 * c / total:5.1f}  {f}")
    out += ["", "self % (main thread), top 20"]
    for f, c in own.most_common(20):
        out.append(f"  {100 * c / total:5.1f}  {f}")
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("fmt", choices=("parquet", "csv", "npy"))
    ap.add_argument("--rows", default="10M")
    ap.add_argument("--rate", type=int, default=250, help="samples per second")
    ap.add_argument("--runs", type=int, default=5, help="profiled runs, samples pooled")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--losscli-args", default="--loss mse --loss mae --loss huber --format json")
    args = ap.parse_args()
    from benchmarks import data

    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        raise SystemExit("py-spy not found: pip install py-spy")
    folder = data.ensure(ROOT / "benchmarks" / ".cache", "regression", data.parse_size(args.rows))
    files = data.files("regression", folder)[args.fmt]
    cmd = [sys.executable, "-m", "losscli", "eval", str(files[0])]
    if args.fmt == "npy":
        cmd += ["--targets", str(files[1])]
    cmd += args.losscli_args.split()
    with tempfile.TemporaryDirectory() as tmp:
        pooled = Path(tmp) / "pooled.txt"
        with pooled.open("w") as sink:
            for i in range(args.runs):
                raw = Path(tmp) / f"raw{i}.txt"
                subprocess.run([spy, "record", "-r", str(args.rate), "-f", "raw", "--idle",
                                "--nonblocking", "-o", str(raw), "--", *cmd], cwd=ROOT,
                               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                sink.write(raw.read_text())
        text = (f"py-spy profile of: losscli eval {args.fmt} {args.rows} rows "
                f"({args.losscli_args}); {args.runs} runs at {args.rate} Hz pooled\n\n"
                + summarise(pooled))
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
