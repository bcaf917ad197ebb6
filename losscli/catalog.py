"""The loss catalogue, read from the registry: ``losscli losses`` and the README table."""

from __future__ import annotations

import json
from typing import IO, Any

from losscli.registry import LossSpec, all_losses, format_param, get_loss


def expects(spec: LossSpec) -> str:
    """What each input holds: the loss's own text, or numbers (with the domain, if any)."""
    if spec.expects:
        return spec.expects
    rules = "; ".join(f"{d.role} {d.text()}" for d in spec.domain)
    return f"{', '.join(spec.inputs)}: numbers" + (f" ({rules})" if rules else "")


def _domain(spec: LossSpec) -> dict[str, str]:
    """Validity rules per input role, e.g. {"pred": "> -1"}; several rules joined by "; "."""
    out: dict[str, list[str]] = {}
    for d in spec.domain:
        text = d.text()
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
        "direction": spec.direction,
        "reductions": ["mean", "sum", "none"] if spec.per_row else ["mean"],
        "domain": _domain(spec),
        "reference": spec.reference,
        "example": example_command(spec),
    }


#: Sample files an example command runs on, by task; regression losses with a domain (msle:
#: values > -1) use the "positive" file; a loss may name its own (``LossSpec.example``).
#: tests/test_discovery.py runs every loss's example.
EXAMPLE_FILES = {
    "regression": "sample_data/regression.parquet",
    "positive": "sample_data/counts.csv",
    "binary": "sample_data/binary.csv",
    "multiclass": "sample_data/multiclass.parquet --pred-col 'p_*'",
    "embedding": "sample_data/triplets.parquet",
}


def example_command(spec: LossSpec) -> str:
    """A command that runs ``spec`` on the sample data from the repository root."""
    if spec.example:
        where = spec.example
    else:
        key = "positive" if spec.task == "regression" and spec.domain else spec.tasks[0]
        where = EXAMPLE_FILES.get(key, EXAMPLE_FILES["regression"])
    inline = ",".join(f"{p.name}={format_param(p.default)}" for p in spec.params
                      if p.default is not None)
    return f"losscli eval {where} --loss {spec.name}{':' + inline if inline else ''}"


def _params_text(spec: LossSpec) -> str:
    return ", ".join(f"{p.name}={format_param(p.default)}" for p in spec.params) or "—"


def markdown_table(specs: list[LossSpec]) -> str:
    lines = [
        "| loss | aliases | formula | parameters (default) | tasks | expects | better "
        "| reductions | reference |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in specs:
        d = describe(s)
        lines.append(
            f"| `{s.name}` | {', '.join(s.aliases) or '—'} | "
            f"{s.formula.replace('|', chr(92) + '|')} | {_params_text(s)} | "
            f"{', '.join(s.tasks)} | {d['expects'].replace('|', chr(92) + '|')} | "
            f"{s.direction} | "
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
                    "reference", "tasks", "expects"])
        for s in specs:
            w.writerow([s.name, " ".join(s.aliases), s.formula, _params_text(s),
                        " ".join(s.inputs), str(s.higher_is_better).lower(), s.reference,
                        " ".join(s.tasks), expects(s)])
        return
    from losscli.present.text import is_terminal

    tty = is_terminal(out)
    if not tty and not name:
        _plain_table(specs, out)  # piped: plain aligned text, no rich (start-up time)
        return
    from rich.console import Console
    from rich.table import Table

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
            ("better", s.direction),
            ("reductions", ", ".join(d["reductions"])),
            ("domain", "; ".join(f"{r}: {req}" for r, req in d["domain"].items()) or "any"),
            ("reference", s.reference),
        ):
            console.print(f"  {key:<11}{value}", markup=False)
        for p in s.params:
            rng = f" ({p.range_text})" if p.range_text else ""
            console.print(f"  param      {p.name} = {format_param(p.default)}{rng}: {p.doc}", markup=False)
        console.print(f"  example    {example_command(s)}", markup=False)
        return
    table = Table(title=None, show_lines=False)
    for col in _TABLE_COLUMNS:
        table.add_column(col, overflow="fold")
    for row in _table_rows(specs):
        table.add_row(*row)
    console.print(table)


_TABLE_COLUMNS = ("loss", "aliases", "formula", "parameters", "tasks", "expects", "better",
                  "reference")


def _table_rows(specs: list[LossSpec]) -> list[tuple[str, ...]]:
    return [(s.name, ", ".join(s.aliases), s.formula, _params_text(s), ", ".join(s.tasks),
             expects(s), s.direction, s.reference)
            for s in specs]


def _plain_table(specs: list[LossSpec], out: IO[str]) -> None:
    import unicodedata

    def width(text: str) -> int:  # combining marks (the hat of ŷ) take no column
        return sum(not unicodedata.combining(ch) for ch in text)

    rows = [_TABLE_COLUMNS, *_table_rows(specs)]
    widths = [max(width(row[i]) for row in rows) for i in range(len(_TABLE_COLUMNS))]
    for row in rows:
        cells = (cell + " " * (w - width(cell)) for cell, w in zip(row, widths))
        out.write("  ".join(cells).rstrip() + "\n")
