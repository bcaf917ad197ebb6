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


def run_pty(args: list[str], *, env: dict | None = None, columns: int = 100, rows: int = 24,
            stdout_to_pty: bool = False, stdin_to_pty: bool = False,
            command: list[str] | None = None) -> tuple[int, bytes, bytes]:
    """Run ``python -m losscli ARGS`` (or ``command + ARGS``) with stderr, and optionally
    stdout and stdin, on a real pseudo-terminal whose window is ``columns`` x ``rows`` (set
    with TIOCSWINSZ, not only COLUMNS). Returns (exit code, stdout bytes when piped, the
    bytes seen on the terminal)."""
    import fcntl
    import select
    import struct
    import termios
    import time

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    full_env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    full_env.update({"TERM": "xterm-256color", **(env or {})})
    proc = subprocess.Popen(
        [*(command or [sys.executable, "-m", "losscli"]), *args],
        stdin=slave if stdin_to_pty else subprocess.DEVNULL,
        stdout=slave if stdout_to_pty else subprocess.PIPE, stderr=slave, env=full_env, cwd=ROOT)
    os.close(slave)
    seen = bytearray()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer of the pty is gone
                break
            if not data:
                break
            seen += data
        elif proc.poll() is not None and not select.select([master], [], [], 0.2)[0]:
            break
    os.close(master)
    stdout = proc.stdout.read() if proc.stdout is not None else b""
    return proc.wait(timeout=60), stdout, bytes(seen)


@pytest.fixture(scope="session")
def s3_server():
    """A moto S3 server on 127.0.0.1 and a free port, for the whole session; yields its
    endpoint URL. Credentials and AWS_ENDPOINT_URL are set only inside ``s3_env``."""
    import socket

    moto_server = pytest.importorskip("moto.server")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_env(s3_server, monkeypatch):
    """The AWS environment of the moto server for one test (in this process and the
    subprocesses it starts), and a boto3 client to put objects with."""
    boto3 = pytest.importorskip("boto3")
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_ENDPOINT_URL": s3_server, "AWS_REGION": "us-east-1"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(key, raising=False)
    client = boto3.client("s3", region_name="us-east-1", endpoint_url=s3_server)
    return client


#: Runs the real entry point (``python -m losscli``) under tracemalloc, printing the peak.
_TRACED = """
import runpy, sys, tracemalloc
tracemalloc.start()
sys.argv = ["losscli", *sys.argv[1:]]
try:
    runpy.run_module("losscli", run_name="__main__")
finally:
    print("PEAK", tracemalloc.get_traced_memory()[1], file=sys.stderr)
"""


def traced_peak(*args: object) -> int:
    """The traced (tracemalloc) peak in bytes of ``losscli ARGS`` through its real entry
    point, in a subprocess; the run must succeed."""
    proc = subprocess.run([sys.executable, "-c", _TRACED, *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return int(proc.stderr.rsplit("PEAK", 1)[1])
