"""Whole-process timing: one child at a time, wall clock and the child's own peak RSS.

``run_once`` hands the command to ``benchmarks/launcher.py`` (a small long-lived process,
see there why), which starts it, waits with ``os.wait4`` (the resource usage of that child
alone) and reports wall time, peak RSS, exit code and what it printed. stdout/stderr go to
temporary files, not pipes, so a large output can never block the child.
"""

from __future__ import annotations

import atexit
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LAUNCHER = Path(__file__).resolve().parent / "launcher.py"


@dataclass
class Run:
    wall: float  # seconds
    rss: int  # peak resident set size, bytes
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False


class _Launcher:
    proc: subprocess.Popen | None = None

    def request(self, payload: dict[str, Any]) -> dict[str, Any]:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen([sys.executable, str(LAUNCHER)], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True, bufsize=1)
            atexit.register(self.close)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(payload) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the benchmark launcher process died")
        return json.loads(line)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        self.proc = None


_LAUNCHER = _Launcher()


def run_once(argv: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
             timeout: float = 900.0) -> Run:
    """Run ``argv`` to completion in a fresh process; time it and read its peak RSS."""
    reply = _LAUNCHER.request({"argv": [str(a) for a in argv],
                               "cwd": None if cwd is None else str(cwd),
                               "env": env, "timeout": timeout})
    return Run(**reply)


@dataclass
class Stats:
    """Timed runs of one tool in one case (warm-up runs excluded)."""

    walls: list[float] = field(default_factory=list)
    rsss: list[int] = field(default_factory=list)

    def add(self, run: Run) -> None:
        self.walls.append(run.wall)
        self.rsss.append(run.rss)

    def summary(self) -> dict[str, Any]:
        if not self.walls:
            return {}
        return {
            "median_s": statistics.median(self.walls),
            "min_s": min(self.walls),
            "max_s": max(self.walls),
            "runs_s": [round(w, 4) for w in self.walls],
            "peak_rss_mb": max(self.rsss) / 2**20,
            "median_rss_mb": statistics.median(self.rsss) / 2**20,
        }


def _cpu_times() -> tuple[int, int] | None:
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields), idle


def busy_cores(interval: float = 0.5) -> float | None:
    """How many cores other processes kept busy over ``interval`` seconds (Linux only)."""
    a = _cpu_times()
    time.sleep(interval)
    b = _cpu_times()
    if a is None or b is None or b[0] == a[0]:
        return None
    cores = os.cpu_count() or 1
    return cores * (1.0 - (b[1] - a[1]) / (b[0] - a[0]))


def wait_quiet(max_busy: float, max_wait: float) -> tuple[float | None, float]:
    """Before a round: wait (at most ``max_wait`` s) until other processes keep at most
    ``max_busy`` cores busy. Returns the last busy reading and the seconds waited."""
    started = time.perf_counter()
    busy = busy_cores()
    while busy is not None and busy > max_busy and time.perf_counter() - started < max_wait:
        busy = busy_cores()
    return busy, time.perf_counter() - started


def rel_diff(a: float, b: float) -> float:
    """|a - b| relative to the larger magnitude (0 when both are 0)."""
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0.0 else abs(a - b) / scale
