"""The manual stays true: the loss catalogue of docs/losses.md and the README's test
command."""

from __future__ import annotations

from losscli.catalog import markdown_table
from losscli.registry import all_losses
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
#: The page that holds the generated loss catalogue, between the catalog markers.
LOSSES_PAGE = ROOT / "docs" / "losses.md"
TEST_COMMAND = ("python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && "
                ".venv/bin/python -m pytest")


def test_catalogue_is_current():
    page = LOSSES_PAGE.read_text()
    start = page.index("<!-- catalog:start -->\n") + len("<!-- catalog:start -->\n")
    end = page.index("<!-- catalog:end -->")
    assert page[start:end] == markdown_table(list(all_losses().values())), (
        "docs/losses.md loss catalogue is stale: paste `losscli losses --format markdown` "
        "between the catalog markers")


def test_ci_runs_the_readme_test_command():
    assert TEST_COMMAND in README
    assert TEST_COMMAND in (ROOT / ".ci" / "run").read_text()


def test_the_readmes_count_of_losses_is_the_registrys():
    import re

    text = (ROOT / "README.md").read_text()
    (count,) = re.findall(r"\((\d+) losses and metrics", text)
    assert int(count) == len(all_losses())
