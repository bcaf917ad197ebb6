"""Bounds and tolerances of ``losscli check``: ``--max/--min/--rtol/--atol`` parsed against
the selected loss instances (by :func:`losscli.registry.find_instance`, so a loss is named
the same way everywhere)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from losscli.errors import UsageError
from losscli.registry import LossInstance, find_instance, format_param


@dataclass(frozen=True)
class Bounds:
    """Bounds and tolerances per loss label (``huber(delta=0.5)``), plus global tolerances."""

    max: dict[str, float] = field(default_factory=dict)
    min: dict[str, float] = field(default_factory=dict)
    rtol: dict[str, float] = field(default_factory=dict)
    atol: dict[str, float] = field(default_factory=dict)
    rtol_all: float | None = None
    atol_all: float | None = None

    def rtol_for(self, label: str) -> float | None:
        return self.rtol.get(label, self.rtol_all)

    def atol_for(self, label: str) -> float | None:
        return self.atol.get(label, self.atol_all)


def _number(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{where}: '{text}' is not a number; write e.g. '--max mse=0.3'.") from None
    if not math.isfinite(value):
        raise UsageError(f"{where}: the bound must be a finite number, got '{text}'.")
    return value


def _split_assignment(arg: str, flag: str, allow_global: bool) -> tuple[str | None, str]:
    """``NAME=V`` -> (NAME, V); a bare ``V`` -> (None, V) where a global value is allowed.
    The value follows the last ``=``, so labels such as ``huber(delta=0.5)=0.3`` work."""
    name, eq, value = arg.rpartition("=")
    if not eq:
        if allow_global:
            return None, arg
        raise UsageError(
            f"'{flag} {arg}' needs a loss name: write it as NAME=VALUE, e.g. '{flag} mse=0.3'."
        )
    if not name.strip() or not value.strip():
        raise UsageError(f"'{flag} {arg}': write it as NAME=VALUE, e.g. '{flag} mse=0.3'.")
    return name.strip(), value.strip()


def parse_bounds(
    instances: Sequence[LossInstance],
    *,
    max_: Iterable[str] = (),
    min_: Iterable[str] = (),
    rtol: Iterable[str] = (),
    atol: Iterable[str] = (),
) -> Bounds:
    """Parse ``--max NAME=V``, ``--min NAME=V``, ``--rtol [NAME=]V``, ``--atol [NAME=]V``
    against the selected ``instances``; the result is keyed by instance label."""
    per: dict[str, dict[str, float]] = {"max": {}, "min": {}, "rtol": {}, "atol": {}}
    global_: dict[str, float | None] = {"rtol": None, "atol": None}
    for kind, args in (("max", max_), ("min", min_), ("rtol", rtol), ("atol", atol)):
        flag = f"--{kind}"
        tolerance = kind in ("rtol", "atol")
        for arg in args or ():
            where = f"'{flag} {arg}'"
            name, text = _split_assignment(arg, flag, allow_global=tolerance)
            value = _number(text, where)
            if tolerance and value < 0:
                raise UsageError(f"{where}: a tolerance must be >= 0, got {text}.")
            if name is None:
                if global_[kind] is not None:
                    raise UsageError(
                        f"{flag} was given twice without a loss name ({format_param(global_[kind])} and "  # type: ignore[arg-type]
                        f"{text}); give one global value, and NAME=VALUE for per-loss values."
                    )
                global_[kind] = value
                continue
            label = find_instance(name, instances, where).label
            if label in per[kind]:
                raise UsageError(
                    f"{where}: {label} already has {flag} {format_param(per[kind][label])}; give one "
                    "value per loss."
                )
            per[kind][label] = value
    for label, high in per["max"].items():
        low = per["min"].get(label)
        if low is not None and low > high:
            raise UsageError(
                f"--min {format_param(low)} is above --max {format_param(high)} for {label}: "
                "no value can pass; swap them."
            )
    return Bounds(per["max"], per["min"], per["rtol"], per["atol"],
                  global_["rtol"], global_["atol"])
