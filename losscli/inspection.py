"""``losscli inspect``: what a file holds and what losscli would do with it.

Format, rows (when the format knows them without a full scan), columns with their types,
the column each role would use (the same resolution as ``eval``: :func:`resolve_inputs`),
and which losses fit: every input they declare is there, and their domain holds on the
first rows read (at most ``sample_rows``). Reads one chunk, never the whole file.
"""

from __future__ import annotations

import json
from typing import IO, Any

from losscli.errors import LossCliError
from losscli.io.inputs import resolve_inputs
from losscli.io.sources import ARRAY, open_source

SAMPLE_ROWS = 10_000
_ROLE_NAMES = {"pred": "prediction", "target": "target", "weight": "weight"}
_WEIGHT_NAMES = ("weight", "weights", "sample_weight", "w")


def column_types(source: Any) -> dict[str, str]:
    """Column -> type name, from what the source already knows (no scan)."""
    types = getattr(source, "types", None)  # NDJSON: from the first object
    if types is not None:
        return {c: types.get(c, "?") for c in source.columns}
    schema = getattr(source, "schema", None)  # Arrow formats; CSV: inferred from a block
    if schema is not None:
        return {c: str(schema.field(c).type) for c in source.columns}
    dtype = getattr(source, "dtype", None)  # NPY
    if dtype is not None:
        return {c: str(dtype if c == ARRAY else dtype[c]) for c in source.columns}
    return {c: "?" for c in source.columns}


def inspect_file(
    path: str,
    *,
    targets: str | None = None,
    weights: str | None = None,
    pred_col: str | list[str] | None = None,
    target_col: str | list[str] | None = None,
    weight_col: str | None = None,
    format_in: str | None = None,
    sample_rows: int = SAMPLE_ROWS,
) -> dict[str, Any]:
    """Describe ``path`` as plain data (what ``losscli inspect --format json`` prints)."""
    from losscli.registry import all_losses

    source = open_source(path, format_in)
    info: dict[str, Any] = {
        "path": source.name,
        "format": source.format,
        "rows": source.num_rows,
        "columns": [{"name": c, "type": t} for c, t in column_types(source).items()],
        "types_inferred": source.format in ("csv", "tsv", "ndjson"),
        "roles": None,
        "roles_error": None,
        "sample_rows": 0,
        "nonfinite": {},
        "losses": {"fit": [], "not_fit": []},
        "hints": [],
    }
    try:
        inputs = resolve_inputs(source, targets, weights, pred_col=pred_col,
                                target_col=target_col, weight_col=weight_col,
                                format_in=format_in)
        info["roles"] = {
            role: {"path": ref.source.name,
                   "column": None if ref.column == ARRAY else ref.column}
            for role, ref in inputs.roles.items()
        }
        batch = next(iter(inputs.batches(sample_rows)), None)
    except LossCliError as exc:
        info["roles_error"] = str(exc)
        return info
    if "weight" not in inputs.roles:
        maybe = [c for c in source.columns if c.lower() in _WEIGHT_NAMES]
        if maybe:
            info["hints"].append(f"column '{maybe[0]}' looks like sample weights; weights are "
                                 f"never guessed: add --weight-col {maybe[0]}")
    arrays = batch.arrays if batch is not None else {}
    info["sample_rows"] = len(batch) if batch is not None else 0
    import numpy as np

    for role, values in arrays.items():
        info["nonfinite"][role] = int((~np.isfinite(values)).sum())
    for spec in all_losses().values():
        reason = _misfit(spec, arrays, inputs)
        if reason is None:
            info["losses"]["fit"].append(spec.name)
        else:
            info["losses"]["not_fit"].append({"name": spec.name, "reason": reason})
    return info


def _misfit(spec: Any, arrays: dict[str, Any], inputs: Any) -> str | None:
    """Why ``spec`` does not fit these inputs, or None when it does."""
    import numpy as np

    missing = [r for r in spec.inputs if r not in inputs.roles]
    if missing:
        return f"needs {', '.join(_ROLE_NAMES.get(r, r) for r in missing)} input"
    for rule in spec.domain:
        values = arrays.get(rule.role)
        if values is None or not len(values):
            continue
        finite = values[np.isfinite(values)] if values.ndim == 1 else values
        bad: Any = np.asarray(rule.bad(finite))
        if bad.ndim > 1:
            bad = bad.any(axis=1)
        if bad.any():
            first = finite[int(np.flatnonzero(bad)[0])]
            return (f"needs {_ROLE_NAMES.get(rule.role, rule.role)} values {rule.requirement}; "
                    f"{_count(int(bad.sum()), len(values))} (e.g. {first.tolist()!r})")
    return None


def _count(bad: int, read: int) -> str:
    return f"{bad} of the first {read} rows {'is' if bad == 1 else 'are'} not"


def render_inspection(info: dict[str, Any], fmt: str, out: IO[str]) -> None:
    if fmt == "json":
        out.write(json.dumps(info, indent=2) + "\n")
        return
    lines = [
        ("file", info["path"]),
        ("format", info["format"]),
        ("rows", "unknown without a full scan" if info["rows"] is None else f"{info['rows']}"),
    ]
    inferred = " (types inferred from the first rows)" if info["types_inferred"] else ""
    lines.append(("columns", f"{len(info['columns'])}{inferred}"))
    width = max((len(c["name"]) for c in info["columns"]), default=0)
    for col in info["columns"]:
        lines.append(("", f"{col['name']:<{width}}  {col['type']}"))
    if info["roles"] is None:
        lines.append(("roles", f"cannot tell: {info['roles_error']}"))
    else:
        for role in ("pred", "target", "weight"):
            ref = info["roles"].get(role)
            label = _ROLE_NAMES[role]
            if ref is None:
                text = "none (weights are never guessed: --weight-col NAME)" if (
                    role == "weight") else "none"
            else:
                column = ref["column"] if ref["column"] is not None else "the array"
                text = column if ref["path"] == info["path"] else f"{column} of {ref['path']}"
            lines.append((label, text))
        nonfinite = {r: n for r, n in info["nonfinite"].items() if n}
        checked = f"checked on the first {info['sample_rows']} rows"
        if nonfinite:
            lines.append(("NaN/inf", ", ".join(f"{_ROLE_NAMES[r]}: {n}" for r, n in
                                                nonfinite.items()) + f" ({checked})"))
        lines.append(("losses fit", ", ".join(info["losses"]["fit"]) or "none"))
        for item in info["losses"]["not_fit"]:
            lines.append(("not fit", f"{item['name']}: {item['reason']}"))
        lines.append(("", f"(domains {checked})"))
    for hint in info["hints"]:
        lines.append(("hint", hint))
    out.write("".join(f"{key:<11}{value}\n" for key, value in lines))
    out.flush()
