"""Experiment-tracker logging: ``--mlflow`` on ``eval``, ``check`` and ``compare``.

After the run, every value of the command's JSON document goes to an MLflow run as a
metric, the document itself (and the ``--html`` page) as artifacts, the inputs'
fingerprint and losscli's version as tags — through MLflow's own client
(:class:`mlflow.tracking.MlflowClient`, from ``pip install 'losscli[mlflow]'``).

* **Names.** A loss's value is ``LABEL`` (``mse``, ``huber(delta=0.5)``), its interval
  ``LABEL.ci_low``/``LABEL.ci_high``, a group's value ``LABEL.KEY`` (``mse.region=east``),
  a breakdown's ``LABEL.class=C`` (``f1``'s per class), the gap between groups
  (``--group-gap``) ``LABEL.gap_difference``/``LABEL.gap_ratio``, a model's value in ``compare``
  ``LABEL.model=NAME``. MLflow refuses most punctuation in
  a metric or tag name, so every name passes through :func:`metric_name`, the one place
  where it is made acceptable: each character other than a letter, digit, ``_``, ``-``,
  ``.`` or space becomes ``_`` (``mse.region=east`` is logged as ``mse.region_east``,
  ``huber(delta=0.5)`` as ``huber_delta_0.5_``); two labels that end up alike get ``_2``,
  ``_3``...; a name is cut at MLflow's 250 characters. The JSON artifact keeps the labels.
* **The verdict.** ``check`` also logs ``passed`` (1 or 0) and the failing losses and
  groups as tags, read from the gate's one verdict (:class:`~losscli.gate.verdict.Outcome`).
* **Before any data is read** (:meth:`Connection.open`): MLflow must be importable,
  the tracking store reachable (MLflow's HTTP retries off and a short timeout, unless the
  environment sets them) and ``--mlflow-run-id`` a live run; else one line, exit 2. The run
  is created only when the report exists: a run that fails first logs nothing.
* **Credentials** in the tracking URI (``https://user:token@host``) never appear in a
  message: :func:`redact` hides them.

This module is imported by :meth:`losscli.tracking.MlflowOutput.prepare` (and mlflow by
:meth:`Connection.open`): a command without ``--mlflow`` loads neither.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from losscli.errors import OutputError, UsageError

if TYPE_CHECKING:
    from losscli.gate.verdict import Outcome

#: What to install when MLflow's client is missing.
INSTALL = "pip install 'losscli[mlflow]'"
#: MLflow's HTTP settings for losscli's calls, unless the environment sets them: an
#: unreachable server is one line within seconds, not minutes of retries.
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}
#: MLflow's longest metric or tag name, and longest tag value we send.
MAX_NAME = 250
MAX_TAG_VALUE = 5000
#: MLflow takes at most this many metrics, and tags, in one batch.
BATCH_METRICS, BATCH_TAGS = 1000, 100
#: Where the artifacts go inside the run.
ARTIFACT_DIR = "losscli"

# MLflow's rule for a metric/tag name (mlflow.utils.validation): letters, digits, "_", "-",
# ".", " " and "/"; losscli does not send "/" (it would make a name a path).
_REFUSED = re.compile(r"[^\w.\- ]")
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def metric_name(text: str) -> str:
    """``text`` as a metric or tag name MLflow accepts: every character it refuses
    becomes ``_``, cut at :data:`MAX_NAME`. The one place where names are sanitized."""
    return _REFUSED.sub("_", text)[:MAX_NAME]


def redact(text: str) -> str:
    """``text`` with the credentials of every URI in it hidden (``https://***@host``)."""
    return _USERINFO.sub("***@", text)


def _key_text(key: Mapping[str, Any]) -> str:
    from losscli.grouping import key_text

    return key_text(list(key), tuple(key.values()))


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _value(entry: Mapping[str, Any], name: str) -> list[tuple[str, float]]:
    """A report entry's value, its interval's bounds and its breakdown per class, label or
    column (``f1.class=0``: the ``per_class`` of its details); None: nothing to log."""
    out = [] if entry.get("value") is None else [(name, float(entry["value"]))]
    interval = entry.get("interval") or {}
    for end in ("low", "high"):
        if interval.get(end) is not None:
            out.append((f"{name}.ci_{end}", float(interval[end])))
    for key, breakdown in (entry.get("details") or {}).items():
        if key.startswith("per_") and isinstance(breakdown, Mapping):
            out += [(f"{name}.{key[4:]}={part}", float(v))
                    for part, v in breakdown.items() if _number(v)]
    gap = entry.get("group_gap") or {}
    if _number(gap.get("value")):  # --group-gap: mse.gap_difference (and its interval)
        where = f"{name}.gap_{gap['method']}"
        out.append((where, float(gap["value"])))
        for end in ("low", "high"):
            bound = (gap.get("interval") or {}).get(end)
            if isinstance(bound, int | float) and not isinstance(bound, bool):
                out.append((f"{where}.ci_{end}", float(bound)))
    return out


def report_values(doc: Mapping[str, Any]) -> list[tuple[str, float]]:
    """(label, value) of every value of a report's document (``eval``, and ``check``'s,
    which holds the report's fields): each loss, its interval and breakdown, each
    group's."""
    out: list[tuple[str, float]] = []
    for entry in doc.get("losses", ()):
        out += _value(entry, entry["label"])
    for group in doc.get("groups") or ():
        where = _key_text(group["key"])
        for entry in group.get("losses", ()):
            out += _value(entry, f"{entry['label']}.{where}")
    return out


def comparison_values(doc: Mapping[str, Any]) -> list[tuple[str, float]]:
    """(label, value) of every model's value in a comparison's document, overall and per
    group: ``mse.model=a``, ``mse.region=east.model=a``."""
    out: list[tuple[str, float]] = []
    scopes = [("", doc.get("losses", ())),
              *((f".{_key_text(g['key'])}", g.get("losses", ())) for g in doc.get("groups") or ())]
    for where, rows in scopes:
        for row in rows:
            for model, value in row.get("values", {}).items():
                if value is not None:
                    out.append((f"{row['label']}{where}.model={model}", float(value)))
    return out


def unique_names(values: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Name -> value with every name made acceptable (:func:`metric_name`); two names
    that end up alike are told apart by ``_2``, ``_3``... (in order)."""
    out: dict[str, Any] = {}
    for text, value in values:
        name = base = metric_name(text)
        n = 1
        while name in out:
            n += 1
            suffix = f"_{n}"
            name = base[:MAX_NAME - len(suffix)] + suffix
        out[name] = value
    return out


def document_tags(command: str, doc: Mapping[str, Any]) -> dict[str, str]:
    """The tags of every run: losscli's version, the command and the inputs' fingerprint
    (when the document has one; ``compare`` computes none)."""
    from losscli import __version__

    tags = {"losscli.version": str(doc.get("losscli_version") or __version__),
            "losscli.command": command}
    fingerprint = doc.get("fingerprint")
    if fingerprint:
        tags["losscli.fingerprint"] = str(fingerprint["targets"])
        tags["losscli.fingerprint.rows"] = str(fingerprint["rows"])
        tags["losscli.fingerprint.method"] = str(fingerprint["method"])
    if command == "compare":
        tags["losscli.models"] = ", ".join(m["name"] for m in doc.get("models", ()))
        tags["losscli.reference"] = str(doc.get("reference"))
    return tags


def verdict_tags(outcome: Outcome) -> dict[str, str]:
    """The gate's verdict as tags, read from its one :class:`Outcome`."""
    return {"losscli.verdict": outcome.status,
            "losscli.failed_losses": ", ".join(outcome.failed_losses),
            "losscli.failed_groups": ", ".join(g.label for g in outcome.failed_groups)}


def _one_line(exc: BaseException) -> str:
    """An exception of MLflow or the network as a short line, credentials hidden."""
    text = " ".join(str(exc).split())
    errno = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    if errno:
        return errno.group(1).strip()
    if "timed out" in text.lower() or "timeout" in type(exc).__name__.lower():
        return f"no answer within {os.environ.get('MLFLOW_HTTP_REQUEST_TIMEOUT')} s"
    text = re.sub(r"^[A-Z_]+: ", "", text)  # MLflow's error code
    return redact(text if len(text) <= 300 else text[:297] + "...")


@dataclass
class Connection:
    """An MLflow client connected to its tracking store, and where runs go: the
    experiment (None: ``--mlflow-experiment NAME`` is new, created with the first run) and
    the run (``--mlflow-run-id``; None: a new run is created when the report exists)."""

    client: Any
    uri: str
    experiment: str | None
    experiment_id: str | None
    run_id: str | None

    @classmethod
    def open(cls, experiment: str | None, run_id: str | None) -> Connection:
        """Before any data is read: load MLflow's client, reach the store, find the run
        (``run_id``) or the ``experiment``. A failure is one line (exit 2)."""
        for name, value in HTTP_DEFAULTS.items():
            os.environ.setdefault(name, value)
        try:
            from mlflow.tracking import MlflowClient
        except ImportError as exc:
            missing = isinstance(exc, ModuleNotFoundError) and (exc.name or "").startswith("mlflow")
            why = "" if missing else f" (importing it failed: {_one_line(exc)})"
            raise UsageError(f"--mlflow needs MLflow's client, which is not installed{why}: "
                             f"{INSTALL}, or drop --mlflow.") from None
        _quiet_loggers()
        try:
            client = MlflowClient()
            out = cls(client, redact(str(client.tracking_uri)), experiment, None, run_id)
        except Exception as exc:
            raise UsageError(f"--mlflow: MLflow refuses the tracking URI: {_one_line(exc)}; "
                             "check MLFLOW_TRACKING_URI.") from None
        if out.run_id is not None:
            run = out._call(out.client.get_run, out.run_id, what=out._run_missing)
            if run.info.lifecycle_stage != "active":
                raise UsageError(out._run_missing())
            out.experiment_id = run.info.experiment_id
        elif out.experiment is not None:
            found = out._call(out.client.get_experiment_by_name, out.experiment)
            if found is not None and found.lifecycle_stage != "active":
                raise UsageError(f"--mlflow-experiment {out.experiment!r} is deleted in "
                                 f"{out.uri}; restore it or name another experiment.")
            out.experiment_id = None if found is None else found.experiment_id
        else:
            out.experiment_id = os.environ.get("MLFLOW_EXPERIMENT_ID") or "0"
            out._call(out.client.get_experiment, out.experiment_id,
                      what=lambda: f"MLflow experiment {out.experiment_id} (MLFLOW_EXPERIMENT_ID) "
                      f"does not exist in {out.uri}; set it or give --mlflow-experiment NAME.")
        return out

    def where(self, run_id: str) -> str:
        """The run's page on a tracking server (``http(s)://``), else the store's URI."""
        if self.uri.startswith(("http://", "https://")):
            return f"{self.uri.rstrip('/')}/#/experiments/{self.experiment_id}/runs/{run_id}"
        return self.uri

    def _run_missing(self) -> str:
        return (f"--mlflow-run-id {self.run_id}: no such active run in {self.uri}; give the "
                "id of a run of this tracking store, or drop it to start a new run.")

    def _call(self, fn: Any, *args: Any, what: Any = None, **kwargs: Any) -> Any:
        """Call the client; a refusal or an unreachable store becomes one line (exit 2).
        What MLflow prints on stdout (``View run ... at``) is dropped: stdout carries the
        command's own output (JSON, CSV...), and losscli says where the run is itself."""
        import contextlib
        import io

        try:
            with contextlib.redirect_stdout(io.StringIO()):
                return fn(*args, **kwargs)
        except Exception as exc:
            code = getattr(exc, "error_code", "")
            if what is not None and code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                raise UsageError(what()) from None
            if code and code not in ("INTERNAL_ERROR", "TEMPORARILY_UNAVAILABLE"):
                raise OutputError(f"MLflow at {self.uri} refused the request: "
                                  f"{_one_line(exc)}.") from None
            raise OutputError(f"MLflow tracking store {self.uri} is unreachable: "
                              f"{_one_line(exc)}; check MLFLOW_TRACKING_URI (is the server "
                              "up?), or drop --mlflow.") from None

    def log(self, command: str, doc: Mapping[str, Any], *, outcome: Outcome | None = None,
            html: str | None = None) -> str:
        """Log ``doc`` (the command's JSON document) to the run: every value as a metric,
        the document and the ``html`` page as artifacts, the tags; ``outcome``: the gate's
        verdict (``check``). Returns the run's id."""
        import json
        import shutil
        import tempfile
        import time

        from mlflow.entities import Metric, RunTag

        values = comparison_values(doc) if command == "compare" else report_values(doc)
        if outcome is not None:
            values.append(("passed", 1.0 if outcome.passed else 0.0))
        metrics = unique_names(values)
        tags = {**document_tags(command, doc),
                **(verdict_tags(outcome) if outcome is not None else {})}
        created = self.run_id is None
        if created:
            if self.experiment_id is None:  # --mlflow-experiment NAME, new: created now
                assert self.experiment is not None
                self.experiment_id = self._call(self.client.create_experiment, self.experiment)
            run = self._call(self.client.create_run, self.experiment_id,
                             tags={"mlflow.source.name": f"losscli {command}"})
            self.run_id = run.info.run_id
        run_id = self.run_id
        assert run_id is not None
        now = int(time.time() * 1000)
        try:
            items = list(metrics.items())
            for at in range(0, len(items), BATCH_METRICS):
                self._call(self.client.log_batch, run_id, metrics=[
                    Metric(k, v, now, 0) for k, v in items[at:at + BATCH_METRICS]])
            tag_items = [(metric_name(k), v if len(v) <= MAX_TAG_VALUE
                          else v[:MAX_TAG_VALUE - 1] + "…") for k, v in tags.items()]
            for at in range(0, len(tag_items), BATCH_TAGS):
                self._call(self.client.log_batch, run_id,
                           tags=[RunTag(k, v) for k, v in tag_items[at:at + BATCH_TAGS]])
            with tempfile.TemporaryDirectory(prefix="losscli-mlflow-") as folder:
                with open(os.path.join(folder, "report.json"), "w", encoding="utf-8") as f:
                    json.dump(doc, f, indent=2, allow_nan=False)
                if html is not None and os.path.isfile(html):
                    shutil.copyfile(html, os.path.join(folder, "report.html"))
                self._call(self.client.log_artifacts, run_id, folder, ARTIFACT_DIR)
        except BaseException:
            if created:  # best effort: the run we started is not left "running"
                try:
                    self.client.set_terminated(run_id, "FAILED")
                except Exception:
                    pass
            raise
        if created:
            self._call(self.client.set_terminated, run_id, "FINISHED")
        return run_id


def _quiet_loggers() -> None:
    """MLflow's and its database migrations' INFO lines stay off stderr (warnings and
    errors still show)."""
    import logging

    for name in ("mlflow", "alembic", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.WARNING)


__all__ = ["HTTP_DEFAULTS", "INSTALL", "Connection", "comparison_values", "document_tags",
           "metric_name", "redact", "report_values", "unique_names", "verdict_tags"]
