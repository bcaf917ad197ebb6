"""A :class:`~losscli.report.Report` in the format asked for (``--format``): the registry of
output formats (:data:`FORMATS`, each renderer by module path, imported when its format is
chosen: ``-f json`` loads none of the table, Markdown or rich code) and the machine formats,
JSON and NDJSON, which keep the raw values. The formats for people are
:mod:`losscli.present.report_text`; a check's verdict is
:mod:`losscli.present.check_text`, a comparison :mod:`losscli.present.compare_text`."""

from __future__ import annotations

import importlib
import json
from typing import IO, TYPE_CHECKING, Any

from losscli.present.output import emit

if TYPE_CHECKING:
    from losscli.report import Report

__all__ = ["FORMATS", "render", "render_json", "render_ndjson"]

#: The output formats of a report: "module:function" of each renderer. The table prints
#: itself (``(report, out)``); the others return their text (``(report)``).
FORMATS: dict[str, str] = {
    "table": "losscli.present.report_text:render_table",
    "markdown": "losscli.present.report_text:render_markdown",
    "csv": "losscli.present.report_text:render_csv",
    "json": "losscli.render:render_json",
    "ndjson": "losscli.render:render_ndjson",
}


def renderer(fmt: str) -> Any:
    """The renderer of format ``fmt`` (:data:`FORMATS`), its module imported now."""
    module, _, name = FORMATS[fmt].partition(":")
    return getattr(importlib.import_module(module), name)


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, allow_nan=False)


def render_ndjson(report: Report) -> str:
    """One JSON object per loss (the ``losses`` entries of the JSON report, with ``label``
    and ``rows``), for ``jq`` and line-oriented tools; with groups, then one per group and
    loss, with the group's ``key`` (the overall ones have ``"key": null``)."""
    lines = []
    grouped = report.groups is not None
    for res in report.losses:
        record = {"label": res.label, **res.to_dict(), "rows": report.rows,
                  **({"key": None} if grouped else {})}
        lines.append(json.dumps(record, allow_nan=False))
    for g in report.groups or []:
        for res in g.losses:
            lines.append(json.dumps({"label": res.label, **res.to_dict(), "rows": g.rows,
                                     "key": g.key}, allow_nan=False))
    return "\n".join(lines) + "\n"


def render(report: Report, fmt: str, out: IO[str] | None = None) -> None:
    """Print a :class:`Report` as table, json, markdown, csv or ndjson."""
    function = renderer(fmt)  # the table prints itself, the others return their text
    emit(report, fmt, out, function, {fmt: function})
