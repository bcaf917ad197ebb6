"""The loss catalogue, read from the registry: ``losscli losses`` and the README table."""

from __future__ import annotations

import json
from typing import IO, Any

from losscli.registry import LossSpec, _fmt, all_losses, get_loss


def describe(spec: LossSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "aliases": list(spec.aliases),
        "task": spec.task,
        "summary": spec.summary,
        "formula": spec.formula,
        "params": {p.name: {"default": p.default, "doc": p.doc, "range": p.range_text or None}
                   for p in spec.params},
        "inputs": list(spec.inputs),
        "higher_is_better": spec.higher_is_better,
        "reductions": ["mean", "sum", "none"] if spec.per_row else ["mean"],
        "domain": {d.role: d.requirement for d in spec.domain},
        "reference": spec.reference,
        "example": example_command(spec),
    }


#: Sample files an example command runs on, by task; losses with a domain (msle: values
#: > -1) use the "positive" file. tests/test_catalog.py runs every loss's example.
EXAMPLE_FILES = {
    "regression": "sample_data/regression.parquet",
    "positive": "sample_data/counts.csv",
}


def example_command(spec: LossSpec) -> str:
    """A command that runs ``spec`` on the sample data from the repository root."""
    key = "positive" if spec.task == "regression" and spec.domain else spec.task
    path = EXAMPLE_FILES.get(key, EXAMPLE_FILES["regression"])
    inline = ",".join(f"{p.name}={_fmt(p.default)}" for p in spec.params)
    return f"losscli eval {path} --loss {spec.name}{':' + inline if inline else ''}"


def _params_text(spec: LossSpec) -> str:
    return ", ".join(f"{p.name}={_fmt(p.default)}" for p in spec.params) or "—"


def markdown_table(specs: list[LossSpec]) -> str:
    lines = [
        "| loss | aliases | formula | parameters (default) | inputs | better | reductions "
        "| reference |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in specs:
        d = describe(s)
        lines.append(
            f"| `{s.name}` | {', '.join(s.aliases) or '—'} | "
            f"{s.formula.replace('|', chr(92) + '|')} | {_params_text(s)} | "
            f"{', '.join(s.inputs)} | {'higher' if s.higher_is_better else 'lower'} | "
            f"{'/'.join(d['reductions'])} | {s.reference} |"
        )
    return "\n".join(lines) + "\n"


def render_catalog(name: str | None, fmt: str, out: IO[str]) -> None:
    specs = [get_loss(name)] if name else list(all_losses().values())
    if fmt == "json":
        out.write(json.dumps([describe(s) for s in specs], indent=2) + "\n")
        return
    if fmt == "ndjson":
        out.write("".join(json.dumps(describe(s)) + "\n" for s in specs))
        return
    if fmt == "markdown":
        out.write(markdown_table(specs))
        return
    if fmt == "csv":
        import csv

        w = csv.writer(out, lineterminator="\n")
        w.writerow(["name", "aliases", "formula", "params", "inputs", "higher_is_better",
                    "reference"])
        for s in specs:
            w.writerow([s.name, " ".join(s.aliases), s.formula, _params_text(s),
                        " ".join(s.inputs), str(s.higher_is_better).lower(), s.reference])
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
            ("better", "higher" if s.higher_is_better else "lower"),
            ("reductions", ", ".join(d["reductions"])),
            ("domain", ", ".join(f"{r} {req}" for r, req in d["domain"].items()) or "any"),
            ("reference", s.reference),
        ):
            console.print(f"  {key:<11}{value}", markup=False)
        for p in s.params:
            rng = f" ({p.range_text})" if p.range_text else ""
            console.print(f"  param      {p.name} = {_fmt(p.default)}{rng}: {p.doc}", markup=False)
        console.print(f"  example    {example_command(s)}", markup=False)
        return
    table = Table(title=None, show_lines=False)
    for col in ("loss", "aliases", "formula", "parameters", "inputs", "better", "reference"):
        table.add_column(col, overflow="fold")
    for s in specs:
        table.add_row(s.name, ", ".join(s.aliases), s.formula, _params_text(s),
                      ", ".join(s.inputs), "higher" if s.higher_is_better else "lower",
                      s.reference)
    console.print(table)
