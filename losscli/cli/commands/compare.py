"""``losscli compare``: several models side by side (:func:`losscli.comparison.compare`),
the best per loss and the paired tests."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from losscli.cli.after import GitHubOutput, after_run
from losscli.cli.commands import MANY_HELP, guard_outputs, pictures_wanted
from losscli.cli.hygiene import run_guarded
from losscli.cli.options import split_options, with_options
from losscli.comparison import compare, parse_models
from losscli.present.ci_formats import compare_annotations
from losscli.present.compare_text import render_compare, render_compare_markdown
from losscli.progress import progress_bar
from losscli.tracking import MlflowOutput, writer


@with_options("compare")
def command(
    files: Annotated[list[str], typer.Argument(
        help="Prediction files, one per model, each PATH or NAME=PATH. The first is the "
        "reference. With one file, several --pred-col make the models. " + MANY_HELP,
        show_default=False)],
    **options: Any,
) -> None:
    """Compare models: one row per loss, one column per model, the best model per loss.

    Each model's difference to the first (the reference) is shown absolute and relative.

    Every model is read in one streamed pass against --targets (or its own target column).

    Examples:

      losscli compare a=sample_data/model_preds.parquet b=sample_data/model_b.parquet -t sample_data/truth.tsv

      losscli compare sample_data/models.parquet --pred-col model_a --pred-col model_b -l mse -l r2
    """
    quiet, no_progress = options.pop("quiet"), options.pop("no_progress")
    name, fmt = options.pop("name"), options.pop("fmt").value
    github, mlflow = GitHubOutput.pop(options), MlflowOutput.pop(options)
    kwargs = split_options(options)
    plot, html = pictures_wanted(kwargs)
    run_guarded(_compare, files, name or [], fmt, kwargs, not (quiet or no_progress),
                quiet=quiet, plot=plot, html=html, github=github, mlflow=mlflow)


def _compare(files: list[str], names: list[str], fmt: str, kwargs: dict[str, Any],
             progress: bool = True, *, quiet: bool = False, plot: bool = False,
             html: str | None = None, github: GitHubOutput = GitHubOutput(),
             mlflow: MlflowOutput = MlflowOutput()) -> None:
    models = parse_models(files, names, kwargs.pop("pred_col", None))
    guard_outputs([(f"model '{m.name}'" if m.name else "predictions", m.predictions)
                   for m in models], {"--html": html, **github.outputs}, kwargs)
    mlflow.prepare()
    with progress_bar(None, progress) as bar:
        comparison = compare(models, on_batch=bar, **kwargs)

    def pictures() -> tuple[dict[str, Any], Any, list[str]]:
        from losscli.html import comparison_doc
        from losscli.plot import comparison_pictures

        items, skipped = comparison_pictures(comparison.reports, comparison.names)
        return comparison_doc(comparison), items, skipped

    after_run(lambda: render_compare(comparison, fmt), pictures, plot=plot, html=html,
              quiet=quiet, to_stdout=fmt == "table",
              ci=github.writer(lambda: render_compare_markdown(comparison),
                               lambda: compare_annotations(comparison)),
              track=writer(mlflow, "compare", comparison.to_dict, html=html, quiet=quiet))
