"""The Typer app: parse options, call the Python API, render, map errors to exit codes.

Exit codes: 0 success, 1 a check failed, 2 usage, input or output error (one line on
stderr), 130 Ctrl-C, 143 SIGTERM (one line on stderr, temporary files removed).
Only typer and the standard library are imported at start-up; numpy, pyarrow and rich
load when a command runs, so ``--help`` and TAB completion stay fast.

The package: :mod:`losscli.cli.options` builds each command's Typer parameters from the
declarations (the fields of :mod:`losscli.spec`, its own table of CLI-only options, the
registry's Params); :mod:`losscli.cli.commands` holds the commands, one module each (one
shared "after the run", :mod:`losscli.cli.after`); :mod:`losscli.cli.hygiene` the process
hygiene (one stderr line per error, closed stdout, signals).

The commands are registered here, in one place, as a table of module paths
(:data:`COMMANDS`): the one lazy boundary of the command line. A command's declaration
(``losscli.cli.commands.evaluate``) is imported when it is parsed, completed or shows its
help; its body (``losscli.cli.run.evaluate``) when it runs; nothing of the other commands
(the gate, the comparison, git history, the pictures) ever. ``losscli --help`` and TAB on
a command name list the table's summaries and import no command at all.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup
from typer.main import get_command_from_info
from typer.models import CommandInfo

from losscli._version import __version__
from losscli.cli import hygiene
from losscli.cli.hygiene import fail

__all__ = ["COMMANDS", "app", "fail", "main"]


@dataclass(frozen=True)
class Command:
    """A command of the table: the module that declares it (its function ``command``: the
    arguments and options, imported to parse, complete or show its help; its
    ``COMMAND_CLASS``: the Click command class), the module of its
    body (``run``, imported when it runs: :func:`losscli.cli.commands.body`) and the line
    ``losscli --help`` shows (the first paragraph of ``command``'s docstring, kept equal by
    ``tests/test_architecture.py``)."""

    module: str
    summary: str

    @property
    def body(self) -> str:
        """The module of the command's body: ``losscli.cli.run.<the module's name>``."""
        return "losscli.cli.run." + self.module.rpartition(".")[2]


#: The commands, in the order of ``losscli --help``: each imported when it runs.
COMMANDS: dict[str, Command] = {
    "eval": Command("losscli.cli.commands.evaluate",
                    "Evaluate losses over a predictions file and print them side by side."),
    "inspect": Command("losscli.cli.commands.inspect_file",
                       "Show a file's format, rows, columns and types, the "
                       "prediction/target/weight columns\n'eval' would use, and which losses "
                       "fit the data."),
    "check": Command("losscli.cli.commands.check", "Fail (exit 1) when a model's losses "
                     "break a bound or regress against a baseline."),
    "compare": Command("losscli.cli.commands.compare", "Compare models: one row per loss, "
                       "one column per model, the best model per loss."),
    "merge": Command("losscli.cli.commands.merge",
                     "Merge the saved states of parts evaluated apart into one report."),
    "losses": Command("losscli.cli.commands.losses", "List every loss: name, aliases, "
                      "parameters with defaults, inputs, direction, reference."),
    "history": Command("losscli.cli.commands.history", "The losses of a committed report at "
                       "each commit that changed it, oldest first."),
}


class CommandTable(TyperGroup):
    """The root group over :data:`COMMANDS`: a command's module is imported, and its Click
    command built, when it is asked for by name (to run it, for its ``--help``, for the
    CLI reference); listing the commands (the root help, TAB on a command name) shows the
    table's summaries without importing any."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            if self._listing:
                summary = COMMANDS[cmd_name].summary
                return TyperCommand(cmd_name, help=summary, short_help=summary)
            self.commands[cmd_name] = self.build(cmd_name)
        return self.commands.get(cmd_name)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """Typer suggests a close command name from the commands built so far (none, in a
        lazy table): suggest from the table instead (``evl`` → "Did you mean 'eval'?")."""
        try:
            return super().resolve_command(ctx, args)
        except Exception as exc:  # Click's UsageError (Typer's own copy of Click): re-raised
            import difflib

            message = getattr(exc, "message", None)
            matches = difflib.get_close_matches(args[0], list(COMMANDS)) if args else []
            if isinstance(message, str) and matches and "Did you mean" not in message:
                setattr(exc, "message", f"{message.rstrip('.')}. Did you mean "  # noqa: B010
                        f"{', '.join(repr(m) for m in matches)}?")
            raise

    def build(self, name: str) -> Any:
        """Import the module of command ``name`` and build its Click command."""
        module = importlib.import_module(COMMANDS[name].module)
        function: Callable[..., Any] = module.command
        info = CommandInfo(name=name, callback=function, cls=module.COMMAND_CLASS)
        return get_command_from_info(info, pretty_exceptions_short=False,
                                     rich_markup_mode=self.rich_markup_mode)

    @contextmanager
    def listing(self) -> Iterator[None]:
        self._listing = True
        try:
            yield
        finally:
            self._listing = False

    def format_help(self, ctx: Any, formatter: Any) -> None:
        with self.listing():
            super().format_help(ctx, formatter)

    def shell_complete(self, ctx: Any, incomplete: str) -> Any:
        with self.listing():
            return super().shell_complete(ctx, incomplete)


app = typer.Typer(
    cls=CommandTable,
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



def main() -> None:
    """Entry point (``losscli.__main__.entry``): Typer's parsing, with its usage errors
    shortened to one stderr line; Ctrl-C and SIGTERM end with one line and exit 130/143
    (:mod:`losscli.interrupts`)."""
    hygiene.main(app)
