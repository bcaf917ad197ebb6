"""``--mlflow``, ``--mlflow-experiment`` and ``--mlflow-run-id`` on ``eval``, ``check`` and
``compare``: the options (:class:`MlflowOutput`) and the after-the-run call
(:func:`writer`). The logging itself — names, values, tags, artifacts, MLflow's client —
is :mod:`losscli.tracking_log`, imported only when ``--mlflow`` is given (as is mlflow)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from losscli.errors import UsageError

if TYPE_CHECKING:
    from losscli.gate.verdict import Outcome
    from losscli.tracking_log import Connection


class MlflowOutput:
    """``--mlflow``, ``--mlflow-experiment`` and ``--mlflow-run-id`` (either of the two
    implies ``--mlflow``); the experiment and the run also come from MLflow's own
    ``MLFLOW_EXPERIMENT_NAME``/``MLFLOW_EXPERIMENT_ID`` and ``MLFLOW_RUN_ID``, the store from
    ``MLFLOW_TRACKING_URI``. :meth:`prepare` before the run, :meth:`log` after it. (A plain
    class: every run builds it, and a dataclass costs a third of a millisecond to define.)"""

    def __init__(self, wanted: bool = False, experiment: str | None = None,
                 run_id: str | None = None) -> None:
        self.wanted, self.experiment, self.run_id = wanted, experiment, run_id
        self.connection: Connection | None = None

    def __repr__(self) -> str:
        return (f"MlflowOutput(wanted={self.wanted!r}, experiment={self.experiment!r}, "
                f"run_id={self.run_id!r})")

    @classmethod
    def pop(cls, options: dict[str, Any]) -> MlflowOutput:
        """Take the three options out of a command's ``options``."""
        wanted = bool(options.pop("mlflow", False))
        experiment = options.pop("mlflow_experiment", None)
        run_id = options.pop("mlflow_run_id", None)
        wanted = wanted or experiment is not None or run_id is not None
        if not wanted:
            return cls()
        return cls(True, experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or None,
                   run_id or os.environ.get("MLFLOW_RUN_ID") or None)

    def prepare(self, reduction: str = "mean") -> None:
        """Before any data is read: load MLflow's client, reach the store, find the run
        (``--mlflow-run-id``) or the experiment (:meth:`losscli.tracking_log.Connection.
        open`). A failure is one line (exit 2)."""
        if not self.wanted:
            return
        if reduction == "none":
            raise UsageError("--mlflow logs the reduced values: drop --reduction none.")
        from losscli.tracking_log import Connection

        self.connection = Connection.open(self.experiment, self.run_id)

    def log(self, command: str, doc: Mapping[str, Any], *, outcome: Outcome | None = None,
            html: str | None = None) -> str:
        """Log ``doc`` (the command's JSON document) to the run
        (:meth:`losscli.tracking_log.Connection.log`); returns the run's id."""
        assert self.connection is not None, "prepare() first"
        return self.connection.log(command, doc, outcome=outcome, html=html)

    def where(self, run_id: str) -> str:
        """The run's page on a tracking server (``http(s)://``), else the store's URI."""
        assert self.connection is not None, "prepare() first"
        return self.connection.where(run_id)


def writer(output: MlflowOutput | None, command: str, document: Callable[[], Any], *,
           outcome: Outcome | None = None, html: str | None = None, quiet: bool = False
           ) -> Callable[[], None] | None:
    """What the CLI's after-the-run block calls last (None without ``--mlflow``): log
    ``document()`` and say where, on stderr, unless ``quiet``."""
    if output is None or not output.wanted:
        return None

    def write() -> None:
        from losscli.present.text import stderr_line

        run_id = output.log(command, document(), outcome=outcome, html=html)
        if not quiet:
            stderr_line(f"logged to MLflow run {run_id} ({output.where(run_id)})")

    return write


__all__ = ["MlflowOutput", "writer"]
