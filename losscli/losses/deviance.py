"""Deviances of the Tweedie family: the unit deviance per row, ``(pred, target, **params)``.

The Tweedie unit deviance of a prediction μ for a target y, with power p (sklearn's
``mean_tweedie_deviance``, whose formulas are copied here term for term)::

    p < 0      2·(max(y, 0)^(2−p)/((1−p)(2−p)) − y·μ^(1−p)/(1−p) + μ^(2−p)/(2−p))
    p = 0      (y − μ)²                                  (normal: the squared error)
    p = 1      2·(y·log(y/μ) − y + μ), 0·log 0 = 0       (Poisson)
    p = 2      2·(log(μ/y) + y/μ − 1)                    (Gamma)
    otherwise  2·(y^(2−p)/((1−p)(2−p)) − y·μ^(1−p)/(1−p) + μ^(2−p)/(2−p))

Powers in (0, 1) have no Tweedie distribution and are refused. Where each is defined
(sklearn raises outside it): p < 0 needs μ > 0; 1 ≤ p < 2 needs y ≥ 0 and μ > 0; p ≥ 2 needs
y > 0 and μ > 0. Each loss declares that domain — ``mean_tweedie_deviance`` and ``d2_tweedie``
for their power (``domain_of``) — so a row outside it is an error naming the row; the
kernel itself gives NaN there. The weighted mean of the per-row deviance is the metric.
"""

from __future__ import annotations

import numpy as np

from losscli.aggregates import D2Tweedie
from losscli.domain import Domain
from losscli.registry import Param, register

POWER = Param("power", 0.0, "Tweedie power: 0 normal, 1 Poisson, 2 Gamma, in (1, 2) "
              "compound Poisson-Gamma, 3 inverse Gaussian; < 0 extreme stable",
              excluded=(0.0, 1.0))


def outside(pred: np.ndarray, target: np.ndarray, power: float) -> np.ndarray:
    """Rows outside power p's domain (see the module doc)."""
    if power == 0:
        return np.zeros(pred.shape, dtype=bool)
    bad = pred <= 0
    if 1 <= power < 2:
        bad |= target < 0
    elif power >= 2:
        bad |= target <= 0
    return bad


def tweedie_deviance(pred: np.ndarray, target: np.ndarray, *, power: float = 0.0
                     ) -> np.ndarray:
    """The Tweedie unit deviance per row (the module doc's formulas, as sklearn
    ``mean_tweedie_deviance`` computes them); NaN outside power's domain."""
    p = float(power)
    y, mu = target, pred
    bad = outside(mu, y, p)
    if bad.any():
        mu = np.where(bad, 1.0, mu)
        y = np.where(bad, 1.0, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        if p < 0:
            dev = 2 * (np.power(np.maximum(y, 0), 2 - p) / ((1 - p) * (2 - p))
                       - y * np.power(mu, 1 - p) / (1 - p) + np.power(mu, 2 - p) / (2 - p))
        elif p == 0:
            dev = (y - mu) ** 2
        elif p == 1:
            # sklearn: xlogy(y, y / μ) — 0 where y = 0
            dev = 2 * (np.where(y == 0, 0.0, y * np.log(np.where(y == 0, 1.0, y / mu)))
                       - y + mu)
        elif p == 2:
            dev = 2 * (np.log(mu / y) + y / mu - 1)
        else:
            dev = 2 * (np.power(y, 2 - p) / ((1 - p) * (2 - p))
                       - y * np.power(mu, 1 - p) / (1 - p) + np.power(mu, 2 - p) / (2 - p))
    dev = np.asarray(dev, dtype=np.float64)
    if bad.any():
        dev[bad] = np.nan
    return dev


_POSITIVE_PRED = Domain("pred", lambda a: a <= 0, "> 0",
                        hint="A deviance needs a positive predicted mean: filter those rows, "
                             "or use mse.")
_NONNEGATIVE_TARGET = Domain("target", lambda a: a < 0, ">= 0",
                             hint="The Poisson deviance is for counts and other values >= 0.")
_POSITIVE_TARGET = Domain("target", lambda a: a <= 0, "> 0",
                          hint="The Gamma deviance is for positive values; for values that "
                               "may be 0 use mean_poisson_deviance or "
                               "mean_tweedie_deviance:power=1.5.")
_COUNTS = "sample_data/probabilistic.parquet --pred-col rate --target-col count"
_POSITIVE = "sample_data/probabilistic.parquet --pred-col pred --target-col target"
_TWEEDIE_TARGET = "Filter those rows, or choose a power whose deviance is defined there."
_TWEEDIE_RULES = {
    "negative": (_POSITIVE_PRED,),
    "compound": (_POSITIVE_PRED, Domain("target", lambda a: a < 0, ">= 0 (for a power in "
                                        "[1, 2))", hint=_TWEEDIE_TARGET)),
    "positive": (_POSITIVE_PRED, Domain("target", lambda a: a <= 0, "> 0 (for a power >= 2)",
                                        hint=_TWEEDIE_TARGET)),
}


def tweedie_domain(params: dict[str, object]) -> tuple[Domain, ...]:
    """The rules of the power in ``params`` (see the module doc); none for power 0."""
    raw = params.get("power")
    p = float(raw) if isinstance(raw, int | float) else 0.0
    if p == 0:
        return ()
    return _TWEEDIE_RULES["negative" if p < 0 else "compound" if p < 2 else "positive"]


@register(
    "mean_poisson_deviance",
    aliases=("poisson_deviance",),
    summary="Mean Poisson deviance (the Tweedie deviance with power 1).",
    formula="2·(y·log(y/ŷ) − y + ŷ)   (0·log 0 = 0; y ≥ 0, ŷ > 0)",
    reference="sklearn.metrics.mean_poisson_deviance",
    domain=(_POSITIVE_PRED, _NONNEGATIVE_TARGET),
    expects="pred: a positive mean; target: a count or other value >= 0",
    example=_COUNTS,
    tasks=("regression",),
)
def poisson_deviance(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Poisson unit deviance per row (sklearn ``mean_poisson_deviance``)."""
    return tweedie_deviance(pred, target, power=1.0)


@register(
    "mean_gamma_deviance",
    aliases=("gamma_deviance",),
    summary="Mean Gamma deviance (the Tweedie deviance with power 2): scale-free.",
    formula="2·(log(ŷ/y) + y/ŷ − 1)   (y > 0, ŷ > 0)",
    reference="sklearn.metrics.mean_gamma_deviance",
    domain=(_POSITIVE_PRED, _POSITIVE_TARGET),
    expects="pred and target: positive values",
    example=_POSITIVE,
    tasks=("regression",),
)
def gamma_deviance(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Gamma unit deviance per row (sklearn ``mean_gamma_deviance``)."""
    return tweedie_deviance(pred, target, power=2.0)


_TWEEDIE_FORMULA = ("2·(y^(2−p)/((1−p)(2−p)) − y·ŷ^(1−p)/(1−p) + ŷ^(2−p)/(2−p)); p = 0: "
                    "(y − ŷ)², 1: Poisson, 2: Gamma")


@register(
    "mean_tweedie_deviance",
    aliases=("tweedie_deviance",),
    summary="Mean Tweedie deviance with the given power.",
    formula=_TWEEDIE_FORMULA,
    reference="sklearn.metrics.mean_tweedie_deviance",
    params=(POWER,), domain_of=tweedie_domain,
    expects="p < 0: ŷ > 0; 1 ≤ p < 2: y ≥ 0, ŷ > 0; p ≥ 2: y > 0, ŷ > 0",
    example=_POSITIVE,
    tasks=("regression",),
)
def mean_tweedie_deviance(pred: np.ndarray, target: np.ndarray, *, power: float = 0.0
                          ) -> np.ndarray:
    """Tweedie unit deviance per row (sklearn ``mean_tweedie_deviance``)."""
    return tweedie_deviance(pred, target, power=power)


@register(
    "d2_tweedie",
    aliases=("d2_tweedie_score",),
    summary="D² (fraction of Tweedie deviance explained; higher is better): 1 − the "
            "deviance over that of the weighted mean target.",
    formula="1 − Σ w·d(y, ŷ) / Σ w·d(y, ȳ)   (d: the Tweedie deviance of power p; "
            "p = 0: r2 without force_finite)",
    reference="sklearn.metrics.d2_tweedie_score",
    params=(POWER,), domain_of=tweedie_domain,
    higher_is_better=True,
    aggregate=D2Tweedie,
    expects="p < 0: ŷ > 0; 1 ≤ p < 2: y ≥ 0, ŷ > 0; p ≥ 2: y > 0, ŷ > 0",
    example=_POSITIVE,
    tasks=("regression",),
)
def d2_tweedie(pred: np.ndarray, target: np.ndarray, *, power: float = 0.0) -> np.ndarray:
    """Per-row Tweedie deviance; the aggregate divides by the deviance of the weighted mean
    target, which it keeps as mergeable sums of the targets."""
    return tweedie_deviance(pred, target, power=power)
