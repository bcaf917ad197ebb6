"""The query column (``--query-col``): how the ranking metrics per query are bound to a
session, and the first pass that decides whether the queries come in contiguous runs.

The first pass reads the query column alone (as :mod:`losscli.labels.first_pass` reads a
label column) and hashes each value (:func:`losscli.stats.resample.key_ids`, the identity
the engine gives the rows' queries); it keeps one hash per run of equal values (8 bytes a
query) and the input is contiguous when no hash starts two runs. Standard input cannot be
read twice: it is evaluated in the keyed mode without a first pass.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from losscli.aggregate_base import kind
from losscli.errors import InputError, UsageError
from losscli.io.base import MultiFile, raw_key, readable_twice

if TYPE_CHECKING:
    from losscli.grouping import BatchGroups
    from losscli.io.inputs import Batch
    from losscli.query_aggregate import QueryRanking
    from losscli.registry import LossInstance
    from losscli.state import State

#: The aggregate kind of the metrics per query (:mod:`losscli.query_aggregate`, loaded with
#: the first of them: :data:`losscli.aggregate_base.KIND_MODULES`).
QUERY_KIND = "query_ranking"


def _query_ranking() -> type[QueryRanking]:
    return kind(QUERY_KIND)  # type: ignore[return-value]


#: Rows per chunk of the first pass.
SCAN_ROWS = 1 << 18


def ranking_losses(instances: Sequence[Any]) -> list[str]:
    return [inst.name for inst in instances if inst.spec.aggregate_kind == QUERY_KIND]


def check_query(instances: Sequence[Any], query_col: str | None) -> None:
    """A ranking metric needs --query-col, and --query-col needs a ranking metric."""
    from losscli.registry import all_losses

    ranking = ranking_losses(instances)
    others = [inst.name for inst in instances if inst.spec.aggregate_kind != QUERY_KIND]
    users = [s.name for s in all_losses().values() if s.aggregate_kind == QUERY_KIND]
    if ranking and query_col is None:
        raise UsageError(f"{', '.join(ranking)} ranks the items of each query: name the "
                         "column holding each row's query with --query-col COL (query_col=).")
    if query_col is not None and not ranking:
        raise UsageError(f"--query-col {query_col} is read only by {', '.join(users)}, which "
                         f"is not selected; add --loss {users[0]}, or drop --query-col.")
    if query_col is not None and others:
        raise UsageError(f"--query-col {query_col}: {', '.join(others)} "
                         f"{'is' if len(others) == 1 else 'are'} not a metric per query; "
                         f"evaluate {', '.join(others)} in a run without --query-col, or "
                         f"select only {', '.join(users)}.")


def bind_mode(instances: Sequence[Any], mode: str) -> list[Any]:
    """The instances with the ranking metrics' ``query_mode`` option set."""
    return [replace(inst, options={**inst.options, "query_mode": mode})
            if inst.spec.aggregate_kind == QUERY_KIND else inst for inst in instances]


def query_mode(inputs: Any, name: str) -> str:
    """``contiguous`` when every query of the input is one run of rows (a first pass over
    the query column), ``keyed`` otherwise or when it cannot be read twice."""
    from losscli.stats.resample import key_ids

    source, column = inputs.keys[name]
    if not readable_twice(source):
        return "keyed"

    def chunks() -> Iterator[Iterator[dict[str, np.ndarray]]]:
        if isinstance(source, MultiFile):
            for i in range(len(source.files)):
                yield source.read_part(i, [], SCAN_ROWS, (column,))
        else:
            yield source.chunks([], SCAN_ROWS, (column,))

    starts: list[np.ndarray] = []
    last: int | None = None
    for part in chunks():
        for chunk in part:
            if not chunk:
                continue
            h = key_ids(chunk[raw_key(column)])
            if h.shape[0] == 0:
                continue
            first = np.concatenate(([True], h[1:] != h[:-1]))
            if last is not None and int(h[0]) == last:
                first[0] = False  # the run goes on from the previous chunk
            starts.append(h[first])
            last = int(h[-1])
    if not starts:
        return "contiguous"
    runs = np.concatenate(starts)
    return "contiguous" if np.unique(runs).shape[0] == runs.shape[0] else "keyed"


def query_ids(values: Any) -> np.ndarray:
    """The queries of a batch's rows: the hash of each value (uint64)."""
    from losscli.stats.resample import key_ids

    return key_ids(values)


def _spanning(column: str, query: Any, a: Any, b: Any, row: int | None = None) -> InputError:
    at = "" if row is None else f" (row {row})"
    name = "a query" if query is None else f"query {query!r}"
    a, b = (", ".join(repr(_plain(v)) for v in k) if isinstance(k, tuple) else k
            for k in (a, b))
    return InputError(
        f"--query-col {column}: {name}{at} has rows in two groups of --group-by, {a} and "
        f"{b}; a query is ranked as a whole, so it must belong to one group. Group by a "
        "column that is constant within each query.")


def check_groups(batch: Batch, column: str, groups: BatchGroups, seen: dict[int, Any],
                 instances: Sequence[LossInstance]) -> None:
    """Every query of a batch in one group (--group-by), and in the group it had in the
    earlier batches of this pass (``seen``: query hash -> group key; in the contiguous mode
    only the open query is remembered, since no finished query comes back)."""
    keyed = any(i.options.get("query_mode") == "keyed" for i in instances)
    raw = batch.keys[column]
    h = query_ids(raw)
    if h.shape[0] == 0:
        return
    codes = groups.codes
    order = np.lexsort((codes, h))
    hs, cs = h[order], codes[order]
    clash = (hs[1:] == hs[:-1]) & (cs[1:] != cs[:-1])
    rows = (batch.rows if batch.rows is not None
            else np.arange(batch.start, batch.start + len(h)))
    if clash.any():
        j = int(np.flatnonzero(clash)[0])
        i = int(order[j + 1])
        raise _spanning(column, _plain(raw[i]), groups.keys[int(cs[j])],
                        groups.keys[int(cs[j + 1])], int(rows[i]))
    firsts = np.flatnonzero(np.concatenate(([True], hs[1:] != hs[:-1])))
    for j in firsts.tolist():
        q, key = int(hs[j]), groups.keys[int(cs[j])]
        if seen.get(q, key) != key:
            i = int(order[j])
            raise _spanning(column, _plain(raw[i]), seen[q], key, int(rows[i]))
    if keyed:
        seen.update({int(hs[j]): groups.keys[int(cs[j])] for j in firsts.tolist()})
    else:
        last = int(h[-1])
        seen.clear()
        seen[last] = groups.keys[int(codes[-1])]


def check_state_groups(state: State, column: str | None) -> None:
    """No query in two groups' states (parts reduced apart: units, workers, merged files)."""
    if column is None or not state.groups:
        return
    owner: dict[int, Any] = {}
    for key, cells in state.groups.items():
        for agg in cells[0].losses:
            if agg.name != QUERY_KIND:
                continue
            assert isinstance(agg, _query_ranking())
            h = agg.per_query()[0]
            for q in h.tolist():
                if owner.setdefault(q, key) != key:
                    raise _spanning(column, None, owner[q], key)
            break


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def query_view(view: dict[str, Any], batch: Batch, column: str, keep: np.ndarray | None,
               rows: np.ndarray | None) -> None:
    """Add each kept row's query to a model's view of a batch: its hash (role ``query``),
    its value and its row number (for messages), as :class:`QueryRanking` reads them."""
    raw = batch.keys[column]
    ids = query_ids(raw)
    numbers = (rows if rows is not None else batch.rows if batch.rows is not None
               else np.arange(batch.start, batch.start + len(batch)))
    if keep is not None:
        ids, raw = ids[keep], raw[keep]
        numbers = numbers if rows is not None else numbers[keep]
    view["query"], view["query_key"], view["query_row"] = ids, raw, numbers
