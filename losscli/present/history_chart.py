"""``losscli history --html FILE``: one self-contained page (the report page's style and
content policy: inline SVG, no script, nothing from the network) with a chart per loss —
a line over the commits, oldest first, a point per commit with a value, and the noise band
(``ci_low``..``ci_high``) shaded where the reports have intervals — and the history's
table. Every data-derived string is escaped by :func:`losscli.present.markup.escape`."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

from losscli.present.markup import coord, escape, number, table
from losscli.present.text import format_value

if TYPE_CHECKING:
    from losscli.history import History

__all__ = ["build_history_html", "history_svg", "write_history_html"]

_W, _H = 640, 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 16, 16, 40

_CHART_STYLE = (".band{fill:#4c78a8;fill-opacity:.18;stroke:none}"
                ".line{fill:none;stroke:#4c78a8;stroke-width:1.5}"
                ".point{fill:#4c78a8}.axis{stroke:#d1d9e0}"
                ".tick{font-size:11px;fill:#59636e}")


def history_svg(h: History, column: str) -> str:
    """The chart of one column: x the commits in order, y the value (with its band)."""
    n = len(h.commits)
    points = [(i, r.values.get(column)) for i, r in enumerate(h.commits)]
    known = [(i, p) for i, p in points if p is not None and p.value is not None]
    ys = [v for _, p in known for v in (p.value, p.ci_low, p.ci_high) if v is not None]
    low, high = (min(ys), max(ys)) if ys else (0.0, 1.0)
    if high <= low:
        low, high = low - 0.5 * (abs(low) or 1.0), high + 0.5 * (abs(high) or 1.0)

    def x(i: int) -> float:
        inner = _W - _LEFT - _RIGHT
        return _LEFT + (inner / 2 if n == 1 else inner * i / (n - 1))

    def y(v: float) -> float:
        return _TOP + (_H - _TOP - _BOTTOM) * (high - v) / (high - low)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" width="{_W}" '
           f'height="{_H}" role="img" aria-label="{escape(column)} over {n} commits">',
           f"<title>{escape(column)} over {n} commits</title>",
           f'<line class="axis" x1="{_LEFT}" y1="{_H - _BOTTOM}" x2="{_W - _RIGHT}" '
           f'y2="{_H - _BOTTOM}"/>',
           f'<line class="axis" x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{_H - _BOTTOM}"/>',
           f'<text class="tick" x="{_LEFT - 4}" y="{coord(y(high) + 4)}" '
           f'text-anchor="end">{escape(format_value(high))}</text>',
           f'<text class="tick" x="{_LEFT - 4}" y="{coord(y(low) + 4)}" '
           f'text-anchor="end">{escape(format_value(low))}</text>']
    # the noise band: one polygon per run of consecutive commits with an interval
    run: list[tuple[int, float, float]] = []
    for i, p in [*points, (n, None)]:
        if p is not None and p.ci_low is not None and p.ci_high is not None:
            run.append((i, p.ci_low, p.ci_high))
            continue
        if run:
            edge = [(x(j), y(hi)) for j, _, hi in run] + [(x(j), y(lo)) for j, lo, _ in
                                                          reversed(run)]
            if len(run) == 1:  # a single point's band: a short bar
                j, lo, hi = run[0]
                edge = [(x(j) - 3, y(hi)), (x(j) + 3, y(hi)), (x(j) + 3, y(lo)),
                        (x(j) - 3, y(lo))]
            out.append('<polygon class="band" points="'
                       + " ".join(f"{coord(a)},{coord(b)}" for a, b in edge) + '"/>')
            run = []
    if len(known) > 1:
        out.append('<polyline class="line" points="' + " ".join(
            f"{coord(x(i))},{coord(y(p.value))}" for i, p in known if p.value is not None)
            + '"/>')
    for i, p in known:
        if p.value is None:
            continue
        band = (f" [{p.ci_low!r}, {p.ci_high!r}]"
                if p.ci_low is not None and p.ci_high is not None else "")
        r = h.commits[i]
        out.append(f'<circle class="point" cx="{coord(x(i))}" cy="{coord(y(p.value))}" r="3">'
                   f"<title>{escape(r.short)} {escape(r.date[:10])}: {escape(repr(p.value))}"
                   f"{escape(band)} — {escape(r.subject)}</title></circle>")
    for i, r in enumerate(h.commits):
        if n <= 12 or i in (0, n - 1):
            out.append(f'<text class="tick" x="{coord(x(i))}" y="{_H - _BOTTOM + 16}" '
                       f'text-anchor="middle">{escape(r.short)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _table(h: History) -> str:
    rows = []
    for r in h.commits:
        cells = [escape(r.short), escape(r.date[:10]), escape(r.subject)]
        for c in h.columns:
            p = r.values.get(c)
            if p is None or p.value is None:
                cells.append("")
                continue
            band = (f" [{number(p.ci_low)}, {number(p.ci_high)}]"
                    if p.ci_low is not None and p.ci_high is not None else "")
            cells.append(number(p.value) + band)
        cells.append(escape(r.error or ""))
        rows.append(cells)
    header = ["commit", "date", "subject", *(escape(c) for c in h.columns), "note"]
    return table(header, rows, numeric=range(3, 3 + len(h.columns)))


def build_history_html(h: History) -> str:
    """The page: a chart per column, then the table."""
    from losscli import __version__
    from losscli.html import CSP, STYLE

    charts = [f'<section id="chart-{k}"><h2>{escape(c)}</h2>{history_svg(h, c)}</section>'
              for k, c in enumerate(h.columns)]
    title = f"losscli history of {h.path}"
    return "\n".join([
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="losscli {escape(__version__)}">',
        f"<title>{escape(title)}</title><style>{STYLE}{_CHART_STYLE}</style></head><body>",
        f"<header><h1>{escape(title)}</h1><p>{len(h.commits)} commits"
        + (f" in {escape(h.rev_range)}" if h.rev_range else "")
        + "; oldest first. The shaded band is each report's interval.</p></header><main>",
        *charts, f'<section id="table"><h2>commits</h2>{_table(h)}</section>', "</main>",
        f"<footer>Written by losscli {escape(__version__)}. One self-contained file: no "
        "script, nothing loaded from elsewhere.</footer>", "</body></html>\n"])


def write_history_html(h: History, path: str) -> None:
    """Write the page to ``path`` atomically (an unwritable folder: one error naming
    ``--html``; an existing file untouched)."""
    from losscli.io.atomic import write_atomically

    text = build_history_html(h)

    def write(f: IO[str]) -> None:
        f.write(text)

    write_atomically(path, write, flag="--html")
