"""How sure a value is: confidence intervals, streamed with the rest of the state.

For each loss instance (and, in ``compare``, for each model's paired difference to the first
model) a :class:`Uncertainty` keeps what its interval needs, merged exactly like every other
piece of state (:mod:`losscli.stats`):

* **analytic** (the default where one is valid): the moments Σw, Σw², Σw·ℓ, Σw·ℓ² of the
  per-row values — a normal interval for a mean loss with Kish's effective n, the delta
  method for rmse, Wilson's interval for a 0/1 loss (zero_one, accuracy) and for a
  proportion over a subset of the rows (binary precision: the predicted positives, recall:
  the actual positives, specificity: the actual negatives, npv: the predicted negatives —
  kind ``subset``, the moments of the 0/1 hits on that subset); DeLong's interval for
  ROC-AUC (kind ``delong``), which keeps nothing of its own: it is computed from the
  ranking's per-score counts (:func:`losscli.stats.ranking.delong_se`); the delta method
  for a ratio of sums (wape, mase: kind ``ratio``, :mod:`losscli.stats.ratio_moments`);
* **bootstrap** (``--ci-method bootstrap``, and for the rest: r2, the confusion metrics): a
  Poisson bootstrap whose replicate weight of a row is a hash of (seed, row identity,
  replicate) — so parts evaluated apart and merged resample exactly as one run does — with
  percentile intervals; r2 from the replicate sums of ℓ, y and y²; ece/mce (kind
  ``calibration``, up to :data:`MAX_BOOTSTRAP_BINS` bins) from the replicate sums of
  weight, confidence and correctness per bin. The confusion metrics (f1, precision/recall
  averaged, mcc, cohen_kappa, balanced_accuracy; up to :data:`MAX_BOOTSTRAP_CLASSES`
  classes) draw the same Poisson bootstrap per confusion *cell* from the exact counts
  (:mod:`losscli.stats.cell_bootstrap`: no work per row); rows with a weight other than 0
  or 1 keep the per-row path; the interval's ``resampling`` says which ran;
  Binary average precision and the operating points (kind ``ranking_bootstrap``; roc_auc
  too under ``--ci-method bootstrap``) draw it per distinct score from the ranking's exact
  counts (:mod:`losscli.stats.score_bootstrap`, resampling ``scores``); in ``compare`` their
  paired test draws one count per distinct shared (score, score, label) row (kind
  ``ranking_paired``, :mod:`losscli.stats.paired_ranking`);
* **none**: max_error (the bootstrap of a maximum is inconsistent), a one-vs-rest average
  precision: ``n/a`` with the reason.

Paired differences (``compare``): d = ℓ_model − ℓ_reference on the rows both models kept,
the same replicate weights for every model; a normal interval and p-value from the
moments, McNemar's exact test for 0/1 losses (unweighted, its interval the union of Tango's
score interval and the exact conditional one: it excludes 0 exactly when the test rejects,
:mod:`losscli.stats.paired_proportions`), or the bootstrap. The binary ROC-AUC (exact,
not ``bins``) has no per-row values: its paired test is DeLong's (kind ``delong_paired``),
from the rows' two scores and label (:mod:`losscli.stats.paired_delong`, 17 bytes a row).
A confusion metric pairs the joint cells (true class, model's class, reference's class) of
the shared rows (kind ``confusion_paired``): each cell-bootstrap replicate gives both
models' tables, and the percentile interval and two-sided p-value are of the replicates'
metric(model) − metric(reference).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from losscli import interval_parts as parts
from losscli.interval_kinds import (
    CELL_KINDS,
    METHODS,
    NO_INTERVAL,
    QUERY_KINDS,
    SCORE_KINDS,
    SUBSETS,
    CIConfig,
    kind_of,
    paired_cells_apply,
    paired_delong_applies,
    paired_ranking_applies,
)
from losscli.interval_parts import flush_bootstrap
from losscli.stats import intervals
from losscli.stats.intervals import Interval, Moments

if TYPE_CHECKING:  # each imported where its kind is built or read (interval_parts)
    from losscli.query_aggregate import QueryPairs

__all__ = ["METHODS", "CIConfig", "Uncertainty", "flush_bootstrap"]

#: DeLong's interval at an AUC of 0 or 1: its SE is 0 (pROC gives the same zero width).
DEGENERATE = ("degenerate: every positive scores below every negative (AUC 0, DeLong's SE "
              "0)", "degenerate: every positive scores above every negative (AUC 1, DeLong's "
              "SE 0)")


class Uncertainty:
    """The interval state of one loss instance (see the module doc). ``kind``: mean,
    root_mean, r2, subset, confusion, confusion_paired, calibration, delong, delong_paired
    or none; ``method``: analytic or bootstrap (resolved from the config's ``auto``);
    ``paired``: the values are paired differences; ``metric``: a subset kind's metric (a
    key of :data:`SUBSETS`), a confusion kind's (:func:`spec_text`; "" in states saved
    before it); ``stream``: the group's identity, a cell bootstrap's stream
    (:func:`losscli.stats.cell_bootstrap.group_stream`)."""

    def __init__(self, kind: str, ci: CIConfig, *, aggregate: str = "", classes: int = 2,
                 paired: bool = False, method: str | None = None, binary: bool = True,
                 indicator: bool = False, metric: str = "", stream: int = 0) -> None:
        if kind == "subset" and (method or ci.method) == "bootstrap":
            from losscli.stats.confusion_replicates import ConfusionSpec, spec_text

            kind = "confusion"  # --ci-method bootstrap: the replicate confusion counts
            metric = spec_text(ConfusionSpec(metric, "binary"))
        self.kind, self.ci, self.aggregate, self.classes = kind, ci, aggregate, classes
        self.paired, self.binary, self.indicator = paired, binary, indicator
        self.metric = metric if kind in ("subset", "calibration", "confusion",
                                         "confusion_paired", "ranking_paired") else ""
        # DeLong is analytic (roc_auc's bootstrap: kind ranking_bootstrap, see for_aggregate)
        analytic_ok = kind in ("mean", "root_mean", "subset", "ratio", "delong",
                               "delong_paired", *QUERY_KINDS)
        if kind in ("delong", "delong_paired"):
            method = "analytic"
        self.method = method or ("bootstrap" if ci.method == "bootstrap" or (
            ci.method == "auto" and not analytic_ok) else "analytic")
        if self.method == "analytic" and not analytic_ok and kind != "none":
            self.method = "bootstrap"
        self.moments = Moments() if kind in ("mean", "root_mean", "subset") else None
        #: kind ``ratio`` (wape, mase), analytic: the delta method's moments
        self.ratio = parts.ratio_moments(kind, self.method)
        self.boot = parts.replicate_state(kind, self.method, ci, classes, stream)
        self._ids: np.ndarray | None = None  # confusion_paired: the shared rows' ids
        self.discordant = [0, 0]  # paired 0/1 losses: rows (worse, better) than the reference
        self.pending: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None
        #: kind ``delong_paired``: the shared rows' two scores and label
        self.pairs = parts.paired_scores(kind)
        self.queries: QueryPairs | None = None  # query_paired: both models' ranking states
        self._reps: tuple[np.ndarray | None, str | None] | None = None  # ranking_bootstrap

    @classmethod
    def for_aggregate(cls, agg: Any, ci: CIConfig, paired: bool = False,
                      indicator: bool = False, stream: int = 0) -> Uncertainty:
        """``indicator``: the loss's per-row values are 0/1 (zero_one, accuracy): Wilson's
        interval, and McNemar's test for paired differences. ``stream``: the group's."""
        config = agg.config()
        kind = kind_of(agg.name, config)
        classes, metric = int(config.get("classes") or 2), str(config.get("metric", ""))
        if kind == "calibration":  # its bins in ``classes``, its norm and task in ``metric``
            classes, metric = int(config["bins"]), f"{config['norm']}:{config['task']}"
        if kind == "delong" and ci.method == "bootstrap" and not paired and not (
                config.get("classes") or config.get("multilabel")):
            kind = "ranking_bootstrap"  # ROC-AUC by the per-score bootstrap, as AP
        if kind == "confusion" or (paired and kind == "subset"):
            from losscli.stats.confusion_replicates import ConfusionSpec, spec_text

            metric = spec_text(ConfusionSpec.of(config))
        if paired and kind == "ranking_bootstrap":  # AP, operating points: both scores kept
            from losscli.stats.paired_ranking import metric_text

            metric = metric_text(config["metric"], config.get("level"), config.get("cost_fn"),
                                 config.get("cost_matrix"), config.get("threshold"))
        if paired:
            # The difference of per-row values: for mse and mae its mean is the difference
            # of the losses; for rmse and r2 (per-row squared errors on the same rows and
            # targets) its sign is the sign of their difference — a valid test, though the
            # interval is in the per-row units. No per-row values: no paired test, but a
            # confusion metric pairs the joint cells of the two models on the same rows.
            kind = ("mean" if agg.name in ("mean", "root_mean", "r2")
                    else "delong_paired" if paired_delong_applies(agg.name, config)
                    else "confusion_paired" if paired_cells_apply(agg.name, config)
                    else "ranking_paired" if paired_ranking_applies(agg.name, config)
                    else "query_paired" if agg.name == "query_ranking" else "none")
        out = cls(kind, ci, aggregate=agg.name, classes=classes, paired=paired,
                  binary=bool(config.get("binary", True)), indicator=indicator, metric=metric,
                  stream=stream)
        out.queries = parts.query_pairs(kind, config)
        return out

    # -- running state ------------------------------------------------------------------
    def update(self, values: np.ndarray, weights: np.ndarray | None, ids: np.ndarray | None,
               arrays: dict[str, np.ndarray] | None = None) -> None:
        """One chunk of per-row values (or paired differences), their weights and row ids."""
        if self.kind == "confusion_paired":
            self._ids = ids  # the rows :meth:`update_pair` gets next
            return
        if self.kind in SCORE_KINDS:  # the counts are the aggregate's
            parts.as_scores(self.boot).update(weights, values.shape[0])
            self._reps = None
            return
        if self.kind in ("none", "delong", "delong_paired", *QUERY_KINDS) or values.shape[0] == 0:
            return
        if self.kind == "confusion":
            from losscli.aggregates import true_classes

            self._update_cells(ids, weights, true_classes((arrays or {})["target"], self.binary),
                               values)
            return
        if self.kind == "subset":
            self._update_subset(values, weights, (arrays or {})["target"])
            return
        if self.kind == "calibration":
            if ids is None:
                raise ValueError("the bootstrap needs row identities")
            from losscli.aggregates import true_classes
            from losscli.stats.row_bootstrap import calibration_sums

            task = self.metric.split(":")[1]
            calibration_sums(parts.as_rows(self.boot), self.classes, task, values, weights, ids,
                             true_classes((arrays or {})["target"], task == "binary"))
            return
        if self.kind == "ratio":  # Σw·ℓ / Σw·d: per row ℓ and the aggregate's scale d
            from losscli.aggregate_base import kind
            from losscli.stats.ratio_moments import row_sums

            scale = kind(self.aggregate)().scale(arrays or {})  # type: ignore[attr-defined]
            if self.ratio is not None:
                self.ratio.update(values, scale, weights)
                return
            values = np.column_stack([row_sums(values), row_sums(scale)])
        if values.ndim == 2 and self.kind in ("mean", "root_mean"):
            values = values.mean(axis=1)
        if self.moments is not None:
            self.moments.update(values, weights)
            if self.paired and self.indicator:
                counts = (values > 0) if weights is None else (values > 0) & (weights > 0)
                worse = int(np.count_nonzero(counts))
                better = int(np.count_nonzero((values < 0) if weights is None
                                              else (values < 0) & (weights > 0)))
                self.discordant[0] += worse
                self.discordant[1] += better
        if self.boot is None:
            return
        if ids is None:
            raise ValueError("the bootstrap needs row identities")
        if self.kind == "r2":
            target = (arrays or {})["target"]
            cols = np.column_stack([values, target, target * target])
        else:
            cols = values
        # the replicate weights are drawn once per chunk for every state: see flush_bootstrap
        self.pending = (ids, np.asarray(cols, dtype=np.float64).reshape(len(ids), -1), weights)

    def _update_cells(self, ids: np.ndarray | None, weights: np.ndarray | None,
                      true: np.ndarray, pred: np.ndarray,
                      reference: np.ndarray | None = None) -> None:
        """A confusion kind's chunk (:meth:`CellResample.add`): the rows of another weight
        than 0/1 left ``pending`` for the per-row replicate weights."""
        self.pending = (parts.as_cells(self.boot).add(ids, weights, true, pred, reference)
                        or self.pending)

    @property
    def wants_pairs(self) -> bool:
        """Whether :meth:`update_pair` is to be called (a paired DeLong test, or a paired
        confusion metric's joint cells)."""
        return self.pairs is not None or self.kind == "confusion_paired"

    def update_pair(self, scores: np.ndarray, reference: np.ndarray, target: np.ndarray,
                    weights: np.ndarray | None) -> None:
        """The shared rows' scores (a confusion metric: predicted classes) of this model and
        of the reference, and their targets — after :meth:`update` got their ids."""
        if self.kind == "confusion_paired":
            from losscli.aggregates import true_classes

            if len(target):
                self._update_cells(self._ids, weights, true_classes(target, self.binary),
                                   scores, reference)
            self._ids = None
            return
        assert self.pairs is not None
        self.pairs.update(scores, reference, np.asarray(target) > 0, weights)

    def _update_subset(self, values: np.ndarray, weights: np.ndarray | None,
                       target: np.ndarray) -> None:
        """A binary proportion over a subset of the rows: the moments of the 0/1 hits on
        the rows of the subset (see :data:`SUBSETS`)."""
        from losscli.aggregates import true_classes

        cls = {"pred": values.astype(np.int64), "true": true_classes(target, True)}
        (on, on_class), (hit, hit_class) = SUBSETS[self.metric]
        keep = cls[on] == on_class
        hits = (cls[hit][keep] == hit_class).astype(np.float64)
        assert self.moments is not None
        self.moments.update(hits, None if weights is None else np.asarray(weights)[keep])

    def merge(self, other: Uncertainty) -> Uncertainty:
        if {self.kind, other.kind} == {"none", "delong"} and self.aggregate == "ranking":
            # a state saved before DeLong (roc_auc had no interval): neither keeps anything
            self.kind, self.method = "delong", "analytic"
            return self
        if (other.kind, other.method) != (self.kind, self.method):
            raise ValueError("cannot merge interval states of different kinds")
        if self.moments is not None and other.moments is not None:
            self.moments.merge(other.moments)
        if self.ratio is not None and other.ratio is not None:
            self.ratio.merge(other.ratio)
        if self.kind in CELL_KINDS:
            from losscli.stats.cell_bootstrap import CellResample
            from losscli.stats.resample import BootstrapSums

            # a state saved before the cell bootstrap: its per-row sums join as weighted rows
            if isinstance(self.boot, BootstrapSums) and isinstance(other.boot, CellResample):
                self.boot = CellResample.from_rows(self.boot, self.classes,
                                                   paired=other.boot.paired)
        if self.boot is not None and other.boot is not None:
            self.boot.merge(other.boot)  # type: ignore[arg-type]
        self._reps = None
        self.metric = self.metric or other.metric
        self.discordant = [a + b for a, b in zip(self.discordant, other.discordant)]
        if self.pairs is not None and other.pairs is not None:
            self.pairs.merge(other.pairs)
        if self.queries is not None and other.queries is not None:
            self.queries.merge(other.queries)
        return self

    # -- the interval -----------------------------------------------------------------------
    def interval(self, estimate: float, agg: Any = None,
                 level: float | None = None) -> Interval:
        """The interval around ``estimate`` (the aggregate's value; for paired differences,
        the difference of the two models' values), at ``level`` (default: the --ci level;
        a higher one for a multiple-comparison correction)."""
        level = self.ci.level if level is None else level
        if self.kind == "none" and not self.paired and getattr(agg, "metric", "") == "roc_auc":
            self.kind, self.method = "delong", "analytic"  # a state saved before DeLong
        if self.kind == "none":
            reason = ("no paired interval for this loss" if self.paired
                      else NO_INTERVAL.get(self.aggregate, "no interval for this loss"))
            return Interval(estimate, None, None, level, "n/a", reason=reason)
        if self.kind in QUERY_KINDS:  # over queries: the aggregate (paired: both) keeps them
            return (self.queries or agg).query_interval(estimate, self.ci, level, self.method)
        if self.kind == "ranking_paired":
            reps, why = self._paired_replicates()
            if reps is None:
                return Interval(estimate, None, None, level, "percentile", reason=why)
            return replace(intervals.bootstrap_interval(float(np.mean(reps)), reps, level),
                           resampling="rows")
        if self.kind == "delong_paired":
            assert self.pairs is not None
            got = self.pairs.result()
            if got.reason:
                return Interval(estimate, None, None, level, "delong", reason=got.reason)
            return intervals.delong_difference(got.difference, got.se, level)[0]
        if self.kind == "delong":
            if agg is None or not hasattr(agg, "roc_auc_se"):
                return Interval(estimate, None, None, level, "delong",
                                reason="DeLong's interval needs the ranking state")
            score, se, why = agg.roc_auc_se()
            iv = intervals.delong_interval(estimate, se, level, low=score.low,
                                           high=score.high, reason=why)
            if iv.defined and se == 0.0 and estimate in (0.0, 1.0):  # as pROC: SE 0
                iv = replace(iv, reason=DEGENERATE[int(estimate)])
            return iv
        if self.ratio is not None:
            return self.ratio.interval(level)
        if self.method == "analytic":
            assert self.moments is not None
            if self.kind == "subset":
                return intervals.wilson_interval(self.moments, level)
            if self.kind == "root_mean":
                return intervals.rmse_interval(self.moments, level)
            if self.indicator and self.moments.binary and not self.paired:
                return intervals.wilson_interval(self.moments, level)
            m = self.moments  # paired 0/1 losses, unit weights: consistent with McNemar's
            if self.indicator and self.paired and m.sw.fraction() == m.sw2.fraction() == (
                    m.positive):
                from losscli.stats.paired_proportions import paired_proportion_interval

                worse, better = self.discordant
                return paired_proportion_interval(worse, better, m.positive, level)
            return intervals.mean_interval(self.moments, level)
        assert self.boot is not None
        few = self._too_few()
        if few:
            return Interval(estimate, None, None, level, "percentile", reason=few)
        if self.kind in SCORE_KINDS:
            reps, why = self._ranking_replicates(agg)
            if reps is None:
                return Interval(estimate, None, None, level, "percentile", reason=why)
        else:
            reps = self.replicates(agg)
        iv = intervals.bootstrap_interval(estimate, reps, level, "percentile")
        return replace(iv, resampling=parts.resampling(self.boot))

    def _paired_replicates(self) -> tuple[np.ndarray | None, str | None]:
        """ranking_paired: metric(model) − metric(reference) per joint replicate of the
        shared rows (:mod:`losscli.stats.paired_ranking`), or why none; drawn once."""
        from losscli.stats.paired_ranking import paired_replicates, parse_metric

        assert self.pairs is not None
        boot = parts.as_scores(self.boot)
        if self._reps is None:
            self._reps = paired_replicates(self.pairs, *parse_metric(self.metric),
                                           boot.replicates, boot.seed, boot.stream)
        return self._reps

    def _ranking_replicates(self, agg: Any) -> tuple[np.ndarray | None, str | None]:
        """A ranking_bootstrap's replicates from ``agg``'s per-score counts, or why none
        (:func:`losscli.stats.score_bootstrap.ranking_replicates`), drawn once."""
        from losscli.stats.score_bootstrap import ranking_replicates

        if self._reps is None:
            self._reps = ranking_replicates(parts.as_scores(self.boot), agg)
        return self._reps

    def _too_few(self) -> str | None:
        """Why the bootstrap gives no interval or test: fewer than two rows with a positive
        weight (every replicate of a single row is that row again)."""
        assert self.boot is not None
        n = self.boot.positive
        if n < 2:
            return (f"fewer than two rows ({n} with positive weight): the bootstrap needs at "
                    "least 2")
        return None

    def replicates(self, agg: Any) -> np.ndarray:
        """Each bootstrap replicate's value (the same row's weight in every state of a run)."""
        assert self.boot is not None
        if self.kind in ("confusion", "confusion_paired"):
            return self._confusion_replicates(agg)
        if self.kind in SCORE_KINDS:  # None: no replicates (the interval: why)
            return self._ranking_replicates(agg)[0]  # type: ignore[return-value]
        means = parts.as_rows(self.boot).means()
        with np.errstate(all="ignore"):
            if self.kind == "mean":
                return means[:, 0]
            if self.kind == "root_mean":
                return np.sqrt(means[:, 0])
            if self.kind == "ratio":
                return np.where(means[:, 1] > 0, means[:, 0] / means[:, 1], np.nan)
            if self.kind == "r2":
                ss_res, y, y2 = means[:, 0], means[:, 1], means[:, 2]
                ss_tot = y2 - y * y
                return np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0),
                                np.nan)
            if self.kind == "calibration":
                from losscli.stats.resample import calibration_values

                return calibration_values(means.reshape(means.shape[0], self.classes, 3),
                                           self.metric.split(":")[0])
        raise ValueError(f"no replicates for {self.kind}")

    def _confusion_replicates(self, agg: Any) -> np.ndarray:
        """A confusion metric per replicate table (paired: model − reference); a state saved
        before the cell bootstrap keeps no metric (read from ``agg``)."""
        from losscli.stats.cell_bootstrap import CellResample, confusion_replicates
        from losscli.stats.confusion_replicates import ConfusionSpec, parse_spec
        from losscli.stats.resample import BootstrapSums

        assert isinstance(self.boot, CellResample | BootstrapSums)
        spec = (parse_spec(self.metric) if self.metric else ConfusionSpec.of(agg.config()))
        return confusion_replicates(self.boot, self.classes, spec)

    def test(self) -> Any:
        """Paired differences: the two-sided test that their mean is 0 — McNemar's exact
        test for 0/1 losses, the normal test on the moments (analytic), or the replicates'
        sign (bootstrap: p = 2·min(P(d* ≤ 0), P(d* ≥ 0)), at least 1/B). None when the loss
        has no paired test."""
        if self.kind == "delong_paired":
            assert self.pairs is not None
            got = self.pairs.result()
            if got.reason:
                return intervals.TestResult(math.nan, None, "delong", got.reason)
            return intervals.delong_difference(got.difference, got.se, self.ci.level)[1]
        if self.queries is not None:
            return self.queries.test(self.ci, self.method)
        if self.kind == "ranking_paired" and self._paired_replicates()[0] is None:
            return intervals.TestResult(math.nan, None, "bootstrap",
                                        self._paired_replicates()[1])
        if self.kind in ("none", "delong", "subset"):
            return None
        if self.indicator and self.moments is not None:
            return intervals.mcnemar_exact(*self.discordant)
        if self.method == "bootstrap" and self.boot is not None:
            few = self._too_few()
            if few:
                return intervals.TestResult(math.nan, None, "bootstrap", few)
            drawn = self._paired_replicates()[0] if self.kind == "ranking_paired" else (
                self.replicates(None))
            assert drawn is not None
            reps = drawn[np.isfinite(drawn)]
            if reps.size == 0:
                return intervals.TestResult(math.nan, None, "bootstrap",
                                            "no finite bootstrap replicate")
            tail = min(np.mean(reps <= 0.0), np.mean(reps >= 0.0))
            p = float(min(1.0, max(2.0 * tail, 1.0 / reps.size)))
            return intervals.TestResult(float(np.mean(reps)), p, "bootstrap")
        if self.moments is None:
            return None
        return intervals.paired_test(self.moments)

    # -- serialisation ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "method": self.method, "aggregate": self.aggregate,
                "classes": self.classes, "paired": self.paired, "binary": self.binary,
                "indicator": self.indicator,
                "ci": self.ci.to_dict(),
                "moments": None if self.moments is None else self.moments.to_dict(),
                **({"ratio": self.ratio.to_dict()} if self.ratio is not None else {}),
                "bootstrap": None if self.boot is None else self.boot.to_dict(),
                "discordant": list(self.discordant),
                **({"pairs": self.pairs.to_dict()} if self.pairs is not None else {}),
                **({"queries": self.queries.to_dict()} if self.queries is not None else {}),
                **({"metric": self.metric} if self.metric else {})}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Uncertainty:
        """From :meth:`to_dict`'s JSON, every field checked (:mod:`losscli.stats.fields`):
        the kind and method known, the moments and replicates those the kind keeps, the
        bootstrap's replicates and seed the ``--ci`` options'."""
        from losscli.uncertainty_state import load

        return load(cls, data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Uncertainty) and self.to_dict() == other.to_dict()
