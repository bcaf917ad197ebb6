"""A confusion metric of many replicate tables at once: (B, K, K) → (B,), in float64.

The same definitions as :class:`losscli.stats.confusion.ConfusionMatrix` (sklearn's), read
from B bootstrap replicates of a table in one numpy pass instead of one exact-rational
matrix per replicate (those are exact to the last bit; a replicate's value need not be,
and the percentile of B replicates does not notice 1e-15). ``tables[b, t, p]`` is the
weight of true class t predicted as p. Per replicate, with tp_c = M[c, c], pred_c = Σ_t
M[t, c], true_c = Σ_p M[c, p], n = Σ M, and the classes that *occur* (true_c or pred_c > 0):

* precision / recall / F_β per class (0 where a denominator is 0: sklearn's default
  zero_division), ``binary`` (class 1), ``micro`` (sums first), ``macro`` (the mean over
  the occurring classes; NaN when none occurs), ``weighted`` (by true_c; a plain mean when
  every true_c is 0);
* ``mcc``: (s·n − Σ t_c·p_c) / √((n² − Σ p_c²)(n² − Σ t_c²)), 0 when a factor is 0;
* ``balanced_accuracy``: the mean recall over the classes with true_c > 0 (``adjusted``:
  (b − 1/K')/(1 − 1/K'));
* ``cohen_kappa``: 1 − n·Σ w∘M / Σ w_ij·t_i·p_j, w = [i ≠ j], |i − j| or (i − j)²;
* ``specificity`` M[0,0]/true_0, ``npv`` M[0,0]/pred_0 (0 when the denominator is 0).

:func:`spec_text`/:func:`parse_spec` carry a metric's settings in a saved interval state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from losscli.stats.confusion import AVERAGES, MATRIX_METRICS
from losscli.stats.fields import FieldError

PRF_METRICS = ("precision", "recall", "f1", "fbeta")


@dataclass(frozen=True)
class ConfusionSpec:
    """Which metric of a confusion table: its name, ``average``, ``beta`` and ``option``
    (balanced accuracy's ``adjusted``, kappa's ``linear``/``quadratic``)."""

    metric: str
    average: str = "binary"
    beta: float = 1.0
    option: str = ""

    @classmethod
    def of(cls, config: dict[str, Any]) -> ConfusionSpec:
        """From a :class:`~losscli.metric_aggregates.Confusion` aggregate's config."""
        return cls(str(config.get("metric", "f1")), str(config.get("average", "binary")),
                   float(config.get("beta", 1.0)), str(config.get("option", "")))


def spec_text(spec: ConfusionSpec) -> str:
    """``metric:average:beta:option`` (beta as ``float.hex``: exact)."""
    return f"{spec.metric}:{spec.average}:{float(spec.beta).hex()}:{spec.option}"


def parse_spec(text: str) -> ConfusionSpec:
    """The inverse of :func:`spec_text`; ValueError for anything else."""
    parts = text.split(":")
    if len(parts) != 4:
        raise ValueError("expected metric:average:beta:option")
    metric, average, beta, option = parts
    if metric not in PRF_METRICS + MATRIX_METRICS or average not in AVERAGES[1:] or (
            option not in ("", "adjusted", "linear", "quadratic")):
        raise ValueError(f"unknown confusion metric {text!r}")
    b = float.fromhex(beta)
    if not b >= 0:
        raise ValueError("beta: expected ≥ 0")
    return ConfusionSpec(metric, average, b, option)


def saved_spec(text: str) -> str:
    """A saved interval state's confusion metric (:func:`spec_text`), checked (a
    :class:`~losscli.stats.fields.FieldError` if it is not one); "" (saved before it was
    kept) stays."""
    if text:
        try:
            parse_spec(text)
        except ValueError as exc:
            raise FieldError("", str(exc)) from None
    return text


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, 0 where den is 0 (sklearn's zero_division default)."""
    with np.errstate(all="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


def replicate_values(tables: np.ndarray, spec: ConfusionSpec) -> np.ndarray:
    """The metric of each table (see the module doc); NaN for a table with no weight."""
    m = np.asarray(tables, dtype=np.float64)
    tp = np.diagonal(m, axis1=1, axis2=2)
    pred, true = m.sum(axis=1), m.sum(axis=2)
    n = m.sum(axis=(1, 2))
    with np.errstate(all="ignore"):
        out = _matrix(m, spec, tp, pred, true, n) if spec.metric in MATRIX_METRICS else \
            _prf(spec, tp, pred, true)
    return np.where(n > 0, out, np.nan)


def _prf(spec: ConfusionSpec, tp: np.ndarray, pred: np.ndarray, true: np.ndarray
         ) -> np.ndarray:
    b2 = spec.beta ** 2

    def pick(t: np.ndarray, p: np.ndarray, r: np.ndarray) -> np.ndarray:
        if spec.metric == "precision" or (spec.metric != "recall" and spec.beta == 0):
            return _ratio(t, p)
        if spec.metric == "recall" or math.isinf(spec.beta):
            return _ratio(t, r)
        return _ratio((1 + b2) * t, b2 * r + p)

    if spec.average == "binary":
        return pick(tp[:, 1], pred[:, 1], true[:, 1])
    if spec.average == "micro":
        return pick(tp.sum(axis=1), pred.sum(axis=1), true.sum(axis=1))
    per = pick(tp, pred, true)  # (B, K)
    occurs = (pred > 0) | (true > 0)
    if spec.average == "weighted":
        w = np.where(occurs, true, 0.0)
        plain = w.sum(axis=1) == 0
        w = np.where(plain[:, None], occurs.astype(np.float64), w)
    else:
        w = occurs.astype(np.float64)
    total = w.sum(axis=1)
    return np.where(total > 0, (w * per).sum(axis=1) / np.where(total > 0, total, 1.0), np.nan)


def _matrix(m: np.ndarray, spec: ConfusionSpec, tp: np.ndarray, pred: np.ndarray,
            true: np.ndarray, n: np.ndarray) -> np.ndarray:
    if spec.metric == "mcc":
        cov_tp = tp.sum(axis=1) * n - (true * pred).sum(axis=1)
        cov_pp = n * n - (pred * pred).sum(axis=1)
        cov_tt = n * n - (true * true).sum(axis=1)
        den = cov_pp * cov_tt
        return np.where(den > 0, cov_tp / np.sqrt(np.where(den > 0, den, 1.0)), 0.0)
    if spec.metric == "balanced_accuracy":
        has = true > 0
        classes = has.sum(axis=1)
        score = np.where(classes > 0, _ratio(tp, true).sum(axis=1) / np.maximum(classes, 1),
                         np.nan)
        if spec.option != "adjusted":
            return score
        chance = 1.0 / np.maximum(classes, 1)
        one = classes == 1
        return np.where(one, np.where(score == 1.0, np.nan, -np.inf),
                        (score - chance) / np.where(one, 1.0, 1.0 - chance))
    if spec.metric == "cohen_kappa":
        k = m.shape[1]
        d = np.abs(np.subtract.outer(np.arange(k), np.arange(k))).astype(np.float64)
        w = d if spec.option == "linear" else d * d if spec.option == "quadratic" else (
            (d > 0).astype(np.float64))
        observed = (m * w).sum(axis=(1, 2))
        expected = np.einsum("bi,ij,bj->b", true, w, pred)
        return np.where(expected != 0, 1.0 - n * observed / np.where(expected != 0, expected,
                                                                     1.0),
                        np.where(observed == 0, np.nan, -np.inf))
    if spec.metric == "specificity":
        return _ratio(m[:, 0, 0], true[:, 0])
    if spec.metric == "npv":
        return _ratio(m[:, 0, 0], pred[:, 0])
    raise ValueError(f"metric: expected one of {MATRIX_METRICS}, got {spec.metric!r}")
