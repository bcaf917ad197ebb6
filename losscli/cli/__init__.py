"""The Typer app: parse options, call the Python API, render, map errors to exit codes.

Exit codes: 0 success, 1 a check failed, 2 usage, input or output error (one line on
stderr), 130 Ctrl-C, 143 SIGTERM (one line on stderr, temporary files removed).
Only typer and the standard library are imported at start-up; numpy, pyarrow and rich
load when a command runs, so ``--help`` and TAB completion stay fast.

The package: :mod:`losscli.cli.options` builds each command's Typer parameters from the
declarations (the fields of :mod:`losscli.spec`, its own table of CLI-only options, the
registry's Params); :mod:`losscli.cli.commands` holds the commands (one shared "after the
run"); :mod:`losscli.cli.hygiene` the process hygiene (one stderr line per error, closed
stdout, signals). The commands are registered here, in one place.
"""

from __future__ import annotations

from typing import Annotated

import typer

from losscli._version import __version__
from losscli.cli import commands, hygiene
from losscli.cli.hygiene import fail
from losscli.cli.options import EvaluatingCommand

__all__ = ["app", "fail", "main"]

app = typer.Typer(
    name="losscli",
    help="Evaluate losses over prediction and target files, streamed in chunks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,  # --install-completion/--show-completion; see completions/
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"losscli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version_callback, is_eager=True, help="Show the version.")] = False,
) -> None:
    """losscli: how wrong is this model, by which measure."""


app.command("eval", cls=EvaluatingCommand)(commands.eval_cmd)
app.command("inspect")(commands.inspect_cmd)
app.command("check", cls=EvaluatingCommand)(commands.check_cmd)
app.command("compare", cls=EvaluatingCommand)(commands.compare_cmd)
app.command("merge")(commands.merge_cmd)
app.command("losses")(commands.losses_cmd)
app.command("history")(commands.history_cmd)


def main() -> None:
    """Entry point (``losscli.__main__.entry``): Typer's parsing, with its usage errors
    shortened to one stderr line; Ctrl-C and SIGTERM end with one line and exit 130/143
    (:mod:`losscli.interrupts`)."""
    hygiene.main(app)
