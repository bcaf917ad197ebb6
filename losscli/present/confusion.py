"""``--confusion``: the confusion matrix of a report (``report.confusion``, built by
:func:`losscli.reporting.confusion_dict` from the exact counts of a confusion-based metric)
as a table under the losses, Markdown, long-form CSV rows, a terminal heat map (``--plot``)
and an SVG heat map for the page (``--html``); ``compare --confusion``: each model's matrix,
read from its own report (``Comparison.reports``), never computed again. Rows are the true class, columns the
predicted one; counts are integers, or weighted sums when the run had weights. Every label
from the data passes :func:`~losscli.present.text.printable` (terminal, Markdown, CSV) or
:func:`~losscli.present.markup.escape` (HTML) where it is placed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from losscli.present.canvas import Picture, clamp_width, text_line
from losscli.present.markup import coord, escape
from losscli.present.table import Col, fitted_table, md_escape, note_line
from losscli.present.text import cells, format_count, format_value, printable

if TYPE_CHECKING:
    from losscli.comparison import Comparison
    from losscli.report import Report

__all__ = [
    "ConfusionMap",
    "comparison_confusion_markdown",
    "comparison_scopes",
    "confusion_csv_rows",
    "confusion_heatmap",
    "confusion_maps",
    "confusion_markdown",
    "confusion_section",
    "confusion_svg",
    "render_comparison_confusion",
    "render_confusion_table",
]

#: Shades of the terminal heat map, from an empty cell to the largest count.
SHADES = " ░▒▓█"


def count_text(value: Any) -> str:
    """A count in full (``1,234``), a weighted sum to 6 significant digits."""
    if isinstance(value, int):
        return format_count(value)
    return format_value(float(value))


def _title(conf: dict[str, Any], scope: str = "") -> str:
    what = "weighted counts" if conf.get("weighted") else "counts"
    where = f" — {scope}" if scope else ""
    return (f"confusion matrix{where} (rows: true, columns: predicted; {what}; from "
            f"{conf.get('loss', '?')})")


def _key_text(key: dict[str, Any]) -> str:
    return ", ".join(f"{k}={'null' if v is None else v}" for k, v in key.items())


def _scopes(report: Report) -> list[tuple[str, dict[str, Any]]]:
    """(scope name, matrix): the overall one, then each group's (by its key)."""
    out: list[tuple[str, dict[str, Any]]] = []
    if report.confusion:
        out.append(("overall" if report.groups is not None else "", report.confusion))
    for g in report.groups or []:
        if g.confusion:
            out.append((_key_text(g.key), g.confusion))
    return out


def comparison_scopes(comparison: Comparison) -> list[tuple[str, dict[str, Any]]]:
    """(scope name, matrix) of every model of a comparison, model by model: the matrices of
    each model's own report (the exact counts of its run), ``model NAME`` (and the group)."""
    return [(f"model {name}" + (f", {scope}" if scope else ""), conf)
            for name, report in zip(comparison.names, comparison.reports)
            for scope, conf in _scopes(report)]


def _tables(scopes: list[tuple[str, dict[str, Any]]], console: Any, tty: bool) -> None:
    for scope, conf in scopes:
        labels = [printable(x) for x in conf["labels"]]
        note_line(console, tty, _title(conf, scope), "bold")
        cols = [Col("true \\ predicted", "label", "left", "bold")] + [Col(x) for x in labels]
        rows = [[labels[t], *(count_text(v) for v in row)]
                for t, row in enumerate(conf["counts"])]
        console.print(fitted_table(console, tty, cols, rows))


def render_confusion_table(report: Report, console: Any, tty: bool) -> None:
    """The matrix (and each group's) as fitted tables under the losses."""
    _tables(_scopes(report), console, tty)


def render_comparison_confusion(comparison: Comparison, console: Any, tty: bool) -> None:
    """``compare --confusion``: each model's matrix as a fitted table under the comparison."""
    _tables(comparison_scopes(comparison), console, tty)


def _markdown(scopes: list[tuple[str, dict[str, Any]]]) -> str:
    out: list[str] = []
    for scope, conf in scopes:
        labels = [md_escape(printable(x)) for x in conf["labels"]]
        out += ["", f"**{md_escape(_title(conf, scope))}**", "",
                "| true \\ predicted | " + " | ".join(labels) + " |",
                "|---|" + "---:|" * len(labels)]
        out += ["| " + " | ".join([labels[t], *(count_text(v) for v in row)]) + " |"
                for t, row in enumerate(conf["counts"])]
    return "\n".join(out) + ("\n" if out else "")


def confusion_markdown(report: Report) -> str:
    """The matrices as Markdown tables ('' when none)."""
    return _markdown(_scopes(report))


def comparison_confusion_markdown(comparison: Comparison) -> str:
    """Each model's matrices as Markdown tables ('' when none)."""
    return _markdown(comparison_scopes(comparison))


def confusion_csv_rows(conf: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """One CSV row per cell, in the long form of the losses' CSV: (label ``true=A
    predicted=B``, params ``true=A;predicted=B`` — raw, the writer escapes — and the
    count, full precision)."""
    labels = conf["labels"]
    rows = []
    for t, row in enumerate(conf["counts"]):
        for p, v in enumerate(row):
            rows.append((f"confusion[true={labels[t]},predicted={labels[p]}]",
                         f"true={labels[t]};predicted={labels[p]}",
                         str(v) if isinstance(v, int) else repr(float(v))))
    return rows


# -- pictures ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ConfusionMap:
    """A confusion matrix to draw: class labels, counts[t][p], whose it is."""

    label: str
    labels: tuple[Any, ...]
    counts: tuple[tuple[Any, ...], ...]
    weighted: bool = False
    scope: str = ""
    model: str | None = None

    @classmethod
    def from_dict(cls, conf: dict[str, Any], scope: str = "",
                  model: str | None = None) -> ConfusionMap:
        return cls(str(conf.get("loss", "")), tuple(conf["labels"]),
                   tuple(tuple(r) for r in conf["counts"]), bool(conf.get("weighted")),
                   scope, model)

    def reason(self) -> str | None:
        total = sum(float(v) for r in self.counts for v in r)
        return None if total > 0 else "confusion matrix: no row with positive weight"


def confusion_maps(report: Report, model: str | None = None) -> list[ConfusionMap]:
    """The heat maps of a report: the overall matrix and each group's."""
    return [ConfusionMap.from_dict(conf, scope, model) for scope, conf in _scopes(report)]


def _shade(v: float, top: float) -> str:
    if v <= 0 or top <= 0:
        return SHADES[0]
    return SHADES[max(1, min(len(SHADES) - 1, round(v / top * (len(SHADES) - 1))))]


def confusion_heatmap(m: ConfusionMap, width: int = 80) -> Picture | None:
    """A terminal heat map: one line per true class, each cell a shade block (darker: more)
    and the count; the diagonal (right predictions) green, the rest red. None when empty."""
    if m.reason() is not None:
        return None
    width = clamp_width(width)
    labels = [printable(x) for x in m.labels]
    texts = [[count_text(v) for v in row] for row in m.counts]
    top = max(float(v) for row in m.counts for v in row)
    cell_w = max([cells(x) for x in labels] + [len(t) for row in texts for t in row]) + 3
    head_w = max(cells(x) for x in [*labels, "true \\ pred"])
    scope = f" — {printable(m.scope)}" if m.scope else ""
    model = f" · model: {printable(m.model)}" if m.model else ""
    lines = [text_line(f"confusion matrix{scope} ({printable(m.label)}){model}", "bold"),
             text_line("rows: true class, columns: predicted; "
                       + ("weighted counts" if m.weighted else "counts")
                       + f"; shade {SHADES[1:]} by count", "dim")]
    header = "true \\ pred".ljust(head_w) + "".join(
        " " * (cell_w - cells(x)) + x for x in labels)
    lines.append(text_line(header[:max(width, len(header))], "bold"))
    for t, row in enumerate(m.counts):
        line: list[tuple[str, str | None]] = [
            (labels[t] + " " * (head_w - cells(labels[t])), "bold")]
        for p, v in enumerate(row):
            shade = _shade(float(v), top)
            style = "green" if t == p else "red"
            pad = cell_w - len(texts[t][p]) - 2
            line.append((" " * pad, None))
            line.append((shade, style))
            line.append((" " + texts[t][p], None))
        lines.append(line)
    return Picture("confusion", lines)


def confusion_svg(conf: dict[str, Any], scope: str = "") -> str:
    """An SVG heat map of one matrix: a square per cell, its opacity the count's share of
    the largest, the count written in it and in its tooltip; labels escaped."""
    labels = [printable(x) for x in conf["labels"]]
    counts = conf["counts"]
    c = len(labels)
    top = max((float(v) for row in counts for v in row), default=0.0) or 1.0
    cell = max(36, min(72, 480 // max(c, 1)))
    ml = 20 + min(160, 7 * max((len(x) for x in labels), default=1))
    mt = 70
    width, height = ml + c * cell + 20, mt + c * cell + 40
    title = _title(conf, scope)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
           f"<title>{escape(title)}</title>",
           f'<text x="{coord(ml + c * cell / 2)}" y="16" text-anchor="middle">predicted</text>']
    for p, name in enumerate(labels):
        out.append(f'<text x="{coord(ml + (p + 0.5) * cell)}" y="{mt - 8}" '
                   f'text-anchor="middle">{escape(name[:16])}</text>')
    for t, row in enumerate(counts):
        y = mt + t * cell
        out.append(f'<text x="{ml - 6}" y="{coord(y + cell / 2 + 4)}" text-anchor="end">'
                   f"{escape(labels[t][:24])}</text>")
        for p, v in enumerate(row):
            x = ml + p * cell
            share = float(v) / top
            colour = "#1a7f37" if t == p else "#cf222e"
            tip = f"true {labels[t]}, predicted {labels[p]}: {count_text(v)}"
            out.append(f'<g><title>{escape(tip)}</title><rect x="{x}" y="{y}" width="{cell}" '
                       f'height="{cell}" fill="{colour}" fill-opacity="{coord(0.08 + 0.85 * share)}" '
                       f'stroke="#888" stroke-width="0.5"/>'
                       f'<text x="{coord(x + cell / 2)}" y="{coord(y + cell / 2 + 4)}" '
                       f'text-anchor="middle">{escape(count_text(v))}</text></g>')
    out.append(f'<text x="{ml - 6}" y="{mt - 8}" text-anchor="end">true</text>')
    out.append("</svg>")
    return "\n".join(out)


def doc_scopes(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(scope name, matrix) of a JSON document: a report's ``confusion`` and each group's;
    a comparison's, model by model (``models[i].confusion``, then the model's matrix in
    each group: ``groups[j].confusion[name]``)."""
    found: list[tuple[str, dict[str, Any]]] = []
    groups = [g for g in doc.get("groups", ()) or () if isinstance(g, dict)]
    if isinstance(doc.get("models"), list):  # a comparison
        for m in doc["models"]:
            if not isinstance(m, dict):
                continue
            name = m.get("name", "?")
            if isinstance(m.get("confusion"), dict):
                found.append((f"model {name}" + (", overall" if groups else ""),
                              m["confusion"]))
            for g in groups:
                conf = (g.get("confusion") or {}).get(name)
                if isinstance(conf, dict):
                    found.append((f"model {name}, {_key_text(g.get('key') or {})}", conf))
        return found
    if isinstance(doc.get("confusion"), dict):
        found.append(("overall" if groups else "", doc["confusion"]))
    for g in groups:
        if isinstance(g.get("confusion"), dict):
            found.append((_key_text(g.get("key") or {}), g["confusion"]))
    return found


def confusion_section(doc: dict[str, Any]) -> str:
    """The page's section of the confusion matrices in ``doc`` (a report's JSON: its
    ``confusion`` and each group's; a comparison's: each model's); '' when there is none."""
    found = doc_scopes(doc)
    if not found:
        return ""
    figures = [f'<figure>{confusion_svg(conf, scope)}<figcaption>'
               f"{escape(_title(conf, scope))}</figcaption></figure>"
               for scope, conf in found]
    return ('<section id="confusion"><h2>Confusion matrix</h2><p class="muted">Rows: the '
            "true class; columns: the predicted one; the diagonal (green) is right. Exact "
            "counts of the run (weighted sums with weights).</p>" + "".join(figures)
            + "</section>")


def flat_counts(conf: dict[str, Any]) -> Sequence[Any]:
    """Every count of a matrix, row by row (tests and summaries)."""
    return [v for row in conf["counts"] for v in row]
