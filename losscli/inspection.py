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

from losscli.errors import LossCliError, escape_controls
from losscli.io.base import TEXT_FORMATS
from losscli.io.binding import resolve_inputs
from losscli.io.formats import open_source
from losscli.spec import api_options
from losscli.vocab import WEIGHT_NAMES

SAMPLE_ROWS = 10_000
_ROLE_NAMES = {"pred": "prediction", "target": "target", "weight": "weight", "var": "variance",
               "anchor": "anchor", "positive": "positive", "negative": "negative",
               "lower": "lower", "upper": "upper", "naive": "naive"}


def column_types(source: Any) -> dict[str, str]:
    """Column -> type name, from what the source already knows (no scan)."""
    return source.column_types()


#: The options ``inspect`` takes (those of ``evaluate`` about the inputs and how they are read).
#: Declared in losscli.spec: the options whose ``commands`` name inspect (no exclusion list).
INSPECT_OPTIONS = api_options("inspect")


def inspect_file(path: str, *, sample_rows: int = SAMPLE_ROWS, **options: Any) -> dict[str, Any]:
    """Describe ``path`` as plain data (what ``losscli inspect --format json`` prints).
    ``options``: see :data:`INSPECT_OPTIONS` (validated before the file is opened)."""
    from losscli import tasks
    from losscli.registry import all_losses
    from losscli.spec import build_spec
    from losscli.vocab import EMBEDDING_ROLES, FORECAST_ROLES, VAR_NAMES

    run = build_spec(path, where="inspect", allowed=INSPECT_OPTIONS, **options)
    ins, task, from_logits = run.inputs, run.options.task, run.options.from_logits
    source = open_source(path, ins.format_in, encoding=ins.encoding,
                         max_line_bytes=ins.max_line_bytes,
                         storage_options=dict(ins.storage_options),
                         partitioning=ins.partitioning)
    columns: dict[str, Any] = {k: list(v) or None for k, v in ins.columns().items()}
    files = ins.files()
    lower = [c.lower() for c in source.columns]
    if any(columns[r] or files.get(r) for r in EMBEDDING_ROLES) or all(
            r in lower for r in EMBEDDING_ROLES):
        roles: tuple[str, ...] = EMBEDDING_ROLES
    elif ins.var_col or ins.var or any(c in VAR_NAMES for c in lower):
        roles = ("pred", "target", "var")  # gaussian_nll's variance, when there is one
    else:
        roles = ("pred", "target")
    if "pred" in roles:  # forecast inputs (interval bounds, a naive forecast) when given or found
        roles += tuple(r for r, role in FORECAST_ROLES.items()
                       if columns[r] or any(c in role.names for c in lower))
    info: dict[str, Any] = {
        "path": source.name,
        "format": source.format,
        "rows": source.num_rows,
        "columns": [{"name": c, "type": t} for c, t in column_types(source).items()],
        "types_inferred": source.format in TEXT_FORMATS,
        "roles": None,
        "roles_error": None,
        "task": None,
        "sample_rows": 0,
        "nonfinite": {},
        "losses": {"fit": [], "not_fit": []},
        "hints": [],
        "labels": None,
    }
    try:
        inputs = resolve_inputs(source, ins.targets if "target" in roles else None, ins.weights,
                                pred_col=list(ins.pred_col) or None,
                                target_col=list(ins.target_col) or None,
                                weight_col=ins.weight_col, format_in=ins.format_in, roles=roles,
                                files=files, columns=columns, encoding=ins.encoding,
                                max_line_bytes=ins.max_line_bytes,
                                storage_options=dict(ins.storage_options),
                                partitioning=ins.partitioning)
        info["roles"] = {
            role: {"path": ref.source.name, "column": ref.column,
                   **({"columns": list(ref.columns)} if len(ref.columns) > 1 else {})}
            for role, ref in inputs.roles.items()
        }
    except LossCliError as exc:
        info["roles_error"] = str(exc)
        return info
    try:  # a target of labels (losscli.labels): its classes, from the first rows
        from losscli import labels

        label_map = labels.bind(inputs, classes=run.options.classes,
                                pos_label=run.options.pos_label, task=task, scan_rows=sample_rows)
    except LossCliError as exc:
        info["roles_error"] = str(exc)
        return info
    info["labels"] = labels.context(label_map) or None
    task = labels.task_option(label_map, task)
    # Rows that cannot be read are an input error (exit 2), not a fact about the roles.
    sample = inputs.peek(sample_rows, sample_rows)
    try:
        chosen, decided_by = tasks.detect_task(sample, [], task=task, roles=roles,
                                               from_logits=from_logits,
                                               describe=inputs.describe)
    except LossCliError as exc:
        info["roles_error"] = str(exc)
        return info
    if label_map is not None and run.options.task is None:
        decided_by = "labels"
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
    """Why ``spec`` does not fit these inputs, or None when it does (the domain rules are
    judged by :meth:`losscli.domain.Domain.violation`, as the engine judges them)."""
    import numpy as np

    from losscli.domain import CheckContext

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
        other = None if rule.other is None else arrays.get(rule.other)
        if rule.other is not None and other is None:
            continue
        found = rule.violation(values[keep], ctx, None if other is None else other[keep])
        if found is not None:
            return found.reason(_ROLE_NAMES.get(rule.role, rule.role), len(values))
    return None


#: How the classes of a target of labels were decided (losscli.labels), as ``inspect`` says.
_CLASSES_FROM = {"option": "from --classes", "pos_label": "from --pos-label",
                 "columns": "from the prediction columns' names",
                 "sorted": "the labels sorted", "boolean": "booleans: true is positive",
                 "pair": "a known pair of words"}


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
    names = [escape_controls(c["name"]) for c in info["columns"]]
    width = max((len(n) for n in names), default=0)
    for name, col in zip(names, info["columns"]):
        lines.append(("", f"{name:<{width}}  {col['type']}"))
    if info["roles"] is None or info["task"] is None:
        lines.append(("roles", f"cannot tell: {info['roles_error']}"))
    else:
        shown = ("anchor", "positive", "negative") if "anchor" in info["roles"] else (
            "pred", "target")
        extra = ("var", "lower", "upper", "naive")
        for role in (*shown, *(r for r in extra if r in info["roles"]), "weight"):
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
        if info.get("labels"):
            from losscli.present.summary import labels_text

            source = _CLASSES_FROM.get(info["labels"]["classes_from"], "")
            lines.append(("labels", f"{labels_text(info['labels'])} ({source}; --classes or "
                          "--pos-label to choose)"))
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
    # Names and messages come from the file: control characters are shown escaped.
    out.write("".join(f"{key:<11}{escape_controls(str(value))}\n" for key, value in lines))
    out.flush()
