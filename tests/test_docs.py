"""The README's commands all run, and its CLI reference is the app's.

Which README lines are example commands (the convention, for whoever edits the README):

* only fenced blocks tagged ```sh or ```console count (```bash, ```text, ```python,
  ```markdown ... are never run: put install lines and shell set-up there);
* in a ```console block, a command is a line starting with "$ " (the rest is output);
  in a ```sh block, every line that is not blank and not a "#" comment;
* a command is run when one of its "|"-separated stages starts with "losscli " or
  "python -m losscli" (set-up lines such as "python3 -m venv ..." are left to .ci/run);
* it runs in bash with "set -o pipefail", from a scratch folder that has sample_data/
  (a link to the repository's), so it sees the same relative paths as the repository
  root without writing there; stdin is empty; the losscli and python of this interpreter
  come first on PATH;
* it must exit 0, or N when the line ends with the comment "# exit N" (a failing
  `check`, for instance).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from losscli.devtools import README, readme_with_reference
from tests.conftest import ROOT

FENCE = re.compile(r"^```(\w*)\s*$")
EXPECT = re.compile(r"#\s*exit\s+(\d+)\s*$")
RUNS = re.compile(r"(^|\|)\s*(losscli |python -m losscli)")


def readme_commands(text: str) -> list[tuple[int, str]]:
    """(line number, command) for every example command, by the convention above."""
    commands = []
    lang = None
    for number, line in enumerate(text.splitlines(), start=1):
        fence = FENCE.match(line)
        if fence:
            lang = None if lang is not None else fence.group(1)
            continue
        if lang == "console":
            if not line.startswith("$ "):
                continue
            line = line[2:]
        elif lang != "sh":
            continue
        line = line.strip()
        if line and not line.startswith("#") and RUNS.search(line):
            commands.append((number, line))
    return commands


COMMANDS = readme_commands(README.read_text())


def test_the_convention_finds_the_commands():
    sample = "\n".join([
        "```sh", "# comment", "losscli eval a.csv", "python3 -m venv .venv", "```",
        "```console", "$ cat x | losscli eval -", "output line", "```",
        "```bash", "losscli not-run", "```", "losscli outside a block",
    ])
    assert readme_commands(sample) == [(3, "losscli eval a.csv"), (7, "cat x | losscli eval -")]
    assert len(COMMANDS) >= 20  # the README really has its examples


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("readme")
    (folder / "sample_data").symlink_to(ROOT / "sample_data")
    return folder


@pytest.mark.parametrize(("line", "command"), COMMANDS,
                         ids=[f"README:{n}" for n, _ in COMMANDS])
def test_readme_command_runs(line, command, scratch):
    expected = int(m.group(1)) if (m := EXPECT.search(command)) else 0
    env = {**os.environ,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("NO_COLOR", None)
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=scratch, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    assert proc.returncode == expected, (
        f"README.md line {line}: `{command}` exited {proc.returncode}, expected {expected}\n"
        f"{proc.stderr.decode()[-2000:]}")
    assert b"Traceback" not in proc.stderr


def test_cli_reference_is_current():
    text = README.read_text()
    assert readme_with_reference(text) == text, (
        "README CLI reference is stale: run python -m losscli.devtools readme")
