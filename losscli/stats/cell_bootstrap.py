"""The Poisson bootstrap of a confusion matrix, drawn per cell: no work per row.

The streamed bootstrap (:mod:`losscli.stats.resample`; Hanley & MacGibbon 2006, "Creating
non-parametric bootstrap samples using Poisson frequencies", Comput. Methods Programs
Biomed. 83:57; Chamandy et al. 2012, "Estimating uncertainty for massive data streams",
Google) gives each row an independent Poisson(1) count per replicate. A confusion metric
(f1, precision/recall averaged, mcc, cohen_kappa, balanced_accuracy, ...) reads only the
replicate's cell counts M*[t, p] = Σ_{rows in cell (t, p)} w*_i. For **unweighted** rows
those are sums of n_tp independent Poisson(1) counts, i.e. exactly Poisson(n_tp), and the
cells are independent of each other (they hold disjoint rows). So drawing, per replicate,
one Poisson(n_c) count per cell from the merged exact counts n_c *is* the same Poisson
bootstrap, in distribution — at O(B·K²) once at the end instead of O(B·n) while streaming.

* :class:`CellResample` — the mergeable state: exact integer counts per cell of the rows of
  weight 1 (rows of weight 0 are counted as rows, not in a cell), and, for rows with any
  other weight, the per-row replicate sums (:class:`~losscli.stats.resample.BootstrapSums`,
  as before: a weight is not a count, so its replicate is not Poisson of anything). A
  replicate's table is the sum of the two parts (independent rows: still one bootstrap).
  ``paired``: the joint cells (t, p_model, p_reference) of two models on the same rows and
  targets (K³ cells) — a replicate gives both models' tables at once, so their difference
  is resampled jointly (a paired bootstrap).
* :func:`cell_draws` — the replicate counts, B × cells.

**The draws** come from numpy's ``Generator(PCG64(SeedSequence(entropy)))`` with
``entropy = [seed, stream, TAG, cells]`` — ``seed`` the ``--seed``, ``stream`` the group's
identity (:func:`group_stream` of its ``--group-by`` key; 0 overall), ``cells`` the table's
size (K², or K³ paired) — as ``rng.poisson(counts, size=(B, cells))``. They depend on the
merged counts only, never on the chunking, the workers, the engine or the merge order: the
same bits for any split of the same rows (for one numpy version: numpy does not promise the
stream of its Poisson sampler across versions, NEP 19). Losses with the same table in the
same group (f1 and mcc of one model) draw the same replicates, as the per-row bootstrap
resampled them jointly; groups draw from different streams (independent, as their rows are).
"""

from __future__ import annotations

import hashlib
import math
import numbers
from typing import Any

import numpy as np

from losscli.stats.confusion_replicates import ConfusionSpec, replicate_values
from losscli.stats.fields import Fields, check, nested
from losscli.stats.resample import BootstrapSums

#: Tells the cell draws' streams apart from any other use of the same seed.
TAG = 0x43454C4C  # "CELL"


def group_stream(key: tuple[Any, ...] | None) -> int:
    """A stable 64-bit identity of a ``--group-by`` key (0 for none: the overall state):
    the first 8 bytes of BLAKE2b over a canonical encoding of its values — equal values
    that Python's dict treats as one key (``1 == 1.0 == True``) encode alike."""
    if key is None:
        return 0
    parts = []
    for v in key:
        if v is None:
            part = b"n"
        elif isinstance(v, bool | numbers.Integral):
            part = b"i" + str(int(v)).encode()
        elif isinstance(v, numbers.Real):
            x = float(v)
            part = (b"i" + str(int(x)).encode() if math.isfinite(x) and x == round(x)
                    else b"nan" if x != x else b"f" + x.hex().encode())
        elif isinstance(v, str):
            part = b"s" + v.encode("utf-8", "surrogatepass")
        elif isinstance(v, bytes):
            part = b"b" + v
        else:
            part = b"r" + repr(v).encode("utf-8", "surrogatepass")
        parts.append(len(part).to_bytes(8, "little") + part)
    digest = hashlib.blake2b(b"".join(parts), digest_size=8).digest()
    return int.from_bytes(digest, "little") or 1


def cell_draws(counts: np.ndarray, replicates: int, seed: int, stream: int) -> np.ndarray:
    """(B, cells) float64: per replicate b and cell c, a Poisson(counts[c]) draw (0 where
    the count is 0) — see the module doc for the generator and its seed."""
    counts = np.asarray(counts, dtype=np.int64).ravel()
    entropy = [int(seed), int(stream), TAG, int(counts.size)]
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))
    return rng.poisson(counts.astype(np.float64), size=(int(replicates), counts.size)).astype(
        np.float64)


class CellResample:
    """The cell bootstrap's state of one confusion metric (see the module doc): ``counts``
    (int64, K² cells t·K + p; paired: K³ cells (t·K + p_model)·K + p_reference) of the rows
    of weight 1, ``rows`` (every row, weight 0 included) and ``positive`` (rows of positive
    weight) of those, and ``weighted``: per-row replicate sums of the rows with any other
    weight (K² columns; paired 2·K²: the model's cells, then the reference's), None until one
    comes. It quacks as :class:`BootstrapSums` where the engine needs it (``replicates``,
    ``seed``, ``rows``, ``positive``, :meth:`add_chunk`, :meth:`merge`). Memory: K² (K³)
    int64."""

    kind = "confusion_cells"

    def __init__(self, classes: int, replicates: int, seed: int, *, paired: bool = False,
                 stream: int = 0) -> None:
        self.classes, self.replicates, self.seed = int(classes), int(replicates), int(seed)
        self.paired, self.stream = bool(paired), int(stream)
        self.counts = np.zeros(self.classes ** (3 if paired else 2), dtype=np.int64)
        self.unit_rows = 0  # rows of weight 0 or 1 (those of other weights: in ``weighted``)
        self.unit_positive = 0
        self.weighted: BootstrapSums | None = None

    @property
    def columns(self) -> int:
        """The per-row columns of a weighted row (K², or 2·K² paired)."""
        return self.classes ** 2 * (2 if self.paired else 1)

    @property
    def rows(self) -> int:
        return self.unit_rows + (0 if self.weighted is None else self.weighted.rows)

    @property
    def positive(self) -> int:
        return self.unit_positive + (0 if self.weighted is None else self.weighted.positive)

    @property
    def resampling(self) -> str:
        """Which bootstrap ran: ``cells`` (every row of weight 0/1), ``rows`` (every row of
        another weight) or ``cells+rows``."""
        if self.weighted is None or self.weighted.rows == 0:
            return "cells"
        return "rows" if self.unit_rows == 0 else "cells+rows"

    # -- streaming --------------------------------------------------------------------------
    def update(self, true: np.ndarray, pred: np.ndarray, weights: np.ndarray | None,
               reference: np.ndarray | None = None) -> np.ndarray | None:
        """One chunk's true and predicted classes (``reference``: the reference model's,
        paired). Rows of weight 0 or 1 are counted here; the mask of the rest is returned
        (None: no such row) — their columns (:meth:`columns_of`) go to the per-row sums."""
        k = self.classes
        true = np.asarray(true, dtype=np.int64)
        cells = true * k + np.asarray(pred, dtype=np.int64)
        if self.paired:
            assert reference is not None
            cells = cells * k + np.asarray(reference, dtype=np.int64)
        if weights is None:
            self._count(cells, cells.shape[0], cells.shape[0])
            return None
        w = np.asarray(weights, dtype=np.float64)
        one, zero = w == 1.0, w == 0.0
        self._count(cells[one], int(np.count_nonzero(one | zero)), int(np.count_nonzero(one)))
        other = ~(one | zero)
        return other if other.any() else None

    def _count(self, cells: np.ndarray, rows: int, positive: int) -> None:
        if cells.size:
            self.counts += np.bincount(cells, minlength=self.counts.size)
        self.unit_rows += rows
        self.unit_positive += positive

    def add(self, ids: np.ndarray | None, weights: np.ndarray | None, true: np.ndarray,
            pred: np.ndarray, reference: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """:meth:`update`, and for the rows of another weight than 0/1 what the per-row
        path needs (``flush_bootstrap``'s ``pending``: their ids, one-hot cells, weights)."""
        pred = np.asarray(pred).astype(np.int64)
        ref = None if reference is None else np.asarray(reference).astype(np.int64)
        other = self.update(true, pred, weights, ref)
        if other is None:
            return None
        if ids is None:
            raise ValueError("the bootstrap needs row identities")
        assert weights is not None
        cols = self.columns_of(true[other], pred[other], None if ref is None else ref[other])
        return ids[other], cols, np.asarray(weights)[other]

    def columns_of(self, true: np.ndarray, pred: np.ndarray,
                   reference: np.ndarray | None = None) -> np.ndarray:
        """The one-hot (n, :attr:`columns`) cells of weighted rows (their per-row path)."""
        k2 = self.classes ** 2
        at = np.asarray(true, dtype=np.int64) * self.classes + np.asarray(pred, dtype=np.int64)
        out = np.zeros((at.shape[0], self.columns))
        rows = np.arange(at.shape[0])
        out[rows, at] = 1.0
        if self.paired:
            assert reference is not None
            ref = np.asarray(true, dtype=np.int64) * self.classes + np.asarray(reference,
                                                                                dtype=np.int64)
            out[rows, k2 + ref] = 1.0
        return out

    def add_chunk(self, rows: int, totals: np.ndarray, sums: np.ndarray,
                  positive: int | None = None) -> None:
        """The per-row replicate sums of a chunk's weighted rows (``flush_bootstrap``)."""
        if self.weighted is None:
            self.weighted = BootstrapSums(self.replicates, self.seed, self.columns)
        self.weighted.add_chunk(rows, totals, sums, positive)

    def merge(self, other: CellResample | BootstrapSums) -> CellResample:
        """Fold ``other`` in; a state saved before the cell bootstrap (per-row sums of every
        row, a :class:`BootstrapSums`) joins as weighted rows (one bootstrap still)."""
        if isinstance(other, BootstrapSums):
            other = CellResample.from_rows(other, self.classes, paired=self.paired,
                                           stream=self.stream)
        if (other.classes, other.replicates, other.seed, other.paired) != (
                self.classes, self.replicates, self.seed, self.paired):
            raise ValueError("cannot merge cell bootstraps of different tables or seeds")
        self.stream = self.stream or other.stream
        self.counts += other.counts
        self.unit_rows += other.unit_rows
        self.unit_positive += other.unit_positive
        if other.weighted is not None:
            if self.weighted is None:
                self.weighted = BootstrapSums(self.replicates, self.seed, self.columns)
            self.weighted.merge(other.weighted)
        return self

    @classmethod
    def from_rows(cls, sums: BootstrapSums, classes: int, *, paired: bool = False,
                  stream: int = 0) -> CellResample:
        """A state saved before the cell bootstrap: its per-row sums, as weighted rows."""
        out = cls(classes, sums.replicates, sums.seed, paired=paired, stream=stream)
        check(sums.columns == out.columns, "bootstrap", "columns other than the table's")
        out.weighted = sums
        return out

    # -- replicates -------------------------------------------------------------------------
    def tables(self) -> np.ndarray:
        """(B, K, K) replicate tables; paired: (2, B, K, K), the model's and the
        reference's from the same joint draw."""
        k, b = self.classes, self.replicates
        draws = cell_draws(self.counts, b, self.seed, self.stream)
        if self.paired:
            joint = draws.reshape(b, k, k, k)  # (b, t, p_model, p_reference)
            out = np.stack([joint.sum(axis=3), joint.sum(axis=2)])
            if self.weighted is not None:  # (b, [model, reference], t, p)
                out = out + self._weighted_sums().reshape(b, 2, k, k).transpose(1, 0, 2, 3)
            return out
        out = draws.reshape(b, k, k)
        if self.weighted is not None:
            out = out + self._weighted_sums().reshape(b, k, k)
        return out

    def _weighted_sums(self) -> np.ndarray:
        assert self.weighted is not None
        return np.array([[s.value for s in row] for row in self.weighted.sums])

    # -- serialisation ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        nz = np.flatnonzero(self.counts)
        return {"kind": self.kind, "classes": self.classes, "replicates": self.replicates,
                "seed": hex(self.seed), "paired": self.paired, "stream": hex(self.stream),
                "rows": self.unit_rows, "positive": self.unit_positive,
                "cells": [[int(c), int(self.counts[c])] for c in nz],
                "weighted": None if self.weighted is None else self.weighted.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CellResample:
        """From :meth:`to_dict`'s JSON, every field checked (:mod:`losscli.stats.fields`):
        cells inside the table, counts that add up to the rows of positive weight."""
        f = Fields(data)
        f.text("kind", choices=(cls.kind,))
        seed = nested("seed", lambda: int(f.text("seed", longest=20), 16))
        stream = nested("stream", lambda: int(f.text("stream", longest=20), 16))
        check(0 <= seed < 1 << 64 and 0 <= stream < 1 << 64, "seed", "expected 64-bit seeds")
        out = cls(f.count("classes", lo=1, hi=100), f.count("replicates", lo=1, hi=100_000),
                  seed, paired=f.flag("paired"), stream=stream)
        out.unit_rows = f.count("rows")
        out.unit_positive = f.count("positive", hi=out.unit_rows)

        def cell(item: Any) -> tuple[int, int]:
            ok = (isinstance(item, list) and len(item) == 2
                  and all(isinstance(x, int) and not isinstance(x, bool) for x in item))
            check(ok and 0 <= item[0] < out.counts.size and item[1] > 0, "",
                  f"expected [cell, count] with a cell below {out.counts.size}")
            return int(item[0]), int(item[1])

        for c, n in f.each("cells", cell, longest=out.counts.size):
            out.counts[c] += n
        check(int(out.counts.sum()) == out.unit_positive, "cells",
              "cell counts that do not add up to the rows of positive weight")
        if f.has("weighted") and data.get("weighted") is not None:
            out.weighted = f.part("weighted", BootstrapSums.from_dict)
            check((out.weighted.replicates, out.weighted.seed, out.weighted.columns) == (
                out.replicates, out.seed, out.columns), "weighted",
                "replicates, seed or columns other than the table's")
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CellResample) and self.to_dict() == other.to_dict()


def confusion_replicates(boot: CellResample | BootstrapSums, classes: int,
                         spec: ConfusionSpec) -> np.ndarray:
    """A confusion metric of each replicate (paired: model − reference). ``boot`` a
    :class:`BootstrapSums` is a state saved before the cell bootstrap (its per-row replicate
    means of the K² cells)."""
    if isinstance(boot, BootstrapSums):
        return replicate_values(boot.means().reshape(-1, classes, classes), spec)
    tables = boot.tables()
    if boot.paired:
        return replicate_values(tables[0], spec) - replicate_values(tables[1], spec)
    return replicate_values(tables, spec)
