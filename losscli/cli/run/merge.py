"""The body of ``losscli merge`` (its declaration: :mod:`losscli.cli.commands.merge`),
imported when the command runs."""

from __future__ import annotations

import sys

from losscli.cli.commands import guard_outputs
from losscli.render import render
from losscli.saved import merge_parts, report_of


def run(files: list[str], fmt: str) -> None:
    # merge writes no file yet: the guard is called all the same, so that an output flag
    # added to it is declared here, beside its inputs (the saved states)
    guard_outputs([("a saved state", f) for f in files], {}, {})
    doc, state, parts = merge_parts(files)
    report = report_of(doc, state, parts)
    for note in report.notes:
        sys.stderr.write(f"losscli: note: {note}\n")
    render(report, fmt)
