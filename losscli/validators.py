"""The validators of option values: each takes the option's name and a value, returns the
value in its canonical type, or raises a :class:`~losscli.errors.UsageError` that names the
option, says what it accepts and echoes the bad value (each option declared in
``losscli.spec`` names one of these; ``losscli.spec.build_spec`` calls them). Nothing here
reads data or imports more than the standard library at import time.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from losscli.errors import UsageError, did_you_mean

Columns = tuple[str, ...]


def choice(name: str, value: Any, allowed: tuple[str, ...], optional: bool = False) -> Any:
    if value is None and optional:
        return None
    value = getattr(value, "value", value)  # an Enum from the CLI
    if not isinstance(value, str) or value not in allowed:
        raise UsageError(f"{name} must be one of: {', '.join(allowed)}"
                         f"{' (or None)' if optional else ''}; got {value!r}.")
    return value


def _strings(value: Any) -> tuple[str, ...] | None:
    """``value`` as a tuple of strings (None: none; a string: one), or None when it is
    neither a string nor an iterable of strings."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
        items = tuple(value)
        if all(isinstance(v, str) for v in items):
            return items
    return None


def columns(name: str, value: Any) -> Columns:
    if (items := _strings(value)) is not None:
        return items
    raise UsageError(f"{name} takes a column name, a glob such as 'p_*', or a list of names; "
                     f"got {value!r}.")


def data(name: str, value: Any) -> Any:
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


def optional_path(name: str, value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise UsageError(f"{name} must be a file path (or None); got {value!r}.")


def flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise UsageError(f"{name} must be True or False; got {value!r}.")
    return value


def chunk_size(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"chunk_size must be a whole number >= 1 (rows per chunk), or None for "
                         f"the default; got {value!r}.")
    return int(value)


def threshold(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UsageError(f"threshold must be a finite number (or None); got {value!r}.")
    return float(value)


def cost_matrix(name: str, value: Any) -> str | None:
    """A cost matrix (:func:`losscli.cost_matrix.parse`) as its canonical text."""
    if value is None:
        return None
    from losscli.cost_matrix import parse

    return parse(value, name)


def losses(name: str, value: Any) -> tuple[str, ...]:
    if (items := _strings(value)) is not None:
        return items
    raise UsageError(f"losses takes a loss name ('huber:delta=0.5') or a list of them; got "
                     f"{value!r}.")


def params(name: str, value: Any) -> dict[str, Any]:
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


def encoding(name: str, value: Any) -> str | None:
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


def max_line_bytes(name: str, value: Any) -> int | None:
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


def classes(name: str, value: Any) -> tuple[str, ...]:
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


def pos_label(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str | bool | int | float) or not str(value).strip():
        raise UsageError(f"pos_label takes one label (e.g. --pos-label yes); got {value!r}.")
    return str(value).strip()


def group_by(name: str, value: Any) -> tuple[str, ...]:
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


def positive(name: str, value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{name} must be a whole number >= 1; got {value!r}.")
    return int(value)


def storage_options(name: str, value: Any) -> dict[str, Any]:
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


def scheduler(name: str, value: Any) -> str | None:
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


def seed(name: str, value: Any) -> int:
    seed = whole("seed", value)
    if seed > MAX_SEED:
        raise UsageError(f"--seed must be a whole number from 0 to 2**64 - 1 "
                         f"({MAX_SEED}); got {value!r}.")
    return seed


def levels(name: str, value: Any) -> tuple[float, ...]:
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


def accuracy(name: str, value: Any) -> float:
    alpha = number("relative_accuracy", value)
    if not 0.0001 <= alpha <= 0.5:
        raise UsageError(f"relative_accuracy must be in [0.0001, 0.5] (0.01 = 1 %); got {value!r}.")
    return alpha


def number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UsageError(f"{name} must be a finite number; got {value!r}.")
    return float(value)


def whole(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UsageError(f"{name} must be a whole number >= 0; got {value!r}.")
    return int(value)


def workers(name: str, value: Any) -> int | None:
    if value is None or value == "auto":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"workers must be a whole number >= 1 or 'auto' (every CPU this process "
                         f"may use); got {value!r}.")
    return int(value)


def weight_col(name: str, value: Any) -> str | None:
    cols = columns("weight_col", value)
    if len(cols) > 1:
        raise UsageError(f"weight_col takes one column name; got {value!r}.")
    return cols[0] if cols else None
