"""Binding rows across files: how the rows of a separate targets file meet the
predictions' rows — by key (``--id-col``: :func:`bind_join`, the targets read into a
:class:`~losscli.io.join.KeyIndex`) or, without a key, by row order, with any id-like column
both files hold read on both sides so that rows listed in different orders stop the run
(:func:`id_columns`). The :class:`~losscli.io.inputs.Inputs` change only through their own
methods (:meth:`~Inputs.join_role`, :meth:`~Inputs.take_labels`, :meth:`~Inputs.bind_raw`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from losscli.errors import InputError, UsageError
from losscli.io.inputs import Inputs, raw_column
from losscli.io.join import KeyIndex

#: Column names that identify rows (checked on both sides of a row-aligned pair of files).
ID_LIKE = re.compile(r"^(id|key|uid|uuid|guid|row_?id|sample_?id|record_?id|index)$|[_-]id$"
                     r"|^id[_-]|[_-]key$")


def id_columns(inputs: Inputs, main: Any) -> tuple[tuple[str, str, str, str, str], ...]:
    """Without --id-col, an id-like column (``id``, ``*_id``, ``key``, ``uid``...) found
    in both the predictions' and a separate targets file is read on both sides, so that
    rows listed in different orders stop the run instead of giving a wrong number (see
    :data:`losscli.engine.Plan.aligned`)."""
    target = inputs.roles.get("target")
    if target is None or target.source is main:
        return ()
    used = {c for ref in inputs.roles.values() for c in ref.columns}
    found = []
    for column in main.columns:
        name = str(column)
        if name in used or not ID_LIKE.search(name.lower()):
            continue
        other = raw_column(target.source, name)
        if other is None or other in target.columns:
            continue
        mine, theirs = f"\x00align:{name}:pred", f"\x00align:{name}:target"
        inputs.bind_raw(mine, main, name)
        inputs.bind_raw(theirs, target.source, other)
        found.append((name, mine, theirs, str(main.name), str(target.source.name)))
    return tuple(found)


def bind_join(inputs: Inputs, main: Any, *, id_col: tuple[str, ...],
              target_id_col: tuple[str, ...], targets_given: bool, omit: bool,
              group_by: Sequence[str], model_names: Sequence[str],
              chunk_size: int) -> KeyIndex:
    """--id-col: take the targets (and a weight column of the targets' file, or a weights
    file) out of the row-aligned inputs into a :class:`~losscli.io.join.KeyIndex`; the
    predictions' key columns are read raw beside them. Models of a comparison in files
    of their own (``model_names``: every model's, the first's file is ``main``) are joined
    to the same index by the same key (every model on the same keys:
    :meth:`~losscli.io.join.KeyIndex.attach_model`); the first model's file is streamed.
    ``omit``: --unmatched omit; ``group_by`` columns that only the targets' file has are
    read there and joined by key with the targets."""
    target = inputs.roles.get("target")
    if not targets_given or target is None or target.source is main:
        raise UsageError(
            "--id-col joins the predictions to a separate targets file by key; give it "
            "with --targets FILE (in one file, rows are already paired: drop --id-col).")
    # Models in files of their own (compare a=x.parquet b=y.parquet, check --reference):
    # each is joined to the targets by the same key, so all are read on the same keys.
    joined_models = [(f"pred#{m}", name) for m, name in enumerate(model_names)
                     if m and inputs.roles[f"pred#{m}"].source is not main]
    tkeys = target_id_col or id_col
    tflag = "--target-id-col" if target_id_col else "--id-col"
    weight = inputs.roles.get("weight")
    checks = [*((n, main, "--id-col", "") for n in id_col),
              *((n, target.source, tflag, "") for n in tkeys),
              *((n, inputs.roles[role].source, "--id-col", f" (model '{name}')")
                for role, name in joined_models for n in id_col)]
    if weight is not None and weight.source is not main and weight.source is not (
            target.source):
        checks += [(n, weight.source, tflag, " (the weights file)") for n in tkeys]
    for name, source, flag, what in checks:
        if raw_column(source, name) is None:
            hint = (f"; the weights are joined to the targets by key: add the key column "
                    f"'{name}' to it, or give the weights as a column of the targets file with "
                    "--weight-col" if what == " (the weights file)" else
                    f"; name it with {flag}"
                    + (" (--target-id-col when the targets call it otherwise)"
                       if flag == "--id-col" and source is target.source else ""))
            raise InputError(
                f"No key column '{name}' in '{source.name}'{what} (columns: "
                f"{', '.join(map(str, source.columns))}){hint}.")
    inputs.join_role("target")
    columns = {"target": target.columns}
    weights = None
    if weight is not None and weight.source is target.source:
        columns["weight"] = weight.columns
        inputs.join_role("weight")
    elif weight is not None and weight.source is not main:  # a weights file, by key
        weights = (weight.source, weight.columns,
                   tuple(raw_column(weight.source, n) or n for n in tkeys))
        inputs.join_role("weight")
    pred_where = (f"'{main.name}'" if not joined_models else
                  f"model '{model_names[0]}' ('{main.name}')")
    # --group-by columns that the row-aligned inputs lack but the targets' file has are
    # read there and joined by key with the targets.
    aligned = [ref.source for ref in inputs.roles.values()]
    extra = {name: col for name in group_by
             if not any(raw_column(src, name) is not None for src in aligned)
             and (col := raw_column(target.source, name)) is not None}
    join = KeyIndex.read(target.source, columns,
                         tuple(raw_column(target.source, n) or n for n in tkeys),
                         id_col, chunk_size, pred_where, weights,
                         inputs.take_labels("target"), extra)
    for role, name in joined_models:
        ref = inputs.join_role(role)
        join.attach_model(
            role, ref.source, ref.columns,
            tuple(raw_column(ref.source, n) or n for n in id_col),
            name=name, omit=omit, chunk_size=chunk_size)
    return join
