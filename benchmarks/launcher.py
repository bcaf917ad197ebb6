"""A tiny process that starts the measured commands, so their peak RSS is their own.

Linux carries a process's peak RSS across ``exec``: a child forked from a parent holding
400 MB reports at least 400 MB in ``ru_maxrss``, whatever it used itself. The benchmark's
own process holds numpy and data, so it never forks the measured commands itself: it asks
this launcher (a bare Python of ~10 MB, below any measured command) over stdin/stdout, one
JSON request per line, and gets back wall time, ``ru_maxrss`` from ``os.wait4``, the exit
code and what the command printed. Standard library only.
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time

_RSS_UNIT = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: kB on Linux, bytes on macOS


def run(argv, cwd=None, env=None, timeout=900.0):
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                cwd=cwd, env=env)
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
        out.seek(0)
        err.seek(0)
        return {
            "wall": wall,
            "rss": usage.ru_maxrss * _RSS_UNIT,
            "returncode": proc.returncode,
            "stdout": out.read().decode("utf-8", "replace"),
            "stderr": err.read().decode("utf-8", "replace"),
            "timed_out": timed_out.is_set(),
        }


def main():
    for line in sys.stdin:
        request = json.loads(line)
        try:
            reply = run(**request)
        except OSError as exc:  # e.g. the command does not exist
            reply = {"wall": 0.0, "rss": 0, "returncode": 127, "stdout": "",
                     "stderr": f"cannot start {request.get('argv')}: {exc}", "timed_out": False}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
