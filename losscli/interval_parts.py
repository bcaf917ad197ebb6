"""The parts an interval state (:class:`losscli.uncertainty.Uncertainty`) keeps beyond its
moments, built by kind — the one lazy boundary of the interval kinds, as
:data:`losscli.aggregate_base.KIND_MODULES` is the aggregates': :data:`KIND_MODULES` says
which modules each kind is built from, and each is imported only when a state of that kind
is built or read. So a run without ``--ci`` (or with mean losses only) never imports the
cell, score or row bootstrap, DeLong's paired test, McNemar's interval, the ratio's delta
method or the per-query pairs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from losscli.interval_kinds import CELL_KINDS, QUERY_KINDS, SCORE_KINDS, CIConfig

if TYPE_CHECKING:
    from losscli.query_aggregate import QueryPairs
    from losscli.stats.cell_bootstrap import CellResample
    from losscli.stats.paired_delong import PairedScores
    from losscli.stats.ratio_moments import RatioMoments
    from losscli.stats.resample import BootstrapSums
    from losscli.stats.score_bootstrap import ScoreResample

    Resampling = BootstrapSums | CellResample | ScoreResample

#: The modules of the per-row bootstrap (any kind under ``--ci-method bootstrap`` that
#: resamples rows: r2, calibration, a mean's): its sums, and the streaming of its
#: replicate weights (imported with the first chunk).
BOOTSTRAP_MODULES = ("losscli.stats.resample", "losscli.stats.row_bootstrap")

#: The modules each interval kind is built from, beyond :mod:`losscli.stats.intervals` (and
#: :data:`BOOTSTRAP_MODULES` when it resamples rows); reading a state that resamples also
#: loads the cell and score modules (to tell its replicates apart).
#: ``tests/test_startup_imports.py`` checks that building a kind loads these and no other
#: kind's, and that a run without ``--ci`` loads none of them. A new kind is one line here.
KIND_MODULES: dict[str, tuple[str, ...]] = {
    "mean": (), "root_mean": (), "subset": (), "delong": (), "none": (), "query": (),
    "r2": BOOTSTRAP_MODULES[:1], "calibration": BOOTSTRAP_MODULES[:1],
    "ratio": ("losscli.stats.ratio_moments",),
    "confusion": ("losscli.stats.cell_bootstrap", "losscli.stats.confusion_replicates"),
    "confusion_paired": ("losscli.stats.cell_bootstrap",
                         "losscli.stats.confusion_replicates"),
    "delong_paired": ("losscli.stats.paired_delong",),
    "ranking_bootstrap": ("losscli.stats.score_bootstrap",),
    "ranking_paired": ("losscli.stats.score_bootstrap", "losscli.stats.paired_delong",
                       "losscli.stats.paired_ranking"),
    "query_paired": ("losscli.query_aggregate",),
}


def replicate_state(kind: str, method: str, ci: CIConfig, classes: int, stream: int
                    ) -> Resampling | None:
    """What an interval of ``kind`` resamples under ``method``: the per-cell counts of a
    confusion kind, the per-score counts of a ranking kind, the per-row bootstrap's sums,
    or nothing."""
    if kind in CELL_KINDS:
        from losscli.stats.cell_bootstrap import CellResample

        return CellResample(classes, ci.replicates, ci.seed, paired=kind == "confusion_paired",
                            stream=stream)
    if kind in SCORE_KINDS:
        from losscli.stats.score_bootstrap import ScoreResample

        return ScoreResample(ci.replicates, ci.seed, stream)
    if method == "bootstrap" and kind not in ("none", "delong", *QUERY_KINDS):
        from losscli.stats.resample import BootstrapSums

        columns = {"r2": 3, "ratio": 2, "calibration": 3 * classes}.get(kind, 1)
        return BootstrapSums(ci.replicates, ci.seed, columns)
    return None


def ratio_moments(kind: str, method: str) -> RatioMoments | None:
    """Kind ``ratio`` (wape, mase), analytic: the delta method's moments."""
    if kind != "ratio" or method != "analytic":
        return None
    from losscli.stats.ratio_moments import RatioMoments

    return RatioMoments()


def paired_scores(kind: str) -> PairedScores | None:
    """The shared rows' two scores and label: DeLong's paired test, or the paired
    bootstrap of two rankings."""
    if kind not in ("delong_paired", "ranking_paired"):
        return None
    from losscli.stats.paired_delong import PairedScores

    return PairedScores()


def query_pairs(kind: str, config: dict[str, Any]) -> QueryPairs | None:
    """Kind ``query_paired``: both models' per-query ranking states."""
    if kind != "query_paired":
        return None
    from losscli.query_aggregate import QueryPairs

    return QueryPairs(**config)


def as_cells(boot: Resampling | None) -> CellResample:
    """A confusion kind's per-cell replicate counts."""
    from losscli.stats.cell_bootstrap import CellResample

    assert isinstance(boot, CellResample)
    return boot


def as_scores(boot: Resampling | None) -> ScoreResample:
    """A ranking kind's per-score replicate counts (:data:`SCORE_KINDS`)."""
    from losscli.stats.score_bootstrap import ScoreResample

    assert isinstance(boot, ScoreResample)
    return boot


def as_rows(boot: Resampling | None) -> BootstrapSums:
    """The per-row bootstrap's replicate sums."""
    from losscli.stats.resample import BootstrapSums

    assert isinstance(boot, BootstrapSums)
    return boot


def resampling(boot: Resampling) -> str:
    """What a bootstrap interval resampled: rows, confusion cells or scores."""
    from losscli.stats.resample import BootstrapSums

    return "rows" if isinstance(boot, BootstrapSums) else boot.resampling


def flush_bootstrap(trackers: list[Any]) -> None:
    """Add each interval state's (:class:`losscli.uncertainty.Uncertainty`) pending chunk to
    its per-row bootstrap sums (:func:`losscli.stats.row_bootstrap.flush_bootstrap`: the
    replicate weights drawn once for the states that share rows); nothing to do, and
    nothing imported, when no state resamples rows."""
    if any(u.pending is not None for u in trackers):
        from losscli.stats import row_bootstrap

        row_bootstrap.flush_bootstrap(trackers)
