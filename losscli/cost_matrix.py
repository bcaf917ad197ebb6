"""The cost matrix of ``expected_cost`` (``--cost-matrix``, ``cost_matrix=``): read once, checked
before any data is read, and kept as one canonical text.

The layout is scikit-learn's ``confusion_matrix``: **rows are the true class, columns the
predicted class**, both in the class order of the run (binary: negative, positive — label
0 or -1 first, 1 second, or ``--classes NEGATIVE,POSITIVE``; multi-class: the class index,
i.e. the order of the prediction columns). C[i][j] is the cost of predicting j for a row
of class i, so a binary matrix is ``C_tn,C_fp;C_fn,C_tp``.

Given inline (rows separated by ``;``, entries by ``,`` or spaces: ``"0,1;5,0"``,
``"0 1; 5 0"``), as a nested list or array in the API, or as the path of a small CSV
(one row per line) or JSON file (a list of rows). A path goes through the one path
resolver (:func:`losscli.io.paths.resolve_local`: an existing path is taken literally).
The canonical text (:func:`canonical`: ``"0 1;5 0"``, entries as the loss labels show
numbers) is what the loss key, saved states and baselines hold, so a matrix given inline
or from a file names the same loss instance. Standard library only.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

from losscli.errors import UsageError
from losscli.io.paths import FILE, FOLDER, resolve_local

#: The option as the user types it (messages name it).
FLAG = "--cost-matrix"
#: A file larger than this is not a cost matrix.
MAX_FILE_BYTES = 1 << 20
#: The most classes a cost matrix may have.
MAX_CLASSES = 1 << 10


def _number(text: str) -> str:
    value = float(text)
    return repr(value) if value != int(value) or abs(value) >= 1e16 else f"{value:g}"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _rows_of_text(text: str) -> list[list[Any]]:
    rows = [r for r in (line.strip() for line in text.replace("\n", ";").split(";")) if r]
    return [[e for e in row.replace(",", " ").split()] for row in rows]


def _read_file(path: str, where: str) -> list[list[Any]]:
    try:
        if os.path.isdir(path):
            raise UsageError(f"{where}: '{path}' is a folder; give a CSV or JSON file of the "
                             "matrix, or the matrix inline, e.g. '0,1;5,0'.")
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"{where}: cannot read '{path}': {exc.strerror or exc}.") from None
    if len(data) > MAX_FILE_BYTES:
        raise UsageError(f"{where}: '{path}' is larger than {MAX_FILE_BYTES >> 20} MiB: not a "
                         "cost matrix.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{where}: '{path}' is not UTF-8 text; give a CSV or JSON file of "
                         "the matrix.") from None
    if path.lower().endswith(".json") or text.lstrip().startswith("["):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{where}: '{path}' is not valid JSON ({exc.msg} at line "
                             f"{exc.lineno}); write the matrix as a list of rows, e.g. "
                             "[[0, 1], [5, 0]].") from None
        if not isinstance(doc, list) or not all(isinstance(r, list) for r in doc):
            raise UsageError(f"{where}: '{path}' must hold a list of rows, e.g. [[0, 1], [5, 0]].")
        return doc
    return _rows_of_text(text)


def parse(value: Any, where: str = FLAG) -> str:
    """The canonical text of a cost matrix given as text (inline or a file's path) or as
    nested rows; a :class:`UsageError` naming ``where`` and the bad entry when it is not a
    square matrix of finite numbers."""
    if isinstance(value, str):
        text = value.strip()
        found = resolve_local(text) if text else None
        if found is not None and found.kind in (FILE, FOLDER):  # an existing path: literal
            return canonical(_read_file(found.path, where), where)
        rows = _rows_of_text(text)
        if not any(c in text for c in ";, ") and text and not _is_number(text):
            raise UsageError(f"{where}: no file '{value}', and it is not a matrix; give the "
                             "matrix inline (rows by ';', entries by ','), e.g. '0,1;5,0', or "
                             "the path of a CSV or JSON file.")
    else:
        try:
            rows = [list(r) for r in value]
        except TypeError:
            raise UsageError(f"{where} must be a square matrix (a list of rows, or text such as "
                             f"'0,1;5,0'), got {value!r:.80}.") from None
    return canonical(rows, where)


def canonical(rows: list[list[Any]], where: str = FLAG) -> str:
    """``rows`` checked (square, 2 to :data:`MAX_CLASSES` classes, finite numbers) as the
    canonical text ``"a b;c d"``."""
    n = len(rows)
    if n < 2 or n > MAX_CLASSES:
        raise UsageError(f"{where}: a cost matrix has one row per class (2 or more), got "
                         f"{n} row(s); e.g. '0,1;5,0' for two classes.")
    out = []
    for i, row in enumerate(rows):
        if len(row) != n:
            raise UsageError(f"{where}: row {i + 1} has {len(row)} entries, but the matrix "
                             f"has {n} rows; it must be square (rows: true class, columns: "
                             "predicted class).")
        texts = []
        for j, entry in enumerate(row):
            try:
                if isinstance(entry, bool):
                    raise ValueError
                number = float(entry)
            except (TypeError, ValueError):
                raise UsageError(f"{where}: entry [{i + 1},{j + 1}] is {entry!r}, not a "
                                 "number.") from None
            if not math.isfinite(number):
                raise UsageError(f"{where}: entry [{i + 1},{j + 1}] is {entry!r}; costs must "
                                 "be finite numbers.")
            texts.append(_number(repr(number)))
        out.append(" ".join(texts))
    return ";".join(out)


def matrix(text: str) -> list[list[float]]:
    """The rows of a canonical text (:func:`canonical`)."""
    return [[float(e) for e in row.split()] for row in text.split(";")]


def check_size(text: str, classes: int, where: str) -> list[list[float]]:
    """The matrix of ``text``, which must have one row per class of the run."""
    rows = matrix(text)
    if len(rows) != classes:
        raise UsageError(f"{where}: the cost matrix is {len(rows)}×{len(rows)}, but the data "
                         f"has {classes} classes; give a {classes}×{classes} matrix (rows: "
                         "true class, columns: predicted class, in the class order).")
    return rows


__all__ = ["FLAG", "canonical", "check_size", "matrix", "parse"]
