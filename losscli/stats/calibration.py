"""Expected / maximum / RMS calibration error over equal-width confidence bins, streamed.

Per bin b of ``bins`` (default 15) equal-width bins of [0, 1] the state keeps, exactly
(:class:`~losscli.stats.keyed.KeyedSums`: integers unweighted, exact sums of the per-row
products otherwise), W_b = Σw, C_b = Σw·confidence and A_b = Σw·correct. Then, with
W = Σ_b W_b::

    ECE  (norm "l1")  = Σ_b (W_b/W)·|A_b/W_b − C_b/W_b| = Σ_b |A_b − C_b| / W
    MCE  (norm "max") = max_{b: W_b > 0} |A_b − C_b| / W_b
    RMSCE (norm "l2") = √( Σ_b (A_b − C_b)²/W_b / W )

ECE and MCE are computed in exact rationals from the exact state and rounded once; the
state — and so the result — is the same for any chunking and merge order. (C_b sums the
per-row float products w·c, each rounded once: with integer weights W_b and A_b equal those
of repeated rows bit for bit, C_b to rounding.)

Binning: edges e_k = k/bins (correctly rounded); a confidence c goes to the bin b with
e_b ≤ c < e_{b+1} — a confidence on an edge goes to the upper bin — and 1.0 to the last bin.

What is calibrated (torchmetrics' definitions):

* ``task="binary"``: the predicted probability of class 1 against the 0/1 label —
  ``BinaryCalibrationError`` (``confidences, accuracies = preds, target``);
* ``task="multiclass"``: the top-label confidence max_k p_k against whether the top label
  argmax_k p_k (the first on ties, as ``torch.max``/``np.argmax``) is the true one —
  ``MulticlassCalibrationError`` (``confidences, predictions = preds.max(dim=1)``).

Differences from torchmetrics, on purpose: torchmetrics bins with ``torch.bucketize(conf,
linspace(0, 1, n + 1), right=True) − 1`` into n + 1 slots, so a confidence of exactly 1.0
gets a bin of its own (here: the last bin, [e_{n−1}, 1]); its edges come from a float32
``linspace`` (here: k/n in float64); it has no sample weights (here: weights, with integer
weights equal to repeated rows). On data without a confidence of 1.0 or near an edge the
two agree to float32 rounding.

Memory: ``bins`` × (8 B key + 3 channels × limbs × 8 B) — a few KB.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from losscli.stats.exact import fraction_to_float
from losscli.stats.fields import Fields, check
from losscli.stats.keyed import KeyedSums, checked_weights

NORMS = ("l1", "max", "l2")


class CalibrationError:
    """Mergeable calibration-error state (see the module doc).

    ``update(probs, labels, weights=None)``: binary — ``probs`` (n,) probability of class 1
    in [0, 1], ``labels`` (n,) 0/1; multiclass — ``probs`` (n, C) in [0, 1], ``labels`` (n,)
    class indices. ``result(norm)`` with norm "l1" (ECE), "max" (MCE), "l2" (RMSCE); NaN
    with ``reason()`` when no row has positive weight."""

    kind = "calibration"

    def __init__(self, bins: int = 15, task: str = "binary") -> None:
        if bins < 1:
            raise ValueError(f"bins: expected ≥ 1, got {bins}")
        if task not in ("binary", "multiclass"):
            raise ValueError(f"task: expected 'binary' or 'multiclass', got {task!r}")
        self.bins = int(bins)
        self.task = task
        self.edges = np.array([k / self.bins for k in range(self.bins + 1)])
        self.rows = 0
        self.sums = KeyedSums(3, "int")

    def _confidence(self, probs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = np.asarray(probs, dtype=np.float64)
        y = np.asarray(labels).ravel()
        if self.task == "binary":
            p = p.ravel()
            if p.shape != y.shape:
                raise ValueError(f"labels: expected shape {p.shape}, got {y.shape}")
            if not np.isin(y, (0, 1)).all():
                raise ValueError("labels: expected 0/1 labels for task='binary'")
            conf, correct = p, y.astype(np.float64)
        else:
            if p.ndim != 2 or p.shape[0] != y.shape[0]:
                raise ValueError(f"probs: expected shape ({y.shape[0]}, classes), got {p.shape}")
            if y.dtype.kind not in "iu" or (y < 0).any() or (y >= p.shape[1]).any():
                raise ValueError(f"labels: expected class indices 0..{p.shape[1] - 1}")
            top = np.argmax(p, axis=1)  # the first maximum on ties
            conf = p[np.arange(p.shape[0]), top]
            correct = (top == y).astype(np.float64)
        if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
            raise ValueError("probs: expected probabilities in [0, 1] (apply a sigmoid/softmax "
                             "to logits first)")
        return conf, correct

    def update(self, probs: np.ndarray, labels: np.ndarray,
               weights: np.ndarray | None = None) -> None:
        conf, correct = self._confidence(probs, labels)
        n = conf.shape[0]
        if n == 0:
            return
        checked = checked_weights(weights, n)
        w = np.ones(n) if checked is None else checked
        self.rows += n
        keep = w > 0
        conf, correct, w = conf[keep], correct[keep], w[keep]
        b = np.clip(np.searchsorted(self.edges, conf, side="right") - 1, 0, self.bins - 1)
        self.sums.add(b, np.stack([w, w * conf, w * correct], axis=1))

    def merge(self, other: CalibrationError) -> CalibrationError:
        if (other.bins, other.task) != (self.bins, self.task):
            raise ValueError("cannot merge calibration states of different bins or tasks")
        self.rows += other.rows
        self.sums.merge(other.sums)
        return self

    def bin_table(self) -> list[tuple[int, Fraction, Fraction, Fraction]]:
        """Per non-empty bin: (index, W_b, C_b, A_b), exact."""
        ints = self.sums.ints()
        unit = self.sums.unit()
        return [(int(k), Fraction(int(ints[i, 0])) * unit, Fraction(int(ints[i, 1])) * unit,
                 Fraction(int(ints[i, 2])) * unit)
                for i, k in enumerate(self.sums.keys.tolist()) if ints[i, 0]]

    def reason(self) -> str | None:
        return None if self.bin_table() else "no row with positive weight"

    def result(self, norm: str = "l1") -> float:
        """ECE ("l1"), MCE ("max") or RMSCE ("l2"); see the module doc."""
        if norm not in NORMS:
            raise ValueError(f"norm: expected one of {NORMS}, got {norm!r}")
        table = self.bin_table()
        if not table:
            return math.nan
        total = sum((w for _, w, _, _ in table), Fraction(0))
        if norm == "l1":
            return fraction_to_float(sum((abs(a - c) for _, _, c, a in table), Fraction(0))
                                     / total)
        if norm == "max":
            return fraction_to_float(max(abs(a - c) / w for _, w, c, a in table))
        return math.sqrt(fraction_to_float(
            sum(((a - c) ** 2 / w for _, w, c, a in table), Fraction(0)) / total))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "bins": self.bins, "task": self.task, "rows": self.rows,
                "sums": self.sums.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CalibrationError:
        f = Fields(data)

        f.text("kind", choices=(cls.kind,))
        out = cls(f.count("bins", lo=1, hi=1 << 20), f.text("task", choices=("binary", "multiclass")))
        out.rows = f.count("rows")
        out.sums = f.part("sums", KeyedSums.from_dict)
        check(out.sums.channels == 3, "sums", "expected 3 channels")
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CalibrationError) and self.to_dict() == other.to_dict()
