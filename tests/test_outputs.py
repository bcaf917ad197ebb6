"""Output never destroys input, and no write failure or signal ends in a traceback.

* ``--output`` (and ``check --save``) refuse a file that is one of the inputs (same device
  and inode: through symbolic and hard links); a regular-file output is written to a
  temporary file and renamed into place only when the run succeeds, so a failed or
  interrupted run leaves no partial file and any previous file intact; a FIFO or
  ``/dev/fd/N`` is written directly.
* A full disk (``/dev/full``), a directory, an unwritable folder, a closed stdout: one line
  on stderr, exit 2, nothing partial left.
* Ctrl-C and SIGTERM — during start-up while the modules load, or in the middle of a write —
  end with one line, exit 130 / 143, no traceback, no temporary file.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import ROOT, SAMPLES, run_losscli

LOSSCLI = [sys.executable, "-m", "losscli"]
LINUX = sys.platform.startswith("linux")


def one_error_line(stderr: str | bytes, *fragments: str) -> str:
    text = stderr.decode() if isinstance(stderr, bytes) else stderr
    assert "Traceback" not in text, text
    lines = text.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("losscli: error: "), text
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def leftovers(folder: Path) -> list[str]:
    """Temporary files of atomic writes (``.NAME.XXXX.tmp``) still in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def data(tmp_path) -> Path:
    path = tmp_path / "x.csv"
    path.write_bytes((SAMPLES / "regression.csv").read_bytes())
    return path


# --- an output that is an input is refused -------------------------------------------------

def test_output_that_is_the_input_is_refused(cli, data):
    before = data.read_bytes()
    r = cli("eval", data, "-l", "mse", "-r", "none", "-o", data)
    assert r.exit_code == 2
    one_error_line(r.stderr, "--output", "is the input file", "another --output")
    assert data.read_bytes() == before


@pytest.mark.parametrize("link", ["symlink", "hardlink", "relative"])
def test_output_that_is_the_input_through_a_link_is_refused(cli, data, tmp_path, link,
                                                            monkeypatch):
    out = tmp_path / "alias.csv"
    if link == "symlink":
        out.symlink_to(data)
    elif link == "hardlink":
        os.link(data, out)
    else:
        monkeypatch.chdir(tmp_path)
        out = Path("./sub/../x.csv")
        (tmp_path / "sub").mkdir()
    before = data.read_bytes()
    r = cli("eval", data, "-l", "mse", "-r", "none", "-o", out)
    assert r.exit_code == 2, r.stderr
    one_error_line(r.stderr, "is the input file")
    assert data.read_bytes() == before


@pytest.mark.parametrize("role", ["--targets", "--weights"])
def test_output_that_is_another_input_is_refused(cli, tmp_path, role):
    pq.write_table(pa.table({"pred": [1.0, 2.0, 3.0]}), tmp_path / "p.parquet")
    other = tmp_path / "other.csv"
    column = "target" if role == "--targets" else "weight"
    other.write_text(f"{column}\n1\n2\n3\n")
    args = ["eval", tmp_path / "p.parquet", "-l", "mse", "-r", "none", "-o", other]
    if role == "--weights":
        args += ["--targets", tmp_path / "p.parquet", "--target-col", "pred"]
    r = cli(*args, role, other)
    assert r.exit_code == 2, r.stderr
    one_error_line(r.stderr, "is the input file", "other.csv")
    assert other.read_text() == f"{column}\n1\n2\n3\n"


def test_check_save_over_an_input_is_refused(cli, data):
    before = data.read_bytes()
    r = cli("check", data, "-l", "mse", "--save", data)
    assert r.exit_code == 2
    one_error_line(r.stderr, "--save", "is the input file")
    assert data.read_bytes() == before


# --- atomic per-row output ---------------------------------------------------------------------

def nan_at(tmp_path: Path, row: int, rows: int = 1000) -> Path:
    pred = np.linspace(0, 1, rows)
    pred[row] = np.nan
    path = tmp_path / "nan.parquet"
    pq.write_table(pa.table({"pred": pred, "target": np.zeros(rows)}), path)
    return path


@pytest.mark.parametrize("ext", ["csv", "parquet", "npy", "ndjson"])
def test_failed_run_leaves_the_previous_output_intact(cli, tmp_path, ext):
    out = tmp_path / f"out.{ext}"
    out.write_bytes(b"previous")
    # rows 0..899 are written chunk by chunk before the NaN at row 900 stops the run
    r = cli("eval", nan_at(tmp_path, 900), "-l", "mse", "-r", "none", "-o", out,
            "--chunk-size", "100")
    assert r.exit_code == 2
    one_error_line(r.stderr, "NaN")
    assert out.read_bytes() == b"previous"
    assert leftovers(tmp_path) == []


def test_failed_run_leaves_no_new_file(cli, tmp_path):
    out = tmp_path / "new.csv"
    r = cli("eval", nan_at(tmp_path, 500), "-l", "mse", "-r", "none", "-o", out,
            "--chunk-size", "100")
    assert r.exit_code == 2 and not out.exists() and leftovers(tmp_path) == []


def test_successful_run_replaces_the_file_and_keeps_its_permissions(cli, data, tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("previous\n")
    out.chmod(0o640)
    r = cli("eval", data, "-l", "mse", "-r", "none", "-o", out, "-q")
    assert r.exit_code == 0, r.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "row,mse" and len(lines) == 1001
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert leftovers(tmp_path) == []


def test_output_through_a_symlink_replaces_the_file_it_points_to(cli, data, tmp_path):
    target = tmp_path / "real.csv"
    target.write_text("previous\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert cli("eval", data, "-l", "mse", "-r", "none", "-o", link, "-q").exit_code == 0
    assert link.is_symlink() and target.read_text().startswith("row,mse\n")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_output_is_written_directly(cli, data, tmp_path):
    fifo = tmp_path / "rows"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    r = cli("eval", data, "-l", "mse", "-r", "none", "-o", fifo, "-q")
    reader.join(timeout=30)
    assert r.exit_code == 0, r.stderr
    assert got and got[0].startswith(b"row,mse\n") and got[0].count(b"\n") == 1001
    assert stat.S_ISFIFO(fifo.stat().st_mode) and leftovers(tmp_path) == []


@pytest.mark.skipif(not os.path.isdir("/dev/fd"), reason="needs /dev/fd")
def test_dev_fd_output_is_written_directly(data, tmp_path):
    read_end, write_end = os.pipe()
    proc = subprocess.Popen([*LOSSCLI, "eval", str(data), "-l", "mse", "-r", "none", "-o",
                             f"/dev/fd/{write_end}", "-q"], pass_fds=(write_end,),
                            stderr=subprocess.PIPE, cwd=ROOT)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        rows = f.read()
    assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else b""
    assert rows.startswith(b"row,mse\n") and rows.count(b"\n") == 1001


# --- writes that fail ----------------------------------------------------------------------

needs_dev_full = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")


@needs_dev_full
@pytest.mark.parametrize("ext_args", [[], ["--format-in", "csv"]])
def test_output_on_a_full_disk(data, ext_args):
    r = run_losscli("eval", data, "-l", "mse", "-r", "none", "-o", "/dev/full", *ext_args)
    assert r.returncode == 2
    one_error_line(r.stderr, "Cannot write '/dev/full'", "No space left on device")


def run_with_stdout(args: list, stdout: object, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*LOSSCLI, *map(str, args)], stdout=stdout, stderr=subprocess.PIPE,
                          cwd=ROOT, timeout=120, **kwargs)


@needs_dev_full
@pytest.mark.parametrize("args", [
    ["eval", "sample_data/regression.csv"],
    ["eval", "sample_data/regression.csv", "-f", "json"],
    ["eval", "sample_data/regression.csv", "-l", "mse", "-r", "none"],
    ["check", "sample_data/regression.csv", "--max", "mse=5", "-f", "markdown"],
    ["compare", "a=sample_data/regression.csv", "b=sample_data/regression.parquet"],
    ["losses"],
    ["--help"],
], ids=["table", "json", "per-row", "check", "compare", "losses", "help"])
def test_stdout_on_a_full_disk(args):
    with open("/dev/full", "w") as full:
        r = run_with_stdout(args, full)
    assert r.returncode == 2
    one_error_line(r.stderr, "Cannot write to standard output", "No space left on device")


@pytest.mark.parametrize("args", [
    ["eval", "sample_data/regression.csv"],
    ["eval", "sample_data/regression.csv", "-l", "mse", "-r", "none"],
    ["check", "sample_data/regression.csv", "--max", "mse=5"],
    ["--version"],
], ids=["table", "per-row", "check", "version"])
def test_closed_stdout(args):
    r = run_with_stdout(args, None, preexec_fn=lambda: os.close(1))
    assert r.returncode == 2
    one_error_line(r.stderr, "Cannot write to standard output", "closed")


def test_closed_stdout_does_not_stop_a_run_that_writes_a_file(tmp_path):
    out = tmp_path / "rows.csv"
    r = run_with_stdout(["eval", "sample_data/regression.csv", "-l", "mse", "-r", "none",
                         "-o", out, "-q"], None, preexec_fn=lambda: os.close(1))
    assert r.returncode == 0, r.stderr
    # file descriptor 1 was free: the output file must not have been opened on it (and the
    # table must not have been printed into it)
    assert out.read_text().startswith("row,mse\n") and out.read_text().count("\n") == 1001


def test_directory_as_output(cli, data, tmp_path):
    for out in (tmp_path, tmp_path / "d.csv"):
        out.mkdir(exist_ok=True)
        r = cli("eval", data, "-l", "mse", "-r", "none", "-o", out)
        assert r.exit_code == 2
        one_error_line(r.stderr, "is a directory")
    r = cli("check", data, "-l", "mse", "--save", tmp_path)
    assert r.exit_code == 2
    one_error_line(r.stderr, "--save", "is a directory")


@pytest.fixture
def unwritable(tmp_path) -> Path:
    """A folder where files cannot be created (root ignores permissions: /sys then)."""
    if os.geteuid() == 0:
        if not os.path.isdir("/sys"):
            pytest.skip("running as root without /sys")
        yield Path("/sys")
        return
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


def test_unwritable_folder(cli, data, unwritable):
    r = cli("eval", data, "-l", "mse", "-r", "none", "-o", unwritable / "rows.csv")
    assert r.exit_code == 2
    one_error_line(r.stderr, "Cannot write --output", "choose a folder you can write to")
    r = cli("check", data, "-l", "mse", "--save", unwritable / "base.json")
    assert r.exit_code == 2
    one_error_line(r.stderr, "Cannot write --save", "choose a folder you can write to")


def test_missing_folder(cli, data, tmp_path):
    r = cli("eval", data, "-l", "mse", "-r", "none", "-o", tmp_path / "no" / "rows.csv")
    assert r.exit_code == 2
    one_error_line(r.stderr, "does not exist")


# --- signals ---------------------------------------------------------------------------------

def _catches_sigterm(pid: int) -> bool:
    """Whether process ``pid`` has a handler for SIGTERM: losscli's first act, before
    typer, numpy or pyarrow load (Python itself leaves SIGTERM at its default)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = int(next(line.split()[1] for line in status.splitlines()
                      if line.startswith("SigCgt:")), 16)
    return bool(caught & (1 << (signal.SIGTERM - 1)))


def signalled_at(delay: float, signum: int) -> tuple[int, bytes]:
    """Start ``losscli eval -`` on a stdin that never ends, wait until losscli's own code
    runs, then ``delay`` seconds more (start-up: imports of typer, numpy, pyarrow; later:
    waiting for input), then send ``signum``. Returns (exit code, stderr)."""
    proc = subprocess.Popen([*LOSSCLI, "eval", "-", "-l", "mse"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    deadline = time.monotonic() + 60
    while not _catches_sigterm(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.0005)
    time.sleep(delay)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


DELAYS = [0.0, 0.002, 0.005, 0.01, 0.02, 0.04, 0.08, 0.15, 0.3, 0.6]


@pytest.mark.skipif(not LINUX, reason="reads /proc/PID/status")
@pytest.mark.parametrize(("signum", "code", "line"), [
    (signal.SIGINT, 130, b"losscli: interrupted\n"),
    (signal.SIGTERM, 143, b"losscli: terminated\n"),
], ids=["SIGINT", "SIGTERM"])
def test_signal_at_any_moment_of_start_up(signum, code, line):
    results: dict[float, tuple[int, bytes]] = {}

    def one(delay: float) -> None:
        results[delay] = signalled_at(delay, signum)

    threads = [threading.Thread(target=one, args=(d,)) for d in DELAYS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for delay in DELAYS:
        assert results[delay] == (code, line), (delay, results[delay])


def _written_temporaries(folder: Path) -> list[str]:
    """Temporary files of atomic writes in ``folder`` that hold bytes already."""
    out = []
    for name in leftovers(folder):
        try:
            if (folder / name).stat().st_size > 0:
                out.append(name)
        except FileNotFoundError:  # renamed or removed since it was listed
            pass
    return out


def test_signal_mid_write_removes_the_temporary_file(tmp_path):
    """SIGTERM (then Ctrl-C) while per-row output is being written: exit 143 (130), one
    line, the temporary file gone and the previous output intact."""
    rows = 2_000_000
    rng = np.random.default_rng(0)
    big = tmp_path / "big.parquet"
    pq.write_table(pa.table({"pred": rng.normal(size=rows), "target": rng.normal(size=rows)}),
                   big)
    out = tmp_path / "out.csv"
    out.write_text("previous\n")
    for signum, code, word in ((signal.SIGTERM, 143, "terminated"),
                               (signal.SIGINT, 130, "interrupted")):
        proc = subprocess.Popen([*LOSSCLI, "eval", str(big), "-l", "mse", "-r", "none", "-o",
                                 str(out), "--chunk-size", "5000"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, cwd=ROOT)
        deadline = time.monotonic() + 60
        # the output's own temporary file, once rows are in it (the output guard's
        # writability probe before the run is an empty one, removed at once)
        seen: list[str] = []
        while not seen and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
            seen = _written_temporaries(tmp_path)
        if not seen:  # say what the run did instead
            proc.kill()
            _, err = proc.communicate(timeout=60)
            pytest.fail(f"the temporary output file never appeared ({signum.name} round): "
                        f"exit {proc.returncode}, stderr {err.decode()[-300:]!r}")
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
        assert (proc.returncode, err.decode()) == (code, f"losscli: {word}\n")
        assert leftovers(tmp_path) == [] and out.read_text() == "previous\n"
