"""A description of a run, validated once, before any file is opened.

:class:`InputSpec` says where the rows come from (files or arrays, which column plays which
role, the format, the chunk size, what NaN does); :class:`RunOptions` what to compute (the
losses and their parameters, the reduction, the task, logits, the threshold, where per-row
values go). :func:`build_spec` turns keyword arguments — from ``losscli.evaluate``,
``check``, ``compare``, ``inspect`` or the CLI — into a :class:`RunSpec`, and refuses an
unknown or ill-typed option with a :class:`~losscli.errors.UsageError` that names it and
what it accepts. Nothing here reads data.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from losscli.errors import UsageError, did_you_mean
from losscli.vocab import (
    INPUT_FORMATS,
    NAN_POLICIES,
    REDUCTIONS,
    STDOUT_SINK_FORMATS,
    TASKS,
)

Columns = tuple[str, ...]


@dataclass(frozen=True)
class InputSpec:
    """Where the rows come from. ``predictions`` (and the other data arguments) is a path,
    ``-`` (standard input), a numpy array, a list, or a pandas DataFrame/Series. Column
    options take a name, a glob (``'p_*'``) or several names."""

    predictions: Any
    targets: Any = None
    weights: Any = None
    var: Any = None
    positive: Any = None
    negative: Any = None
    pred_col: Columns = ()
    target_col: Columns = ()
    weight_col: str | None = None
    var_col: Columns = ()
    anchor_col: Columns = ()
    positive_col: Columns = ()
    negative_col: Columns = ()
    format_in: str | None = None
    chunk_size: int | None = None
    nan_policy: str = "raise"
    encoding: str | None = None  # of text input (CSV, TSV, NDJSON); None: UTF-8
    max_line_bytes: int | None = None  # the longest line of text input; None: 16 MiB
    # Folders, globs and URIs: options of the object store (s3://: endpoint_override,
    # region, anonymous, credentials...; see losscli.io.dataset.S3_OPTIONS), and whether
    # key=value folders are hive partitions (None: when every file sits under the same keys).
    storage_options: Mapping[str, Any] = field(default_factory=dict)
    partitioning: str | None = None
    #: --id-col: join the predictions to the targets (and a weights file) by these key
    #: columns (the targets' own names in target_id_col when they differ); unmatched:
    #: "error" (keys missing on either side) or "omit" (evaluate the matched rows)
    id_col: Columns = ()
    target_id_col: Columns = ()
    unmatched: str = "error"

    def columns(self) -> dict[str, Columns]:
        """``--x-col`` values of the extra roles (var and the triplet roles)."""
        return {"var": self.var_col, "anchor": self.anchor_col,
                "positive": self.positive_col, "negative": self.negative_col}

    def files(self) -> dict[str, Any]:
        """Separate files of the extra roles."""
        return {"var": self.var, "positive": self.positive, "negative": self.negative}


@dataclass(frozen=True)
class RunOptions:
    """What to compute from the rows."""

    losses: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    reduction: str = "mean"
    task: str | None = None
    from_logits: bool = False
    assume_logits: bool = False  # take predictions as logits even when they look like probabilities
    threshold: float | None = None
    #: A target column of labels (losscli.labels): the label of each prediction column, in
    #: order (binary: NEGATIVE,POSITIVE), and the positive label of binary data.
    classes: tuple[str, ...] = ()
    pos_label: str | None = None
    output: str | None = None  # per-row values (reduction none): a file, or None
    output_format: str | None = None  # their format on standard output: csv, tsv, ndjson
    workers: int | None = None  # threads reducing work units; None: every CPU we may use
    save_state: str | None = None  # write the merged State here (merge it later: losscli merge)
    engine: str = "local"  # local (threads) | dask (a Dask cluster)
    scheduler: str | None = None  # a running Dask scheduler's address (engine dask)
    distribution: bool = False  # quantiles of each per-row loss, from a mergeable sketch
    quantile_levels: tuple[float, ...] = ()  # beside p50, p90, p99, p99.9 and max
    relative_accuracy: float = 0.01  # the sketch's relative error bound α
    #: keep a calibration state (the reliability diagram's bins) for a binary or multi-class
    #: classifier whose predictions are probabilities, even without ece/mce (--plot, --html)
    calibration: bool = False
    ci: bool = False  # confidence intervals (and paired differences in compare)
    ci_level: float = 0.95
    ci_method: str = "auto"  # auto (analytic where valid, else bootstrap) | analytic | bootstrap
    replicates: int = 200
    seed: int = 0
    #: --group-by: key columns (or partition keys); one result per group beside the overall
    group_by: tuple[str, ...] = ()
    max_groups: int = 10_000  # refuse more groups than this (memory grows with the groups)
    sort: str = "key"  # groups ordered by key, or "value": worst first on the first loss

    def ci_config(self) -> Any:
        """The :class:`losscli.uncertainty.CIConfig` of ``--ci`` (None without it)."""
        if not self.ci:
            return None
        from losscli.uncertainty import CIConfig

        return CIConfig(self.ci_level, self.ci_method, self.replicates, self.seed)


@dataclass(frozen=True)
class RunSpec:
    """A whole run: its inputs and its options."""

    inputs: InputSpec
    options: RunOptions

    def replace_options(self, **changes: Any) -> RunSpec:
        return replace(self, options=replace(self.options, **changes))


INPUT_FIELDS = tuple(f.name for f in fields(InputSpec))
OPTION_FIELDS = tuple(f.name for f in fields(RunOptions))
DATA_FIELDS = ("predictions", "targets", "weights", "var", "positive", "negative")
COLUMN_FIELDS = ("pred_col", "target_col", "var_col", "anchor_col", "positive_col",
                 "negative_col", "id_col", "target_id_col")


def _choice(name: str, value: Any, allowed: tuple[str, ...], optional: bool = False) -> Any:
    if value is None and optional:
        return None
    value = getattr(value, "value", value)  # an Enum from the CLI
    if not isinstance(value, str) or value not in allowed:
        raise UsageError(f"{name} must be one of: {', '.join(allowed)}"
                         f"{' (or None)' if optional else ''}; got {value!r}.")
    return value


def _columns(name: str, value: Any) -> Columns:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
        items = tuple(value)
        if all(isinstance(v, str) for v in items):
            return items
    raise UsageError(f"{name} takes a column name, a glob such as 'p_*', or a list of names; "
                     f"got {value!r}.")


def _data(name: str, value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "to_numpy") or hasattr(value, "__array__") or isinstance(
            value, list | tuple) or type(value).__module__.split(".")[0] == "pyarrow":
        return value
    raise UsageError(f"{name} must be a file path, '-' (standard input), a numpy array, a list, "
                     "a pandas or polars DataFrame/Series or a pyarrow Table; got "
                     f"{type(value).__name__}.")


def _optional_path(name: str, value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise UsageError(f"{name} must be a file path (or None); got {value!r}.")


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise UsageError(f"{name} must be True or False; got {value!r}.")
    return value


def _chunk_size(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"chunk_size must be a whole number >= 1 (rows per chunk), or None for "
                         f"the default; got {value!r}.")
    return int(value)


def _threshold(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UsageError(f"threshold must be a finite number (or None); got {value!r}.")
    return float(value)


def _losses(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
        items = tuple(value)
        if all(isinstance(v, str) for v in items):
            return items
    raise UsageError(f"losses takes a loss name ('huber:delta=0.5') or a list of them; got "
                     f"{value!r}.")


def _params(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise UsageError(f"params must be a dict of loss parameters (e.g. {{'delta': 0.5}}); "
                         f"got {value!r}.")
    from losscli.registry import all_losses

    known = sorted({p.name for s in all_losses().values() for p in s.params} | {"auc_bins"})
    out = {}
    for key, v in value.items():
        if key not in known:
            raise UsageError(f"params: no loss takes a parameter {key!r}.{did_you_mean(str(key), known)} "
                             f"Parameters: {', '.join(known)}.")
        if v is not None and not isinstance(v, bool | int | float | str):
            raise UsageError(f"params: {key} must be a number or a boolean; got {v!r}.")
        if v is not None:
            out[key] = v
    return out


def _encoding(value: Any) -> str | None:
    import codecs

    if value is None:
        return None
    try:
        info = codecs.lookup(value) if isinstance(value, str) else None
    except LookupError:
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise UsageError(f"encoding must name a text encoding, such as utf-8, latin-1, cp1252 "
                         f"or utf-16; got {value!r}.")
    return str(value)


_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def _max_line_bytes(value: Any) -> int | None:
    """A byte count: an int, or a string such as ``64M`` (K, M and G are powers of 1024)."""
    if value is None:
        return None
    n = None
    if isinstance(value, int) and not isinstance(value, bool):
        n = value
    elif isinstance(value, str):
        text = value.strip().lower().removesuffix("ib").removesuffix("b")
        unit = text[-1:] if text[-1:] in _SIZE_UNITS else ""
        number = text[: len(text) - len(unit)].strip()
        if number.isdigit():
            n = int(number) * _SIZE_UNITS[unit]
    if n is None or not (1 << 10) <= n <= (1 << 30):
        raise UsageError(f"max_line_bytes must be a size from 1K to 1G (bytes, or with K, M or "
                         f"G: 64M); got {value!r}.")
    return n


_CHECKS: dict[str, Any] = {
    "format_in": lambda v: _choice("format_in", v, INPUT_FORMATS, optional=True),
    "nan_policy": lambda v: _choice("nan_policy", v, NAN_POLICIES),
    "chunk_size": _chunk_size,
    "encoding": _encoding,
    "max_line_bytes": _max_line_bytes,
    "storage_options": lambda v: _storage_options(v),
    "partitioning": lambda v: _choice("partitioning", v, ("hive", "none"), optional=True),
    "weight_col": lambda v: _weight_col(v),
    "reduction": lambda v: _choice("reduction", v, REDUCTIONS),
    "task": lambda v: _choice("task", v, TASKS, optional=True),
    "from_logits": lambda v: _flag("from_logits", v),
    "assume_logits": lambda v: _flag("assume_logits", v),
    "threshold": _threshold,
    "classes": lambda v: _classes(v),
    "pos_label": lambda v: _pos_label(v),
    "losses": _losses,
    "params": _params,
    "output": lambda v: _optional_path("output", v),
    "output_format": lambda v: _choice("output_format", v, STDOUT_SINK_FORMATS, optional=True),
    "workers": lambda v: _workers(v),
    "engine": lambda v: _choice("engine", v, ("local", "dask")),
    "save_state": lambda v: _optional_path("save_state", v),
    "scheduler": lambda v: _scheduler(v),
    "distribution": lambda v: _flag("distribution", v),
    "quantile_levels": lambda v: _levels(v),
    "relative_accuracy": lambda v: _accuracy(v),
    "calibration": lambda v: _flag("calibration", v),
    "ci": lambda v: _flag("ci", v),
    "ci_level": lambda v: _number("ci_level", v),
    "ci_method": lambda v: _choice("ci_method", v, ("auto", "analytic", "bootstrap")),
    "replicates": lambda v: _whole("replicates", v),
    "seed": lambda v: _seed(v),
    "group_by": lambda v: _group_by(v),
    "unmatched": lambda v: _choice("unmatched", v, ("error", "omit")),
    "max_groups": lambda v: _positive("max_groups", v),
    "sort": lambda v: _choice("sort", v, ("key", "value")),
}


def _classes(value: Any) -> tuple[str, ...]:
    """Labels of the classes: ``"a,b,c"`` (comma-separated, spaces around a label dropped) or
    a list (each item one label, as text: a label holding a comma only this way)."""
    if value is None:
        return ()
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")]
    elif isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
        items = list(value)
        if not all(isinstance(v, str | bool | int | float) for v in items):
            raise UsageError(f"classes takes labels (text, numbers or booleans); got {value!r}.")
        items = [str(v).strip() for v in items]
    else:
        raise UsageError(f"classes takes labels: 'a,b,c' or a list; got {value!r}.")
    if not items or any(not v for v in items):
        raise UsageError(f"classes takes labels separated by commas, none empty (e.g. "
                         f"--classes setosa,versicolor,virginica); got {value!r}.")
    return tuple(items)


def _pos_label(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str | bool | int | float) or not str(value).strip():
        raise UsageError(f"pos_label takes one label (e.g. --pos-label yes); got {value!r}.")
    return str(value).strip()


def _group_by(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else list(value)
    if not items or not all(isinstance(c, str) and c.strip() for c in items):
        raise UsageError(f"group_by takes column names; got {value!r}.")
    names = tuple(c.strip() for c in items)
    twice = sorted({c for c in names if names.count(c) > 1})
    if twice:
        raise UsageError(f"--group-by {twice[0]} is given twice; name each column once.")
    return names


def _positive(name: str, value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{name} must be a whole number >= 1; got {value!r}.")
    return int(value)


def _storage_options(value: Any) -> dict[str, Any]:
    """``KEY=VALUE`` strings (``--storage-option``) or a dict, typed and checked."""
    from losscli.io.dataset import parse_storage_options

    if value is None:
        return {}
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Mapping | list | tuple):
        raise UsageError(f"storage_options takes a dict or KEY=VALUE strings; got {value!r}.")
    return parse_storage_options(value if isinstance(value, list | tuple) else dict(value))


#: Dask's transports (``inproc://`` addresses exist inside one process only).
SCHEDULER_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")
_HOST_PORT = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+(?:%[\w.-]+)?)\]|(?P<host>[\w.-]+)):"
                        r"(?P<port>\d{1,5})$")


def _scheduler(value: Any) -> str | None:
    """A Dask scheduler's address, ``[SCHEME://]HOST:PORT`` (an IPv6 host in brackets),
    checked here so that a malformed one is one line at once, not Dask's retries."""
    if value is None:
        return None
    text = value.strip() if isinstance(value, str) else ""
    scheme, sep, location = text.rpartition("://")
    match = _HOST_PORT.match(location)
    if not text or (sep and scheme not in SCHEDULER_SCHEMES) or match is None or not (
            0 < int(match["port"]) < 65536):
        raise UsageError(
            f"--scheduler takes a Dask scheduler's address, SCHEME://HOST:PORT, such as "
            f"tcp://10.0.0.5:8786 or tcp://[::1]:8786 (schemes: {', '.join(SCHEDULER_SCHEMES)});"
            f" got {value!r}.")
    return text


#: The bootstrap's seed is hashed as a 64-bit word.
MAX_SEED = 2**64 - 1


def _seed(value: Any) -> int:
    seed = _whole("seed", value)
    if seed > MAX_SEED:
        raise UsageError(f"--seed must be a whole number from 0 to 2**64 - 1 "
                         f"({MAX_SEED}); got {value!r}.")
    return seed


def _levels(value: Any) -> tuple[float, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, int | float | str) else list(value)
    out = []
    for item in items:
        for part in str(item).split(","):
            try:
                level = float(part)
            except ValueError:
                raise UsageError(f"quantile_levels takes numbers in (0, 1], e.g. 0.95,0.999; "
                                 f"got {part!r}.") from None
            if not 0.0 < level <= 1.0:
                raise UsageError(f"quantile_levels takes numbers in (0, 1]; got {part!r}.")
            out.append(level)
    return tuple(out)


def _accuracy(value: Any) -> float:
    number = _number("relative_accuracy", value)
    if not 0.0001 <= number <= 0.5:
        raise UsageError(f"relative_accuracy must be in [0.0001, 0.5] (0.01 = 1 %); got {value!r}.")
    return number


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UsageError(f"{name} must be a finite number; got {value!r}.")
    return float(value)


def _whole(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UsageError(f"{name} must be a whole number >= 0; got {value!r}.")
    return int(value)


def _workers(value: Any) -> int | None:
    if value is None or value == "auto":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"workers must be a whole number >= 1 or 'auto' (every CPU this process "
                         f"may use); got {value!r}.")
    return int(value)


def _weight_col(value: Any) -> str | None:
    cols = _columns("weight_col", value)
    if len(cols) > 1:
        raise UsageError(f"weight_col takes one column name; got {value!r}.")
    return cols[0] if cols else None


def build_spec(predictions: Any, targets: Any = None, *, where: str = "evaluate()",
               allowed: Iterable[str] | None = None, **options: Any) -> RunSpec:
    """Validate keyword options into a :class:`RunSpec` (no I/O).

    ``where`` names the caller in messages; ``allowed`` restricts the option names (e.g.
    ``inspect`` takes no loss options). An unknown name is a UsageError with the closest
    name and the list of options; a value of the wrong type or out of its set is a
    UsageError naming the option and what it accepts.
    """
    names = tuple(allowed) if allowed is not None else (*INPUT_FIELDS[2:], *OPTION_FIELDS)
    for key in options:
        if key not in names:
            raise UsageError(
                f"{where} has no option '{key}'.{did_you_mean(key, list(names))} Its options: "
                f"{', '.join(names)}."
            )
    values: dict[str, Any] = {"predictions": _data("predictions", predictions),
                              "targets": _data("targets", targets)}
    for key, value in options.items():
        if key in DATA_FIELDS:
            values[key] = _data(key, value)
        elif key in COLUMN_FIELDS:
            values[key] = _columns(key, value)
        else:
            values[key] = _CHECKS[key](value)
    if values["predictions"] is None:
        raise UsageError(f"{where} needs predictions: a file path, '-', an array or a DataFrame.")
    if values.get("target_id_col") and not values.get("id_col"):
        raise UsageError("--target-id-col names the targets' key columns of a join: give the "
                         "predictions' with --id-col too.")
    if values.get("id_col") and values.get("target_id_col") and len(
            values["id_col"]) != len(values["target_id_col"]):
        raise UsageError(f"--id-col names {len(values['id_col'])} key column(s) and "
                         f"--target-id-col {len(values['target_id_col'])}: give one target "
                         "key column per prediction key column, in the same order.")
    inputs = InputSpec(**{k: v for k, v in values.items() if k in INPUT_FIELDS})
    opts = RunOptions(**{k: v for k, v in values.items() if k in OPTION_FIELDS})
    opts.ci_config()  # validates level, method, replicates and seed (no I/O)
    if opts.scheduler is not None and opts.engine != "dask":
        raise UsageError("scheduler is the address of a Dask scheduler: add engine='dask' "
                         "(--engine dask), or drop it.")
    if opts.engine == "dask" and opts.reduction == "none":
        raise UsageError("--reduction none streams per-row values to one place; use the local "
                         "engine for it (drop --engine dask).")
    if opts.engine == "dask" and any(isinstance(x, str) and x == "-" for x in (
            inputs.predictions, inputs.targets, inputs.weights)):
        raise UsageError("--engine dask: the workers read the inputs themselves, and they "
                         "cannot read this process's standard input; give files or URIs.")
    if opts.output is not None and opts.reduction != "none":
        raise UsageError("output is for per-row losses; add reduction='none' (--reduction "
                         "none), or drop it.")
    return RunSpec(inputs, opts)
