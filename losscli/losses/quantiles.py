"""Quantile forecasts: one column per predicted quantile (role ``quantiles``,
``--quantile-cols q_0.1,q_0.5,q_0.9``), scored by the pinball loss at each level.

The levels come from the loss parameter ``levels`` (``0.1_0.5_0.9``) or, when it is not
given, from the columns' names (:func:`bind_levels`, called once the inputs are bound: the
last number of each name, ``q_0.1`` → 0.1, ``q10`` → 0.10 as a percentage). The bound levels
become the instance's parameter, so its label, saved state and workers all carry them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from losscli.errors import InputError, UsageError
from losscli.registry import LossInstance, Param, register

_SPLIT = re.compile(r"[_/;\s]+")
_LAST_NUMBER = re.compile(r"(\d*\.\d+|\d+)(?!.*\d)")


def _text(levels: list[float]) -> str:
    return "_".join(f"{q:g}" for q in levels)


@dataclass(frozen=True)
class LevelsParam(Param):
    """Quantile levels in (0, 1), written ``0.1_0.5_0.9`` (``/`` or spaces also separate);
    one per quantile column, in the columns' order. None: read from the columns' names."""

    def coerce(self, raw: Any, where: str) -> Any:
        if raw is None:
            return None
        try:
            levels = [float(t) for t in _SPLIT.split(str(raw).strip()) if t]
        except ValueError:
            levels = []
        if not levels or not all(0.0 < q < 1.0 for q in levels) or len(set(levels)) < len(
                levels):
            raise UsageError(
                f"Parameter '{self.name}' of {where} must be distinct quantile levels in "
                f"(0, 1) separated by '_', e.g. 0.1_0.5_0.9; got {raw!r}.")
        return _text(levels)


LEVELS = LevelsParam("levels", None, "the quantile levels of the columns, in their order, "
                     "e.g. 0.1_0.5_0.9 (auto: read from the column names)", type=str)


def level_of_name(name: str) -> float | None:
    """The quantile level a column's name states: its last number, a fraction (``q_0.1``,
    ``0.9``) or a whole percentage (``q10``, ``p90``); None when it states none in (0, 1)."""
    m = _LAST_NUMBER.search(name)
    if m is None:
        return None
    value = float(m.group(1)) if "." in m.group(1) else int(m.group(1)) / 100
    return value if 0.0 < value < 1.0 else None


def bind_levels(instances: list[LossInstance], inputs: Any,
                widths: dict[str, int]) -> list[LossInstance]:
    """Each quantile loss with its levels: as given (their count must match the quantile
    columns'), or read from the column names (an error naming the column that states none)."""
    out = []
    for inst in instances:
        if inst.spec.param("levels") is not LEVELS:
            out.append(inst)
            continue
        ref = inputs.roles.get("quantiles")
        columns = tuple(map(str, ref.columns)) if ref is not None else ()
        count = widths.get("quantiles", len(columns) or 1)
        given = inst.params.get("levels")
        if given is None:
            listed = len(columns) == count  # one column per level (not a list column)
            levels = [level_of_name(c) for c in columns] if listed else []
            bad = next((c for c, q in zip(columns, levels) if q is None), None)
            if not listed or bad is not None:
                what = (f"column '{bad}'" if bad is not None else
                        "the quantile input (a list column or an array)")
                raise UsageError(
                    f"{inst.name}: cannot read a quantile level from {what} (--quantile-cols); "
                    "name the columns by their level (q_0.1, q_0.5, q_0.9) or give the levels: "
                    f"--loss {inst.name}:levels=0.1_0.5_0.9.")
            if len(set(levels)) < len(levels):
                raise UsageError(
                    f"{inst.name}: two quantile columns state the same level "
                    f"({', '.join(map(str, columns))}); give each level once.")
            given = "_".join(f"{q:g}" for q in levels)  # in the columns' order
        elif len(str(given).split("_")) != count:
            raise UsageError(
                f"{inst.name}:levels={given} names {len(str(given).split('_'))} levels but the "
                f"quantile forecast has {count} values per row ({inputs.describe('quantiles')}); "
                "give one level per column, in the columns' order.")
        out.append(replace(inst, params={**inst.params, "levels": given}))
    return out


def _pinball(target: np.ndarray, quantiles: np.ndarray, levels: str | None) -> np.ndarray:
    """The pinball loss of each quantile column, (n, K)."""
    q = np.array([float(t) for t in str(levels).split("_")])
    values = quantiles[:, None] if quantiles.ndim == 1 else quantiles
    if values.shape[1] != q.size:
        raise InputError(
            f"The quantile forecast has {values.shape[1]} values per row but {q.size} levels "
            f"({levels}); give one level per column.")
    diff = target[:, None] - values
    return np.where(diff >= 0, q * diff, (q - 1.0) * diff)


_EXPECTS = ("target: number; quantiles: one column per level (--quantile-cols q_0.1,q_0.5,"
            "q_0.9), the levels read from the names or given with levels=")


@register(
    "mean_pinball",
    aliases=("multi_quantile", "quantile_loss_mean"),
    summary="Pinball loss averaged over several predicted quantiles (one column per level).",
    formula="1/K·Σ_k ρ_{τ_k}(y − q_k),  ρ_τ(u) = τ·u if u ≥ 0 else (τ − 1)·u",
    reference="mean over τ of sklearn.metrics.mean_pinball_loss(alpha=τ)",
    task="forecast", tasks=("regression",), inputs=("target", "quantiles"), params=(LEVELS,),
    expects=_EXPECTS,
    example="sample_data/forecast.parquet --quantile-cols 'q_*'",
)
def mean_pinball(target: np.ndarray, quantiles: np.ndarray, *,
                 levels: str | None = None) -> np.ndarray:
    """Per row, the mean over the levels τ_k of ``ρ_τk(y − q_k)``: its weighted mean is the
    mean over τ of sklearn ``mean_pinball_loss(alpha=τ)``."""
    values: np.ndarray = _pinball(target, quantiles, levels).mean(axis=1)
    return values


@register(
    "crps_quantile",
    aliases=("crps_from_quantiles", "quantile_crps"),
    summary="CRPS approximated from predicted quantiles: twice the mean pinball loss over "
            "the levels (a fair approximation when the levels are evenly spaced, e.g. "
            "0.1, 0.2, …, 0.9).",
    formula="2/K·Σ_k ρ_{τ_k}(y − q_k)   (CRPS = 2·∫₀¹ ρ_τ(y − F⁻¹(τ)) dτ)",
    reference="Gneiting & Raftery 2007, JASA 102(477), eq. 22 (CRPS as the integral of the "
              "quantile score); the quantile-score approximation of Laio & Tamea 2007",
    task="forecast", tasks=("regression",), inputs=("target", "quantiles"), params=(LEVELS,),
    expects=_EXPECTS,
    example="sample_data/forecast.parquet --quantile-cols 'q_*'",
)
def crps_quantile(target: np.ndarray, quantiles: np.ndarray, *,
                  levels: str | None = None) -> np.ndarray:
    """Per row, ``2/K Σ_k ρ_τk(y − q_k)``."""
    values: np.ndarray = 2.0 * _pinball(target, quantiles, levels).mean(axis=1)
    return values
