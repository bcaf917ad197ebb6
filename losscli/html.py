"""A report to share: one self-contained HTML file — inline CSS and SVG, no script, no font,
no image, no reference to anything outside the file (a Content-Security-Policy of
``default-src 'none'`` makes the browser refuse any that slipped in).

:func:`build_html` turns plain data into the page; :func:`write_html` writes it atomically
(:mod:`losscli.io.atomic`: the old file or the whole new one, never half of one). The page
holds, in this order: for ``check``, what failed (losses, then groups); the losses with
their values and intervals; the checks; per-group results (a bar chart with intervals and a
table per loss); the distributions (histograms with the quantiles marked, and their
quantiles in full); the reliability diagrams (with ECE, MCE and the bin table); for
``compare``, the models side by side. Every value is printed as the table prints it (6
significant digits, :func:`~losscli.present.text.format_value`), the full value in its
``title`` (a tooltip); every string from the data — file, column, loss and group
names — is escaped, with control characters shown as ``\\xNN`` (:func:`losscli.present.markup.escape`).

Input — ``doc``, the dict of ``Report.to_dict()``, ``CheckResult.to_dict()`` or
``Comparison.to_dict()``, with these optional, additive fields (every field may be absent;
unknown fields are ignored)::

    {
      "losscli_version": "0.1.0", "rows": 1000, "rows_skipped": 0, "reduction": "mean",
      "elapsed_seconds": 0.12,
      "inputs": {"predictions": {"path": ..., "format": ..., "column": ...},
                 "targets": {...} | None, "weights": {...} | None, "task": "regression", ...},
      "losses": [LOSS, ...],
      # check (CheckResult.to_dict):
      "passed": false, "failed": ["bce"], "baseline": {"path": ..., "rows": ...} | None,
      "verdict": {"status": "failed", "headline": "FAILED: 1 of 2 losses (bce)",
                  "notes": [...], "data_text": ...},   # Outcome.to_dict(): the badge
      "checks": [VERDICT, ...],          # Verdict.to_dict(): label, value, status, max,
                                         # min, limit, rtol, atol, baseline, change,
                                         # relative_change, reasons, notes, bound_text
      "group_correction": "Bonferroni over ...",   # check --group-by --ci
      # --ci:
      "intervals": {"level": 0.95, "method": "normal", ...},     # how, for the caption
      # --group-by:
      "groups": [{"key": {"country": "DE"}, "rows": 120, "losses": [LOSS, ...],
                  "passed": false,                   # check: this group failed
                  "checks": [VERDICT, ...],          # check: per-group verdicts
                  "note": "new since the baseline"}, ...],
      # ece / mce:
      "calibration": [{"label": "ece", "task": "binary", "bins": 15, "ece": 0.031,
                       "mce": 0.12, "rows": 600, "model": None}, ...],
      # compare (Comparison.to_dict):
      "reference": "a", "models": [{"name": "a", "inputs": ..., "rows": ...}, ...],
      "losses": [{"label": ..., "values": {"a": 1.0, "b": 2.0}, "best": ["a"],
                  "diff": {...}, "relative_diff": {...}, "higher_is_better": false,
                  "intervals": {"a": {"low": ..., "high": ..., ...}, ...}},  # --ci
                 ...],                    # (comparison_doc adds the intervals)
    }
    LOSS = {"name": "mse", "label": "mse", "params": {}, "value": 1.83,
            "higher_is_better": false,
            "interval": {"low": 1.6, "high": 2.1, "level": 0.95, "method": "normal",
                         "reason": None},        # --ci; low/high None + reason: n/a
            "distribution": {"relative_accuracy": 0.01, "rows": 1000,
                             "quantiles": {"p50": 0.7, "p90": 4.9, "p99": 11.1,
                                           "p99.9": 21.1, "max": 49.6}}}   # --distribution

The page never judges: the badge is the check's ``verdict`` (its headline), the bound
column each verdict's own ``bound_text``, the reasons and notes the verdict's sentences.

and ``pictures``: the picture models (:mod:`losscli.present.pictures`) to draw —
:class:`~losscli.present.pictures.Histogram` (or a list of them, one per model: an
overlay), :class:`~losscli.present.pictures.Counts` (a 0/1 loss: a table of counts),
:class:`~losscli.present.pictures.Reliability` (or a list),
:class:`~losscli.present.pictures.GroupBars`. Each drawable picture is one ``<svg>``
(:mod:`losscli.present.svg`); the page itself imports no terminal drawing. Group bars
are also drawn from ``doc["groups"]`` for each loss that has no GroupBars among
``pictures``; a distribution or calibration entry of ``doc`` without a picture is shown as
a table.
"""


from __future__ import annotations

from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from losscli.present.confusion import confusion_section
from losscli.present.figures import (
    PagePicture,
    calibration_section,
    distribution_section,
    groups_section,
    sort_pictures,
)
from losscli.present.markup import escape, interval_text, label_of, number, status_text, table
from losscli.present.pictures import group_label
from losscli.present.text import (
    format_count,
    format_level,
    input_paths,
    interval_methods,
    methods_text,
)

if TYPE_CHECKING:
    from losscli.comparison import Comparison

__all__ = ["CSP", "build_html", "comparison_doc", "write_html"]

Picture = PagePicture

#: What the page may load: nothing (inline styles only).
CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

STYLE = """
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa;--bar:#4c78a8;
--fail:#cf222e;--failbg:#ffebe9;--pass:#1a7f37;--warn:#9a6700}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--fg);background:#fff;margin:0 auto;max-width:1120px;padding:24px 28px 48px}
h1{font-size:22px;margin:0 0 6px}
h2{font-size:17px;margin:36px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:22px 0 6px}
p{margin:6px 0}
.meta{color:var(--muted)}
.meta b{color:var(--fg);font-weight:600}
nav{margin:10px 0 0;color:var(--muted)}
nav a{color:#0969da;text-decoration:none;margin-right:14px}
.badge{display:inline-block;padding:1px 9px;border-radius:11px;font-size:13px;font-weight:600;
color:#fff;vertical-align:2px;margin-left:8px}
.badge.fail{background:var(--fail)}.badge.pass{background:var(--pass)}
.badge.none{background:var(--muted)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;margin:6px 0 14px}
caption{text-align:left;color:var(--muted);padding:2px 0 4px;caption-side:top}
th,td{border-bottom:1px solid var(--line);padding:4px 12px 4px 0;text-align:left;
vertical-align:top}
th{font-weight:600;white-space:nowrap}
td.num,th.num{text-align:right}
td.num{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;
font-size:13px;white-space:nowrap}
td.label{font-weight:600;overflow-wrap:break-word}
td .reason{display:block;min-width:16em}
td .why{display:block;white-space:normal;
font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;font-size:12px;
color:var(--muted);text-align:left;min-width:14em;max-width:32em}
.nowrap{white-space:nowrap}
tr.fail td{background:var(--failbg)}
.status-fail{color:var(--fail);font-weight:700}.status-pass{color:var(--pass)}
.status-improved{color:#0969da}.status-unchecked{color:var(--muted)}
.muted{color:var(--muted)}
.best{font-weight:700}
figure{margin:14px 0 26px;display:flex;flex-wrap:wrap;gap:8px 28px;align-items:flex-start}
figure svg{flex:0 1 auto;max-width:100%;height:auto}
figcaption{flex:1 1 300px;min-width:280px}
figure.stack{display:block}
figure.stack figcaption{margin-top:6px}
svg text{font:11px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:#1f2328}
svg .title{font-size:12px;font-weight:600}
svg .tick{fill:#59636e}
svg .axis{stroke:#59636e;stroke-width:1;fill:none}
svg .grid{stroke:#eaeef2;stroke-width:1}
svg .bar{fill:var(--bar)}
svg .bar.fail{fill:var(--fail)}
svg .count{fill:#9fb6cf}
svg .q{stroke:#bf8700;stroke-width:1.2;stroke-dasharray:4 3}
svg .q.max{stroke:var(--fail)}
svg .qlabel{fill:#7d4e00;font-weight:600}
svg .qlabel.max{fill:var(--fail)}
svg .diag{stroke:#8c959f;stroke-width:1.2;stroke-dasharray:5 4}
svg .acc{fill:var(--bar)}
svg .gap{fill:var(--fail);fill-opacity:.28;stroke:var(--fail);stroke-opacity:.7;stroke-width:1}
svg .whisker{stroke:#24292f;stroke-width:1.5;fill:none}
svg .dot{fill:#24292f}
svg .overall{stroke:#8250df;stroke-width:1.2;stroke-dasharray:5 3}
svg .line{fill:none;stroke-width:2}
svg .s0{stroke:#4c78a8;fill:#4c78a8}svg .s1{stroke:#f58518;fill:#f58518}
svg .s2{stroke:#54a24b;fill:#54a24b}svg .s3{stroke:#e45756;fill:#e45756}
svg .s4{stroke:#72b7b2;fill:#72b7b2}svg .s5{stroke:#b279a2;fill:#b279a2}
svg .line.s0,svg .line.s1,svg .line.s2,svg .line.s3,svg .line.s4,svg .line.s5{fill:none}
footer{margin-top:40px;color:var(--muted);font-size:12px}
"""



# ---------------------------------------------------------------------------------------
# the page

def files_of(doc: dict[str, Any]) -> list[str]:
    models = [m for m in doc.get("models", ()) or () if isinstance(m, dict)]
    return input_paths(doc.get("inputs"), *(m.get("inputs") for m in models))


def is_compare(doc: dict[str, Any]) -> bool:
    return isinstance(doc.get("models"), list) and any(
        isinstance(x, dict) and "values" in x for x in doc.get("losses", ()))


def _header(doc: dict[str, Any], title: str | None) -> str:
    out = []
    notes: list[str] = []
    if "passed" in doc:
        # the gate's verdict as it decided it (a document without one: its "passed")
        found = doc.get("verdict")
        verdict: dict[str, Any] = found if isinstance(found, dict) else {
            "status": "passed" if doc["passed"] else "failed",
            "headline": "PASSED" if doc["passed"] else "FAILED"}
        css = {"failed": "fail", "passed": "pass"}.get(str(verdict.get("status")), "none")
        text = verdict.get("headline") or str(verdict.get("status", "")).upper()
        badge = f'<span class="badge {css}">{escape(text)}</span>'
        heading = escape(title or "losscli check") + badge
        notes = [str(n) for n in [verdict.get("data_text"), *(verdict.get("notes") or ())]
                 if n]
    elif is_compare(doc):
        heading = escape(title or "losscli compare")
    else:
        heading = escape(title or "losscli report")
    out.append(f"<header><h1>{heading}</h1>")
    meta = []
    if "rows" in doc:
        meta.append(f"<b>{escape(format_count(doc['rows']))}</b> rows")
    if doc.get("rows_skipped"):
        meta.append(f"<b>{escape(format_count(doc['rows_skipped']))}</b> skipped")
    raw = doc.get("inputs")
    inputs: dict[str, Any] = raw if isinstance(raw, dict) else {}
    task = inputs.get("task")
    if task:
        meta.append(f"task <b>{escape(task)}</b>" + (" (logits)" if inputs.get("from_logits")
                                                       else ""))
    from losscli.present.summary import labels_text

    classes = labels_text(inputs)  # a target of labels: which class is which
    if classes:
        meta.append(escape(classes))
    if doc.get("reduction"):
        meta.append(f"reduction <b>{escape(doc['reduction'])}</b>")
    if is_compare(doc):
        meta.append(f"<b>{len(doc['models'])}</b> models, reference "
                    f"<b>{escape(doc.get('reference', ''))}</b>")
    baseline = doc.get("baseline")
    if isinstance(baseline, dict) and baseline.get("path"):
        commit = baseline.get("commit")
        meta.append(f"baseline <b>{escape(baseline['path'])}</b>"
                    + (f" (commit <code>{escape(str(commit)[:12])}</code>)" if commit else ""))
    if meta:
        out.append(f'<p class="meta">{" · ".join(meta)}</p>')
    files = files_of(doc)
    if files:
        out.append('<p class="meta">files: ' + ", ".join(f"<b>{escape(f)}</b>" for f in files)
                   + "</p>")
    out += [f'<p class="meta">note: {escape(n)}</p>' for n in notes]
    out.append("</header>")
    return "".join(out)


def _bound_text(check: dict[str, Any]) -> str:
    """The verdict's own sentence of what was checked (``Verdict.bound_text``)."""
    text = check.get("bound_text")
    if not text:
        return '<span class="muted">—</span>'
    # the comparison on one line; its parenthesis (baseline, interval, Bonferroni) may wrap
    head, sep, rest = str(text).partition(" (")
    return f'<span class="nowrap">{escape(head)}</span>' + (f" ({escape(rest)}" if sep else "")


def _status(check: dict[str, Any]) -> str:
    return status_text(str(check.get("status", "")))


def _checks_table(checks: Sequence[dict[str, Any]], *, group: bool = False) -> str:
    header = [*(["group"] if group else []), "loss", "status", "value", "bound", "baseline",
              "change", "why"]
    rows, classes = [], []
    for c in checks:
        change = c.get("change")
        rel = c.get("relative_change")
        change_text = number(change, signed=True)
        if rel is not None:
            change_text += f' <span class="muted">({escape(format(rel * 100, "+.4g"))} %)</span>'
        row = [*([escape(c.get("group", ""))] if group else []), escape(label_of(c)), _status(c),
               number(c.get("value")), _bound_text(c), number(c.get("baseline")), change_text,
               '<div class="reason">' + "<br>".join(
                   [*(escape(r) for r in c.get("reasons", ())),
                    *(f'<span class="muted">{escape(n)}</span>' for n in c.get("notes", ()))])
               + "</div>"]
        rows.append(row)
        classes.append("fail" if c.get("status") == "fail" else "")
    numeric = [3, 5, 6] if group else [2, 4, 5]
    return table(header, rows, numeric=numeric, row_classes=classes)


def _failed_groups(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Per failing (group, loss): the group's own verdict with the group's label. Which
    groups failed, and on which losses, is the check's ``verdict`` (``failed_groups``);
    a document without one: the groups whose ``passed`` is false."""
    groups = {group_label(g): g for g in doc.get("groups", ()) or () if isinstance(g, dict)}
    found = doc.get("verdict")
    failing: list[tuple[str, list[str]]]
    if isinstance(found, dict) and isinstance(found.get("failed_groups"), list):
        failing = [(str(f.get("label", "")), [str(x) for x in f.get("losses") or ()])
                   for f in found["failed_groups"] if isinstance(f, dict)]
    else:
        failing = [(label, [str(c.get("label")) for c in g.get("checks", ()) or ()
                            if c.get("status") == "fail"])
                   for label, g in groups.items() if g.get("passed") is False]
    out = []
    for label, losses in failing:
        group = groups.get(label, {})
        checks = [c for c in group.get("checks", ()) or () if label_of(c) in losses]
        if checks:
            out += [{**c, "group": label} for c in checks]
        else:  # a group missing from this run, or failed as a whole
            out.append({"group": label, "label": ", ".join(losses), "status": "fail",
                        "reasons": [group.get("note") or "this group failed"]})
    return out


def _failed_section(doc: dict[str, Any]) -> str:
    if "passed" not in doc:
        return ""
    failed = [c for c in doc.get("checks", ()) or () if c.get("status") == "fail"]
    groups = _failed_groups(doc)
    if not failed and not groups:
        return ""
    out = ['<section id="failed"><h2>What failed</h2>']
    if failed:
        out.append(_checks_table(failed))
    if groups:
        out.append(f"<h3>Groups ({len(groups)} failing)</h3>")
        out.append(_checks_table(groups, group=True))
    out.append("</section>")
    return "".join(out)


def _losses_section(doc: dict[str, Any]) -> str:
    losses = [x for x in doc.get("losses", ()) or () if isinstance(x, dict)]
    if not losses or is_compare(doc):
        return ""
    with_interval = any(x.get("interval") for x in losses)
    header = ["loss", "value"]
    caption = None
    if with_interval:
        header.append("interval")
        # every method used, each with its losses when several are mixed
        shared, methods = interval_methods([x.get("interval") for x in losses],
                                           [label_of(x) for x in losses])
        at = f"{format_level(shared, sep=' ')} " if shared is not None else ""
        caption = f"intervals: {at}{escape(methods_text(methods))}"
    header.append("better")
    rows = []
    status = {label_of(c): c.get("status") for c in doc.get("checks", ()) or ()}
    classes = []
    for x in losses:
        row = [escape(label_of(x)), number(x.get("value"))]
        if with_interval:
            row.append(interval_text(x.get("interval")))
        row.append(_better(x))
        rows.append(row)
        classes.append("fail" if status.get(label_of(x)) == "fail" else "")
    return ('<section id="losses"><h2>Losses</h2>'
            + table(header, rows, numeric=[1, 2] if with_interval else [1], row_classes=classes,
                     caption=caption) + "</section>")


def _better(x: dict[str, Any]) -> str:
    """Which way is better, never broken or cut: ``higher`` / ``lower``."""
    direction = x.get("direction") or ("higher" if x.get("higher_is_better") else "lower")
    return f'<span class="nowrap">{escape(str(direction))}</span>'


def _checks_section(doc: dict[str, Any]) -> str:
    checks = doc.get("checks") or []
    if not checks:
        return ""
    return '<section id="checks"><h2>Checks</h2>' + _checks_table(checks) + "</section>"


def _compare_section(doc: dict[str, Any]) -> str:
    if not is_compare(doc):
        return ""
    names = [str(m.get("name", "")) for m in doc["models"]]
    header = ["loss", *(escape(n) for n in names), "better"]
    rows = []
    for x in doc["losses"]:
        values = x.get("values", {})
        best = set(x.get("best", ()))
        diff = x.get("diff", {})
        intervals = x.get("intervals") or {}
        row = [escape(label_of(x))]
        for i, n in enumerate(names):
            cell = number(values.get(n))
            if n in best:
                cell = f'<span class="best">{cell} ★</span>'
            if intervals.get(n):
                cell += f"<br>{interval_text(intervals[n])}"
            if i and diff.get(n) is not None:
                cell += f'<br><span class="muted">{number(diff[n], signed=True)}</span>'
            row.append(cell)
        row.append(_better(x))
        rows.append(row)
    ivs = [(label_of(x), iv) for x in doc["losses"] for iv in (x.get("intervals") or {}).values()
           if iv]
    level = ""
    if ivs:  # every method used, each with its losses when several are mixed
        shared, methods = interval_methods([iv for _, iv in ivs], [n for n, _ in ivs])
        at = f"{format_level(shared, sep=' ')} " if shared is not None else ""
        level = (f" its {at}{escape(methods_text(methods))} interval and" if len(methods) == 1
                 else f" its {at}interval ({escape(methods_text(methods))}) and")
    models = [[escape(m.get("name", "")), escape(format_count(m.get("rows", 0))),
               ", ".join(escape(p) for p in files_of({"inputs": m.get("inputs")}))]
              for m in doc["models"]]
    return ('<section id="models"><h2>Models</h2>'
            + table(header, rows, numeric=list(range(1, len(names) + 1)),
                     caption=f"★ best; below each value{level} its difference to the "
                             f"reference {escape(doc.get('reference', names[0] if names else ''))}")
            + table(["model", "rows", "files"], models, numeric=[1]) + "</section>")


def comparison_doc(comparison: Comparison) -> dict[str, Any]:
    """``Comparison.to_dict()`` with each model's interval of each loss (``--ci``) as
    ``losses[i]["intervals"] = {model: interval}``, for the page's models table."""
    doc = comparison.to_dict()
    for i, x in enumerate(doc.get("losses", ())):
        intervals = {name: report.losses[i].interval
                     for name, report in zip(comparison.names, comparison.reports)
                     if i < len(report.losses) and report.losses[i].interval}
        if intervals and "intervals" not in x:
            x["intervals"] = intervals
    return doc


def build_html(doc: dict[str, Any], pictures: Sequence[Picture] = (), *,
               title: str | None = None) -> str:
    """The self-contained HTML page for ``doc`` and ``pictures`` (see the module doc)."""
    hists, rels, bars = sort_pictures(pictures)
    sections = [
        _failed_section(doc), _losses_section(doc), _compare_section(doc),
        _checks_section(doc), groups_section(doc, bars), distribution_section(doc, hists),
        calibration_section(doc, rels), confusion_section(doc),
    ]
    names = {"failed": "what failed", "losses": "losses", "models": "models",
             "checks": "checks", "groups": "by group", "distributions": "distributions",
             "calibration": "calibration", "confusion": "confusion matrix"}
    links = [f'<a href="#{key}">{text}</a>' for key, text in names.items()
             if any(s.startswith(f'<section id="{key}"') for s in sections)]
    page_title = escape(title or ("losscli check" if "passed" in doc else
                                  "losscli compare" if is_compare(doc) else "losscli report"))
    version = escape(doc.get("losscli_version", ""))
    parts = [
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="losscli {version}">',
        f"<title>{page_title}</title><style>{STYLE}</style></head><body>",
        _header(doc, title),
        f"<nav>{''.join(links)}</nav>" if len(links) > 1 else "",
        "<main>", *sections, "</main>",
        f"<footer>Written by losscli {version}"
        + (f" in {escape(format(float(doc['elapsed_seconds']), '.3f'))} s"
           if isinstance(doc.get("elapsed_seconds"), (int, float)) else "")
        + ". One self-contained file: no script, nothing loaded from elsewhere.</footer>",
        "</body></html>\n",
    ]
    return "\n".join(p for p in parts if p)


def write_html(doc: dict[str, Any], path: str, pictures: Sequence[Picture] = (), *,
               title: str | None = None, flag: str = "--html") -> None:
    """Build the page, then write it to ``path`` atomically: an error (an unwritable
    folder: :class:`~losscli.errors.UsageError` naming ``flag``) leaves nothing behind and
    an existing file untouched."""
    from losscli.io.atomic import write_atomically

    text = build_html(doc, pictures, title=title)

    def write(f: IO[str]) -> None:
        f.write(text)

    write_atomically(path, write, flag=flag)


