"""The importable API: ``evaluate`` takes paths, numpy arrays or pandas objects.

A thin layer: the keyword options are validated into a :class:`~losscli.spec.RunSpec`
before any file is opened, and the run goes through a :class:`~losscli.session.Session`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from losscli.report import Report
from losscli.session import Session
from losscli.spec import build_spec


def evaluate(
    predictions: Any,
    targets: Any = None,
    *,
    on_batch: Callable[[int], None] | None = None,
    **options: Any,
) -> Report:
    """Evaluate losses over predictions and targets, streaming in chunks.

    ``predictions``/``targets``/``weights``: a file path (CSV, TSV, Parquet, NPY, Feather,
    NDJSON), ``"-"`` for standard input, a numpy array (2-D for one value per class), or a
    pandas DataFrame/Series.

    Options (each also a CLI flag; see ``losscli eval --help``):

    * ``losses``: names with optional inline parameters (``"huber:delta=0.5"``); without
      them a default set for the task (see :mod:`losscli.tasks`). ``params`` sets a
      parameter for every loss that takes it (like the CLI's ``--delta``).
    * ``weights``, ``pred_col``, ``target_col``, ``weight_col``: sample weights and columns
      (a name, a glob such as ``"p_*"``, or a list).
    * ``reduction``: ``"mean"`` (Σw·ℓ/Σw), ``"sum"`` or ``"none"``; with ``"none"``
      per-row losses go to ``output`` (a .csv/.parquet/.npy/.ndjson path) or, without one,
      into ``report.per_row``.
    * ``nan_policy`` (``"raise"``, ``"omit"``, ``"propagate"``), ``chunk_size`` (rows per
      chunk), ``format_in`` (when the extension does not say), ``encoding`` (of CSV, TSV
      and NDJSON text; default UTF-8), ``max_line_bytes`` (their longest line: an int or
      ``"64M"``; default 16 MiB).
    * ``task``, ``from_logits``, ``threshold``: how the values are read (zero_one's
      decision threshold on one-column scores).
    * ``classes`` (``["setosa", "versicolor"]`` or ``"setosa,versicolor"``) and
      ``pos_label``: targets that are labels — strings or booleans — and which class each
      prediction column scores, or which label is positive (see :mod:`losscli.labels`).
    * ``var``/``var_col`` feed gaussian_nll; for triplet, ``predictions`` holds the anchors
      and ``positive``/``negative`` (or ``anchor_col``/``positive_col``/``negative_col``)
      the others.

    ``on_batch(rows_done)`` is called after every chunk (a progress bar). An unknown or
    ill-typed option is a :class:`losscli.errors.UsageError` before any file is opened; bad
    data raise :class:`losscli.errors.InputError`.
    """
    started = time.perf_counter()
    spec = build_spec(predictions, targets, where="evaluate()", **options)
    return Session(spec).evaluate(on_batch=on_batch, started=started)
