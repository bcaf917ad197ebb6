"""What every evaluating command does after its run, in one place (:func:`after_run`): the
result on stdout, ``--plot``'s pictures, ``--html``'s page, the CI's own output
(:class:`GitHubOutput`: the step summary and annotations) and ``--mlflow``'s logging."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from functools import partial
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from losscli.present.text import stderr_line

if TYPE_CHECKING:
    from losscli.report import Report

#: A picture source: (the document, the picture models, what was skipped), built lazily.
Pictures = Callable[[], tuple[dict[str, Any], Any, list[str]]]


def show_pictures(items: Any, skipped: list[str], to_stdout: bool, quiet: bool) -> None:
    """Draw ``--plot``'s pictures after the table: on stdout when it shows the table, else on
    stderr (machine output stays pure). Nothing to draw is one line on stderr, not an
    error."""
    from losscli import plot

    out = sys.stdout if to_stdout else sys.stderr
    message = plot.nothing_to_plot(items, skipped)
    if message is not None:
        if not quiet:
            stderr_line(message, kind="note")
        return
    out.write("\n")
    plot.draw(items, out, skipped=skipped)


def write_report_html(html: str, doc: dict[str, Any], items: Any, quiet: bool) -> None:
    from losscli.html import write_html

    write_html(doc, html, items)
    if not quiet:
        stderr_line(f"wrote the report to {html}")


class GitHubOutput(NamedTuple):
    """``--ci-format``/``--no-ci-annotations``, resolved against the environment: whether
    to write GitHub's output, the step summary file (``$GITHUB_STEP_SUMMARY``, declared to
    the output guard as an output) and whether to annotate. (A named tuple: defined on
    every run, where a frozen dataclass costs half a millisecond.)"""

    wanted: bool = False
    summary: str | None = None
    annotate: bool = True

    @classmethod
    def pop(cls, options: dict[str, Any]) -> GitHubOutput:
        from losscli.present.ci_formats import github_wanted, step_summary_path

        fmt = getattr(options.pop("ci_format"), "value", "auto")
        annotate = not options.pop("no_ci_annotations")
        if not github_wanted(fmt):
            return cls()
        return cls(True, step_summary_path(), annotate)

    @property
    def outputs(self) -> dict[str, str | None]:
        """The file this writes, for :func:`guard_outputs`."""
        return {"$GITHUB_STEP_SUMMARY": self.summary} if self.wanted else {}

    def writer(self, markdown: Callable[[], str], annotations: Callable[[], Any]
               ) -> Callable[[], None] | None:
        """What :func:`after_run` calls last: append ``markdown()`` to the summary and write
        the ``annotations()`` (:func:`losscli.present.ci_formats.write_github`)."""
        if not self.wanted:
            return None

        def write() -> None:
            from losscli.present.ci_formats import write_github

            write_github(markdown(), annotations() if self.annotate else [], self.summary,
                         self.annotate, sys.stderr)

        return write


class Written(NamedTuple):
    """``--write FORMAT=FILE`` (repeatable): the same result in more formats, each written
    atomically to its file after the run — e.g. JUnit XML and GitLab's metrics report from
    one ``check``. :meth:`parse` checks the requests (one line and exit 2 on a bad one);
    :attr:`outputs` declares the files to the one output guard before any data is read."""

    files: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, given: Sequence[str] | None, formats: Sequence[str],
              command: str) -> Written:
        from losscli.errors import UsageError

        files: list[tuple[str, str]] = []
        for text in given or ():
            fmt, sep, path = text.partition("=")
            fmt = fmt.strip().lower()
            if not sep or not fmt or not path:
                raise UsageError(f"--write '{text}': give FORMAT=FILE, e.g. --write "
                                 f"{formats[-1]}=losscli-{formats[-1]}.txt.")
            if fmt not in formats:
                raise UsageError(f"--write '{text}': {command} writes no format '{fmt}'; "
                                 f"choose one of {', '.join(formats)}.")
            if path == "-":
                raise UsageError(f"--write '{text}': standard output is --format's; give "
                                 "a file name.")
            if any(fmt == other for other, _ in files):
                raise UsageError(f"--write {fmt}: given twice; write each format once.")
            files.append((fmt, path))
        return cls(tuple(files))

    @property
    def outputs(self) -> dict[str, str | None]:
        """flag → file, for :func:`guard_outputs`."""
        return {f"--write {fmt}": path for fmt, path in self.files}

    def writer(self, render_to: Callable[[str, IO[str]], None], quiet: bool
               ) -> Callable[[], None] | None:
        """What :func:`after_run` calls after the result: ``render_to(fmt, f)`` into each
        file, atomically (an error leaves the file as it was)."""
        if not self.files:
            return None

        def write() -> None:
            from losscli.io.atomic import write_atomically

            for fmt, path in self.files:
                write_atomically(path, partial(render_to, fmt), flag=f"--write {fmt}")
                if not quiet:
                    stderr_line(f"wrote {fmt} to {path}")

        return write


def after_run(render: Callable[[], None], pictures: Pictures, *, plot: bool,
              html: str | None, quiet: bool, to_stdout: bool,
              before: Sequence[tuple[str, str]] = (),
              after: Sequence[tuple[str, str]] = (),
              write: Callable[[], None] | None = None,
              ci: Callable[[], None] | None = None,
              track: Callable[[], None] | None = None) -> None:
    """What every evaluating command does after the run, in this order: the lines
    ``before`` on stderr (``(text, kind)``), the result on stdout (``render``), ``--write``'s
    files (``write``: :class:`Written`), ``--plot``'s pictures (on stdout when
    ``to_stdout``, i.e. it shows a table) and ``--html``'s page, the lines ``after``, then
    the CI's own output (``ci``: GitHub's step summary and annotations,
    :class:`GitHubOutput`), then ``--mlflow``'s (``track``)."""
    for text, kind in before:
        stderr_line(text, kind=kind)
    render()
    if write is not None:
        write()
    if plot or html is not None:
        doc, items, skipped = pictures()
        if plot:
            show_pictures(items, skipped, to_stdout, quiet)
        if html is not None:
            write_report_html(html, doc, items, quiet)
    for text, kind in after:
        stderr_line(text, kind=kind)
    if ci is not None:
        ci()
    if track is not None:
        track()


def report_pictures(report: Report, to_dict: Callable[[], dict[str, Any]]) -> Pictures:
    """The pictures of one report (eval and check), and the document of ``to_dict``."""

    def build() -> tuple[dict[str, Any], Any, list[str]]:
        from losscli.plot import report_pictures

        doc = to_dict()
        items, skipped = report_pictures(report, doc)
        return doc, items, skipped

    return build
