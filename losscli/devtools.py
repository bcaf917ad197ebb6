"""Files generated from the app: shell completion scripts and the manual's CLI reference.

    python -m losscli.devtools completions   # rewrite completions/ (bash, zsh, fish, PowerShell)
    python -m losscli.devtools docs          # rewrite the CLI reference in docs/cli.md
    python -m losscli.devtools check         # exit 1, naming the file, when either is stale

The scripts are exactly what ``_LOSSCLI_COMPLETE=source_<shell> losscli`` prints (Typer's
completion machinery); the reference is built from the Click command tree behind the Typer
app, so it cannot drift from ``--help``, and written between the ``cli-reference`` markers
of docs/cli.md. tests/test_completions.py and tests/test_docs.py fail when a generated file
is stale. (``readme`` is accepted for ``docs``: the reference used to live in README.md.)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
COMPLETIONS = ROOT / "completions"
DOCS = ROOT / "docs"
#: The page that holds the generated CLI reference, between the markers below.
CLI_REFERENCE = DOCS / "cli.md"

#: shell -> file name in completions/ (zsh wants ``_<command>`` on its fpath).
SCRIPTS = {"bash": "losscli.bash", "zsh": "_losscli", "fish": "losscli.fish",
           "powershell": "losscli.ps1"}
REFERENCE_START = "<!-- cli-reference:start -->\n"
REFERENCE_END = "<!-- cli-reference:end -->"


def completion_script(shell: str) -> str:
    """What ``_LOSSCLI_COMPLETE=source_<shell> losscli`` prints, newline-terminated."""
    env = {**os.environ, "_LOSSCLI_COMPLETE": f"source_{shell}"}
    proc = subprocess.run([sys.executable, "-m", "losscli"], env=env, capture_output=True,
                          text=True, check=True)
    return proc.stdout.strip() + "\n"  # zsh needs #compdef on the very first line


def write_completions(folder: Path = COMPLETIONS) -> list[Path]:
    folder.mkdir(exist_ok=True)
    written = []
    for shell, name in SCRIPTS.items():
        path = folder / name
        path.write_text(completion_script(shell))
        written.append(path)
    return written


# --- the CLI reference -------------------------------------------------------------------

def _md(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _doc_markdown(doc: str) -> list[str]:
    """A command's docstring: prose as is, indented example lines as an ``sh`` block."""
    out: list[str] = []
    block: list[str] = []
    for line in doc.strip().splitlines():
        if line.startswith("  ") and line.strip():
            block.append(line.strip())
            continue
        if block and not line.strip():
            continue  # blank lines between examples stay inside the block
        if block:
            out += ["```sh", *block, "```", ""]
            block = []
        out.append(line.rstrip())
    if block:
        out += ["```sh", *block, "```"]
    while out and not out[-1]:
        out.pop()
    return out


def _param_rows(command: Any, ctx: Any) -> dict[str, list[tuple[str, str]]]:
    panels: dict[str, list[tuple[str, str]]] = {}
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None or "--help" in getattr(param, "opts", ()):
            continue
        names, text = record
        text = text.replace("\\[", "[")  # rich markup escapes: shown as "["
        if param.param_type_name == "argument":
            names = param.name.upper()
        names = names.replace("<list[str]>", "<str>")
        if getattr(param, "multiple", False) and not names.endswith("(repeatable)"):
            names += " (repeatable)"
        panel = getattr(param, "rich_help_panel", None) or (
            "Arguments" if param.param_type_name == "argument" else "Options")
        panels.setdefault(panel, []).append((names, text))
    return panels


def cli_reference() -> str:
    """Markdown for every command: its docstring, usage and options by panel."""
    import typer

    from losscli.cli import app

    group: Any = typer.main.get_command(app)  # a group: list_commands, get_command
    root = typer.Context(group, info_name="losscli")
    lines = ["Generated from the app by `python -m losscli.devtools docs`; "
             "`losscli COMMAND --help` shows the same.", ""]
    commands = [("losscli", group, root)]
    for name in group.list_commands(root):
        sub = group.get_command(root, name)
        commands.append((f"losscli {name}", sub, typer.Context(sub, info_name=name,
                                                              parent=root)))
    for title, command, ctx in commands:
        usage = " ".join([title, *command.collect_usage_pieces(ctx)])
        usage = re.sub(r"\[(\w+)\]|\{(\w+)\}",  # typer writes [file] and {files}
                       lambda m: f"[{m.group(1).upper()}]" if m.group(1) else m.group(2).upper(),
                       usage)
        lines += [f"### `{title}`", "", *_doc_markdown(command.help or ""), "",
                  f"Usage: `{usage}`", ""]
        for panel, rows in _param_rows(command, ctx).items():
            lines += [f"| {panel} | |", "|---|---|"]
            lines += [f"| `{_md(names)}` | {_md(text)} |" for names, text in rows]
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def with_reference(page: str) -> str:
    """``page`` (the text of docs/cli.md) with the generated reference between its markers."""
    if REFERENCE_START not in page or REFERENCE_END not in page:
        raise SystemExit(f"{CLI_REFERENCE.relative_to(ROOT)} has no "
                         f"{REFERENCE_START.strip()} ... {REFERENCE_END} markers")
    start = page.index(REFERENCE_START) + len(REFERENCE_START)
    end = page.index(REFERENCE_END)
    return page[:start] + cli_reference() + page[end:]


def stale() -> list[str]:
    """The generated files that differ from what the app generates now."""
    out = [f"completions/{name}" for shell, name in SCRIPTS.items()
           if not (COMPLETIONS / name).exists()
           or (COMPLETIONS / name).read_text() != completion_script(shell)]
    page = CLI_REFERENCE.read_text()
    if with_reference(page) != page:
        out.append("docs/cli.md (CLI reference)")
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    what = args[0] if args else ""
    if what == "completions":
        for path in write_completions():
            print(f"wrote {path.relative_to(ROOT)}")
        return 0
    if what in ("docs", "readme"):
        CLI_REFERENCE.write_text(with_reference(CLI_REFERENCE.read_text()))
        print("wrote docs/cli.md (CLI reference)")
        return 0
    if what == "check":
        bad = stale()
        for name in bad:
            print(f"stale: {name}; run python -m losscli.devtools completions/docs",
                  file=sys.stderr)
        return 1 if bad else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
