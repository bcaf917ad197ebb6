"""The loss catalogue, read from the registry: ``losscli losses`` and the README table."""

from __future__ import annotations

import json
from typing import IO, Any

from losscli.registry import LossSpec, _fmt, all_losses, get_loss

#: Default example input per task, for losses that do not declare their own.
EXAMPLE_INPUTS = {
    "regression": "sample_data/regression.parquet",
    "binary": "sample_data/binary.csv",
    "multiclass": "sample_data/multiclass.parquet --pred-col 'p_*'",
    "embedding": "sample_data/triplets.parquet",
}


def expects(spec: LossSpec) -> str:
    """What each input holds: the loss's own text, or numbers (with the domain, if any)."""
    if spec.expects:
        return spec.expects
    rules = "; ".join(f"{d.role} {d.requirement}" for d in spec.domain)
    return f"{', '.join(spec.inputs)}: numbers" + (f" ({rules})" if rules else "")


def example(spec: LossSpec) -> str:
    """A command that runs the loss on sample_data (checked by the tests)."""
    params = ",".join(f"{p.name}={_fmt(p.default)}" for p in spec.params)
    where = spec.example or EXAMPLE_INPUTS[spec.tasks[0]]
    return f"losscli eval {where} --loss {spec.name}{':' + params if params else ''}"


def _domain(spec: LossSpec) -> dict[str, str]:
    """Validity rules per input role, e.g. {"pred": "> -1"}; several rules joined by "; "."""
    out: dict[str, list[str]] = {}
    for d in spec.domain:
        text = d.requirement.replace("{classes}", "C")
        out.setdefault(d.role, []).append(text if d.noun == "values" else f"{d.noun} {text}")
    return {role: "; ".join(texts) for role, texts in out.items()}


def describe(spec: LossSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "aliases": list(spec.aliases),
        "task": spec.task,
        "tasks": list(spec.tasks),
        "summary": spec.summary,
        "formula": spec.formula,
        "params": {p.name: {"default": p.default, "doc": p.doc, "range": p.range_text or None}
                   for p in spec.params},
        "inputs": list(spec.inputs),
        "expects": expects(spec),
        "options": list(spec.options),
        "implies": dict(spec.implies),
        "higher_is_better": spec.higher_is_better,
        "reductions": ["mean", "sum", "none"] if spec.per_row else ["mean"],
        "domain": _domain(spec),
        "reference": spec.reference,
        "example": example(spec),
    }


def _params_text(spec: LossSpec) -> str:
    return ", ".join(f"{p.name}={_fmt(p.default)}" for p in spec.params) or "—"


def markdown_table(specs: list[LossSpec]) -> str:
    lines = [
        "| loss | aliases | parameters (default) | tasks | expects | better | reductions "
        "| reference |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in specs:
        d = describe(s)
        lines.append(
            f"| `{s.name}` | {', '.join(s.aliases) or '—'} | {_params_text(s)} | "
            f"{', '.join(s.tasks)} | {d['expects'].replace('|', chr(92) + '|')} | "
            f"{'higher' if s.higher_is_better else 'lower'} | "
            f"{'/'.join(d['reductions'])} | {s.reference} |"
        )
    return "\n".join(lines) + "\n"


def render_catalog(name: str | None, fmt: str, out: IO[str]) -> None:
    specs = [get_loss(name)] if name else list(all_losses().values())
    if fmt == "json":
        out.write(json.dumps([describe(s) for s in specs], indent=2) + "\n")
        return
    if fmt == "markdown":
        out.write(markdown_table(specs))
        return
    if fmt == "csv":
        import csv

        w = csv.writer(out, lineterminator="\n")
        w.writerow(["name", "aliases", "params", "inputs", "higher_is_better", "reference",
                    "tasks", "expects"])
        for s in specs:
            w.writerow([s.name, " ".join(s.aliases), _params_text(s), " ".join(s.inputs),
                        str(s.higher_is_better).lower(), s.reference, " ".join(s.tasks),
                        expects(s)])
        return
    from rich.console import Console
    from rich.table import Table

    from losscli.render import is_terminal

    tty = is_terminal(out)
    console = Console(file=out, no_color=not tty, highlight=False, width=None if tty else 200)
    if name:
        s = specs[0]
        d = describe(s)
        console.print(f"[bold]{s.name}[/bold] — {s.summary}" if tty else f"{s.name} — {s.summary}")
        for key, value in (
            ("aliases", ", ".join(s.aliases) or "—"),
            ("formula", s.formula),
            ("inputs", ", ".join(s.inputs)),
            ("expects", d["expects"]),
            ("tasks", ", ".join(s.tasks)),
            ("options", ", ".join(
                f"{o} (implied: {s.implies[o]})" if o in s.implies else o for o in s.options
            ) or "—"),
            ("better", "higher" if s.higher_is_better else "lower"),
            ("reductions", ", ".join(d["reductions"])),
            ("domain", "; ".join(f"{r}: {req}" for r, req in d["domain"].items()) or "any"),
            ("reference", s.reference),
        ):
            console.print(f"  {key:<11}{value}", markup=False)
        for p in s.params:
            rng = f" ({p.range_text})" if p.range_text else ""
            console.print(f"  param      {p.name} = {_fmt(p.default)}{rng}: {p.doc}", markup=False)
        console.print(f"  example    {d['example']}", markup=False)
        return
    table = Table(title=None, show_lines=False)
    for col in ("loss", "aliases", "parameters", "tasks", "expects", "better", "reference"):
        table.add_column(col, overflow="fold")
    for s in specs:
        table.add_row(s.name, ", ".join(s.aliases), _params_text(s), ", ".join(s.tasks),
                      expects(s), "higher" if s.higher_is_better else "lower", s.reference)
    console.print(table)
