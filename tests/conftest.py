"""Shared fixtures: the sample data folder, a CLI runner, and small real files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_data"


@pytest.fixture
def samples() -> Path:
    return SAMPLES


@pytest.fixture
def cli():
    """Invoke the Typer app in-process; stdout and stderr kept apart."""
    from typer.testing import CliRunner

    from losscli.cli import app

    runner = CliRunner()

    def invoke(*args: str, input: str | bytes | None = None, env: dict | None = None):
        return runner.invoke(app, [str(a) for a in args], input=input,
                             env={"COLUMNS": "200", **(env or {})}, catch_exceptions=False)

    return invoke


def run_losscli(*args: str, input: bytes | None = None, cwd: Path | None = None,
                env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the real entry point in a subprocess (python -m losscli)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "losscli", *map(str, args)], input=input,
        capture_output=True, cwd=cwd or ROOT, env=full_env, timeout=120,
    )
