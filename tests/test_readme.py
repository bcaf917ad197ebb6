"""The README stays true: its loss catalogue and its test command."""

from __future__ import annotations

from losscli.catalog import markdown_table
from losscli.registry import all_losses
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
TEST_COMMAND = ("python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && "
                ".venv/bin/python -m pytest")


def test_catalogue_is_current():
    start = README.index("<!-- catalog:start -->\n") + len("<!-- catalog:start -->\n")
    end = README.index("<!-- catalog:end -->")
    assert README[start:end] == markdown_table(list(all_losses().values())), (
        "README loss catalogue is stale: paste `losscli losses --format markdown` between "
        "the catalog markers")


def test_ci_runs_the_readme_test_command():
    assert TEST_COMMAND in README
    assert TEST_COMMAND in (ROOT / ".ci" / "run").read_text()
