"""The options of the command line alone, and every command's Typer parameters, built from
the declarations: the API's options are the fields of :class:`losscli.spec.InputSpec` and
:class:`losscli.spec.RunOptions`; those below (``--max``, ``--plot``, ``--format``...) are
read by the commands themselves; the loss-parameter flags (``--delta``...) are built from
the registry's :class:`~losscli.registry.Param` declarations.

``with_options("eval")`` gives a command every option declared for it, after the command's
own arguments; the command receives their values in ``**options``. Choices shown as
``[a|b]`` are Enums built from :mod:`losscli.vocab`'s tuples. Only typer and the standard
library load here: TAB completion builds these parameters on every key. The loss registry
(numpy) loads only when an evaluating command's own options are needed (its parsing, its
``--help``), see :class:`EvaluatingCommand`.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from enum import Enum
from functools import cache
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperOption

from losscli import vocab
from losscli.options import EVALUATING, Option, in_help_order
from losscli.spec import API_OPTIONS

_CHECK = frozenset({"check"})
_HISTORY = frozenset({"history"})
#: The commands with GitHub Actions output (--ci-format).
_CI = frozenset({"check", "compare"})
#: The commands with --write (more formats of the one result, to files).
_WRITTEN = frozenset({"eval", "check", "compare"})
#: Every command with a --format.
FORMATTED = frozenset({"eval", "check", "compare", "inspect", "merge", "losses", "history"})
#: The panel of the loss-parameter flags: their values go to the API as ``params``.
PARAMS_PANEL = "Loss parameters"


def _o(name: str, *flags: str, **declaration: Any) -> Option:
    return Option(name, flags, api=False, **declaration)


#: The options of the command line alone, read by the commands (not by ``build_spec``):
#: those of one command first...
_OWN: tuple[Option, ...] = (
    _o("max_", "--max", type=list[str], metavar="NAME=V", panel="Checks", commands=_CHECK,
       help="Fail when loss NAME is above V (repeatable). NAME: a name, alias or label, e.g. "
       "mse, l1, huber(delta=0.5), huber:delta=0.5."),
    _o("min_", "--min", type=list[str], metavar="NAME=V", panel="Checks", commands=_CHECK,
       help="Fail when loss NAME is below V (repeatable)."),
    _o("max_gap", "--max-gap", type=list[str], metavar="NAME=V", panel="Checks",
       commands=_CHECK, help="With --group-by: fail when the difference between the groups "
       "(largest − smallest group value of loss NAME) is above V (repeatable; implies "
       "--group-gap difference). With --ci, only when its whole interval is."),
    _o("min_gap_ratio", "--min-gap-ratio", type=list[str], metavar="NAME=V", panel="Checks",
       commands=_CHECK, help="With --group-by: fail when the ratio of the groups (smallest / "
       "largest group value of NAME) is below V, e.g. roc_auc=0.8 (repeatable; implies "
       "--group-gap ratio)."),
    _o("baseline", "--baseline", "-b", panel="Checks", commands=_CHECK,
       help="Report JSON to compare with (from 'eval --format json' or 'check --save'). "
       "Without --loss, its losses are evaluated. git:REF:PATH reads it as committed at REF "
       "(git:main:metrics/baseline.json, git:HEAD~1:...); git:merge-base:PATH at the merge "
       "base of HEAD with the default branch (or --base-ref)."),
    _o("base_ref", "--base-ref", metavar="REF", panel="Checks", show_default=False,
       commands=_CHECK, help="The branch of --baseline git:merge-base:PATH (default: "
       "$GITHUB_BASE_REF in a pull request, else origin/HEAD, main or master)."),
    _o("rtol", "--rtol", type=list[str], metavar="[NAME=]V", panel="Checks", commands=_CHECK,
       help="Relative tolerance vs the baseline: fail when a loss gets worse by more than "
       "max(atol, rtol·|baseline|). Global, or per loss."),
    _o("atol", "--atol", type=list[str], metavar="[NAME=]V", panel="Checks", commands=_CHECK,
       help="Absolute tolerance vs the baseline, global or per loss. Without any tolerance, "
       "no worsening is allowed."),
    _o("allow_missing", "--allow-missing", type=bool, default=False, panel="Checks",
       commands=_CHECK, help="Pass a loss that the baseline does not have (default: fail)."),
    _o("reference_col", "--reference-col", metavar="COL", panel="Checks", show_default=False,
       commands=_CHECK, help="Paired gate: the current model's predictions (column COL of "
       "FILE) on the same rows; fail only when the candidate (--pred-col) is significantly "
       "worse by more than --rtol/--atol."),
    _o("reference", "--reference", metavar="FILE", panel="Checks", show_default=False,
       commands=_CHECK, help="Paired gate with the current model's predictions in their own "
       "file (aligned row by row with FILE)."),
    _o("data_changed", "--data-changed", choices=vocab.DATA_CHANGED, enum=True, default="warn",
       panel="Checks", commands=_CHECK, help="When the baseline's fingerprint of the targets "
       "and weights differs from this run's (other data): warn (a note in the verdict) or "
       "fail the gate. A baseline without a fingerprint never fails."),
    _o("save", "--save", metavar="FILE", panel="Output", commands=_CHECK,
       help="Write this run's report (JSON) atomically, for use as the next baseline."),
    _o("write", "--write", type=list[str], metavar="FORMAT=FILE", panel="Output",
       commands=_WRITTEN, show_default=False,
       help="Also write the result in FORMAT to FILE (repeatable, atomically, after the run), "
       "e.g. --write junit=losscli-junit.xml --write openmetrics=metrics.txt: every report "
       "from one run. FORMAT: one of --format's."),
    _o("ci_format", "--ci-format", choices=vocab.CI_FORMATS, enum=True, default="auto",
       panel="Output", commands=_CI, help="GitHub Actions output: the verdict's Markdown "
       "appended to $GITHUB_STEP_SUMMARY and one ::error annotation per failing loss or group "
       "(::notice for notes, on stderr). auto: when GITHUB_ACTIONS=true; github: always; "
       "none: never."),
    _o("no_ci_annotations", "--no-ci-annotations", type=bool, default=False, panel="Output",
       commands=_CI, help="With --ci-format: no ::error/::notice annotations (the step "
       "summary is still written)."),
    _o("name", "--name", type=list[str], metavar="NAME=PATH", panel="Models",
       commands=frozenset({"compare"}), help="Name a model (repeatable); NAME=COLUMN when the "
       "models are --pred-col columns. Default: the file stem or the column."),
    _o("fmt", "--format", "-f", choices=vocab.OUTPUT_FORMATS, enum=True, default="table",
       panel="Output", commands=FORMATTED, per_command={
           "eval": {"help": "Report format on stdout (ndjson: one JSON object per loss, or "
                            "per row with --reduction none)."},
           "check": {"help": "Verdict format on stdout; json has a top-level \"passed\"; "
                             "junit: JUnit XML, one test case per loss and group check; "
                             "openmetrics: GitLab's metrics report.",
                     "choices": vocab.CHECK_FORMATS},
           "compare": {"help": "Comparison format on stdout."},
           "inspect": {"help": "table (plain text) or json."},
           "merge": {"help": "Report format on stdout."},
           "losses": {"help": "table, json, markdown or csv.", "panel": None},
           "history": {"help": "One row per commit: table, json (with each interval's "
                               "ci_low/ci_high), markdown or csv.",
                       "choices": vocab.HISTORY_FORMATS}}),
    _o("rev_range", "--rev-range", metavar="A..B", panel="Inputs", show_default=False,
       commands=_HISTORY, help="Only the commits of A..B (git's range: reachable from B, "
       "not from A; A.. means A..HEAD). Default: every commit reachable from HEAD."),
    _o("n", "-n", "--max-count", type=int, metavar="N", panel="Inputs", show_default=False,
       minimum=1, commands=_HISTORY, help="Only the N most recent commits that changed PATH."),
    _o("history_group_by", "--group-by", "-g", type=list[str], metavar="COL", panel="Groups",
       show_default=False, commands=_HISTORY, help="One column per loss and group of the "
       "reports' --group-by COL (repeatable, as the reports were written); a report without "
       "those groups is a row saying so."),
)
#: ... then those of every evaluating command, shown after the API's in their panels.
_SHARED: tuple[Option, ...] = (
    _o("auc_bins", "--auc-bins", type=int, panel=PARAMS_PANEL, show_default=False,
       help="The ranking metrics only (roc_auc, average_precision and the operating points: "
       "precision_at_recall, recall_at_precision, threshold_at_fpr, expected_cost): N score "
       "bins (bounded memory, the error bound reported), or 0 exact; --bins also sets ece's "
       "bins."),
    _o("plot", "--plot", type=bool, default=False, panel="Pictures",
       commands=EVALUATING | _HISTORY, per_command={"history": {"help": "After the table, a "
       "sparkline per loss over the commits (on stderr when stdout carries json, csv or "
       "markdown)."}},
       help="After the table, pictures: a histogram of each per-row loss (its quantiles "
       "marked; implies --distribution), a reliability diagram of a classifier's "
       "probabilities, a bar per group with its interval; compare overlays the models. Plain "
       "text unless on a colour terminal; on stderr when stdout carries json, csv, ndjson or "
       "markdown."),
    _o("html", "--html", metavar="FILE", show_default=False, panel="Pictures",
       commands=EVALUATING | _HISTORY, per_command={"history": {"help": "Also write a "
       "self-contained HTML page (inline SVG, no script): a chart per loss over the commits "
       "with each report's interval as a band, and the table; atomically."}},
       help="Also write one self-contained HTML report (tables, intervals, groups, "
       "distributions, reliability diagrams; inline SVG, no script, nothing from the "
       "network), atomically; check puts what failed first."),
    # experiment tracking (losscli.tracking)
    _o("mlflow", "--mlflow", type=bool, default=False, panel="Output",
       help="Log to an MLflow run (MLFLOW_TRACKING_URI): every value as a metric (mse, "
       "mse.ci_low, mse.region_east: characters MLflow refuses become _), the JSON report "
       "and the --html page as artifacts, the data fingerprint and losscli's version as "
       "tags; check adds passed (1/0). pip install 'losscli\\[mlflow]'."),
    _o("mlflow_experiment", "--mlflow-experiment", metavar="NAME", show_default=False,
       panel="Output", help="The MLflow experiment of the new run (created when missing; "
       "default $MLFLOW_EXPERIMENT_NAME, else MLflow's default experiment); implies --mlflow."),
    _o("mlflow_run_id", "--mlflow-run-id", metavar="RUN_ID", show_default=False,
       panel="Output", help="Log into this existing MLflow run (default $MLFLOW_RUN_ID) "
       "instead of starting one; implies --mlflow."),
    _o("quiet", "--quiet", "-q", type=bool, default=False, panel="Output",
       help="No messages on stderr except errors (no progress bar, no 'wrote N rows', no "
       "'check failed' line: the exit code says it)."),
    _o("no_progress", "--no-progress", type=bool, default=False, panel="Output",
       help="No progress bar. (It is shown only when stderr is a terminal and the run takes "
       "longer than half a second.)"),
)

CLI_OPTIONS = (*_OWN, *_SHARED)
#: Every option with a flag, in the order of ``--help``.
OPTIONS: tuple[Option, ...] = in_help_order(
    tuple(o for o in (*_OWN, *API_OPTIONS, *_SHARED) if o.flags))


def command_options(command: str) -> tuple[Option, ...]:
    """The options ``losscli COMMAND`` takes, in the order its help shows them."""
    return tuple(o for o in OPTIONS if o.takes(command))


def complete_loss(incomplete: str) -> list[tuple[str, str]]:
    """Loss names and aliases for TAB completion, with the summary zsh and fish show."""
    from losscli.registry import all_losses, all_names, get_loss

    specs = all_losses()
    return [(n, specs[n].summary if n in specs else f"alias of {get_loss(n).name}")
            for n in all_names() if n.startswith(incomplete.lower())]


COMPLETERS: dict[str, Callable[[str], list[tuple[str, str]]]] = {"complete_loss": complete_loss}


@cache
def choice_enum(name: str, words: tuple[str, ...]) -> type[Enum]:
    """A ``str`` Enum of ``words`` (a vocab tuple) for Typer to show and check."""
    title = "".join(p.title() for p in name.strip("_").split("_"))
    return Enum(title, [(w, w) for w in words], type=str)  # type: ignore[return-value]


def parameter(option: Option, command: str) -> inspect.Parameter:
    """The keyword-only parameter of ``command`` that Typer reads for ``option``."""
    default = option.cli_default
    kind: Any = option.type
    if option.enum:  # a command may take more words (check --format junit)
        kind = choice_enum(option.name, option.attribute("choices", command))
        default = None if default is None else kind(default)
    info = typer.Option(
        *option.flags, help=option.attribute("help", command),
        rich_help_panel=option.attribute("panel", command), metavar=option.metavar,
        show_default=option.show_default, min=option.minimum,
        autocompletion=COMPLETERS[option.complete] if option.complete else None)
    annotation = kind if default is not None else kind | None
    return inspect.Parameter(option.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=Annotated[annotation, info])


def with_options(command: str) -> Callable[[Any], Any]:
    """Add the options declared for ``command`` to its signature: Typer reads the extended
    signature, and the command receives the values in ``**options``."""

    def deco(func: Any) -> Any:
        sig = inspect.signature(func)
        hints = typing.get_type_hints(func, include_extras=True)  # resolve string annotations
        own = [p.replace(annotation=hints.get(p.name, p.annotation))
               for p in sig.parameters.values() if p.kind != inspect.Parameter.VAR_KEYWORD]
        func.__signature__ = sig.replace(parameters=[
            *own, *(parameter(o, command) for o in command_options(command))])
        return func

    return deco


# --- the loss-parameter flags, from the registry -----------------------------------------

def _shown(value: Any) -> str:
    if value is None:
        return "auto"
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:g}" if isinstance(value, float) else str(value)


@cache
def loss_parameters() -> tuple[tuple[str, type, str], ...]:
    """(name, type, help) of each loss parameter of the registry, one flag each: the help
    names the losses that take it, what it does there and its default."""
    from losscli.registry import all_losses

    uses: dict[str, list[tuple[str, Any]]] = {}
    for spec in all_losses().values():
        for p in spec.params:
            uses.setdefault(p.name, []).append((spec.name, p))
    out = []
    for name, pairs in uses.items():
        kinds = {p.type for _, p in pairs}
        kind = kinds.pop() if len(kinds) == 1 else float  # int and float: a number
        texts: dict[tuple[str, str], list[str]] = {}
        for loss, p in pairs:
            doc = p.doc + (f" ({' | '.join(p.choices)})" if p.choices else "")
            texts.setdefault((doc, _shown(p.default)), []).append(loss)
        help_text = "; ".join(f"{', '.join(losses)}: {doc} (default {default})"
                              for (doc, default), losses in texts.items())
        out.append((name, kind, help_text.replace("[", "\\[") + "."))  # not rich markup
    return tuple(out)


def _click_option(name: str, kind: type, help_text: str) -> TyperOption:
    flag = "--" + name.replace("_", "-")
    decls = [name, f"{flag}/--no-{flag[2:]}" if kind is bool else flag]
    return TyperOption(param_decls=decls, type=None if kind is bool else kind, default=None,
                       help=help_text, rich_help_panel=PARAMS_PANEL, show_default=False,
                       is_flag=kind is bool or None)


class EvaluatingCommand(TyperCommand):
    """A command that takes the loss-parameter flags: they are built from the registry when
    the command's options are first needed (parsing, help, completion of its options), so
    that ``losscli --help`` and TAB on a command name load no numpy."""

    _params_built = False

    def get_params(self, ctx: Any) -> Any:
        if not self._params_built:
            self._params_built = True
            at = next((i for i, p in enumerate(self.params)  # before --auc-bins
                       if getattr(p, "rich_help_panel", None) == PARAMS_PANEL), len(self.params))
            self.params[at:at] = [_click_option(*p) for p in loss_parameters()]
        return super().get_params(ctx)


def split_options(options: dict[str, Any]) -> dict[str, Any]:
    """The shared options as the API's keyword options (``losscli.spec.build_spec``
    validates them): the parameter flags become ``params``, Enum choices their words."""
    names = [*(name for name, _, _ in loss_parameters()),
             *(o.name for o in CLI_OPTIONS if o.panel == PARAMS_PANEL)]
    params = {name: v for name in names if (v := options.pop(name, None)) is not None}
    kwargs = values(options)
    kwargs["params"] = params
    return kwargs


def values(options: dict[str, Any]) -> dict[str, Any]:
    """Enum choices as their words."""
    return {k: getattr(v, "value", v) for k, v in options.items()}


__all__ = ["CLI_OPTIONS", "EVALUATING", "EvaluatingCommand", "command_options",
           "complete_loss", "split_options", "values", "with_options"]
