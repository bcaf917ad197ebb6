"""Ranking metrics per query (``--query-col``): ndcg, mrr, map, precision_at_k and
recall_at_k, each the weighted mean over queries of its value on one query
(:mod:`losscli.stats.queries`).

A query's value needs all its rows, which may come in any order, in any chunk or unit. The
state keeps two things:

* **records**, one per finished query: its identity (the 64-bit hash of its query value,
  :func:`losscli.stats.resample.key_ids` — the same in every chunk, unit and process), its
  weight, its value and whether it had a relevant item: 25 bytes per query;
* **held rows** of the queries not known to be finished: (query hash, score, relevance,
  weight), 32 bytes per row.

Two modes. **keyed** (any row order, and stdin): every row is held until the end, then
each query's rows are grouped by hash and reduced. **contiguous** (the session's first pass
over the query column found every query in one run of rows): a query is finished when the
next one starts, so only the rows of the unit's first query (it may have begun in the
previous unit) and of the open one are held — at most the two largest queries' rows,
whatever the number of rows. Either way a query's value is computed once, from its rows
put in one canonical order, and the mean is a correctly rounded sum (``math.fsum``) over
the records, so every chunking, unit split, worker count, engine and merge gives the same
bits. A query reduced in one part and seen again in another (the input was not contiguous
across the parts of a merge) is an input error, not a silent double count.

Weights are per query (``sklearn.metrics.ndcg_score``'s ``sample_weight``): every row of a
query must carry the same weight.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from losscli.aggregate_base import Aggregate, zero_weight_error
from losscli.errors import InputError
from losscli.stats.fields import FieldError, Fields, check, decode_array, encode_array
from losscli.stats.queries import METRICS, query_value

if TYPE_CHECKING:
    from typing_extensions import Self

#: Bytes a held row costs (hash, score, relevance, weight) and a finished query's record.
ROW_BYTES = 32
QUERY_BYTES = 25
MODES = ("keyed", "contiguous")
#: The policy for a query without a relevant item (stated in the JSON details).
NO_RELEVANT_POLICY = "scores 0 (torchmetrics' empty_target_action='neg')"

_Rows = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # hash, score, relevance, weight


def _concat(parts: list[_Rows]) -> _Rows:
    if not parts:
        return (np.empty(0, np.uint64), np.empty(0), np.empty(0), np.empty(0))
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(4))  # type: ignore[return-value]


class QueryRanking(Aggregate):
    """The state of one ranking metric over queries (see the module doc)."""

    name = "query_ranking"
    per_row = False
    needs = ("target", "query", "query_key", "query_row")

    def __init__(self, metric: str = "ndcg", k: int | None = None,
                 mode: str = "keyed") -> None:
        super().__init__()
        if metric not in METRICS:
            raise ValueError(f"metric: expected one of {METRICS}, got {metric!r}")
        if k is not None and not (isinstance(k, int) and k >= 1):
            raise ValueError(f"k: expected a whole number >= 1, got {k!r}")
        if mode not in MODES:
            raise ValueError(f"mode: expected one of {MODES}, got {mode!r}")
        self.metric, self.k, self.mode = metric, k, mode
        self.held: list[_Rows] = []  # keyed: every row; contiguous: the open query's rows
        self.head: int | None = None  # contiguous: the part's first query (kept whole)
        self.head_rows: list[_Rows] = []
        self.tail: int | None = None  # contiguous: the open query
        self.records: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        #: the most rows held at once by this process's parts (not saved: a state's
        #: identity is its rows and queries, not how it was read)
        self.held_max = 0
        self._cache: tuple[Any, Any] | None = None

    @classmethod
    def create(cls, inst: Any) -> Aggregate:
        k = inst.params.get("k")
        return cls(inst.spec.name, None if k is None else int(k),
                   str(inst.options.get("query_mode", "keyed")))

    def config(self) -> dict[str, Any]:
        return {"metric": self.metric, "k": self.k, "mode": self.mode}

    # -- running state ------------------------------------------------------------------
    def update(self, losses: np.ndarray, weights: np.ndarray | None,
               arrays: dict[str, np.ndarray] | None = None) -> None:
        n = losses.shape[0]
        if n == 0:
            return
        arrays = arrays or {}
        if "query" not in arrays:
            raise ValueError(f"{self.metric} needs the query of every row (--query-col)")
        h = np.asarray(arrays["query"])
        if h.dtype != np.uint64:  # query values, not yet their identities
            from losscli.stats.resample import key_ids

            h = key_ids(h)
        w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
        rows: _Rows = (h, np.asarray(losses, dtype=np.float64),
                       np.asarray(arrays["target"], dtype=np.float64), w)
        if weights is not None:
            self._check_weights(rows, arrays)
        self.count(n, weights)
        if self.mode == "keyed":  # copies: a view would keep the whole chunk alive
            self.held.append(tuple(np.array(a) for a in rows))  # type: ignore[arg-type]
            self.held_max = max(self.held_max, self.rows_held())
            return
        self._update_contiguous(rows)

    def _check_weights(self, rows: _Rows, arrays: dict[str, np.ndarray]) -> None:
        """Every row of a query has one weight: within this chunk, and (contiguous) against
        the open and the first query's rows."""
        h, _, _, w = rows
        known = {}
        for parts in (self.held, self.head_rows):
            if parts and self.mode == "contiguous":
                known[int(parts[0][0][0])] = float(parts[0][3][0])
        order = np.argsort(h, kind="stable")
        hs, ws = h[order], w[order]
        first = np.concatenate(([True], hs[1:] != hs[:-1]))
        lead = np.maximum.accumulate(np.where(first, np.arange(len(hs)), 0))
        bad = ws != ws[lead]
        for q, wq in known.items():
            bad |= (hs == np.uint64(q)) & (ws != wq)
        if bad.any():
            i = int(order[np.flatnonzero(bad)[0]])
            key = arrays.get("query_key")
            row = arrays.get("query_row")
            value: Any = None if key is None else key[i]
            value = value.item() if hasattr(value, "item") else value
            name = "" if key is None else f" {value!r}"
            at = "" if row is None else f" at row {int(row[i])}"
            raise InputError(
                f"Sample weights vary within query{name}{at} (weight {float(w[i])!r}): "
                f"{self.metric} weighs whole queries (sklearn's ndcg_score sample_weight), "
                "so every row of a query must carry the same weight. Give a query's rows "
                "one --weight-col value.")

    def _update_contiguous(self, rows: _Rows) -> None:
        h = rows[0]
        if self.head is None:
            self.head = int(h[0])
        is_head = h == np.uint64(self.head)
        if is_head.any():
            self.head_rows.append(tuple(a[is_head] for a in rows))  # type: ignore[arg-type]
            rows = tuple(a[~is_head] for a in rows)  # type: ignore[assignment]
            h = rows[0]
        if h.shape[0]:
            last = int(h[-1])
            open_ = h == np.uint64(last)
            done: list[_Rows] = [tuple(a[~open_] for a in rows)]  # type: ignore[list-item]
            if self.tail is not None and self.tail != last:
                done.extend(self.held)  # the open query ended with this chunk
                self.held = []
            self.held.append(tuple(a[open_] for a in rows))  # type: ignore[arg-type]
            self.tail = last
            finished = _concat(done)
            if finished[0].shape[0]:
                self.records.append(self._reduce(finished))
                self._compact()
        self.held_max = max(self.held_max, self.rows_held())

    def _compact(self) -> None:
        """Keep O(log queries) record arrays (each numpy array costs ~100 bytes of header):
        the newest is joined with the one before while it is at least half its size, as a
        binary counter carries — each record is copied O(log queries) times."""
        while len(self.records) >= 2 and (
                2 * self.records[-1][0].shape[0] >= self.records[-2][0].shape[0]):
            last = self.records.pop()
            self.records[-1] = _join_records([self.records[-1], last])

    def nbytes(self) -> int:
        """The bytes of the arrays this state holds: records and held rows."""
        return sum(a.nbytes for part in (*self.records, *self.held, *self.head_rows)
                   for a in part)

    def rows_held(self) -> int:
        return sum(p[0].shape[0] for p in (*self.held, *self.head_rows))

    def _reduce(self, rows: _Rows) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The records of the whole queries in ``rows``: (hash, weight, value, relevant)."""
        h, s, r, w = rows
        order = np.lexsort((r, -s, h))
        h, s, r, w = h[order], s[order], r[order], w[order]
        starts = np.flatnonzero(np.concatenate(([True], h[1:] != h[:-1])))
        ends = np.append(starts[1:], h.shape[0])
        values = np.empty(len(starts))
        for j, (a, b) in enumerate(zip(starts.tolist(), ends.tolist())):
            values[j] = query_value(self.metric, self.k, s[a:b], r[a:b])
        lead = np.repeat(w[starts], ends - starts)
        if (w != lead).any():
            raise InputError(
                f"Sample weights vary within a query (rows of one --query-col value in "
                f"different chunks): {self.metric} weighs whole queries, so every row of a "
                "query must carry the same weight.")
        relevant = np.logical_or.reduceat(r > 0, starts)
        return h[starts], w[starts], values, relevant

    def merge(self, other: Aggregate) -> Self:
        self.same_kind(other)
        assert isinstance(other, QueryRanking)
        if (other.metric, other.k) != (self.metric, self.k):
            raise ValueError("cannot merge ranking states of different metrics or k")
        if other.rows and not self.rows:
            self.mode = other.mode
        elif other.rows and other.mode != self.mode:
            self.mode = "keyed"  # a part ran keyed: the run as a whole was not contiguous
        super().merge(other)
        # after a merge nothing is updated any more: every held row is one list
        self.held = [*self.head_rows, *self.held, *other.head_rows, *other.held]
        self.head_rows, self.head, self.tail = [], None, None
        self.records.extend(other.records)
        self.held_max = max(self.held_max, other.held_max)
        return self

    # -- results --------------------------------------------------------------------------
    def per_query(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every query's (hash, weight, value, relevant), sorted by hash: the finished
        records and the held rows reduced (once: kept until the state changes). A query in
        two records (reduced in two parts) is an InputError."""
        key = (self.rows, len(self.records), len(self.held), len(self.head_rows))
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, self._per_query())
        return self._cache[1]

    def _per_query(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        parts = list(self.records)
        held = _concat([*self.head_rows, *self.held])
        if held[0].shape[0]:
            parts.append(self._reduce(held))
        if not parts:
            return (np.empty(0, np.uint64), np.empty(0), np.empty(0), np.empty(0, bool))
        h, w, v, rel = (np.concatenate([p[i] for p in parts]) for i in range(4))
        order = np.argsort(h, kind="stable")
        h, w, v, rel = h[order], w[order], v[order], rel[order]
        if h.shape[0] > 1 and (h[1:] == h[:-1]).any():
            raise InputError(
                f"A query's rows were reduced in two parts that do not follow each other "
                f"({self.metric}): the input was read as contiguous queries, but a query "
                "came back after another one. Merge states of inputs split at query "
                "boundaries, or sort the input by --query-col.")
        return h, w, v, rel

    def own_result(self) -> float:
        _, w, v, _ = self.per_query()
        total = math.fsum(w.tolist())
        if total <= 0:
            raise zero_weight_error()
        return math.fsum((w * v).tolist()) / total

    def details(self) -> dict[str, Any] | None:
        if self.rows == 0:
            return None
        try:
            _, _, _, rel = self.per_query()
        except InputError:
            return None
        return {"queries": int(rel.shape[0]), "queries_without_relevant":
                int(np.count_nonzero(~rel)), "no_relevant_policy": NO_RELEVANT_POLICY,
                "mode": self.mode, "rows_held_max": self.held_max,
                "bytes_per_held_row": ROW_BYTES, "bytes_per_query": QUERY_BYTES}

    # -- intervals over queries -------------------------------------------------------------
    def query_interval(self, estimate: float, ci: Any, level: float, method: str) -> Any:
        """The interval of the mean over queries: normal (``analytic``: the moments of the
        per-query values, Kish's n_eff over the query weights) or a Poisson bootstrap that
        resamples whole queries (``bootstrap``: a query's replicate weight is a hash of the
        seed and its query value, as :class:`~losscli.stats.resample.BootstrapSums` does for
        rows), percentile interval."""
        from losscli.stats import intervals
        from losscli.stats.intervals import Interval, Moments

        _, w, v, _ = self.per_query()
        if method == "analytic":
            m = Moments()
            m.update(v, w)
            return intervals.mean_interval(m, level)
        if np.count_nonzero(w > 0) < 2:
            return Interval(estimate, None, None, level, "percentile",
                            reason="fewer than two queries with positive weight: the "
                                   "bootstrap needs at least 2")
        return intervals.bootstrap_interval(estimate, self.query_replicates(ci), level,
                                            "percentile")

    def query_replicates(self, ci: Any) -> np.ndarray:
        """The bootstrap replicates of the mean over queries: a query's Poisson(1) weight
        in replicate b is a hash of (seed, its query value, b), so the same query weighs
        the same in every part, group and model."""
        h, w, v, _ = self.per_query()
        return _replicate_means(h, w, v, ci)

    # -- serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        h, w, v, rel = (np.concatenate([p[i] for p in self.records]) if self.records else
                        np.empty(0, dt) for i, dt in enumerate((np.uint64, float, float, bool)))
        order = np.argsort(h, kind="stable")
        held = _concat([*self.head_rows, *self.held])
        horder = np.lexsort((held[3], held[2], held[1], held[0]))
        return {**super().to_dict(),
                "records": [encode_array(x[order], t) for x, t in zip(
                    (h, w, v, rel), ("<u8", "<f8", "<f8", "u1"))],
                "held": [encode_array(a[horder], t) for a, t in zip(held, ("<u8", "<f8", "<f8", "<f8"))]}

    def _load(self, f: Fields) -> None:
        super()._load(f)
        rec = f.raw("records")
        held = f.raw("held")
        if not (isinstance(rec, list) and len(rec) == 4 and isinstance(held, list)
                and len(held) == 4):
            raise FieldError("records", "expected four base64 arrays of records and of rows")
        h, w, v, rel = (decode_array(x, t, "records") for x, t in zip(rec, ("<u8", "<f8", "<f8", "u1")))
        check(len({len(h), len(w), len(v), len(rel)}) == 1, "records",
              "arrays of different lengths")
        check(bool(np.all(w >= 0)) and bool(np.all(rel <= 1)), "records",
              "a negative weight or a relevance flag other than 0/1")
        rows = tuple(decode_array(x, t, "held") for x, t in zip(held, ("<u8", "<f8", "<f8", "<f8")))
        check(len({len(a) for a in rows}) == 1 and bool(np.all(rows[3] >= 0)), "held",
              "arrays of different lengths or a negative weight")
        check(len(rows[0]) <= self.rows and len(h) <= self.rows, "held",
              f"more rows or queries than the {self.rows} rows counted")
        self.records = [(h, w, v, rel.astype(bool))] if len(h) else []
        self.held = [rows] if len(rows[0]) else []  # type: ignore[list-item]


def _join_records(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    h, w, v, rel = (np.concatenate([p[i] for p in parts]) for i in range(4))
    return h, w, v, rel


def _replicate_means(h: np.ndarray, w: np.ndarray, v: np.ndarray, ci: Any) -> np.ndarray:
    """Per replicate, Σ P·w·v / Σ P·w over the queries (hashes ``h`` sorted: one order, so
    the same bits for every part and merge), P the queries' Poisson(1) weights."""
    from losscli.stats.resample import poisson_weights, replicate_sums

    tot, num = np.zeros(ci.replicates), np.zeros(ci.replicates)
    for lo in range(0, h.shape[0], 8192):
        pw = poisson_weights(ci.seed, h[lo:lo + 8192], ci.replicates).astype(np.float64)
        tot += replicate_sums(pw, w[lo:lo + 8192])
        num += replicate_sums(pw, (w * v)[lo:lo + 8192])
    with np.errstate(all="ignore"):
        return np.where(tot > 0, num / np.where(tot > 0, tot, 1.0), np.nan)


class QueryPairs:
    """A paired comparison of two models' ranking metric per query (``compare`` and the
    paired gate): both models' states over the same rows, and the per-query differences
    d_q = v_q(model) − v_q(reference) with the queries' weights — a paired normal test and
    interval on their weighted mean (the difference of the two means), or a bootstrap that
    resamples whole queries. Memory: the two states' (see :class:`QueryRanking`)."""

    needs = QueryRanking.needs

    def __init__(self, metric: str, k: int | None, mode: str) -> None:
        self.mine = QueryRanking(metric, k, mode)
        self.reference = QueryRanking(metric, k, mode)

    def update(self, scores: np.ndarray, reference: np.ndarray, view: dict[str, np.ndarray],
               weights: np.ndarray | None) -> None:
        arrays = {r: view[r] for r in QueryRanking.needs if r in view}
        self.mine.update(scores, weights, arrays)
        self.reference.update(reference, weights, arrays)

    def merge(self, other: QueryPairs) -> QueryPairs:
        self.mine.merge(other.mine)
        self.reference.merge(other.reference)
        return self

    def differences(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(query hashes, weights, d_q), sorted by hash."""
        h, w, v, _ = self.mine.per_query()
        h_ref, _, v_ref, _ = self.reference.per_query()
        if not np.array_equal(h, h_ref):
            raise ValueError("the paired states hold different queries")
        return h, w, v - v_ref

    def _moments(self) -> Any:
        from losscli.stats.intervals import Moments

        _, w, d = self.differences()
        m = Moments()
        m.update(d, w)
        return m

    def _replicates(self, ci: Any) -> np.ndarray:
        return _replicate_means(*self.differences(), ci)

    def _few(self) -> str | None:
        n = int(np.count_nonzero(self.differences()[1] > 0))
        return None if n >= 2 else (f"fewer than two queries ({n} with positive weight): no "
                                    "paired test")

    def query_interval(self, estimate: float, ci: Any, level: float, method: str) -> Any:
        from losscli.stats import intervals
        from losscli.stats.intervals import Interval

        few = self._few()
        if few:
            return Interval(estimate, None, None, level, "n/a", reason=few)
        if method == "analytic":
            return intervals.mean_interval(self._moments(), level)
        return intervals.bootstrap_interval(estimate, self._replicates(ci), level, "percentile")

    def test(self, ci: Any, method: str) -> Any:
        """Two-sided test that the mean per-query difference is 0: the paired normal test
        (analytic), or the bootstrap's p = 2·min(P(d* ≤ 0), P(d* ≥ 0)), at least 1/B."""
        from losscli.stats import intervals

        few = self._few()
        if few:
            return intervals.TestResult(math.nan, None, "paired-normal", few)
        if method == "analytic":
            return intervals.paired_test(self._moments())
        reps = self._replicates(ci)
        reps = reps[np.isfinite(reps)]
        tail = min(np.mean(reps <= 0.0), np.mean(reps >= 0.0))
        p = float(min(1.0, max(2.0 * tail, 1.0 / reps.size)))
        return intervals.TestResult(float(np.mean(reps)), p, "bootstrap")

    def to_dict(self) -> dict[str, Any]:
        return {"mine": self.mine.to_dict(), "reference": self.reference.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QueryPairs:
        f = Fields(data)
        mine = f.part("mine", QueryRanking.from_dict)
        ref = f.part("reference", QueryRanking.from_dict)
        out = cls(mine.metric, mine.k, mine.mode)
        out.mine, out.reference = mine, ref
        return out
