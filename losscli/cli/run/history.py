"""The body of ``losscli history`` (its declaration: :mod:`losscli.cli.commands.history`),
imported when the command runs."""

from __future__ import annotations

from typing import Any

from losscli.cli.commands import guard_outputs
from losscli.present.history_text import history_command


def run(path: str, options: dict[str, Any]) -> None:
    history_command(path, options, guard_outputs)
