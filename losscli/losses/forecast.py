"""Forecast metrics: prediction intervals (coverage, width, interval score) and the
scale-free point-forecast errors (sMAPE, WAPE, MASE).

Interval metrics read the interval's bounds (roles ``lower`` and ``upper``: ``--lower-col``,
``--upper-col``) and the target, not a point prediction; a row whose lower bound exceeds its
upper bound is an input error naming the file, column and row. No package of the test
extra has these metrics, so each docstring states its formula and source.
"""

from __future__ import annotations

import numpy as np

from losscli.domain import Domain
from losscli.losses.common import propagate_nan
from losscli.registry import Param, register

_EXAMPLE = "sample_data/forecast.parquet"
_INTERVAL = ("target", "lower", "upper")

#: One rule object for the three interval metrics, so it is checked once per chunk.
ORDERED = Domain(
    "lower", lambda lower, upper: lower > upper, "<= the upper bound",
    hint="Each row's interval must have lower <= upper: check that --lower-col and "
         "--upper-col are not swapped.", other="upper")


@register(
    "coverage",
    aliases=("picp", "interval_coverage"),
    summary="Prediction-interval coverage probability (PICP): the fraction of targets "
            "inside their interval (higher is better; compare with the nominal level).",
    formula="1 if L ≤ y ≤ U else 0",
    reference="PICP (Khosravi et al. 2011, IEEE TNN 22(3)); no sklearn/torch function",
    task="forecast", tasks=("regression",), inputs=_INTERVAL, higher_is_better=True,
    domain=(ORDERED,), indicator=True,
    expects="target: number; lower, upper: the interval's bounds (--lower-col, --upper-col)",
    example=_EXAMPLE,
)
def coverage(target: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """1.0 where ``lower <= target <= upper`` (bounds included), else 0.0; NaN where an
    input is NaN. Its weighted mean is the PICP."""
    inside = ((lower <= target) & (target <= upper)).astype(np.float64)
    return propagate_nan(inside, target, lower, upper)


@register(
    "interval_width",
    aliases=("mpiw", "mean_interval_width"),
    summary="Mean width of the prediction intervals (MPIW; sharper is smaller).",
    formula="U − L",
    reference="MPIW (Khosravi et al. 2011, IEEE TNN 22(3)); no sklearn/torch function",
    task="forecast", tasks=("regression",), inputs=_INTERVAL,
    domain=(ORDERED,),
    expects="target: number; lower, upper: the interval's bounds (--lower-col, --upper-col)",
    example=_EXAMPLE,
)
def interval_width(target: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """``upper − lower`` per row (the target only carries NaN along)."""
    return propagate_nan(upper - lower, target)


@register(
    "interval_score",
    aliases=("winkler", "winkler_score"),
    summary="Interval (Winkler) score of a central (1 − alpha) prediction interval: its "
            "width plus 2/alpha times how far the target falls outside.",
    formula="(U − L) + 2/α·(L − y)·1[y < L] + 2/α·(y − U)·1[y > U]",
    reference="Gneiting & Raftery 2007, JASA 102(477), eq. 43 (Winkler 1972); no "
              "sklearn/torch function",
    task="forecast", tasks=("regression",), inputs=_INTERVAL,
    params=(Param("alpha", 0.1, "the interval's miss rate: a central (1 − alpha) interval "
                  "(0.1 for a 90 % interval)", exclusive_minimum=0.0, maximum=1.0),),
    domain=(ORDERED,),
    expects="target: number; lower, upper: the bounds of a central (1 − alpha) interval",
    example=_EXAMPLE,
)
def interval_score(target: np.ndarray, lower: np.ndarray, upper: np.ndarray, *,
                   alpha: float = 0.1) -> np.ndarray:
    """Gneiting & Raftery (2007) eq. 43: ``(u − l) + 2/α (l − y)₊ + 2/α (y − u)₊``."""
    below = np.maximum(lower - target, 0.0)
    above = np.maximum(target - upper, 0.0)
    return (upper - lower) + (2.0 / alpha) * (below + above)


@register(
    "smape",
    aliases=("symmetric_mape",),
    summary="Symmetric mean absolute percentage error, in percent (0 to 200); a row with "
            "y = ŷ = 0 counts 0.",
    formula="200·|y − ŷ| / (|y| + |ŷ|)   (0/0 := 0; mean: 100/n·Σ 2|y − ŷ|/(|y| + |ŷ|))",
    reference="sMAPE as in the M4 competition (Makridakis et al. 2020, IJF 36(1)); no "
              "sklearn/torch function",
)
def smape(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``200 |y − ŷ| / (|y| + |ŷ|)`` per row, 0 where both are 0 (the mean is the M4
    sMAPE in percent)."""
    num = 200.0 * np.abs(target - pred)
    den = np.abs(target) + np.abs(pred)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    return np.where((num == 0.0) & (den == 0.0), 0.0, out)


@register(
    "wape",
    aliases=("weighted_absolute_percentage_error", "mad_mean_ratio"),
    summary="Weighted absolute percentage error: total absolute error over total absolute "
            "target, as a fraction (a ratio of sums: mean reduction only).",
    formula="Σ w·|y − ŷ| / Σ w·|y|   (NaN when every y and error is 0; +inf when only y is)",
    reference="WAPE (Kolassa & Schütz 2007, Foresight 6); no sklearn/torch function",
    aggregate="abs_target_ratio",
)
def wape(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``|y − ŷ|`` per row; the aggregate divides Σw·|y − ŷ| by the Σw·|y| it keeps."""
    return np.abs(target - pred)


def _seasonal(params: dict[str, object]) -> dict[str, object]:
    """mase with season_length m ≥ 1: no naive column; the scale is the seasonal-naive MAE
    of the target series as read (losscli.ratio_aggregate.SeasonalRatio)."""
    if not params.get("season_length"):
        return {}
    return {"inputs": ("pred", "target"), "aggregate_kind": "seasonal_ratio",
            "kernel": _abs_error}


def _abs_error(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    return np.abs(target - pred)


@register(
    "mase",
    aliases=("mean_absolute_scaled_error",),
    summary="Mean absolute scaled error: the model's MAE over the naive forecast's MAE — a "
            "naive forecast given per row (--naive-col), or with season_length=m the "
            "seasonal-naive scale of the evaluated target series itself (y_t − y_{t−m} in "
            "row order; per group with --group-by).",
    formula="Σ w·|y − ŷ| / Σ w·|y − naive|;  season_length=m: (Σ w·|y − ŷ| / Σ w) / "
            "(1/(n − m)·Σ_{t>m} |y_t − y_{t−m}|)",
    reference="Hyndman & Koehler 2006, IJF 22(4), MASE (their scale is the training series'; "
              "season_length scales by the evaluated series: use mase_scaled:scale= for a "
              "training-set scale); no sklearn/torch function",
    task="forecast", inputs=("pred", "target", "naive"), tasks=("regression",),
    aggregate="naive_ratio",
    params=(Param("season_length", 0, "0: scale by the --naive-col forecast's MAE; m ≥ 1: by "
                  "the mean |y_t − y_{t−m}| of the target series in row order (the "
                  "evaluated series' in-sample seasonal-naive scale; per group with "
                  "--group-by; no --naive-col)", type=int, minimum=0, kernel=False),),
    variant=_seasonal,
    expects="pred: the forecast; target: number; naive: the naive forecast (--naive-col), "
            "e.g. y shifted by the season length, unless season_length is given",
    example=_EXAMPLE,
)
def mase(pred: np.ndarray, target: np.ndarray, naive: np.ndarray) -> np.ndarray:
    """``|y − ŷ|`` per row; the aggregate divides by the Σw·|y − naive| it keeps."""
    return propagate_nan(np.abs(target - pred), naive)


@register(
    "mase_scaled",
    aliases=("mase_insample",),
    summary="Mean absolute scaled error with the scale given: the in-sample mean absolute "
            "error of the (seasonal) naive forecast on the training data.",
    formula="|y − ŷ| / scale   (scale = 1/(T − m)·Σ_{t>m} |y_t − y_{t−m}| in sample)",
    reference="Hyndman & Koehler 2006, IJF 22(4), eq. for MASE; no sklearn/torch function",
    params=(Param("scale", 1.0, "the in-sample MAE of the seasonal naive forecast (computed "
                  "on the training series with its season length)", exclusive_minimum=0.0),),
)
def mase_scaled(pred: np.ndarray, target: np.ndarray, *, scale: float = 1.0) -> np.ndarray:
    """``|y − ŷ| / scale`` per row: its weighted mean is MASE."""
    return np.abs(target - pred) / scale
