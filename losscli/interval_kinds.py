"""Which interval and which paired test each loss admits: the one place that decides the
method per aggregate (:class:`losscli.uncertainty.Uncertainty` resolves ``--ci-method``
against it). Standard library only."""

from __future__ import annotations

from typing import Any

MAX_BOOTSTRAP_CLASSES = 10
MAX_BOOTSTRAP_BINS = 100


#: Binary metrics that are a proportion over a subset of the rows: (the subset, the hit),
#: each "pred" or "true" and the class (1 positive, 0 negative).
SUBSETS = {"precision": (("pred", 1), ("true", 1)), "recall": (("true", 1), ("pred", 1)),
           "specificity": (("true", 0), ("pred", 0)), "npv": (("pred", 0), ("true", 0))}


def kind_of(aggregate_name: str, config: dict[str, Any]) -> str:
    """What interval an aggregate's values admit: mean, root_mean, r2, subset (a binary
    proportion over a subset of the rows), confusion, delong (ROC-AUC), or none. The one
    place that decides the method per loss (with :class:`Uncertainty`'s resolution of
    ``--ci-method``)."""
    if aggregate_name in ("mean", "root_mean", "r2"):
        return aggregate_name
    if aggregate_name == "query_ranking":  # over queries (losscli.query_aggregate)
        return "query"
    if aggregate_name == "ranking" and config.get("metric") == "roc_auc":
        return "delong"
    if aggregate_name == "calibration" and int(config.get("bins", 0)) <= MAX_BOOTSTRAP_BINS:
        return "calibration"
    if aggregate_name == "confusion" and config.get("binary") and config.get(
            "metric") in SUBSETS and config.get("average", "binary") == "binary" and not (
            config.get("labels") or config.get("option")):
        return "subset"
    if aggregate_name == "confusion" and not config.get("labels") and (
            int(config.get("classes", 2)) <= MAX_BOOTSTRAP_CLASSES):
        return "confusion"
    return "none"


NO_INTERVAL = {
    "max": "no valid interval: the bootstrap of a maximum is inconsistent",
    "ranking": "no streamed interval for average precision or an operating point (a "
               "bootstrap would keep one ranking per replicate)",
    "calibration": f"no streamed interval for a calibration error over more than "
                   f"{MAX_BOOTSTRAP_BINS} bins",
    "abs_target_ratio": "no streamed interval for a ratio of sums (wape) yet",
    "naive_ratio": "no streamed interval for a ratio of sums (mase) yet",
    "confusion": f"no streamed interval for more than {MAX_BOOTSTRAP_CLASSES} classes or for "
                 "multi-label data",
}


def paired_delong_applies(aggregate: str, config: dict[str, Any]) -> bool:
    """DeLong's paired test applies: the exact binary ROC-AUC (not multi-class, multi-label
    or ``bins``)."""
    return (aggregate == "ranking" and config.get("metric") == "roc_auc"
            and not config.get("classes") and not config.get("bins")
            and not config.get("multilabel"))
