"""The manual runs: every example of README.md and of every page in docs/, its links and
its generated CLI reference.

Which lines of a page are examples (the convention, for whoever edits README.md or docs/):

* only fenced blocks tagged ```sh, ```console or ```python count (```bash, ```text,
  ```markdown, ```json, ```yaml ... are never run: put install lines, shell set-up and
  commands that need a cluster or a bucket there);
* in a ```console block, a command is a line starting with "$ " (the rest is output);
  in a ```sh block, every line that is not blank and not a "#" comment;
* a command is run when one of its "|"-separated stages starts with "losscli " or
  "python -m losscli" (set-up lines such as "python3 -m venv ..." are left to .ci/run);
* it runs in bash with "set -o pipefail", from a scratch folder that has sample_data/
  (a link to the repository's), so it sees the same relative paths as the repository
  root without writing there; stdin is empty; the losscli and python of this interpreter
  come first on PATH;
* it must exit 0, or N when the line ends with the comment "# exit N" (a failing
  `check`, for instance);
* a ```python block is one script, run whole by this interpreter from the same scratch
  folder; it must exit 0 (its asserts are part of the example).

A test's id is the page and the line of the command (or of the block's first line):
`README.md:42`, `docs/inputs.md:120`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from losscli.devtools import CLI_REFERENCE, with_reference
from tests.conftest import ROOT

FENCE = re.compile(r"^```(\w*)\s*$")
EXPECT = re.compile(r"#\s*exit\s+(\d+)\s*$")
RUNS = re.compile(r"(^|\|)\s*(losscli |python -m losscli)")

README = ROOT / "README.md"
#: Every page of the manual: the README first, then docs/ in name order.
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
#: The README is the front door, not the manual.
README_MAX_LINES = 250


def page_examples(text: str) -> list[tuple[int, str, str]]:
    """(line number, "sh" or "python", code) for every example, by the convention above."""
    examples: list[tuple[int, str, str]] = []
    lang = None
    block: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), start=1):
        fence = FENCE.match(line)
        if fence:
            if lang is None:
                lang, block, start = fence.group(1), [], number + 1
            else:
                if lang == "python" and any(x.strip() for x in block):
                    examples.append((start, "python", "\n".join(block) + "\n"))
                lang = None
            continue
        if lang == "python":
            block.append(line)
            continue
        if lang == "console":
            if not line.startswith("$ "):
                continue
            line = line[2:]
        elif lang != "sh":
            continue
        line = line.strip()
        if line and not line.startswith("#") and RUNS.search(line):
            examples.append((number, "sh", line))
    return examples


def readme_commands(text: str) -> list[tuple[int, str]]:
    """(line number, command) of the shell examples only."""
    return [(n, code) for n, kind, code in page_examples(text) if kind == "sh"]


def _name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


EXAMPLES = [(_name(page), n, kind, code) for page in PAGES
            for n, kind, code in page_examples(page.read_text(encoding="utf-8"))]


def test_the_convention_finds_the_examples():
    sample = "\n".join([
        "```sh", "# comment", "losscli eval a.csv", "python3 -m venv .venv", "```",
        "```console", "$ cat x | losscli eval -", "output line", "```",
        "```bash", "losscli not-run", "```", "losscli outside a block",
        "```python", "import losscli", "print(1)", "```",
        "```text", "import nothing", "```",
    ])
    assert page_examples(sample) == [(3, "sh", "losscli eval a.csv"),
                                     (7, "sh", "cat x | losscli eval -"),
                                     (15, "python", "import losscli\nprint(1)\n")]
    assert readme_commands(sample) == [(3, "losscli eval a.csv"), (7, "cat x | losscli eval -")]


def test_every_page_is_run():
    """The manual really has its examples, and the README only what a front door needs."""
    names = {name for name, *_ in EXAMPLES}
    for page in ("README.md", "docs/inputs.md", "docs/losses.md", "docs/check.md",
                 "docs/compare.md", "docs/uncertainty.md", "docs/scale-out.md",
                 "docs/pictures.md", "docs/api.md"):
        assert page in names, f"{page} has no example that runs"
    assert len(EXAMPLES) >= 100
    assert sum(kind == "python" for *_, kind, _ in EXAMPLES) >= 4  # the API page runs
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move text to docs/"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("docs")
    (folder / "sample_data").symlink_to(ROOT / "sample_data")
    return folder


def _env() -> dict[str, str]:
    env = {**os.environ,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("NO_COLOR", None)
    return env


@pytest.mark.parametrize(("page", "line", "kind", "code"), EXAMPLES,
                         ids=[f"{page}:{n}" for page, n, *_ in EXAMPLES])
def test_example_runs(page, line, kind, code, scratch):
    if kind == "python":
        script = scratch / f"example_{page.replace('/', '_')}_{line}.py"
        script.write_text(code, encoding="utf-8")
        argv, expected = [sys.executable, str(script)], 0
    else:
        expected = int(m.group(1)) if (m := EXPECT.search(code)) else 0
        argv = ["bash", "-o", "pipefail", "-c", code]
    proc = subprocess.run(argv, cwd=scratch, env=_env(), stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=120)
    assert proc.returncode == expected, (
        f"{page} line {line}: `{code}` exited {proc.returncode}, expected {expected}\n"
        f"{proc.stderr.decode()[-2000:]}")
    assert b"Traceback" not in proc.stderr


# --- links --------------------------------------------------------------------------------

LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(text: str) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown page (outside code blocks)."""
    out: set[str] = set()
    seen: dict[str, int] = {}
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        heading = re.match(r"^#{1,6} (.*)$", line)
        if fenced or not heading:
            continue
        slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        out.add(slug if count == 0 else f"{slug}-{count}")
    return out


def test_anchors_are_githubs():
    text = "# Rows joined by key: `--id-col`\n## Usage: `losscli eval`\n## Usage: `losscli eval`"
    assert anchors(text) == {"rows-joined-by-key---id-col", "usage-losscli-eval",
                             "usage-losscli-eval-1"}


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_links_lead_somewhere(page):
    """Every relative link of the manual names a file that exists, and a heading of it."""
    text = page.read_text(encoding="utf-8")
    broken = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target):
            continue  # http(s), mailto
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(target)
        elif anchor and file.suffix == ".md" and anchor not in anchors(file.read_text()):
            broken.append(target)
    assert not broken, f"{_name(page)}: broken links {broken}"


def test_the_readme_links_every_page():
    readme = README.read_text(encoding="utf-8")
    missing = [_name(p) for p in PAGES[1:] if f"]({_name(p)})" not in readme]
    assert not missing, f"README.md does not link {missing}"


# --- generated ----------------------------------------------------------------------------

def test_cli_reference_is_current():
    text = CLI_REFERENCE.read_text()
    assert with_reference(text) == text, (
        "docs/cli.md CLI reference is stale: run python -m losscli.devtools docs")
