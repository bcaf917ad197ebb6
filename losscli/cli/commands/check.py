"""``losscli check``: the gate (:func:`losscli.gate.check`): bounds, a baseline, a paired
reference; exit 1 when a check fails."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from losscli.cli.after import GitHubOutput
from losscli.cli.commands import STDIN_HELP, body, pictures_wanted
from losscli.cli.hygiene import run_guarded
from losscli.cli.options import EvaluatingCommand, split_options, with_options
from losscli.tracking import MlflowOutput

#: The Click command class: the loss-parameter flags built from the registry when first
#: needed.
COMMAND_CLASS = EvaluatingCommand


@with_options("check")
def command(
    file: Annotated[str | None, typer.Argument(
        help="Predictions (and targets) file: CSV, TSV, NDJSON, Parquet, NPY, Feather/Arrow. "
        + STDIN_HELP, show_default=False)] = None,
    **options: Any,
) -> None:
    """Fail (exit 1) when a model's losses break a bound or regress against a baseline.

    Direction comes from each loss: only a change in the worse direction fails.

    Exit codes: 0 every check passed, 1 a check failed, 2 usage or input error, 130/143
    interrupted.

    Examples:

      losscli check sample_data/regression.parquet --loss mse --loss mae --max mse=2 --max mae=1.1

      losscli check sample_data/model_b.parquet -t sample_data/truth.tsv -b sample_data/baseline.json

      losscli check sample_data/regression.parquet -b sample_data/baseline.json --save new-baseline.json
    """
    quiet, no_progress = options.pop("quiet"), options.pop("no_progress")
    gate = {k: options.pop(k) for k in ("max_", "min_", "rtol", "atol", "baseline",
                                         "allow_missing", "save", "fmt", "base_ref", "write")}
    github, mlflow = GitHubOutput.pop(options), MlflowOutput.pop(options)
    gaps = {k: options.pop(k) or [] for k in ("max_gap", "min_gap_ratio")}
    kwargs = {**split_options(options), **gaps}
    plot, html = pictures_wanted(kwargs)
    result = run_guarded(body("check"), file, gate["max_"] or [], gate["min_"] or [],
                         gate["rtol"] or [], gate["atol"] or [], gate["baseline"],
                         gate["allow_missing"], gate["save"], gate["fmt"].value, kwargs, quiet,
                         not (quiet or no_progress), plot=plot, html=html, github=github,
                         base_ref=gate["base_ref"], mlflow=mlflow, write=gate["write"])
    code = result.outcome.exit_code  # the gate's one verdict
    if code:
        raise typer.Exit(code)
