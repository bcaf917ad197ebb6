"""``--mlflow`` (issue 22 item 4) against real MLflow tracking stores, through the real
entry point: a local ``sqlite:///`` backend and an ``mlflow server`` started here on
127.0.0.1 (HTTP, artifacts served by the server). The values read back are compared with
references computed here (numpy) and with the report's own JSON; nothing is mocked.
Without MLflow installed (the ``test`` extra installs it) these tests are skipped."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT, run_losscli

pytest.importorskip("mlflow", reason="MLflow is the test extra's (pip install -e '.[test]')")

from mlflow.tracking import MlflowClient

import losscli
from losscli.tracking_log import metric_name

REGIONS = ("east", "west", "north")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict:
    """A small regression file with a group column, and a second model's predictions."""
    folder = tmp_path_factory.mktemp("mlflow-data")
    rng = np.random.default_rng(7)
    n = 240
    target = rng.normal(10, 3, n)
    pred = target + rng.normal(0, 1, n)
    pred_b = target + rng.normal(0.3, 1.4, n)
    region = np.array(REGIONS)[rng.integers(0, 3, n)]
    path = folder / "preds.csv"
    lines = ["pred,pred_b,target,region"] + [
        f"{float(p)!r},{float(b)!r},{float(t)!r},{r}"
        for p, b, t, r in zip(pred, pred_b, target, region)]
    path.write_text("\n".join(lines) + "\n")
    return {"path": path, "target": target, "pred": pred, "pred_b": pred_b, "region": region}


def _mse(pred, target):
    return float(np.mean((pred - target) ** 2))


def _mae(pred, target):
    return float(np.mean(np.abs(pred - target)))


def _huber(pred, target, delta):
    r = np.abs(pred - target)
    return float(np.mean(np.where(r <= delta, 0.5 * r ** 2, delta * (r - 0.5 * delta))))


def _env(uri: str) -> dict:
    return {"MLFLOW_TRACKING_URI": uri, "COLUMNS": "200"}


def _run(client: MlflowClient, experiment: str):
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, f"no experiment {experiment!r}"
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 1, runs
    return runs[0]


def _artifact_json(client: MlflowClient, run_id: str, tmp: Path) -> dict:
    names = {a.path for a in client.list_artifacts(run_id, "losscli")}
    assert "losscli/report.json" in names, names
    local = client.download_artifacts(run_id, "losscli/report.json", str(tmp))
    return json.loads(Path(local).read_text())


def check_eval_logged(uri: str, data: dict, tmp: Path, experiment: str,
                      cli_uri: str | None = None) -> None:
    """eval --mlflow: every value a metric (numpy references), the interval bounds, the
    groups' values, the tags, the JSON and the HTML as artifacts. ``cli_uri``: the URI the
    CLI is given (with credentials), when not ``uri``."""
    html = tmp / f"{experiment}.html"
    proc = run_losscli("eval", data["path"], "--loss", "mse", "--loss", "mae", "--loss",
                       "huber:delta=0.5", "--pred-col", "pred", "--ci", "--group-by", "region",
                       "--format", "json", "--html", html, "--mlflow", "--mlflow-experiment",
                       experiment, cwd=tmp, env=_env(cli_uri or uri))
    assert proc.returncode == 0, proc.stderr.decode()
    doc = json.loads(proc.stdout)  # stdout holds the JSON alone (MLflow's prints dropped)
    assert b"hunter2" not in proc.stderr + proc.stdout  # credentials are never shown
    client = MlflowClient(uri)
    run = _run(client, experiment)
    assert run.info.status == "FINISHED"
    assert run.info.run_id in proc.stderr.decode()  # "logged to MLflow run ID (uri)"
    metrics = run.data.metrics
    t, p = data["target"], data["pred"]
    expected = {"mse": _mse(p, t), "mae": _mae(p, t), "huber(delta=0.5)": _huber(p, t, 0.5)}
    by_label = {e["label"]: e for e in doc["losses"]}
    for label, value in expected.items():
        name = metric_name(label)
        assert metrics[name] == pytest.approx(value, rel=1e-9), label
        assert metrics[name] == by_label[label]["value"]
        iv = by_label[label]["interval"]
        assert metrics[f"{name}.ci_low"] == iv["low"] < value < iv["high"] == metrics[f"{name}.ci_high"]
    assert "huber_delta_0.5_" in metrics  # MLflow refuses "(", "=" and ")": made "_"
    for region in REGIONS:
        rows = data["region"] == region
        assert metrics[f"mse.region_{region}"] == pytest.approx(_mse(p[rows], t[rows]), rel=1e-9)
        assert metrics[f"mae.region_{region}"] == pytest.approx(_mae(p[rows], t[rows]), rel=1e-9)
        group = next(g for g in doc["groups"] if g["key"] == {"region": region})
        g_mse = next(e for e in group["losses"] if e["label"] == "mse")
        assert metrics[f"mse.region_{region}.ci_low"] == g_mse["interval"]["low"]
    tags = run.data.tags
    assert tags["losscli.version"] == losscli.__version__
    assert tags["losscli.fingerprint"] == doc["fingerprint"]["targets"]
    assert tags["losscli.fingerprint.rows"] == str(len(t))
    assert tags["losscli.command"] == "eval"
    logged = _artifact_json(client, run.info.run_id, tmp / f"{experiment}-artifacts")
    assert logged == doc
    page = client.download_artifacts(run.info.run_id, "losscli/report.html", str(tmp))
    assert Path(page).read_bytes() == html.read_bytes()


def check_check_logged(uri: str, data: dict, tmp: Path, experiment: str,
                       passing: bool = True) -> None:
    """check --mlflow: the values, plus the verdict read from the gate: passed 0/1 and the
    failing losses and groups as tags, the same as the JSON's verdict (``passing``: a
    passing check too)."""
    t, p = data["target"], data["pred"]
    mae = _mae(p, t)
    proc = run_losscli("check", data["path"], "--pred-col", "pred", "--loss", "mse", "--loss",
                       "mae", "--max", "mse=1000", "--max", f"mae={mae * 0.9!r}",
                       "--group-by", "region", "--format", "json", "--mlflow",
                       "--mlflow-experiment", experiment, cwd=tmp, env=_env(uri))
    assert proc.returncode == 1, proc.stderr.decode()
    doc = json.loads(proc.stdout)
    run = _run(MlflowClient(uri), experiment)
    assert run.data.metrics["passed"] == 0.0
    assert run.data.metrics["mae"] == pytest.approx(mae, rel=1e-9)
    assert run.data.metrics["mse"] == pytest.approx(_mse(p, t), rel=1e-9)
    tags = run.data.tags
    assert tags["losscli.verdict"] == doc["verdict"]["status"] == "failed"
    assert tags["losscli.failed_losses"] == ", ".join(doc["verdict"]["failed_losses"]) == "mae"
    failed_groups = [g["label"] for g in doc["verdict"]["failed_groups"]]
    assert failed_groups  # each region's mae is checked against the same --max
    assert tags["losscli.failed_groups"] == ", ".join(failed_groups)
    assert tags["losscli.fingerprint"] == doc["fingerprint"]["targets"]
    if not passing:
        return
    passed = run_losscli("check", data["path"], "--pred-col", "pred", "--loss", "mse",
                         "--max", "mse=1000", "--mlflow", "--mlflow-experiment",
                         experiment + "-pass", cwd=tmp, env=_env(uri))
    assert passed.returncode == 0, passed.stderr.decode()
    run = _run(MlflowClient(uri), experiment + "-pass")
    assert run.data.metrics["passed"] == 1.0
    assert run.data.tags["losscli.failed_losses"] == ""


@pytest.fixture(scope="module")
def sqlite_uri(tmp_path_factory) -> str:
    """One sqlite store for the module (creating its tables takes seconds); each test logs
    to experiments of its own."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow-sqlite') / 'mlflow.db'}"


def test_eval_logs_every_value_to_a_sqlite_store(data, tmp_path, sqlite_uri):
    check_eval_logged(sqlite_uri, data, tmp_path, "losscli-eval")


def test_check_logs_the_verdict_to_a_sqlite_store(data, tmp_path, sqlite_uri):
    check_check_logged(sqlite_uri, data, tmp_path, "losscli-check")


def test_compare_logs_each_models_values(data, tmp_path, sqlite_uri):
    proc = run_losscli("compare", data["path"], "--pred-col", "pred", "--pred-col", "pred_b",
                       "--loss", "mse", "--group-by", "region", "--format", "json",
                       "--mlflow", "--mlflow-experiment", "cmp", cwd=tmp_path,
                       env=_env(sqlite_uri))
    assert proc.returncode == 0, proc.stderr.decode()
    doc = json.loads(proc.stdout)
    client = MlflowClient(sqlite_uri)
    run = _run(client, "cmp")
    t = data["target"]
    for model in ("pred", "pred_b"):
        assert run.data.metrics[f"mse.model_{model}"] == pytest.approx(_mse(data[model], t),
                                                                       rel=1e-9)
        rows = data["region"] == "west"
        assert run.data.metrics[f"mse.region_west.model_{model}"] == pytest.approx(
            _mse(data[model][rows], t[rows]), rel=1e-9)
    assert run.data.tags["losscli.models"] == "pred, pred_b"
    assert _artifact_json(client, run.info.run_id, tmp_path / "dl") == doc


def test_the_gap_between_groups_is_logged_with_its_interval(data, tmp_path, sqlite_uri):
    proc = run_losscli("eval", data["path"], "--pred-col", "pred", "--loss", "mse",
                       "--group-by", "region", "--group-gap", "difference", "--ci",
                       "--ci-method", "bootstrap", "--format", "json", "--mlflow",
                       "--mlflow-experiment", "gap", cwd=tmp_path, env=_env(sqlite_uri))
    assert proc.returncode == 0, proc.stderr.decode()
    doc = json.loads(proc.stdout)
    metrics = _run(MlflowClient(sqlite_uri), "gap").data.metrics
    per_region = [_mse(data["pred"][data["region"] == r], data["target"][data["region"] == r])
                  for r in REGIONS]
    assert metrics["mse.gap_difference"] == pytest.approx(max(per_region) - min(per_region),
                                                          rel=1e-9)
    interval = doc["losses"][0]["group_gap"]["interval"]
    assert metrics["mse.gap_difference.ci_low"] == interval["low"]
    assert metrics["mse.gap_difference.ci_high"] == interval["high"]


def test_logs_into_an_existing_run_with_per_class_values(tmp_path, sqlite_uri, samples):
    import pyarrow.parquet as pq
    from sklearn.metrics import accuracy_score, f1_score

    client = MlflowClient(sqlite_uri)
    exp = client.create_experiment("mine", artifact_location=(tmp_path / "artifacts").as_uri())
    run = client.create_run(exp)
    path = samples / "multiclass.parquet"
    proc = run_losscli("eval", path, "--pred-col", "p_*", "--loss", "f1", "--loss",
                       "accuracy", "-q", "--mlflow-run-id", run.info.run_id, cwd=tmp_path,
                       env=_env(sqlite_uri))
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stderr == b"" and proc.stdout  # -q: not even the "logged to" line
    table = pq.read_table(path).to_pandas()
    probs = table[[c for c in table.columns if c.startswith("p_")]].to_numpy()
    y, guess = table["label"].to_numpy(), probs.argmax(axis=1)
    metrics = client.get_run(run.info.run_id).data.metrics
    assert metrics["accuracy"] == pytest.approx(accuracy_score(y, guess), rel=1e-12)
    assert metrics["f1"] == pytest.approx(f1_score(y, guess, average="macro"), rel=1e-12)
    for c, value in enumerate(f1_score(y, guess, average=None)):
        assert metrics[f"f1.class_{c}"] == pytest.approx(value, rel=1e-12)  # f1.class=C
    after = client.get_run(run.info.run_id)
    assert after.info.status == "RUNNING"  # the caller's run: left open for the caller
    assert len(client.search_runs([exp])) == 1

    missing = run_losscli("eval", path, "--pred-col", "p_*", "--loss", "f1",
                          "--mlflow-run-id", "0" * 32, cwd=tmp_path, env=_env(sqlite_uri))
    assert missing.returncode == 2
    err = missing.stderr.decode()
    assert err.count("\n") == 1 and "--mlflow-run-id" in err and "Traceback" not in err
    assert missing.stdout == b""


def test_nothing_is_logged_when_the_run_fails_before_its_report(data, tmp_path, sqlite_uri):
    client = MlflowClient(sqlite_uri)

    def runs() -> list:
        return client.search_runs([e.experiment_id for e in client.search_experiments()])

    before = len(runs())
    proc = run_losscli("eval", data["path"], "--pred-col", "no_such_column", "--loss", "mse",
                       "--mlflow", "--mlflow-experiment", "broken", cwd=tmp_path,
                       env=_env(sqlite_uri))
    assert proc.returncode == 2
    assert proc.stderr.decode().count("\n") == 1
    assert client.get_experiment_by_name("broken") is None
    assert len(runs()) == before


def test_reduction_none_is_refused(data, tmp_path, sqlite_uri):
    proc = run_losscli("eval", data["path"], "--pred-col", "pred", "--loss", "mse",
                       "--reduction", "none", "--mlflow", cwd=tmp_path, env=_env(sqlite_uri))
    assert proc.returncode == 2 and b"--reduction none" in proc.stderr and proc.stdout == b""


# --- a real tracking server over HTTP ----------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module", autouse=True)
def server_process(tmp_path_factory):
    """``mlflow server`` on 127.0.0.1 (a free port), sqlite backend, artifacts served by
    the server from a folder here: started when the module starts (it takes seconds, spent
    while the sqlite tests run), stopped when it ends."""
    folder = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    log = open(folder / "server.log", "wb")  # closed in the finally below
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1", "--backend-store-uri", f"sqlite:///{folder / 'server.db'}",
         "--artifacts-destination", str(folder / "artifacts")],
        cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc, f"http://127.0.0.1:{port}", folder / "server.log", time.monotonic()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
            try:
                proc.wait(3)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
        log.close()


@pytest.fixture
def mlflow_server(server_process) -> str:
    """The server's URL once it answers (skipped if it does not within 60 s)."""
    proc, url, log, started = server_process
    while time.monotonic() < started + 60 and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    return url
        except OSError:
            pass
        time.sleep(0.3)
    pytest.skip(f"mlflow server did not start within 60 s: {log.read_text()[-500:]}")


def test_eval_and_check_log_through_an_mlflow_server(mlflow_server, data, tmp_path):
    with_credentials = mlflow_server.replace("://", "://someone:hunter2@")
    check_eval_logged(mlflow_server, data, tmp_path, "http-eval", cli_uri=with_credentials)
    check_check_logged(mlflow_server, data, tmp_path, "http-check", passing=False)


# --- failures: one line, exit 2, before any data is read ---------------------------------

BLOCK_MLFLOW = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "mlflow" or name.startswith("mlflow."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Block())
for name in [m for m in sys.modules if m == "mlflow" or m.startswith("mlflow.")]:
    del sys.modules[name]
sys.argv = ["losscli", *sys.argv[1:]]
from losscli.__main__ import entry
entry()
"""


def test_without_mlflow_one_line_names_the_extra_before_reading(tmp_path):
    bad = tmp_path / "broken.csv"
    bad.write_text("this,is\nnot,a model's predictions\n")  # reading it would fail
    for command in ("eval", "check", "compare"):
        proc = subprocess.run([sys.executable, "-c", BLOCK_MLFLOW, command, str(bad), "--loss",
                               "mse", "--mlflow"], capture_output=True, cwd=ROOT, timeout=60)
        err = proc.stderr.decode()
        assert proc.returncode == 2, err
        assert err.count("\n") == 1, err
        assert "pip install 'losscli[mlflow]'" in err and "Traceback" not in err
        assert proc.stdout == b""


def test_an_unreachable_server_is_one_line_without_credentials(data, tmp_path):
    port = _free_port()  # nothing listens there
    started = time.monotonic()
    proc = run_losscli("eval", data["path"], "--pred-col", "pred", "--loss", "mse", "--mlflow",
                       cwd=tmp_path,
                       env=_env(f"http://someone:s3cr3t-token@127.0.0.1:{port}"))
    elapsed = time.monotonic() - started
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert err.count("\n") == 1 and "unreachable" in err and "Traceback" not in err, err
    assert "s3cr3t" not in err and "someone" not in err
    assert f"127.0.0.1:{port}" in err
    assert proc.stdout == b""  # checked before the data: no report went out
    assert elapsed < 30


def test_eval_without_mlflow_imports_no_mlflow(data):
    code = ("import atexit, sys\n"
            "atexit.register(lambda: sys.__stderr__.write("
            "'MLFLOW-LOADED ' + str(any(m.split('.')[0] == 'mlflow' for m in sys.modules))))\n"
            f"sys.argv = ['losscli', 'eval', {str(data['path'])!r}, '--pred-col', 'pred', "
            "'--loss', 'mse', '--format', 'json']\n"
            "from losscli.__main__ import entry\nentry()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"MLFLOW-LOADED False" in proc.stderr


@pytest.mark.parametrize(("label", "name"), [
    ("mse", "mse"), ("mse.region=east", "mse.region_east"),
    ("huber(delta=0.5)", "huber_delta_0.5_"), ("mse.city=São Paulo", "mse.city_São Paulo"),
    ("mse.path=a/b", "mse.path_a_b"), ("x" * 300, "x" * 250)])
def test_metric_names_are_made_acceptable_in_one_place(label, name):
    from mlflow.utils.validation import _validate_metric_name

    assert metric_name(label) == name
    _validate_metric_name(name)  # MLflow's own rule accepts it
