"""What is benchmarked: cases (a task, a format, a size) and the tools that run them.

Every tool is a separate process. losscli runs as ``python -m losscli eval ... --format
json``; each peer is a standalone script under ``benchmarks/peers/``. A tool that does not
support a case (DuckDB has no NPY reader) simply has no command for it.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PEERS = Path(__file__).resolve().parent / "peers"

#: Loss values every tool must print per task (compared to 1e-9 relative).
LOSSES = {
    "regression": ("mse", "mae", "huber"),
    "binary": ("bce", "brier"),
    "multiclass": ("cross_entropy",),
}

#: The case names ``--cases`` accepts, in run order.
CASE_NAMES = ("parquet", "csv", "npy", "binary", "multiclass", "startup")


@dataclass
class Case:
    task: str  # regression | binary | multiclass | startup
    fmt: str  # parquet | csv | npy | "" for startup
    rows: int
    files: list[Path] = field(default_factory=list)
    baseline: str | None = None  # ratio column is tool/baseline instead of losscli/tool
    losscli_missing: str = ""  # why losscli cannot run this case yet (peers still do)

    @property
    def id(self) -> str:
        from benchmarks.data import size_label

        if self.task == "startup":
            return "start-up"
        shape = f" × {100}" if self.task == "multiclass" else ""
        return f"{self.task} {self.fmt} {size_label(self.rows)}{shape}"


@dataclass
class Tool:
    name: str
    command: Callable[[Case], list[str] | None]
    requires: tuple[str, ...] = ()
    description: str = ""
    is_losscli: bool = False

    def missing(self) -> list[str]:
        """Modules this tool needs that the benchmark's Python cannot import."""
        return [m for m in self.requires if importlib.util.find_spec(m) is None]


def _losscli_eval(case: Case) -> list[str] | None:
    if case.task == "startup":
        return None
    base = [sys.executable, "-m", "losscli", "eval", str(case.files[0])]
    if case.fmt == "npy":
        base += ["--targets", str(case.files[1])]
    if case.task == "regression":
        extra = ["--loss", "mse", "--loss", "mae", "--loss", "huber"]
    elif case.task == "binary":
        extra = ["--loss", "bce", "--loss", "brier"]
        if case.fmt != "npy":
            extra += ["--pred-col", "prob", "--target-col", "label"]
    elif case.task == "multiclass":
        extra = ["--loss", "cross_entropy", "--from-logits"]
        if case.fmt != "npy":
            extra += ["--pred-col", "logit_*", "--target-col", "label"]
    return [*base, *extra, "--format", "json"]


def _losscli_distribution(case: Case) -> list[str] | None:
    """The plain losscli run plus ``--distribution`` (a quantile sketch per per-row loss):
    its extra cost, on the regression Parquet cases (issue 15: ≤ 1.3× the plain run)."""
    if (case.task, case.fmt) != ("regression", "parquet"):
        return None
    plain = _losscli_eval(case)
    return None if plain is None else [*plain, "--distribution"]


def _peer(script: str, supports: set[tuple[str, str]]) -> Callable[[Case], list[str] | None]:
    def command(case: Case) -> list[str] | None:
        if (case.task, case.fmt) not in supports:
            return None
        return [sys.executable, str(PEERS / script), case.task, case.fmt, *map(str, case.files)]

    return command


def _startup(argv: list[str]) -> Callable[[Case], list[str] | None]:
    return lambda case: [sys.executable, *argv] if case.task == "startup" else None


#: losscli with --distribution, timed beside the plain run (not a peer).
DISTRIBUTION_TOOL = "losscli --distribution"

_TABULAR = {("regression", "parquet"), ("regression", "csv"), ("binary", "parquet")}

TOOLS: list[Tool] = [
    Tool("losscli", _losscli_eval, description="python -m losscli eval FILE --loss ... --format json",
         is_losscli=True),
    Tool(DISTRIBUTION_TOOL, _losscli_distribution, is_losscli=True,
         description="the same losscli run with --distribution (p50…max of each per-row "
                     "loss from a mergeable sketch): the extra cost of the distributions"),
    Tool("duckdb", _peer("duckdb_peer.py", _TABULAR), ("duckdb",),
         "one SQL query over read_parquet/read_csv"),
    Tool("polars", _peer("polars_peer.py", _TABULAR), ("polars",),
         "lazy scan_parquet/scan_csv, same expressions"),
    Tool("pandas+sklearn", _peer("pandas_sklearn_peer.py", _TABULAR),
         ("pandas", "sklearn"), "read whole file, sklearn metrics (huber in numpy)"),
    Tool("pyarrow-stream", _peer("pyarrow_stream_peer.py",
                                 {("regression", "parquet"), ("regression", "csv")}),
         ("pyarrow",), "naive pyarrow batch reader (default sizes) + numpy per batch"),
    Tool("numpy", _peer("numpy_peer.py", {("regression", "npy"), ("binary", "npy"),
                                          ("multiclass", "npy"), ("multiclass", "parquet")}),
         ("numpy",), "np.load whole arrays + compute (log-sum-exp for cross-entropy)"),
    Tool("torch", _peer("torch_peer.py", {("binary", "npy"), ("multiclass", "npy"),
                                          ("multiclass", "parquet")}),
         ("torch",), "torch CPU F.binary_cross_entropy / F.cross_entropy, float64"),
    # Start-up: the floor is Python with typer and rich imported, nothing else.
    Tool("losscli --help", _startup(["-m", "losscli", "--help"]), is_losscli=True),
    Tool("losscli losses", _startup(["-m", "losscli", "losses"]), is_losscli=True),
    Tool("floor: import typer, rich", _startup(["-c", "import typer, rich"]), ("typer", "rich")),
    Tool("python -c pass", _startup(["-c", "pass"])),
]

STARTUP_BASELINE = "floor: import typer, rich"
