"""Pairs of models on the same rows (``compare``, the paired gate): which rows two models
share, what each loss pairs on them, and why a loss has no paired test.

A loss with per-row values pairs their differences d = ℓ_model − ℓ_reference
(:func:`paired_rows`); the exact binary ROC-AUC pairs the two models' scores with the
targets (:func:`shared_scores`) for DeLong's paired test
(:mod:`losscli.stats.paired_delong`), and a confusion metric the two models' predicted
classes with the targets, for the joint cell bootstrap (:mod:`losscli.stats.cell_bootstrap`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.aggregate_base import row_values
from losscli.interval_kinds import MAX_PAIRED_CLASSES


def paired_rows(values: np.ndarray, reference: np.ndarray, keep: np.ndarray | None,
                 reference_keep: np.ndarray | None, weights: np.ndarray | None,
                 ids: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None,
                                                  np.ndarray | None, np.ndarray | None]:
    """Paired differences between two models' per-row values on the rows both kept
    (--nan-policy omit may drop different rows for each), with their weights and row ids
    (the same resampling for every model) and the mask of those rows (None: all)."""
    if keep is None and reference_keep is None:
        return row_values(values) - row_values(reference), weights, ids, None
    n = len(keep) if keep is not None else len(reference_keep)  # type: ignore[arg-type]
    mine = np.ones(n, bool) if keep is None else keep
    theirs = np.ones(n, bool) if reference_keep is None else reference_keep
    both = mine & theirs
    diff = row_values(values)[both[mine]] - row_values(reference)[both[theirs]]
    return (diff, None if weights is None else weights[both],
            None if ids is None else ids[both], both)


def shared_scores(values: np.ndarray, reference: np.ndarray, target: np.ndarray,
                   keep: np.ndarray | None, reference_keep: np.ndarray | None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both models' per-row values (a paired DeLong test's scores) and the targets, on the
    rows both kept — the rows :func:`paired_rows` pairs."""
    if keep is None and reference_keep is None:
        return values, reference, target
    n = len(keep) if keep is not None else len(reference_keep)  # type: ignore[arg-type]
    mine = np.ones(n, bool) if keep is None else keep
    theirs = np.ones(n, bool) if reference_keep is None else reference_keep
    both = mine & theirs
    return values[both[mine]], reference[both[theirs]], target[both[mine]]


def no_paired_test(u: Any, label: str) -> str:
    """Why a loss has no paired test and no paired interval in ``compare`` (the table row
    and the JSON say it)."""
    aggregate = getattr(u, "aggregate", "")
    if getattr(u, "kind", "") in ("delong_paired", "confusion_paired", "ranking_paired"):
        got = u.test()
        return f"no paired test for {label}: {got.reason if got is not None else 'undefined'}"
    if aggregate == "ranking":
        return (f"no paired test for {label}: a ranking's paired tests (DeLong's for ROC-AUC, "
                "the paired bootstrap for average precision and the operating points) are for "
                "exact binary scores (not one-vs-rest, multi-label or --auc-bins)")
    if aggregate == "confusion":
        return (f"no paired test for {label}: the paired cell bootstrap keeps one count per "
                f"(true, model's, reference's) class — {MAX_PAIRED_CLASSES}³ cells at "
                f"{MAX_PAIRED_CLASSES} classes; none for more classes or multi-label data")
    if aggregate == "calibration":
        return f"no paired test for {label}: its bins are kept per model, not per pair of rows"
    if aggregate == "max":
        return f"no paired test for {label}: the bootstrap of a maximum is inconsistent"
    return f"no paired test for {label}"
