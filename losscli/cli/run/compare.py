"""The body of ``losscli compare`` (its declaration: :mod:`losscli.cli.commands.compare`),
imported when the command runs."""

from __future__ import annotations

from typing import Any

from losscli import vocab
from losscli.cli.after import GitHubOutput, Written, after_run
from losscli.cli.commands import guard_outputs
from losscli.comparison import compare, parse_models
from losscli.present.ci_formats import compare_annotations
from losscli.present.compare_text import render_compare, render_compare_markdown
from losscli.progress import progress_bar
from losscli.tracking import MlflowOutput, writer


def run(files: list[str], names: list[str], fmt: str, kwargs: dict[str, Any],
             progress: bool = True, *, quiet: bool = False, plot: bool = False,
             html: str | None = None, github: GitHubOutput = GitHubOutput(),
             mlflow: MlflowOutput = MlflowOutput(), write: list[str] | None = None) -> None:
    written = Written.parse(write, vocab.OUTPUT_FORMATS, "compare")
    models = parse_models(files, names, kwargs.pop("pred_col", None))
    guard_outputs([(f"model '{m.name}'" if m.name else "predictions", m.predictions)
                   for m in models], {"--html": html, **github.outputs, **written.outputs},
                  kwargs)
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
              write=written.writer(lambda f, out: render_compare(comparison, f, out), quiet),
              ci=github.writer(lambda: render_compare_markdown(comparison),
                               lambda: compare_annotations(comparison)),
              track=writer(mlflow, "compare", comparison.to_dict, html=html, quiet=quiet))
