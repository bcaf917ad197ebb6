"""Which interval and which paired test each loss admits: the one place that decides the
method per aggregate (:class:`losscli.uncertainty.Uncertainty` resolves ``--ci-method``
against it), and the ``--ci`` options themselves (:class:`CIConfig`). Standard library and
losscli's vocabulary only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from losscli.errors import UsageError
from losscli.options import CI_LEVEL, REPLICATES
from losscli.vocab import CI_METHODS

METHODS = CI_METHODS

MAX_BOOTSTRAP_CLASSES = 10
#: A paired confusion test keeps one count per joint cell (true class, model's class,
#: reference's class): K³ cells, and its B replicates draw B·K³ Poisson counts — 1000 cells
#: and 200,000 draws at 10 classes; 10⁶ cells at 100 (and most of them empty).
MAX_PAIRED_CLASSES = MAX_BOOTSTRAP_CLASSES
MAX_BOOTSTRAP_BINS = 100


#: Interval kinds by what they resample: the confusion cells
#: (:mod:`losscli.stats.cell_bootstrap`), the distinct scores
#: (:mod:`losscli.stats.score_bootstrap`), or nothing of their own: a ranking per query
#: (:mod:`losscli.query_aggregate`) keeps its queries, paired or not (:class:`QueryPairs`).
CELL_KINDS = ("confusion", "confusion_paired")
SCORE_KINDS = ("ranking_bootstrap", "ranking_paired")
QUERY_KINDS = ("query", "query_paired")

#: Aggregates that are a ratio of two sums Σw·ℓ / Σw·d (:mod:`losscli.ratio_aggregate`):
#: kind ``ratio``, the delta method (:mod:`losscli.stats.ratio_moments`).
RATIOS = ("abs_target_ratio", "naive_ratio")

#: Binary metrics that are a proportion over a subset of the rows: (the subset, the hit),
#: each "pred" or "true" and the class (1 positive, 0 negative).
SUBSETS = {"precision": (("pred", 1), ("true", 1)), "recall": (("true", 1), ("pred", 1)),
           "specificity": (("true", 0), ("pred", 0)), "npv": (("pred", 0), ("true", 0))}


def kind_of(aggregate_name: str, config: dict[str, Any]) -> str:
    """What interval an aggregate's values admit: mean, root_mean, r2, ratio (of two sums:
    wape, mase), subset (a binary proportion over a subset of the rows), confusion,
    calibration, delong (ROC-AUC), ranking_bootstrap (binary average precision and the
    operating points: :mod:`losscli.stats.score_bootstrap`), or none. The one
    place that decides the method per loss (with :class:`Uncertainty`'s resolution of
    ``--ci-method``)."""
    if aggregate_name in ("mean", "root_mean", "r2"):
        return aggregate_name
    if aggregate_name in RATIOS:
        return "ratio"
    if aggregate_name == "query_ranking":  # over queries (losscli.query_aggregate)
        return "query"
    if aggregate_name == "ranking" and config.get("metric") == "roc_auc":
        return "delong"
    if aggregate_name == "ranking" and not (config.get("classes") or config.get("multilabel")):
        return "ranking_bootstrap"  # AP and the operating points: the per-score bootstrap
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
    "ranking": "no interval for a multi-class or multi-label average precision (its "
               "one-vs-rest states share rows: a per-score bootstrap would resample each "
               "class apart)",
    "calibration": f"no streamed interval for a calibration error over more than "
                   f"{MAX_BOOTSTRAP_BINS} bins",
    "confusion": f"no streamed interval for more than {MAX_BOOTSTRAP_CLASSES} classes or for "
                 "multi-label data",
}


def paired_delong_applies(aggregate: str, config: dict[str, Any]) -> bool:
    """DeLong's paired test applies: the exact binary ROC-AUC (not multi-class, multi-label
    or ``bins``)."""
    return (aggregate == "ranking" and config.get("metric") == "roc_auc"
            and not config.get("classes") and not config.get("bins")
            and not config.get("multilabel"))


def paired_cells_apply(aggregate: str, config: dict[str, Any]) -> bool:
    """A confusion metric's paired test by the joint cell bootstrap applies: one label per
    row (not multi-label) and at most :data:`MAX_PAIRED_CLASSES` classes."""
    return (aggregate == "confusion" and not config.get("labels")
            and int(config.get("classes", 2)) <= MAX_PAIRED_CLASSES)


def paired_ranking_applies(aggregate: str, config: dict[str, Any]) -> bool:
    """The paired per-row bootstrap of two rankings applies: binary average precision or an
    operating point, exact (not multi-class, multi-label or ``bins``)."""
    return (aggregate == "ranking" and config.get("metric") != "roc_auc"
            and not config.get("classes") and not config.get("bins")
            and not config.get("multilabel"))


@dataclass(frozen=True)
class CIConfig:
    """``--ci`` options: the level, the method (auto: analytic where valid, else the
    bootstrap), and the bootstrap's replicates and seed (recorded in the report)."""

    level: float = CI_LEVEL
    method: str = "auto"
    replicates: int = REPLICATES
    seed: int = 0

    def __post_init__(self) -> None:
        if not (isinstance(self.level, float | int) and 0.5 <= float(self.level) < 1.0):
            raise UsageError(f"--ci-level must be in [0.5, 1), e.g. 0.95; got {self.level!r}.")
        if self.method not in METHODS:
            raise UsageError(f"--ci-method must be one of: {', '.join(METHODS)}; got "
                             f"{self.method!r}.")
        if isinstance(self.replicates, bool) or not isinstance(self.replicates, int) or not (
                40 <= self.replicates <= 100_000):
            raise UsageError(f"--replicates must be a whole number from 40 to 100000; got "
                             f"{self.replicates!r}.")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise UsageError(f"--seed must be a whole number >= 0; got {self.seed!r}.")

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "method": self.method, "replicates": self.replicates,
                "seed": self.seed}
