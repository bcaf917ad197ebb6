"""What is benchmarked: cases (a task, a format, a size) and the tools that run them.

Every tool is a separate process. losscli runs as ``python -m losscli eval ... --format
json``; each peer is a standalone script under ``benchmarks/peers/``. A tool that does not
support a case (DuckDB has no NPY reader) simply has no command for it.

In every case the tool named ``losscli`` runs the feature the case is about (a folder, an
S3 URI, ``--group-by``, ``--ci``, ``--engine dask``...), so the ratio column compares that
run with the peers computing the same values; variants of losscli (``losscli without
--group-by``...) are timed beside it for the targets that are ratios to a plain run.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PEERS = Path(__file__).resolve().parent / "peers"

#: Loss values every tool must print per task (compared to 1e-9 relative).
LOSSES = {
    "regression": ("mse", "mae", "huber"),
    "binary": ("bce", "brier"),
    "multiclass": ("cross_entropy",),
    "groups": ("mse", "mae"),
    "churn": ("accuracy", "f1", "roc_auc", "bce"),
    "tenclass": ("cross_entropy", "accuracy", "f1"),
    "auc": ("roc_auc",),
}

#: The case names ``--cases`` accepts, in run order (see benchmarks/README.md).
CASE_NAMES = ("parquet", "csv", "npy", "binary", "multiclass", "startup",
              "big", "workers", "hive", "s3", "groups-int", "groups-str", "ci", "bootstrap",
              "dask", "churn", "churn-join", "tenclass", "auc")
#: Cases ``--quick`` leaves out unless named in ``--cases`` (100M rows are no smoke test).
FULL_ONLY = ("big",)

#: Bootstrap replicates of the ``bootstrap`` case (its cost is reported per 100).
REPLICATES = 100


@dataclass
class Case:
    task: str  # regression | binary | multiclass | groups | startup
    fmt: str  # parquet | csv | npy | hive | s3 | "" for startup
    rows: int
    files: list[Path] = field(default_factory=list)
    baseline: str | None = None  # ratio column is tool/baseline instead of losscli/tool
    losscli_missing: str = ""  # why losscli cannot run this case yet (peers still do)
    name: str = ""  # the --cases name (default: the format)
    label: str = ""  # the case's title, when task/format/size do not say it
    #: Live settings of the case: "endpoint" (S3), "scheduler" (Dask), "column" (groups),
    #: "groups" (how many groups each grouping tool must print), "one_file" (hive), ...
    extra: dict[str, Any] = field(default_factory=dict)
    #: Modules the whole case needs (its server, its engine): missing = every tool skipped.
    requires: tuple[str, ...] = ()
    #: What a tool prints beyond the task's losses: {"intervals"} or {"groups"}, by tool name.
    outputs: dict[str, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.name = self.name or self.fmt

    @property
    def id(self) -> str:
        from benchmarks.data import size_label

        if self.task == "startup":
            return "start-up"
        if self.label:
            return self.label
        shape = f" × {100}" if self.task == "multiclass" else ""
        return f"{self.task} {self.fmt} {size_label(self.rows)}{shape}"

    def missing(self) -> list[str]:
        return [m for m in self.requires if not _importable(m)]


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package is missing
        return False


@dataclass
class Tool:
    name: str
    command: Callable[[Case], list[str] | None]
    requires: tuple[str, ...] = ()
    description: str = ""
    is_losscli: bool = False
    #: Environment of the command (None: the benchmark's own), e.g. S3 credentials.
    env: Callable[[Case], dict[str, str] | None] | None = None

    def missing(self) -> list[str]:
        """Modules this tool needs that the benchmark's Python cannot import."""
        return [m for m in self.requires if not _importable(m)]


# ---------------------------------------------------------------------------------------
# losscli

_REGRESSION = ["--loss", "mse", "--loss", "mae", "--loss", "huber"]
_GROUPS = ["--loss", "mse", "--loss", "mae"]


def _eval(target: str | Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "losscli", "eval", str(target), *extra, "--format", "json"]


def _storage_options(case: Case) -> list[str]:
    # pyarrow's S3 keys (losscli eval --help): the scheme travels in endpoint_override.
    return ["--storage-option", f"endpoint_override={case.extra['endpoint']}"]


def _s3_uri() -> str:
    from benchmarks.services import BUCKET, PREFIX

    return f"s3://{BUCKET}/{PREFIX}/"


def _losscli_eval(case: Case) -> list[str] | None:
    """The tool named ``losscli``: the plain run, or the feature the case is about."""
    if case.task == "startup":
        return None
    name = case.name
    if name == "workers":
        return _eval(case.files[0], *_REGRESSION, "--workers", "auto")
    if name == "hive":
        return _eval(case.files[0], *_REGRESSION)
    if name == "s3":
        return _eval(_s3_uri(), *_REGRESSION, *_storage_options(case))
    if name in ("groups-int", "groups-str"):
        return _eval(case.files[0], *_GROUPS, "--group-by", case.extra["column"])
    if name == "ci":
        return _eval(case.files[0], *_REGRESSION, "--ci")
    if name == "bootstrap":
        return _eval(case.files[0], *_REGRESSION, "--ci", "--ci-method", "bootstrap",
                     "--replicates", str(REPLICATES))
    if name == "dask":
        return _eval(case.files[0], *_REGRESSION, "--engine", "dask", "--scheduler",
                     case.extra["scheduler"])
    if name in CHURN_CASES:
        return _churn(case)
    if name == "tenclass":
        return _eval(case.files[0], *_TENCLASS)
    if name == "auc":
        return _eval(case.files[0], *_AUC)
    base = [sys.executable, "-m", "losscli", "eval", str(case.files[0])]
    if case.fmt == "npy":
        base += ["--targets", str(case.files[1])]
    if case.task == "regression":
        extra = list(_REGRESSION)
    elif case.task == "binary":
        extra = ["--loss", "bce", "--loss", "brier"]
        if case.fmt != "npy":
            extra += ["--pred-col", "prob", "--target-col", "label"]
    elif case.task == "multiclass":
        extra = ["--loss", "cross_entropy", "--from-logits"]
        if case.fmt != "npy":
            extra += ["--pred-col", "logit_*", "--target-col", "label"]
    return [*base, *extra, "--format", "json"]


#: The churn job (issue 21): one file, or predictions and targets joined by id.
CHURN_CASES = ("churn", "churn-join")
_CHURN_LOSSES = ["--loss", "accuracy", "--loss", "f1", "--loss", "roc_auc", "--loss", "bce"]
_CHURN = ["--pred-col", "p_yes", "--target-col", "label", "--pos-label", "yes", *_CHURN_LOSSES]


#: The same job on the labels as 0/1 (the text-label target's reference).
_CHURN_01 = ["--pred-col", "p_yes", "--target-col", "y", *_CHURN_LOSSES]


def _churn(case: Case, *extra: str) -> list[str]:
    """losscli on the churn job: text labels yes/no, the four metrics, ``extra`` options."""
    if case.name == "churn-join":
        return _eval(case.files[0], "--targets", str(case.files[1]), "--id-col", "id",
                     *_CHURN, *extra)
    return _eval(case.files[0], *_CHURN, *extra)


def _churn_peer(tool: str) -> Callable[[Case], list[str] | None]:
    def command(case: Case) -> list[str] | None:
        if case.name not in CHURN_CASES:
            return None
        mode = "join" if case.name == "churn-join" else "one"
        return [sys.executable, str(PEERS / "churn_peer.py"), tool, mode, *map(str, case.files)]

    return command


#: The 10-class job (issue 21b): a probability column per class, named ``p_<label>``, and
#: text labels matched to them by name.
_TENCLASS = ["--pred-col", "p_*", "--target-col", "label", "--loss", "cross_entropy",
             "--loss", "accuracy", "--loss", "f1:average=macro"]


def _tenclass_peer(tool: str) -> Callable[[Case], list[str] | None]:
    def command(case: Case) -> list[str] | None:
        if case.name != "tenclass":
            return None
        return [sys.executable, str(PEERS / "tenclass_peer.py"), tool, str(case.files[0])]

    return command


#: The exact AUC of distinct scores (issue 21): one metric, the whole cost its state.
_AUC = ["--pred-col", "p", "--target-col", "y", "--loss", "roc_auc"]


def _auc_peer(tool: str) -> Callable[[Case], list[str] | None]:
    def command(case: Case) -> list[str] | None:
        if case.name != "auc":
            return None
        return [sys.executable, str(PEERS / "auc_peer.py"), tool, str(case.files[0])]

    return command


def _losscli_distribution(case: Case) -> list[str] | None:
    """The plain losscli run plus ``--distribution`` (a quantile sketch per per-row loss):
    its extra cost, on the regression Parquet cases (issue 15: ≤ 1.3× the plain run)."""
    if case.name != "parquet" or case.task != "regression":
        return None
    plain = _losscli_eval(case)
    return None if plain is None else [*plain, "--distribution"]


def _variant(names: set[str] | str, build: Callable[[Case], list[str]]
             ) -> Callable[[Case], list[str] | None]:
    names = {names} if isinstance(names, str) else names
    return lambda case: build(case) if case.name in names else None


def _plain(case: Case) -> list[str]:
    losses = _GROUPS if case.name.startswith("groups") else _REGRESSION
    return _eval(case.files[0], *losses)


# ---------------------------------------------------------------------------------------
# Peers

#: The cases of one file per tool, where peers are chosen by (task, format).
SINGLE_FILE = {"parquet", "csv", "npy", "binary", "multiclass"}


def _peer(script: str, supports: set[tuple[str, str]], big: bool = False
          ) -> Callable[[Case], list[str] | None]:
    """A peer of the single-file cases by (task, format); ``big``: also the 100M case."""
    def command(case: Case) -> list[str] | None:
        if case.name not in (SINGLE_FILE | {"big"} if big else SINGLE_FILE):
            return None
        if (case.task, case.fmt) not in supports:
            return None
        return [sys.executable, str(PEERS / script), case.task, case.fmt, *map(str, case.files)]

    return command


def _sql_like(script: str, s3: bool = False) -> Callable[[Case], list[str] | None]:
    """polars and DuckDB: the single-file cases plus hive, groups, ci (and S3 for polars)."""
    single = _peer(script, _TABULAR, big=True)

    def command(case: Case) -> list[str] | None:
        peer = [sys.executable, str(PEERS / script)]
        if case.name == "hive":
            return [*peer, "regression", "hive", str(case.files[0])]
        if case.name == "s3" and s3:
            return [*peer, "regression", "s3", _s3_uri(), case.extra["endpoint"]]
        if case.name in ("groups-int", "groups-str"):
            return [*peer, "groups", "parquet", str(case.files[0]), case.extra["column"]]
        if case.name == "ci":
            return [*peer, "ci", "parquet", str(case.files[0])]
        if case.name in CHURN_CASES:
            return _churn_peer(script.removesuffix("_peer.py"))(case)
        if case.name == "tenclass":
            return _tenclass_peer(script.removesuffix("_peer.py"))(case)
        if case.name == "auc":
            return _auc_peer(script.removesuffix("_peer.py"))(case)
        return single(case)

    return command


def _either(*commands: Callable[[Case], list[str] | None]
            ) -> Callable[[Case], list[str] | None]:
    """The first of ``commands`` that has a command for the case."""
    def command(case: Case) -> list[str] | None:
        for build in commands:
            argv = build(case)
            if argv is not None:
                return argv
        return None

    return command


def _dask_peer(case: Case) -> list[str] | None:
    if case.name != "dask":
        return None
    return [sys.executable, str(PEERS / "dask_peer.py"), "regression", "hive", str(case.files[0]),
            case.extra["scheduler"]]


def _floor(replicates: int) -> Callable[[Case], list[str] | None]:
    def command(case: Case) -> list[str] | None:
        if case.name != "bootstrap":
            return None
        return [sys.executable, str(PEERS / "bootstrap_floor.py"), str(case.files[0]),
                str(replicates)]

    return command


def _startup(argv: list[str]) -> Callable[[Case], list[str] | None]:
    return lambda case: [sys.executable, *argv] if case.task == "startup" else None


def _startup_eval(case: Case) -> list[str] | None:
    if case.task != "startup" or not case.files:
        return None
    return [sys.executable, "-m", "losscli", "eval", str(case.files[0]), "--format", "json"]


def _s3_env(case: Case) -> dict[str, str] | None:
    from benchmarks.services import s3_env

    return s3_env() if case.name == "s3" else None


#: losscli with --distribution, timed beside the plain run (not a peer).
DISTRIBUTION_TOOL = "losscli --distribution"
#: The plain run beside a feature's run (the denominator of the feature's cost targets).
NO_GROUPS = "losscli without --group-by"
NO_CI = "losscli without --ci"
WORKERS_1 = "losscli --workers 1"
WORKERS_2 = "losscli --workers 2"
ONE_FILE = "losscli, the same rows in one file"
LOCAL_DIR = "losscli, local folder"
ENGINE_LOCAL = "losscli --engine local"
OWN_CLUSTER = "losscli --engine dask, own LocalCluster"
FLOOR = "numpy floor: hash + sums"
FLOOR_0 = "numpy floor, no replicates"
EVAL_TINY = "losscli eval tiny.parquet"
CHURN_GROUPS = "losscli --group-by channel"
CHURN_GROUPS_CI = "losscli --group-by channel --ci"
CHURN_01 = "losscli, labels 0/1"
IMPORT_DASK = "python -c 'import dask.distributed'"

_TABULAR = {("regression", "parquet"), ("regression", "csv"), ("binary", "parquet")}

TOOLS: list[Tool] = [
    Tool("losscli", _losscli_eval, description="python -m losscli eval FILE --loss ... --format json "
         "(in the cases of issues 12–14: with the option the case is about)", is_losscli=True,
         env=_s3_env),
    Tool(DISTRIBUTION_TOOL, _losscli_distribution, is_losscli=True,
         description="the same losscli run with --distribution (p50…max of each per-row "
                     "loss from a mergeable sketch): the extra cost of the distributions"),
    Tool(WORKERS_1, _variant("workers", lambda c: _eval(c.files[0], *_REGRESSION, "--workers", "1")),
         is_losscli=True, description="one thread reducing the row groups"),
    Tool(WORKERS_2, _variant("workers", lambda c: _eval(c.files[0], *_REGRESSION, "--workers", "2")),
         is_losscli=True, description="two threads reducing the row groups"),
    Tool(ONE_FILE, _variant("hive", lambda c: _eval(c.extra["one_file"], *_REGRESSION)),
         is_losscli=True, description="the 40 parts' rows as the single regression Parquet "
                                       "file: what reading 40 files costs"),
    Tool(LOCAL_DIR, _variant("s3", lambda c: _eval(c.files[0], *_REGRESSION)), is_losscli=True,
         description="the folder the S3 bucket was filled from, read locally"),
    Tool(NO_GROUPS, _variant({"groups-int", "groups-str"}, _plain), is_losscli=True,
         description="the same losses on the same file without --group-by"),
    Tool(NO_CI, _variant({"ci", "bootstrap"}, _plain), is_losscli=True,
         description="the same losses on the same file without --ci"),
    Tool(ENGINE_LOCAL, _variant("dask", _plain), is_losscli=True,
         description="the same folder on the local engine (threads of one process)"),
    Tool(OWN_CLUSTER, _variant("dask", lambda c: _eval(c.files[0], *_REGRESSION, "--engine", "dask",
                                                      "--workers", "2")),
         ("distributed",), is_losscli=True,
         description="--engine dask without --scheduler: losscli starts (and stops) a "
                     "LocalCluster of 2 worker processes itself"),
    Tool("duckdb", _sql_like("duckdb_peer.py"), ("duckdb",),
         "one SQL query over read_parquet/read_csv (hive: read_parquet('DIR/**/*.parquet', "
         "hive_partitioning = true); groups: GROUP BY; ci: avg ± z·stddev_samp/√n; tenclass: "
         "CASE lookup of the true label's p, greatest + CASE for the argmax, the confusion "
         "matrix by GROUP BY; auc: an integer rank sum, ties at their mid-rank)"),
    Tool("polars", _sql_like("polars_peer.py", s3=True), ("polars",),
         "lazy scan_parquet/scan_csv, same expressions (hive and S3: scan_parquet('…/**/*.parquet'); "
         "groups: group_by().agg(); ci: mean ± z·std/√n; tenclass: "
         "max_horizontal + when/coalesce lookups, the confusion matrix by group_by; auc: "
         "rank('average'))", env=_s3_env),
    Tool(CHURN_GROUPS, _variant(set(CHURN_CASES), lambda c: _churn(c, "--group-by", "channel")),
         is_losscli=True, description="the churn job per channel (10 groups)"),
    Tool(CHURN_GROUPS_CI, _variant(set(CHURN_CASES),
                                   lambda c: _churn(c, "--group-by", "channel", "--ci")),
         is_losscli=True, description="the churn job per channel, with intervals"),
    Tool(CHURN_01, _variant("churn", lambda c: _eval(c.files[0], *_CHURN_01)), is_losscli=True,
         description="the churn job on the same rows' labels as int8 0/1 (column y): what "
                     "reading text labels costs"),
    Tool("pandas+sklearn", _either(_peer("pandas_sklearn_peer.py", _TABULAR),
                                   _churn_peer("pandas"), _tenclass_peer("pandas")),
         ("pandas", "sklearn"), "read whole file, sklearn metrics (huber in numpy); churn: "
         "read both files, merge on id, sklearn's four metrics overall and per channel; "
         "tenclass: log_loss, accuracy_score, f1_score(average='macro') on the text labels"),
    Tool("pyarrow-stream", _peer("pyarrow_stream_peer.py",
                                 {("regression", "parquet"), ("regression", "csv")}),
         ("pyarrow",), "naive pyarrow batch reader (default sizes) + numpy per batch"),
    Tool("numpy", _peer("numpy_peer.py", {("regression", "npy"), ("binary", "npy"),
                                          ("multiclass", "npy"), ("multiclass", "parquet")}),
         ("numpy",), "np.load whole arrays + compute (log-sum-exp for cross-entropy)"),
    Tool("torch", _peer("torch_peer.py", {("binary", "npy"), ("multiclass", "npy"),
                                          ("multiclass", "parquet")}),
         ("torch",), "torch CPU F.binary_cross_entropy / F.cross_entropy, float64"),
    Tool("dask.dataframe", _dask_peer, ("dask.dataframe", "distributed"),
         "dask.dataframe.read_parquet(DIR) and the same means, computed on the case's cluster"),
    Tool(FLOOR, _floor(REPLICATES), ("numpy", "pyarrow"),
         f"benchmarks/peers/bootstrap_floor.py: losscli's counter hash for rows × {REPLICATES} "
         "replicates, vectorised, one matrix product per block (the same intervals)"),
    Tool(FLOOR_0, _floor(0), ("numpy", "pyarrow"),
         "the same script without replicates: its fixed cost (read, per-row losses, means)"),
    # Start-up: the floor is Python with typer and rich imported, nothing else.
    Tool("losscli --help", _startup(["-m", "losscli", "--help"]), is_losscli=True),
    Tool("losscli losses", _startup(["-m", "losscli", "losses"]), is_losscli=True),
    Tool(EVAL_TINY, _startup_eval, is_losscli=True,
         description="python -m losscli eval tiny.parquet --format json (1000 rows): the "
                     "start-up of a real evaluation"),
    Tool("floor: import typer, rich", _startup(["-c", "import typer, rich"]), ("typer", "rich")),
    Tool(IMPORT_DASK, _startup(["-c", "import dask.distributed"]), ("distributed",),
         description="what importing Dask's distributed scheduler costs a process"),
    Tool("python -c pass", _startup(["-c", "pass"])),
]

STARTUP_BASELINE = "floor: import typer, rich"
