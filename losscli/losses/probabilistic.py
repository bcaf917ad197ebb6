"""Probabilistic regression losses: negative log-likelihoods of the targets under the
predicted distribution, per row. Inputs are 1-D, one value per row."""

from __future__ import annotations

import math

import numpy as np

from losscli.domain import Domain
from losscli.registry import Param, register

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@register(
    "gaussian_nll",
    aliases=("gaussian_nll_loss", "gaussian"),
    summary="Gaussian negative log-likelihood of the target given a predicted mean and variance.",
    formula="½·(log max(v, eps) + (ŷ − y)² / max(v, eps))  [+ ½·log 2π with full]",
    reference="torch.nn.functional.gaussian_nll_loss",
    task="probabilistic", tasks=("regression",), inputs=("pred", "target", "var"),
    params=(
        Param("full", False, "add the constant ½·log 2π", type=bool),
        Param("eps", 1e-6, "variances are clamped below at eps", minimum=0.0),
    ),
    domain=(Domain("var", lambda a: a < 0.0, ">= 0", noun="variances",
                   hint="A variance is never negative; if this column holds standard "
                        "deviations, square them first."),),
    expects="pred: predicted mean; var: predicted variance >= 0 (--var-col); target: number",
    example="sample_data/probabilistic.parquet",
)
def gaussian_nll(pred: np.ndarray, target: np.ndarray, var: np.ndarray, *, full: bool = False,
                 eps: float = 1e-6) -> np.ndarray:
    """torch ``gaussian_nll_loss`` (reduction='none'): the variance is clamped to eps."""
    v = np.maximum(var, eps)
    loss = 0.5 * (np.log(v) + (pred - target) ** 2 / v)
    return loss + _HALF_LOG_2PI if full else loss


@register(
    "poisson_nll",
    aliases=("poisson_nll_loss", "poisson"),
    summary="Poisson negative log-likelihood of counts given predicted rates "
            "(log-rates with --from-logits).",
    formula="λ − y·log(λ + eps), or exp(x) − y·x for log-rates x  [+ Stirling term with full]",
    reference="torch.nn.functional.poisson_nll_loss (log_input = --from-logits)",
    task="probabilistic", tasks=("regression",), options=("from_logits",),
    params=(
        Param("full", False, "add the Stirling term y·log y − y + ½·log(2πy) for y > 1",
              type=bool),
        Param("eps", 1e-8, "added to the rate inside the log (not used with log-rates)",
              minimum=0.0),
    ),
    domain=(
        Domain("pred", lambda a: a < 0.0, ">= 0", noun="rates",
               hint="If these are log-rates, pass --from-logits.",
               when=lambda ctx: not ctx.from_logits),
        Domain("target", lambda a: a < 0.0, ">= 0", noun="counts",
               hint="Poisson targets are counts."),
    ),
    expects="pred: predicted rate >= 0 (log-rate with --from-logits); target: count >= 0",
    example="sample_data/probabilistic.parquet --pred-col rate --target-col count",
)
def poisson_nll(pred: np.ndarray, target: np.ndarray, *, full: bool = False, eps: float = 1e-8,
                from_logits: bool = False) -> np.ndarray:
    """torch ``poisson_nll_loss`` (reduction='none'); ``from_logits`` is torch's
    ``log_input=True``. exp of a log-rate above 709.78 is +inf, as the true value is."""
    if from_logits:
        with np.errstate(over="ignore"):
            loss = np.exp(pred) - target * pred
    else:
        loss = pred - target * np.log(pred + eps)
    if full:
        big = target > 1
        safe = np.where(big, target, 2.0)
        stirling = safe * np.log(safe) - safe + 0.5 * np.log(2.0 * math.pi * safe)
        loss = loss + np.where(big, stirling, 0.0)
    return loss
