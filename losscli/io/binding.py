"""Binding columns to roles, and rows across files.

:func:`resolve_inputs` opens the files and binds columns to each role (given, or detected
from common names) into :class:`~losscli.io.inputs.Inputs`, which only read them;
:func:`bind_model` adds a model of a comparison. Rows of a separate targets file meet the
predictions' rows by key (``--id-col``: :func:`bind_join`, the targets read into a
:class:`~losscli.io.join.KeyIndex`) or, without a key, by row order, with any id-like column
both files hold read on both sides so that rows listed in different orders stop the run
(:func:`id_columns`). The :class:`~losscli.io.inputs.Inputs` change only through their own
methods (:meth:`~Inputs.join_role`, :meth:`~Inputs.take_labels`, :meth:`~Inputs.bind_raw`).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from losscli.errors import InputError, UsageError, did_you_mean
from losscli.io.base import ARRAY, MultiFile
from losscli.io.detect import detect_format
from losscli.io.formats import open_source
from losscli.io.inputs import ColumnRef, Inputs, list_columns, raw_column
from losscli.vocab import PRED_NAMES, ROLES, TARGET_NAMES, Role, prob_column_label

if TYPE_CHECKING:  # --id-col only: imported where a join is bound
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
    from losscli.io.join import KeyIndex

    join = KeyIndex.read(target.source, columns,
                         tuple(raw_column(target.source, n) or n for n in tkeys),
                         id_col, chunk_size, pred_where, weights,
                         inputs.take_labels("target"), extra)
    # the predictions' keys are read as Arrow (text: no Python object per key) and stay so
    # through re-chunking and the lookup (io.join.ObjectKeys: objects only where read)
    from losscli.io.arrow import ArrowKey

    for n in id_col:
        inputs.bind_raw(n, main, ArrowKey(raw_column(main, n) or n))
    for role, name in joined_models:
        ref = inputs.join_role(role)
        join.attach_model(
            role, ref.source, ref.columns,
            tuple(raw_column(ref.source, n) or n for n in id_col),
            name=name, omit=omit, chunk_size=chunk_size)
    return join


def bind_model(inputs: Inputs, model: int, source: Any, pred_col: Any, target_col: Any,
               own_target: bool, *, name: str = "", flag: str = "--pred-col",
               taken: Sequence[str] = ()) -> None:
    """Add model ``model``'s predictions (role ``pred#model``) from ``source``; with
    ``own_target``, also its target column (``target#model``), which must then equal
    the shared targets row by row (checked by the engine). ``name`` and ``flag``: the
    model's name and the option that names its column (for messages); ``taken``:
    columns that are no predictions (the join keys)."""
    free = {c for t in taken if (c := raw_column(source, t)) is not None}
    cols = _pick(source, pred_col or None, ROLES["pred"], free, sole_ok=not own_target,
                 flag=flag)
    if cols is None:
        raise InputError(
            f"No prediction column found in '{source.name}' (columns: "
            f"{list_columns(list(source.columns))}); name it with {flag}."
        )
    name = name or f"model {model + 1}"
    _check_other_models(inputs, (name, flag), source, cols)
    target = None
    if own_target:
        target = _pick(source, target_col or None, ROLES["target"], set(cols), sole_ok=True)
        if target is None:
            raise InputError(
                f"No target column found in '{source.name}' (columns: "
                f"{list_columns(list(source.columns))}); name it with --target-col, or "
                "give the shared targets with --targets FILE."
            )
    inputs.add_model(model, ColumnRef(source, cols),
                     None if target is None else ColumnRef(source, target), name=name,
                     flag=flag)
    _check_disjoint(inputs.roles, {r: f for r, (_, f) in inputs.models.items()})


def _check_other_models(inputs: Inputs, mine: tuple[str, str], source: Any,
                        cols: tuple[str, ...]) -> None:
    """Two models of a comparison may not read the same column of the same file: the
    model would be compared with itself (every difference 0)."""
    for other, ref in inputs.roles.items():
        if not (other == "pred" or other.startswith("pred#")) or ref.source is not source:
            continue
        same = [c for c in cols if c in ref.columns]
        if not same:
            continue
        (a, a_flag), (b, b_flag) = inputs.models.get(other, ("model 1", "--pred-col")), mine
        if a_flag == b_flag == "--pred-col":
            fix = ("give each model its own file, or compare columns of one file with "
                   "--pred-col A --pred-col B")
        else:
            fix = f"name a different column with {a_flag} or {b_flag}"
        raise UsageError(
            f"Models '{a}' and '{b}' both read column '{same[0]}' of '{source.name}': a "
            f"model would be compared with itself; {fix}.")


def _match(source: Any, given: str, flag: str) -> list[str]:
    """Columns named by one ``--x-col`` value: a name (taken literally when a column has
    it, even with ``*?[``; case-insensitive fallback) or a glob."""
    cols = list(source.columns)
    if given not in cols and any(ch in given for ch in "*?["):
        hits = [c for c in cols if fnmatch.fnmatchcase(c, given)]
        if not hits:
            raise InputError(
                f"No column matches '{given}' ({flag}) in '{source.name}'; its columns are: "
                f"{list_columns(cols)}."
            )
        return hits
    if given in cols:
        return [given]
    lower = {c.lower(): c for c in cols}
    if given.lower() in lower:
        return [lower[given.lower()]]
    raise InputError(
        f"No column '{given}' ({flag}) in '{source.name}'; its columns are: "
        f"{list_columns(cols)}.{did_you_mean(given, cols)}"
    )


def _pick(source: Any, given: str | list[str] | tuple[str, ...] | None, role: Role,
          taken: set[str], sole_ok: bool, flag: str | None = None) -> tuple[str, ...] | None:
    """Bind columns to ``role``: the given names/globs (in order, each glob in file order),
    or a column with one of the role's usual names, or the sole free column. ``flag``: the
    option that gave the names, when not the role's own (``--reference-col``)."""
    cols = list(source.columns)
    if isinstance(given, str):
        given = [given]
    if given:
        found: list[str] = []
        for item in given:
            found.extend(_match(source, item, flag or role.col_flag))
        return tuple(dict.fromkeys(found))
    if cols == [ARRAY]:
        return (ARRAY,)
    free = [c for c in cols if c not in taken]
    matches = [c for c in free if c.lower() in role.names]
    if len(matches) == 1:
        return (matches[0],)
    if len(matches) > 1:
        raise InputError(
            f"Several {role.noun} columns in '{source.name}' ({', '.join(matches)}); "
            f"choose one with {role.col_flag}."
        )
    if sole_ok and len(free) == 1:
        return (free[0],)
    if role.name == "pred":
        return _probability_columns(free)
    return None


def _probability_columns(free: list[str]) -> tuple[str, ...] | None:
    """Columns named after the label they score (``p_yes``; ``p_cat p_dog p_emu``, which
    share the word and the separator: one per class), when no column has a usual name."""
    shapes: dict[str, str] = {}  # column -> its name less the label (p_, _prob)
    for c in free:
        label = prob_column_label(str(c))
        if label is not None:
            prefix = str(c).endswith(label)
            shapes[c] = str(c)[:-len(label)] if prefix else "…" + str(c)[len(label):]
    if not shapes or len(set(shapes.values())) != 1:
        return None
    return tuple(shapes)


def _check_disjoint(roles: dict[str, ColumnRef], flags: dict[str, str] | None = None) -> None:
    """A column of a file may play one role only. ``flags``: the option that named a
    role's column when not the role's own (``--reference-col`` for the reference model)."""
    seen: dict[tuple[int, str], str] = {}
    flags = flags or {}
    for role, ref in roles.items():
        for col in ref.columns:
            other = seen.setdefault((id(ref.source), col), role)
            if other != role:
                a, b = ROLES[other.split("#")[0]], ROLES[role.split("#")[0]]
                fa, fb = flags.get(other, a.col_flag), flags.get(role, b.col_flag)
                raise UsageError(
                    f"Column '{col}' of '{ref.source.name}' was chosen as both {a.noun} and "
                    f"{b.noun}; set {fa} and {fb} to different columns."
                )


def resolve_inputs(
    predictions: str | Any,
    targets: str | Any | None = None,
    weights: str | Any | None = None,
    *,
    pred_col: str | list[str] | None = None,
    target_col: str | list[str] | None = None,
    weight_col: str | None = None,
    format_in: str | None = None,
    roles: tuple[str, ...] = ("pred", "target"),
    files: dict[str, Any] | None = None,
    columns: dict[str, str | list[str] | None] | None = None,
    encoding: str | None = None,
    max_line_bytes: int | None = None,
    storage_options: Any = None,
    partitioning: str | None = None,
    join_keys: tuple[tuple[str, ...], tuple[str, ...]] = ((), ()),
    pred_flag: str = "--pred-col",
) -> Inputs:
    """Open the input files (or take already-open sources) and bind columns to each role.

    ``roles`` are the roles the selected losses read besides the optional weight: pred and
    target, plus var for gaussian_nll, or anchor/positive/negative for triplet (the first
    argument then holds the anchors). ``files`` gives a separate file per extra role (var,
    positive, negative) and ``columns`` their ``--x-col`` values. ``format_in`` overrides
    the main file's extension, and names the format of any other file whose extension says
    nothing. ``encoding`` and ``max_line_bytes`` apply to every text file,
    ``storage_options`` and ``partitioning`` to every folder, glob or URI (see
    :func:`~losscli.io.formats.open_source`). A dataset given for targets, weights or an
    extra role is paired with a dataset of predictions file by file — unless the rows are
    joined by key: ``join_keys`` (the predictions' and the targets' key columns, never taken
    as a prediction, target or weight column; see :mod:`losscli.io.join`). ``pred_flag``:
    the option that named ``pred_col`` (``--reference-col`` for check's reference model).
    """
    main_src: Any = None

    def open_any(obj: Any, main: bool, noun: str = "targets") -> Any:
        if not isinstance(obj, str):
            return obj
        fmt = format_in if main or detect_format(obj) is None else None
        source = open_source(obj, fmt, encoding=encoding, max_line_bytes=max_line_bytes,
                             storage_options=storage_options, partitioning=partitioning)
        return source if main or join_keys[0] else pair_source(source, main_src, noun)

    files = {k: v for k, v in (files or {}).items() if v is not None}
    columns = dict(columns or {})
    main_src = open_any(predictions, True)
    bound: dict[str, ColumnRef] = {}
    if "pred" in roles:
        _bind_pred_target(bound, main_src, open_any(targets, False) if targets is not None
                          else main_src, pred_col, target_col, join_keys, pred_flag)
        extra = [r for r in roles if r not in ("pred", "target")]
    else:
        extra = list(roles)
    for role_name in extra:
        role = ROLES[role_name]
        src = open_any(files[role_name], False, role.key) if role_name in files else main_src
        taken = {c for ref in bound.values() if ref.source is src for c in ref.columns}
        if src is main_src and main_src.columns == [ARRAY] and bound:
            raise UsageError(
                f"'{main_src.name}' holds one array (the {ROLES[next(iter(bound))].key}); give "
                f"the {role.key} with {role.file_flag} FILE."
            )
        cols = _pick(src, columns.get(role_name), role, taken, sole_ok=src is not main_src)
        if cols is None:
            looked = f"looked for {', '.join(role.names)}; " if role.names else ""
            files_hint = f", or give a file with {role.file_flag}" if role.file_flag else ""
            raise InputError(
                f"No {role.noun} column found in '{src.name}' (columns: "
                f"{list_columns(list(src.columns))}); {looked}name it with "
                f"{role.col_flag}{files_hint}."
            )
        bound[role_name] = ColumnRef(src, cols)
    _check_disjoint(bound, {"pred": pred_flag})
    _bind_weight(bound, main_src, open_any(weights, False, "weights") if weights is not None
                 else None, weight_col)
    return Inputs(bound)


def _bind_pred_target(bound: dict[str, ColumnRef], pred_src: Any, tgt_src: Any,
                      pred_col: str | list[str] | None,
                      target_col: str | list[str] | None,
                      join_keys: tuple[tuple[str, ...], tuple[str, ...]] = ((), ()),
                      pred_flag: str = "--pred-col") -> None:
    separate_targets = tgt_src is not pred_src
    pred = _pick(pred_src, pred_col, ROLES["pred"], set(join_keys[0]), sole_ok=separate_targets,
                 flag=pred_flag)
    if pred is None:
        raise InputError(
            f"No prediction column found in '{pred_src.name}' (columns: "
            f"{list_columns(list(pred_src.columns))}); looked for "
            f"{', '.join(PRED_NAMES[:6])}, ...; name it with {pred_flag} (a glob such as "
            "'p_*' takes one column per class)."
        )
    taken = (set(pred) if not separate_targets else set()) | set(join_keys[1])
    if pred_src.columns == [ARRAY] and not separate_targets:
        raise UsageError(
            f"'{pred_src.name}' holds one array (the predictions); give the targets with "
            "--targets FILE."
        )
    target = _pick(tgt_src, target_col, ROLES["target"], taken, sole_ok=True)
    if target is None:
        raise InputError(
            f"No target column found in '{tgt_src.name}' (columns: "
            f"{list_columns(list(tgt_src.columns))}); looked for "
            f"{', '.join(TARGET_NAMES[:6])}, ...; name it with --target-col"
            + ("." if separate_targets else ", or give a targets file with --targets.")
        )
    bound["pred"] = ColumnRef(pred_src, pred)
    bound["target"] = ColumnRef(tgt_src, target)


def _bind_weight(bound: dict[str, ColumnRef], main_src: Any, w_src: Any,
                 weight_col: str | None) -> None:
    role = ROLES["weight"]
    if w_src is not None:
        weight = _pick(w_src, weight_col, role, set(), sole_ok=True)
        if weight is None:
            raise InputError(
                f"No weight column found in '{w_src.name}' (columns: "
                f"{list_columns(list(w_src.columns))}); name it with --weight-col."
            )
        bound["weight"] = ColumnRef(w_src, weight)
    elif weight_col is not None:
        home = main_src
        target = bound.get("target")
        if weight_col not in main_src.columns and target is not None and (
            target.source is not main_src and weight_col in target.source.columns
        ):
            home = target.source
        bound["weight"] = ColumnRef(home, _pick(home, weight_col, role, set(), sole_ok=False)
                                    or (weight_col,))


def pair_source(source: Any, main: Any, noun: str = "targets") -> Any:
    """``source`` paired with ``main`` when both are of many files (its files in the order
    of ``main``'s, by relative path; see :meth:`~losscli.io.base.MultiFile.paired_with`),
    else as it is."""
    if isinstance(source, MultiFile) and isinstance(main, MultiFile) and (
            source is not main):
        return source.paired_with(main, noun)
    return source
