"""The shareable HTML report (losscli.html): one self-contained file.

What is checked: the page parses (stdlib ``html.parser``) into balanced elements with one
``<svg>`` per picture, no ``<script>``, no element or attribute that loads anything (``src``,
``href`` other than ``#fragment``, ``url(``, ``@import``) and a Content-Security-Policy
that forbids it anyway; every number of the data is printed whole; for ``check`` what
failed comes first; hostile file, column, loss and group names (markup, quotes, ``&``,
control characters, lone surrogates) are shown as text and break nothing; the file is
written atomically. Then a real headless browser (Debian's ``chromium``) renders it: the
screenshot is not blank and shows the bars' colour, the console stays silent (a control
page proves the console scan sees errors) and the DOM it built has every ``<svg>``.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pytest

import losscli
from losscli import html as report_html
from losscli import plot
from losscli.errors import UsageError
from losscli.gate import check
from losscli.stats.calibration import CalibrationError
from losscli.stats.sketch import QuantileSketch
from tests.conftest import SAMPLES

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium")
                                         else None)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
# SVG elements the page writes self-closed (<line/>): the parser reports them as startendtag
LOADING_ATTRS = {"src", "srcset", "href", "xlink:href", "action", "formaction", "poster",
                 "data", "background", "ping", "codebase", "manifest"}


class Page(HTMLParser):
    """Elements, attributes and text of a page, and whether its tags balance."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []
        self.in_style = False
        self.style = ""
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)
        self.in_style = tag == "style"

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            if tag in self.stack:
                while self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()
        self.in_style = False

    def handle_data(self, data):
        if self.in_style:
            self.style += data
        else:
            self.text.append(data)

    def count(self, tag: str) -> int:
        return sum(t == tag for t, _ in self.tags)

    @property
    def all_text(self) -> str:
        return "".join(self.text)


def assert_self_contained(page: Page, raw: str) -> None:
    assert not page.errors and not page.stack, (page.errors, page.stack)
    names = {t for t, _ in page.tags}
    assert not names & {"script", "iframe", "object", "embed", "img", "link", "base", "audio",
                        "video", "source", "image", "use", "foreignobject", "form"}, names
    for tag, attrs in page.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)  # no event handlers
            if name in LOADING_ATTRS:
                assert name == "href" and tag == "a" and (value or "").startswith("#"), (tag, name)
            if name == "style":
                assert "url(" not in (value or "")
    assert "url(" not in page.style and "@import" not in page.style
    metas = [a for t, a in page.tags if t == "meta" and a.get("http-equiv")]
    assert metas and metas[0]["http-equiv"] == "Content-Security-Policy"
    assert "default-src 'none'" in (metas[0]["content"] or "")
    assert "<script" not in raw.lower()


# ---------------------------------------------------------------------------------------
# the data: a real check run on the sample files, with the additive fields


def per_row_sketches():
    report = losscli.evaluate(str(SAMPLES / "regression.parquet"), losses=["mse", "mae"],
                              reduction="none")
    out = {}
    for name in ("mse", "mae"):
        s = QuantileSketch()
        s.update(np.asarray(report.per_row[name], dtype=float))
        out[name] = s
    return out


def calibration():
    t = pacsv.read_csv(SAMPLES / "binary.csv").to_pydict()
    cal = CalibrationError(15)
    cal.update(np.array(t["prob"]), np.array(t["label"]))
    return cal


GROUPS = [
    {"key": {"region": "north"}, "rows": 400,
     "losses": [{"label": "mse", "value": 1.2345678901234567,
                 "interval": {"low": 1.0987654321098765, "high": 1.3703703703703705,
                              "level": 0.95, "method": "normal", "reason": None}},
                {"label": "mae", "value": 0.8}],
     "checks": [{"label": "mse", "status": "pass", "value": 1.2345678901234567, "max": 1.5,
                 "reasons": []}]},
    {"key": {"region": "south"}, "rows": 350, "passed": False,
     "losses": [{"label": "mse", "value": 2.9012345678901234,
                 "interval": {"low": 2.2, "high": 3.6, "level": 0.95, "method": "normal",
                              "reason": None}},
                {"label": "mae", "value": 1.3}],
     "checks": [{"label": "mse", "status": "fail", "value": 2.9012345678901234, "max": 1.5,
                 "reasons": ["mse = 2.9012345678901234 is above --max 1.5"]}]},
    {"key": {"region": None}, "rows": 1,
     "losses": [{"label": "mse", "value": 0.9,
                 "interval": {"low": None, "high": None, "level": 0.95, "method": "normal",
                              "reason": "fewer than 2 rows"}},
                {"label": "mae", "value": 0.7}]},
]


@pytest.fixture(scope="module")
def check_doc():
    result = check(str(SAMPLES / "regression.parquet"), losses=["mse", "mae", "r2"],
                   max_=["mse=1.5"])
    doc = result.to_dict()
    assert doc["failed"] == ["mse"]
    for x in doc["losses"]:
        x["interval"] = {"low": x["value"] * 0.9, "high": x["value"] * 1.1, "level": 0.95,
                         "method": "normal", "reason": None}
    doc["losses"][2]["interval"] = {"low": None, "high": None, "level": 0.95,
                                    "method": "normal", "reason": "no valid interval"}
    doc["intervals"] = {"level": 0.95, "method": "normal"}
    doc["groups"] = GROUPS
    # the verdict names the failing groups (the page reads them from it)
    doc["verdict"]["failed_groups"] = [{"key": {"region": "south"}, "label": "region=south",
                                        "losses": ["mse"], "missing": False}]
    doc["losses"][1]["distribution"] = {"relative_accuracy": 0.01, "quantiles": {
        "p50": 0.5, "p90": 1.75, "max": 7.0424999999999995}}
    return doc


@pytest.fixture(scope="module")
def pictures():
    sk = per_row_sketches()
    rng = np.random.default_rng(0)
    heavy = QuantileSketch()
    heavy.update(rng.lognormal(0, 3, 20_000))
    models = []
    for name, sigma in (("baseline", 2.0), ("candidate", 3.0)):
        s = QuantileSketch()
        s.update(rng.lognormal(0, sigma, 10_000))
        models.append(plot.Histogram.from_sketch(s, "squared error", model=name))
    return [plot.Histogram.from_sketch(sk["mse"], "mse"),
            plot.Histogram.from_sketch(heavy, "lognormal σ=3"),
            models,
            plot.Reliability.from_calibration(calibration(), "ece")]


N_GROUP_PICTURES = 2  # mse and mae have groups in the doc, r2 none


def test_one_svg_per_picture_and_nothing_from_outside(check_doc, pictures):
    raw = report_html.build_html(check_doc, pictures)
    page = Page(raw)
    assert_self_contained(page, raw)
    assert page.count("svg") == len(pictures) + N_GROUP_PICTURES
    svgs = [a for t, a in page.tags if t == "svg"]
    assert all(a.get("viewbox") and a.get("role") == "img" for a in svgs)
    # a page without pictures has no svg, and a group-free doc draws no bars
    bare = {k: v for k, v in check_doc.items() if k != "groups"}
    assert Page(report_html.build_html(bare)).count("svg") == 0


def test_every_number_is_printed_whole(check_doc, pictures):
    page = Page(report_html.build_html(check_doc, pictures))
    text = page.all_text
    for x in check_doc["losses"]:
        assert format(x["value"], ".6g") in text
        if x["interval"]["low"] is not None:
            assert f"[{x['interval']['low']:.6g}, {x['interval']['high']:.6g}]" in text
    assert "n/a (no valid interval)" in text
    h, heavy, models, rel = pictures
    for hist in (h, heavy, *models):
        for _, value in hist.quantiles:
            assert format(value, ".6g") in text
    assert format(rel.ece, ".6g") in text and format(rel.mce, ".6g") in text
    for b in rel.table:
        assert format(b.confidence, ".6g") in text and format(b.accuracy, ".6g") in text
    for g in GROUPS:
        for x in g["losses"]:
            assert format(x["value"], ".6g") in text
    assert f"[{1.0987654321098765:.6g}, {1.3703703703703705:.6g}]" in text and "fewer than 2 rows" in text
    assert f"{7.0424999999999995:.6g}" in text  # a distribution entry without a picture: a table
    assert "log x axis: heavy tail" in text and "linear x axis" in text


def test_check_puts_what_failed_first(check_doc, pictures):
    text = Page(report_html.build_html(check_doc, pictures)).all_text
    assert "FAILED: 1 of 3" in text
    failed, losses = text.index("What failed"), text.index("Losses")
    assert failed < losses < text.index("Checks") < text.index("By group")
    first = text[failed:losses]
    assert "mse" in first and "is above --max 1.5" in first
    assert "region=south" in first and "region=north" not in first  # the failing group only
    # the page reads the gate's verdict (a document without one: its "passed")
    passing = {**{k: v for k, v in check_doc.items() if k != "verdict"}, "passed": True,
               "failed": [],
               "checks": [{**c, "status": "pass"} for c in check_doc["checks"]],
               "groups": [{k: v for k, v in g.items() if k not in ("passed", "checks")}
                          for g in GROUPS]}
    text = Page(report_html.build_html(passing)).all_text
    assert "PASSED" in text and "What failed" not in text


def test_eval_and_compare_documents():
    report = losscli.evaluate(str(SAMPLES / "regression.parquet"), losses=["mse", "r2"])
    text = Page(report_html.build_html(report.to_dict())).all_text
    assert "losscli report" in text and format(report["mse"], ".6g") in text and "What failed" not in text
    from losscli.comparison import compare

    cmp = compare({"a<&>": str(SAMPLES / "model_preds.parquet"),
                   "b": str(SAMPLES / "model_b.parquet")},
                  targets=str(SAMPLES / "regression.parquet"), target_col="target",
                  losses=["mse"])
    doc = cmp.to_dict()
    raw = report_html.build_html(doc)
    page = Page(raw)
    assert_self_contained(page, raw)
    for name in cmp.names:
        assert name in page.all_text and format(cmp.value(name, "mse"), ".6g") in page.all_text


HOSTILE = "</title><script>alert(1)</script>&amp;\"'<!--\x00\x1b[31m\u202e.csv"


def test_hostile_names_are_text(tmp_path):
    doc = {"inputs": {"predictions": {"path": HOSTILE, "format": "csv", "column": HOSTILE},
                      "targets": None, "task": "<b>regression</b>"},
           "rows": 3, "reduction": "mean",
           "losses": [{"name": HOSTILE, "label": HOSTILE, "value": 1.5, "params": {},
                       "higher_is_better": False}],
           "groups": [{"key": {HOSTILE: HOSTILE}, "rows": 3,
                       "losses": [{"label": HOSTILE, "value": 1.5}]}],
           "calibration": [{"label": HOSTILE, "task": HOSTILE, "ece": 0.1, "mce": 0.2,
                            "bins": 15}]}
    s = QuantileSketch()
    s.update(np.array([1.0, 2.0, 3.0]))
    rel = plot.Reliability.from_calibration(calibration(), HOSTILE, model=HOSTILE)
    pics = [plot.Histogram.from_sketch(s, HOSTILE, model=HOSTILE), rel, [rel, rel]]
    raw = report_html.build_html(doc, pics, title=HOSTILE)
    page = Page(raw)
    assert_self_contained(page, raw)
    shown = plot.printable(HOSTILE)  # controls as \\x00, \\x1b, \\u202e
    assert shown.startswith("</title><script>") and "\\x00\\x1b[31m\\u202e" in shown
    assert page.all_text.count(shown) >= 8  # title, files, loss, group, pictures, legends
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202e]", raw)
    assert page.count("svg") == 4  # histogram, reliability, overlay, the group's bars


def test_write_html_is_atomic(tmp_path, check_doc, pictures):
    path = tmp_path / "report.html"
    report_html.write_html(check_doc, str(path), pictures)
    assert path.read_text(encoding="utf-8") == report_html.build_html(check_doc, pictures)
    before = path.read_bytes()
    with pytest.raises(TypeError):  # a bad picture: nothing written, the old file kept
        report_html.write_html(check_doc, str(path), [object()])  # type: ignore[list-item]
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["report.html"]
    missing = tmp_path / "nope" / "r.html"
    with pytest.raises(UsageError, match=r"--html .*does not exist"):
        report_html.write_html(check_doc, str(missing))
    assert not missing.parent.exists()
    # a file name from undecodable bytes (a lone surrogate) is written, shown escaped
    report_html.write_html({"inputs": {"p": {"path": "bad\udcffname"}}, "losses": []},
                           str(path))
    assert "bad\\udcffname" in path.read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------
# a real browser

def read_png(path: Path) -> np.ndarray:
    """Decode an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes) with zlib and
    the five PNG row filters (RFC 2083 §6)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, []
    width = height = depth = ctype = interlace = None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    assert depth == 8 and interlace == 0 and ctype in (2, 6), (depth, ctype, interlace)
    bpp = 3 if ctype == 2 else 4
    rows = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8).reshape(height,
                                                                           width * bpp + 1)
    out = np.zeros((height, width * bpp), np.uint8)
    prev = np.zeros(width * bpp, np.uint8)
    for y in range(height):
        kind, line = rows[y, 0], rows[y, 1:]
        if kind == 0:
            cur = line.copy()
        elif kind == 1:  # Sub: a running sum along the row, per channel
            cur = (np.cumsum(line.reshape(width, bpp), axis=0, dtype=np.int64) % 256
                   ).astype(np.uint8).ravel()
        elif kind == 2:  # Up
            cur = line + prev
        else:  # Average, Paeth: sequential along the row
            got = bytearray(width * bpp)
            raw, up = line.tolist(), prev.tolist()
            for i in range(width * bpp):
                a = got[i - bpp] if i >= bpp else 0
                b = up[i]
                if kind == 3:
                    got[i] = (raw[i] + ((a + b) >> 1)) & 255
                else:
                    c = up[i - bpp] if i >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    got[i] = (raw[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            cur = np.frombuffer(bytes(got), np.uint8)
        out[y] = cur
        prev = cur
    return out.reshape(height, width, bpp)[:, :, :3]


def chromium(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess:
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium): .ci/run installs "
                    "it with apt-get where it can (root and apt-get available)")
    profile = tmp_path / f"profile{len(list(tmp_path.iterdir()))}"
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-extensions", f"--user-data-dir={profile}",
         "--enable-logging=stderr", "--v=0", *args, url],
        capture_output=True, timeout=90, text=True, errors="replace")


def console_messages(stderr: str) -> list[str]:
    """What the page said on the console (script errors, CSP refusals, failed loads)."""
    return [line for line in stderr.splitlines() if re.search(r":CONSOLE[(:]|Uncaught", line)]


def test_the_console_scan_sees_errors(tmp_path):
    """The control: a page whose script fails and whose image the CSP refuses."""
    page = tmp_path / "bad.html"
    page.write_text(f'<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
                    f'content="{report_html.CSP}"></head><body><img src="data:image/gif;base64,'
                    'R0lGODlhAQABAAAAACw="></body></html>')
    proc = chromium(tmp_path, page.as_uri(), "--dump-dom")
    messages = console_messages(proc.stderr)
    assert any("Content Security Policy" in m for m in messages), proc.stderr[-2000:]


def test_a_real_browser_renders_the_report(tmp_path, check_doc, pictures):
    path = tmp_path / "report.html"
    report_html.write_html(check_doc, str(path), pictures)
    png = tmp_path / "shot.png"
    proc = chromium(tmp_path, path.as_uri(), f"--screenshot={png}", "--window-size=1200,1600",
                    "--hide-scrollbars")
    assert proc.returncode == 0 and png.exists(), proc.stderr[-2000:]
    assert console_messages(proc.stderr) == []
    img = read_png(png)
    assert img.shape == (1600, 1200, 3)
    flat = img.reshape(-1, 3).astype(np.int64)
    colours = flat[:, 0] << 16 | flat[:, 1] << 8 | flat[:, 2]
    assert len(np.unique(colours)) > 50  # text, tables, bars: not a blank page
    assert (colours != 0xFFFFFF).mean() > 0.03
    assert (colours == 0x4C78A8).sum() > 2000  # the bars (--bar) of the group chart
    assert (colours == 0xCF222E).sum() > 200  # the FAILED badge and the failing bar
    dom = chromium(tmp_path, path.as_uri(), "--dump-dom")
    assert dom.returncode == 0 and console_messages(dom.stderr) == []
    page = Page(dom.stdout)
    assert page.count("svg") == len(pictures) + N_GROUP_PICTURES
    assert page.count("script") == 0 and "What failed" in page.all_text
