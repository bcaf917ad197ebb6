"""What an option is: one declaration of its name, flags, help, panel, default, choices,
validator and the commands that take it; and the defaults that modules below the API apply
too (the chunk size, the longest line, the group cap, the interval level and replicates).

The options of the Python API are the fields of :class:`losscli.spec.InputSpec` and
:class:`losscli.spec.RunOptions`, each declared with :func:`option` (its default is the
field's, its name the field's name); the options of the command line alone (``--plot``,
``--max``, ``--format``...) are declared the same way in :mod:`losscli.cli.options`. From
these declarations are built the Typer parameters of every command, the API's validation
(:func:`losscli.spec.build_spec` calls each option's :meth:`Option.validate`),
``inspect``'s options (those whose ``commands`` name it) and so the generated CLI
reference. Like scikit-learn's ``validate_params``, what a parameter accepts is stated
beside it.

Only the standard library is imported here: the CLI builds its parameters from these
declarations at start-up (and on every TAB).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields, replace
from typing import Any

# The defaults that other modules apply too, stated once: the declarations in losscli.spec
# use them, and so do the modules that apply them (this module is a leaf: io may import it).
#: Rows per chunk by default (wide rows take fewer: ``session.default_chunk_size``).
DEFAULT_CHUNK_SIZE = 1 << 18
#: The longest line of text input by default (``--max-line-bytes``).
MAX_LINE_BYTES = 16 << 20
#: Groups refused beyond this many by default: each keeps a state, so memory grows with the
#: groups, never with the rows.
MAX_GROUPS = 10_000
#: ``--ci-level`` and ``--replicates`` by default.
CI_LEVEL = 0.95
REPLICATES = 200

#: The commands that evaluate (they take the loss, input, uncertainty, group, picture and
#: message options).
EVALUATING = frozenset({"eval", "check", "compare"})
#: ... and ``inspect`` besides: the options about the inputs and how they are read.
READING = EVALUATING | {"inspect"}
#: The panels of ``--help``, in the order they are shown.
PANELS = ("Checks", "Models", "Losses", "Loss parameters", "Inputs", "Uncertainty", "Groups",
          "Pictures", "Output", None)

#: A validator: (the option's name, a value) -> the value in its canonical type, or a
#: UsageError naming the option (see :mod:`losscli.validators`).
Validator = Callable[[str, Any], Any]


@dataclass(frozen=True)
class Option:
    """One option. ``name`` is its keyword in the Python API (and the parameter's name in
    the command); ``flags`` its command-line spellings (none: the API alone); ``api``
    whether :func:`losscli.spec.build_spec` takes it (else the CLI alone reads it).
    ``type`` is the value's type on the command line (``list[str]``: repeatable).
    ``choices`` (a :mod:`losscli.vocab` tuple) are shown as ``[a|b]`` by Typer when
    ``enum``, else named by ``metavar``; the API checks them either way. ``per_command``
    overrides ``help``, ``panel`` or ``choices`` for one command."""

    name: str = ""
    flags: tuple[str, ...] = ()
    help: str = ""
    panel: str | None = None
    default: Any = None
    type: Any = str
    choices: tuple[str, ...] = ()
    enum: bool = False
    check: Validator | None = None
    commands: frozenset[str] = EVALUATING
    api: bool = True
    metavar: str | None = None
    show_default: bool = True
    minimum: int | None = None
    complete: str | None = None  # a completion function of losscli.cli.options, by name
    per_command: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def validate(self, value: Any) -> Any:
        """The API's check of a value: one of ``choices``, or the declared validator."""
        from losscli import validators

        if self.choices:
            return validators.choice(self.name, value, self.choices, optional=self.default is None)
        if self.check is not None:
            return self.check(self.name, value)
        return value

    def takes(self, command: str) -> bool:
        return command in self.commands

    def attribute(self, what: str, command: str) -> Any:
        """``help``, ``panel`` or ``choices`` as ``command`` shows it."""
        return self.per_command.get(command, {}).get(what, getattr(self, what))

    @property
    def cli_default(self) -> Any:
        """The default Typer is given: a scalar default, else None (an empty list or
        mapping is "not given" on the command line)."""
        return self.default if isinstance(self.default, bool | int | float | str) else None


def option(default: Any = None, *flags: str, factory: Callable[[], Any] | None = None,
           **declaration: Any) -> Any:
    """A dataclass field that declares an API option: its default (or ``factory``), its
    flags and the rest of :class:`Option`; the name is the field's."""
    meta = {"option": Option(flags=flags, **declaration)}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def column_option(help: str, *, flags: tuple[str, ...], **declaration: Any) -> Any:
    """A column option of the inputs: a name, a glob or several names."""
    from losscli import validators

    return option((), *flags, type=list[str], panel="Inputs", check=validators.columns, help=help,
                  **{"commands": READING, **declaration})


def file_option(flag: str, help: str, *short: str) -> Any:
    """A data option of the inputs: a file (or an array, a DataFrame... in the API)."""
    from losscli import validators

    return option(None, flag, *short, panel="Inputs", check=validators.data, commands=READING, help=help)


def _default(f: Field[Any]) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return None


def declared(*classes: type) -> tuple[Option, ...]:
    """The options declared by the fields of dataclasses ``classes``, with their names and
    defaults, in field order."""
    return tuple(replace(f.metadata["option"], name=f.name, default=_default(f))
                 for cls in classes for f in fields(cls) if "option" in f.metadata)


def in_help_order(options: tuple[Option, ...]) -> tuple[Option, ...]:
    """Options by panel (:data:`PANELS`), in declaration order within a panel."""
    return tuple(sorted(options, key=lambda o: PANELS.index(o.panel)))
