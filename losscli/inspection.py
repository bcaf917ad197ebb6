"""``losscli inspect``: what a file holds and what losscli would do with it.

Format, rows (when the format knows them without a full scan), columns with their types,
the column each role would use (the same resolution as ``eval``: :func:`resolve_inputs`),
and which losses fit: every input they declare is there, they handle the task the data
look like (regression, binary, multiclass or embedding: the rule of :mod:`losscli.tasks`),
and their domain holds on the first rows read (at most ``sample_rows``). Reads one chunk,
never the whole file.
"""

from __future__ import annotations

import json
from typing import IO, Any

from losscli.errors import LossCliError
from losscli.io.formats import open_source
from losscli.io.inputs import resolve_inputs
from losscli.vocab import WEIGHT_NAMES

SAMPLE_ROWS = 10_000
_ROLE_NAMES = {"pred": "prediction", "target": "target", "weight": "weight", "var": "variance",
               "anchor": "anchor", "positive": "positive", "negative": "negative"}


def column_types(source: Any) -> dict[str, str]:
    """Column -> type name, from what the source already knows (no scan)."""
    return source.column_types()


def inspect_file(
    path: str,
    *,
    targets: str | None = None,
    weights: str | None = None,
    pred_col: str | list[str] | None = None,
    target_col: str | list[str] | None = None,
    weight_col: str | None = None,
    format_in: str | None = None,
    var: str | None = None,
    positive: str | None = None,
    negative: str | None = None,
    var_col: str | list[str] | None = None,
    anchor_col: str | list[str] | None = None,
    positive_col: str | list[str] | None = None,
    negative_col: str | list[str] | None = None,
    task: str | None = None,
    from_logits: bool = False,
    sample_rows: int = SAMPLE_ROWS,
) -> dict[str, Any]:
    """Describe ``path`` as plain data (what ``losscli inspect --format json`` prints)."""
    from losscli import tasks
    from losscli.registry import all_losses
    from losscli.vocab import EMBEDDING_ROLES, VAR_NAMES

    tasks.check_task(task)
    source = open_source(path, format_in)
    columns = {"var": var_col, "anchor": anchor_col, "positive": positive_col,
               "negative": negative_col}
    files = {"var": var, "positive": positive, "negative": negative}
    lower = [c.lower() for c in source.columns]
    if any(columns[r] or files.get(r) for r in EMBEDDING_ROLES) or all(
            r in lower for r in EMBEDDING_ROLES):
        roles: tuple[str, ...] = EMBEDDING_ROLES
    elif var_col or var or any(c in VAR_NAMES for c in lower):
        roles = ("pred", "target", "var")  # gaussian_nll's variance, when there is one
    else:
        roles = ("pred", "target")
    info: dict[str, Any] = {
        "path": source.name,
        "format": source.format,
        "rows": source.num_rows,
        "columns": [{"name": c, "type": t} for c, t in column_types(source).items()],
        "types_inferred": source.format in ("csv", "tsv", "ndjson"),
        "roles": None,
        "roles_error": None,
        "task": None,
        "sample_rows": 0,
        "nonfinite": {},
        "losses": {"fit": [], "not_fit": []},
        "hints": [],
    }
    try:
        inputs = resolve_inputs(source, targets if "target" in roles else None, weights,
                                pred_col=pred_col, target_col=target_col,
                                weight_col=weight_col, format_in=format_in, roles=roles,
                                files=files, columns=columns)
        info["roles"] = {
            role: {"path": ref.source.name, "column": ref.column,
                   **({"columns": list(ref.columns)} if len(ref.columns) > 1 else {})}
            for role, ref in inputs.roles.items()
        }
        sample = inputs.peek(sample_rows, sample_rows)
        chosen, decided_by = tasks.detect_task(sample, [], task=task, roles=roles,
                                               from_logits=from_logits,
                                               describe=inputs.describe)
    except LossCliError as exc:
        info["roles_error"] = str(exc)
        return info
    info["task"] = {"task": chosen, "from": decided_by, "from_logits": from_logits}
    for role, width in inputs.widths.items():
        if width > 1:
            info["roles"][role]["values_per_row"] = width
    if "weight" not in inputs.roles:
        maybe = [c for c in source.columns if c.lower() in WEIGHT_NAMES]
        if maybe:
            info["hints"].append(f"column '{maybe[0]}' looks like sample weights; weights are "
                                 f"never guessed: add --weight-col {maybe[0]}")
    arrays = sample or {}
    info["sample_rows"] = len(next(iter(arrays.values()))) if arrays else 0
    import numpy as np

    for role, values in arrays.items():
        bad = ~np.isfinite(values)
        info["nonfinite"][role] = int((bad.any(axis=1) if bad.ndim == 2 else bad).sum())
    for spec in all_losses().values():
        reason = _misfit(spec, arrays, inputs, chosen, from_logits)
        if reason is None:
            info["losses"]["fit"].append(spec.name)
        else:
            info["losses"]["not_fit"].append({"name": spec.name, "reason": reason})
    return info


def _misfit(spec: Any, arrays: dict[str, Any], inputs: Any, task: str,
            from_logits: bool) -> str | None:
    """Why ``spec`` does not fit these inputs, or None when it does."""
    import numpy as np

    from losscli.registry import CheckContext

    missing = [r for r in spec.inputs if r not in inputs.roles]
    if missing:
        return f"needs {', '.join(_ROLE_NAMES.get(r, r) for r in missing)} input"
    if task not in spec.tasks:
        return f"is for {' or '.join(spec.tasks)} data, and these look {task}"
    pred = arrays.get("pred")
    ctx = CheckContext(task=task, from_logits=bool(spec.implies.get("from_logits", from_logits)),
                       classes=pred.shape[1] if pred is not None and pred.ndim == 2 else None)
    for rule in spec.domain:
        values = arrays.get(rule.role)
        if values is None or not len(values) or not rule.applies(ctx):
            continue
        keep = np.isfinite(values) if values.ndim == 1 else np.isfinite(values).all(axis=1)
        finite = values[keep]
        bad: Any = np.asarray(rule.mask(finite, ctx))
        if bad.ndim > 1:
            bad = bad.any(axis=1)
        if bad.any():
            first = finite[int(np.flatnonzero(bad)[0])]
            role = _ROLE_NAMES.get(rule.role, rule.role)
            requirement = rule.requirement.replace("{classes}", str(ctx.classes))
            what = (f"{role} values {requirement}" if rule.noun == "values"
                    else f"{rule.noun} {requirement} as {role}s")
            return (f"needs {what}; {_count(int(bad.sum()), len(values))} "
                    f"(e.g. {first.tolist()!r})")
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
        shown = ("anchor", "positive", "negative") if "anchor" in info["roles"] else (
            "pred", "target")
        for role in (*shown, *(r for r in ("var",) if r in info["roles"]), "weight"):
            ref = info["roles"].get(role)
            label = _ROLE_NAMES[role]
            if ref is None:
                text = "none (weights are never guessed: --weight-col NAME)" if (
                    role == "weight") else "none"
            else:
                column = (", ".join(ref["columns"]) if "columns" in ref else
                          ref["column"] if ref["column"] is not None else "the array")
                if ref.get("values_per_row"):
                    column += f" ({ref['values_per_row']} values per row)"
                text = column if ref["path"] == info["path"] else f"{column} of {ref['path']}"
            lines.append((label, text))
        task = info["task"]
        lines.append(("task", f"{task['task']} (decided by {task['from']}; --task to choose)"))
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
