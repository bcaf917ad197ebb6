"""Servers some cases need, each in a helper process the benchmark starts and stops.

- ``moto_s3(folder)``: a moto ``ThreadedMotoServer`` on 127.0.0.1 (a free port) holding the
  files of ``folder`` in bucket :data:`BUCKET` under :data:`PREFIX`; yields the endpoint
  ``http://127.0.0.1:PORT``. Clients authenticate with :data:`S3_ENV` (moto accepts any
  key); the benchmark sets it only in the environment of the commands of the S3 case.
- ``dask_cluster(workers)``: a ``distributed.LocalCluster`` of ``workers`` processes with one
  thread each on 127.0.0.1, no dashboard; yields the scheduler address.

The helpers (``python -m benchmarks.services moto FOLDER`` / ``dask N``) print one line
``ready ADDRESS`` once serving, then serve until their standard input closes; their own
messages go to a log file under the cache folder. Running them apart keeps the server's
threads off the benchmark process and leaves the measured commands' start-up untouched.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUCKET = "bench"
PREFIX = "data"
#: Environment of the commands that read from the moto server (moto accepts any key).
S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
          "AWS_DEFAULT_REGION": "us-east-1"}
START_TIMEOUT = 120.0


class ServiceError(RuntimeError):
    pass


@contextlib.contextmanager
def _helper(args: list[str], log: Path) -> Iterator[str]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "benchmarks.services", *args],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                text=True, cwd=ROOT)
        try:
            assert proc.stdout is not None
            line = _readline(proc, START_TIMEOUT)
            if not line.startswith("ready "):
                proc.kill()
                proc.wait()
                tail = log.read_text().strip().splitlines()[-3:]
                raise ServiceError(f"{' '.join(args[:1])} helper did not start: "
                                   + (" | ".join(tail) or line.strip() or "no output"))
            yield line.split(None, 1)[1].strip()
        finally:
            if proc.poll() is None:
                assert proc.stdin is not None
                with contextlib.suppress(OSError):
                    proc.stdin.close()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def _readline(proc: subprocess.Popen, timeout: float) -> str:
    import threading

    out: list[str] = []
    t = threading.Thread(target=lambda: out.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    t.start()
    t.join(timeout)
    if t.is_alive():
        proc.kill()
        raise ServiceError(f"helper did not start within {timeout:.0f} s")
    return out[0] if out else ""


@contextlib.contextmanager
def moto_s3(folder: Path, log: Path) -> Iterator[str]:
    with _helper(["moto", str(folder)], log) as endpoint:
        yield endpoint


@contextlib.contextmanager
def dask_cluster(workers: int, log: Path) -> Iterator[str]:
    with _helper(["dask", str(workers)], log) as address:
        yield address


def s3_env() -> dict[str, str]:
    """The environment of an S3 command: this one plus :data:`S3_ENV`, no other endpoint."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_ENDPOINT_URL", "AWS_PROFILE"))}
    env.update(S3_ENV)
    return env


# -- the helper processes -------------------------------------------------------------------
def _serve_moto(folder: Path) -> None:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        _, port = server.get_host_and_port()
        endpoint = f"http://127.0.0.1:{port}"
        client = boto3.client("s3", endpoint_url=endpoint, region_name=S3_ENV["AWS_DEFAULT_REGION"],
                              aws_access_key_id=S3_ENV["AWS_ACCESS_KEY_ID"],
                              aws_secret_access_key=S3_ENV["AWS_SECRET_ACCESS_KEY"])
        client.create_bucket(Bucket=BUCKET)
        for path in sorted(folder.rglob("*.parquet")):
            client.upload_file(str(path), BUCKET, f"{PREFIX}/{path.relative_to(folder).as_posix()}")
        print(f"ready {endpoint}", flush=True)
        sys.stdin.read()  # serve until the benchmark closes our stdin
    finally:
        server.stop()


def _serve_dask(workers: int) -> None:
    from distributed import LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None,
                      scheduler_kwargs={"dashboard": False}) as cluster:
        print(f"ready {cluster.scheduler_address}", flush=True)
        sys.stdin.read()


def main() -> None:
    kind, arg = sys.argv[1], sys.argv[2]
    if kind == "moto":
        _serve_moto(Path(arg))
    elif kind == "dask":
        _serve_dask(int(arg))
    else:
        raise SystemExit(f"unknown service {kind!r}")


if __name__ == "__main__":
    main()
