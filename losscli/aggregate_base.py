"""The base of every aggregate (:mod:`losscli.aggregates` holds the kinds): the rows and
the weight Σw every aggregate counts, its merge, serialisation and the registry of kinds.

An aggregate is a :class:`~losscli.stats.mergeable.Mergeable` part of a cell: ``update``
adds a chunk, ``merge`` folds in another part of the same kind (in place, returning self),
``result`` reads the value, and ``to_dict``/``from_dict`` round-trip it bit for bit. Each
kind names itself (``name``) and is registered by defining it (:data:`AGGREGATES`), which
is how ``from_dict`` finds the class of a saved aggregate.

The one lazy boundary of the kinds: :data:`KIND_MODULES` says which module defines each
kind, and :func:`kind` imports that module the first time a kind is asked for (a loss
instance built, a saved aggregate read). So a regression run never imports the confusion,
ranking, calibration or per-query statistics; :func:`all_kinds` imports every kind (the
catalogue, reading any saved state, the tests).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from losscli.errors import InputError
from losscli.stats.exact import ExactSum
from losscli.stats.fields import FieldError, Fields, check, nested

if TYPE_CHECKING:
    from typing_extensions import Self

#: The largest class, label or bin count a saved aggregate's config may name.
MAX_CONFIG_INT = 1 << 20

#: Every kind of aggregate defined so far, by its ``name`` (a kind registers itself when it
#: is defined); :func:`kind` and :func:`all_kinds` load the others.
AGGREGATES: dict[str, type[Aggregate]] = {}

#: The module that defines each kind of aggregate (``tests/test_architecture.py`` checks
#: that it names every kind, and the right module). A new kind is one line here.
KIND_MODULES: dict[str, str] = {
    "mean": "losscli.aggregates", "root_mean": "losscli.aggregates",
    "max": "losscli.aggregates", "r2": "losscli.aggregates",
    "explained_variance": "losscli.aggregates", "d2_tweedie": "losscli.aggregates",
    "median": "losscli.median_aggregate",
    "abs_target_ratio": "losscli.ratio_aggregate", "naive_ratio": "losscli.ratio_aggregate",
    "seasonal_ratio": "losscli.ratio_aggregate",
    "confusion": "losscli.metric_aggregates", "ranking": "losscli.metric_aggregates",
    "calibration": "losscli.metric_aggregates",
    "query_ranking": "losscli.query_aggregate", "class_cost": "losscli.cost_aggregate",
}


def kind(name: str) -> type[Aggregate]:
    """The aggregate class of kind ``name``, its module imported on first use (KeyError for
    a name :data:`KIND_MODULES` does not know)."""
    if name not in AGGREGATES:
        import_module(KIND_MODULES[name])
    return AGGREGATES[name]


def all_kinds() -> dict[str, type[Aggregate]]:
    """Every kind of aggregate by name, each module of :data:`KIND_MODULES` imported."""
    for module in dict.fromkeys(KIND_MODULES.values()):
        import_module(module)
    return AGGREGATES


def no_rows_error() -> InputError:
    return InputError(
        "No rows left to evaluate (the input is empty, or every row was omitted). "
        "Check the file, or use --nan-policy raise to see which values were dropped."
    )


def zero_weight_error() -> InputError:
    return InputError(
        "Sample weights sum to 0, so the weighted mean is undefined. "
        "Give at least one row a positive weight."
    )


def row_values(values: np.ndarray) -> np.ndarray:
    """One value per row: (n, K) values (outputs, labels) become their mean per row — what
    ``--reduction none`` writes and ``sum`` adds up, consistent with the uniform average."""
    return values if values.ndim == 1 else values.mean(axis=1)


def true_classes(target: np.ndarray, binary: bool) -> np.ndarray:
    """Class per row: a binary label (0 or -1 → 0, 1 → 1), a class index, or the argmax of
    a distribution. (NaN rows never reach an aggregate under --nan-policy raise/omit.)"""
    if binary:
        return (target > 0).astype(np.int64)
    if target.ndim == 2:
        return np.argmax(np.nan_to_num(target, nan=-np.inf), axis=1)
    return np.where(np.isfinite(target), target, 0).astype(np.int64)


class Aggregate:
    """Base: the row count and Σw, which every aggregate keeps; a kind adds its statistic.

    ``per_row``: the loss has a value per row, so the ``sum`` and ``none`` reductions are
    defined. ``needs``: roles whose arrays ``update`` also receives (r2: the target).
    """

    name: ClassVar[str] = ""
    per_row: ClassVar[bool] = False
    needs: ClassVar[tuple[str, ...]] = ()
    #: The value depends on the order of the rows (mase:season_length): parts merge in row
    #: order only — associative, not commutative.
    ordered: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:  # a kind of its own, not a shared base
            AGGREGATES.setdefault(cls.name, cls)

    def __init__(self) -> None:
        self.rows = 0
        self.weight = ExactSum()

    @classmethod
    def create(cls, inst: Any) -> Aggregate:
        """An empty aggregate for a loss instance (configured aggregates read its params
        and options: see :meth:`config`)."""
        return cls()

    def config(self) -> dict[str, Any]:
        """What the aggregate was built with (serialised; ``cls(**config)`` rebuilds it)."""
        return {}

    def details(self) -> dict[str, Any] | None:
        """A breakdown beside the value (per column, per class, bins), or None."""
        return None

    # -- running state ------------------------------------------------------------------
    def update(self, losses: np.ndarray, weights: np.ndarray | None,
               arrays: dict[str, np.ndarray] | None = None) -> None:
        """Add one chunk: per-row values, their weights (None: all ones) and the arrays of
        the roles in :attr:`needs`."""
        raise NotImplementedError

    def count(self, n: int, weights: np.ndarray | None) -> None:
        """Count a chunk of ``n`` rows and their weights."""
        self.rows += n
        self.weight.add(float(n) if weights is None else float(np.sum(weights)))

    @classmethod
    def update_groups(cls, aggs: list[Aggregate], groups: Any, losses: np.ndarray,
                      weights: np.ndarray | None, arrays: dict[str, np.ndarray],
                      split: Any) -> None:
        """``update`` for each group of a batch at once (``--group-by``): ``aggs[g]`` gets
        the rows of group ``g`` of :class:`losscli.grouping.BatchGroups` ``groups``.
        ``split(role)`` gives the rows of an input role per group (cached for the batch)."""
        parts = groups.split(losses)
        w = split("weight")
        need = {r: split(r) for r in arrays}
        for g, agg in enumerate(aggs):
            if groups.counts[g]:
                agg.update(parts[g], w[g], {r: p[g] for r, p in need.items()})

    def union_of(self, parts: Callable[[], list[Aggregate]]) -> None:
        """Read the statistic from ``parts()`` — aggregates of the same kind whose rows are
        together exactly this one's, each in one (``--group-by``'s groups) — instead of
        keeping it here, where that saves memory (the exact ranking); called while empty.
        Rows and Σw are still counted here. By default the statistic is kept: nothing to
        do."""

    def merge(self, other: Aggregate) -> Self:
        """Fold ``other`` (the same kind) into this one, in place; returns self."""
        self.same_kind(other)
        self.rows += other.rows
        self.weight.merge(other.weight)
        return self

    def same_kind(self, other: Aggregate) -> None:
        if type(other) is not type(self):
            raise ValueError(f"cannot merge a {other.name} aggregate into a {self.name} one")

    # -- results --------------------------------------------------------------------------
    def checked(self) -> None:
        """Raise the error of an aggregate without a value: no rows, or Σw = 0."""
        if self.rows == 0:
            raise no_rows_error()
        if self.weight.value <= 0.0:
            raise zero_weight_error()

    def result(self, reduction: str = "mean") -> float:
        """The value (``reduction`` matters only to kinds with a value per row)."""
        self.checked()
        return self.own_result()

    def own_result(self) -> float:
        """The value of the rows seen, once :meth:`checked`."""
        raise NotImplementedError

    # -- serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.name, "rows": self.rows,
                               "weight": self.weight.to_json()}
        config = self.config()
        if config:
            out["config"] = config
        return out

    def _load(self, f: Fields) -> None:
        """Read the state's fields (checked: :mod:`losscli.stats.fields`). The weights are
        ≥ 0 and one finite float sum per chunk is added, so Σw is non-negative and bounded
        by the rows; without weights Σw is the row count itself."""
        self.rows = f.count("rows")
        self.weight = f.exact_sum("weight", rows=self.rows, non_negative=True)
        if f.context.get("weighted") is False and self.weight.finite and self.rows < 1 << 53:
            check(self.weight.fraction() == self.rows, "weight",
                  f"Σw is not the row count {self.rows}, but the run had no weights")

    @classmethod
    def from_dict(cls, data: dict[str, Any], context: dict[str, Any] | None = None) -> Self:
        """An aggregate from :meth:`to_dict`'s JSON, every field checked (FieldError): of
        the kind it names, which must be ``cls`` or a kind of it."""
        f = Fields(data, context)
        kinds = tuple(k for k, c in all_kinds().items() if issubclass(c, cls))
        name = f.text("kind", choices=kinds)
        config = f.raw("config", {})
        if not isinstance(config, dict) or not all(
                isinstance(v, str | float | bool | None) or (
                    isinstance(v, int) and 0 <= v <= MAX_CONFIG_INT) for v in config.values()):
            raise FieldError("config", f"expected an object of plain settings (whole numbers "
                             f"up to {MAX_CONFIG_INT}), got {config!r:.200}")
        agg = nested("config", lambda: AGGREGATES[name](**config))
        assert isinstance(agg, cls)
        agg._load(f)
        return agg

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.to_dict() == other.to_dict()  # type: ignore[union-attr]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rows={self.rows})"
