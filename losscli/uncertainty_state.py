"""Loading an interval state (:class:`losscli.uncertainty.Uncertainty`) from its JSON:
every field checked (:mod:`losscli.stats.fields`) — the kind and method known, the moments
and replicates those the kind keeps, the bootstrap's replicates and seed the ``--ci``
options'. Each kind's modules are imported when a state of that kind is read
(:data:`losscli.interval_parts.KIND_MODULES`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from losscli.errors import UsageError
from losscli.interval_kinds import (
    CELL_KINDS,
    MAX_BOOTSTRAP_BINS,
    MAX_BOOTSTRAP_CLASSES,
    QUERY_KINDS,
    SCORE_KINDS,
    SUBSETS,
    CIConfig,
)
from losscli.stats.fields import Fields, check
from losscli.stats.intervals import Moments

if TYPE_CHECKING:
    from losscli.stats.cell_bootstrap import CellResample
    from losscli.stats.resample import BootstrapSums
    from losscli.stats.score_bootstrap import ScoreResample


def _ranking_metric(text: str) -> str:
    """A ranking_paired state's metric text (:func:`losscli.stats.paired_ranking.
    metric_text`), checked."""
    from losscli.stats.fields import FieldError
    from losscli.stats.paired_ranking import parse_metric
    from losscli.stats.score_bootstrap import METRICS

    try:
        metric = parse_metric(text)[0]
    except ValueError:
        raise FieldError("", f"expected metric|level|cost, got {text!r}") from None
    if metric not in METRICS:
        raise FieldError("", f"expected one of {', '.join(METRICS)}, got {metric!r}")
    return text


def _confusion_metric(text: str) -> str:
    """A confusion kind's metric text (:func:`losscli.stats.confusion_replicates.
    saved_spec`), checked."""
    from losscli.stats.confusion_replicates import saved_spec

    return saved_spec(text)


_SCORES_WHERE = ("per-score bootstrap counts where a {} interval keeps none, or none where it "
                 "needs them")
_CELLS_WHERE = "a cell bootstrap where a {} interval keeps none, or none where it needs one"


def _bootstrap(f: Fields, data: dict[str, Any], kind: str, classes: int, paired: bool
               ) -> BootstrapSums | CellResample | ScoreResample:
    """The ``bootstrap`` part, checked against ``kind``: a ranking kind's per-score counts, a
    confusion kind's per-cell counts (per-row sums in states saved before the cell
    bootstrap), else the per-row bootstrap's sums."""
    from losscli.stats.cell_bootstrap import CellResample
    from losscli.stats.resample import BootstrapSums
    from losscli.stats.score_bootstrap import ScoreResample

    tag = data["bootstrap"].get("kind") if isinstance(data["bootstrap"], dict) else None
    cells, scores = tag == CellResample.kind, tag == ScoreResample.kind
    check(scores == (kind in SCORE_KINDS), "bootstrap", _SCORES_WHERE.format(kind))
    boot = (f.part("bootstrap", ScoreResample.from_dict) if scores
            else f.part("bootstrap", CellResample.from_dict) if cells
            else f.part("bootstrap", BootstrapSums.from_dict))
    check(cells == (kind == "confusion_paired") or kind == "confusion", "bootstrap",
          _CELLS_WHERE.format(kind))
    check(not isinstance(boot, CellResample) or (boot.classes, boot.paired) == (classes, paired),
          "bootstrap", "replicates, seed or columns other than the --ci options'")
    return boot


def load(cls: Any, data: dict[str, Any]) -> Any:
    """``Uncertainty.from_dict`` (``cls``: the class, not imported here: no cycle)."""
    from losscli.stats.fields import FieldError, nested, whole

    f = Fields(data)
    kind = f.text("kind", choices=("mean", "root_mean", "r2", "ratio", "subset", "confusion",
                                   "confusion_paired", "calibration", "delong",
                                   "delong_paired", "ranking_bootstrap", "ranking_paired",
                                   *QUERY_KINDS,
                                   "none"))
    ci_data = f.raw("ci")

    def config() -> CIConfig:
        if not isinstance(ci_data, dict) or set(ci_data) - {"level", "method", "replicates",
                                                           "seed"}:
            raise FieldError("", "expected the --ci options")
        try:
            return CIConfig(**ci_data)
        except UsageError as exc:
            raise FieldError("", str(exc)) from None

    ci = nested("ci", config)
    out = cls(kind, ci, aggregate=f.text("aggregate", longest=64),
              classes=f.count("classes", lo=1,
                              hi=max(MAX_BOOTSTRAP_CLASSES ** 2, MAX_BOOTSTRAP_BINS)),
              paired=f.flag("paired"),
              method=f.text("method", choices=("analytic", "bootstrap")),
              binary=f.flag("binary", True), indicator=f.flag("indicator", False),
              metric=(f.text("metric", choices=tuple(SUBSETS)) if kind == "subset" else
                      f.text("metric", choices=tuple(f"{n}:{t}" for n in ("l1", "max")
                                                     for t in ("binary", "multiclass")))
                      if kind == "calibration" else
                      nested("metric", _confusion_metric, f.text("metric", default=""))
                      if kind in CELL_KINDS else
                      nested("metric", _ranking_metric, f.text("metric", longest=80))
                      if kind == "ranking_paired" else ""))
    out.moments = f.part("moments", Moments.from_dict) if f.has("moments") else None
    out.ratio = None
    if f.has("ratio"):
        from losscli.stats.ratio_moments import RatioMoments

        out.ratio = f.part("ratio", RatioMoments.from_dict)
    check((out.ratio is None) == (kind != "ratio" or out.method != "analytic"), "ratio",
          f"ratio moments where a {kind} interval keeps none, or none where it needs them")
    if f.has("bootstrap"):
        out.boot = _bootstrap(f, data, kind, out.classes, out.paired)
    else:
        out.boot = None
        check(kind not in SCORE_KINDS, "bootstrap", _SCORES_WHERE.format(kind))
        check(kind != "confusion_paired", "bootstrap", _CELLS_WHERE.format(kind))
    check((out.moments is None) == (out.kind not in ("mean", "root_mean", "subset")),
          "moments",
          f"moments where a {kind} interval keeps none, or none where it needs them")
    check((out.boot is None) == (out.method != "bootstrap"
                                 or kind in ("none", "delong", "delong_paired", *QUERY_KINDS)),
          "bootstrap",
          "replicates where the method keeps none, or none where it needs them")
    if out.boot is not None:
        check((out.boot.replicates, out.boot.seed) == (ci.replicates, ci.seed)
              and out.boot.columns == {"r2": 3, "ratio": 2, "confusion": out.classes ** 2,
                                       "confusion_paired": 2 * out.classes ** 2,
                                       "calibration": 3 * out.classes}.get(kind, 1)
              , "bootstrap", "replicates, seed or columns other than the --ci options'")
    out.discordant = f.each("discordant", whole, length=2)
    out.queries = None
    if kind == "query_paired":
        from losscli.query_aggregate import QueryPairs

        out.queries = f.part("queries", QueryPairs.from_dict)
    if kind in ("delong_paired", "ranking_paired"):
        from losscli.stats.paired_delong import PairedScores

        out.pairs = f.part("pairs", PairedScores.from_dict)
    else:
        check(not f.has("pairs"), "pairs", f"paired scores where a {kind} interval keeps none")
    return out
