"""A chunk's probabilities and true classes added to a calibration state (ece, mce,
reliability pictures), as the ece kernel and aggregate read them: one place for the run and
its groups (:mod:`losscli.engine`)."""

from __future__ import annotations

import numpy as np

from losscli.aggregates import true_classes
from losscli.losses.common import binary_probability, class_probabilities
from losscli.stats.calibration import CalibrationError


def calibrate(cal: CalibrationError, view: dict[str, np.ndarray],
               weights: np.ndarray | None, from_logits: bool) -> None:
    """Add a chunk's probabilities (sigmoid / softmax of logits) and true classes to a
    calibration state, as the ece kernel and aggregate do. Rows with a NaN/inf prediction,
    target or weight (possible under --nan-policy propagate) are left out."""
    pred, target = view["pred"], view["target"]
    binary = cal.task == "binary"
    probs = binary_probability(pred, from_logits) if binary else class_probabilities(
        pred, from_logits)
    finite = rows_finite(probs) & rows_finite(target)
    if weights is not None:
        finite &= np.isfinite(weights)
    if not finite.all():
        probs, target = probs[finite], target[finite]
        weights = None if weights is None else weights[finite]
    cal.update(probs, true_classes(target, binary), weights)


def rows_finite(a: np.ndarray) -> np.ndarray:
    ok = np.isfinite(a)
    return ok if ok.ndim == 1 else ok.all(axis=1)
