"""The result of an evaluation as plain data: a Report turns into a dict, JSON or DataFrame."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from losscli.registry import LossInstance, LossKey

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class LossResult:
    """One loss instance's value. ``value`` is None under ``--reduction none``."""

    name: str
    params: dict[str, Any]
    value: float | None
    higher_is_better: bool
    key: LossKey

    @classmethod
    def of(cls, inst: LossInstance, value: float | None) -> LossResult:
        return cls(inst.name, dict(inst.params), value, inst.spec.higher_is_better, inst.key)

    @property
    def label(self) -> str:
        return self.key.label

    @property
    def column(self) -> str:
        return self.key.column

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "params": dict(self.params),
            "value": json_float(self.value),
            "higher_is_better": self.higher_is_better,
            "label": self.label,
        }


#: How the data fingerprint is computed: a reader meeting another method cannot compare
#: fingerprints (it treats the data as unknown, never as changed).
FINGERPRINT_METHOD = "sum64-splitmix64"


@dataclass(frozen=True)
class DataFingerprint:
    """Which data a report was computed on: ``targets`` is the sum mod 2^64 of a 64-bit
    hash of each row's target value(s) and weight, as 16 hex digits (the same for any row
    order or chunking); ``rows`` how many rows were read."""

    targets: str
    rows: int
    method: str = FINGERPRINT_METHOD

    def to_dict(self) -> dict[str, Any]:
        return {"targets": self.targets, "rows": self.rows, "method": self.method}


@dataclass
class Report:
    """What ``losscli eval`` prints and ``losscli.evaluate`` returns."""

    inputs: dict[str, Any]
    rows: int
    rows_skipped: int
    reduction: str
    losses: list[LossResult]
    elapsed_seconds: float = 0.0
    output: str | None = None  # where per-row losses went under reduction "none"
    per_row: dict[str, Any] | None = field(default=None, repr=False)  # API, reduction "none"
    fingerprint: DataFingerprint | None = None  # None: not computed, or no targets

    def __getitem__(self, key: str) -> float | None:
        """Value by label (``huber(delta=0.5)``), ``--loss`` form, column name or, when
        unambiguous, by name or alias — the same matching as everywhere a loss is named."""
        return self.result(key).value

    def result(self, name: str) -> LossResult:
        from losscli.errors import UsageError
        from losscli.registry import find_instance

        try:
            return find_instance(name, self.losses, "report[...]")  # type: ignore[arg-type, return-value]
        except UsageError as exc:
            raise KeyError(str(exc)) from None

    def to_dict(self) -> dict[str, Any]:
        from losscli import __version__

        return {
            "schema_version": SCHEMA_VERSION,
            "losscli_version": __version__,
            "inputs": self.inputs,
            "rows": self.rows,
            "rows_skipped": self.rows_skipped,
            "reduction": self.reduction,
            "losses": [res.to_dict() for res in self.losses],
            "elapsed_seconds": round(self.elapsed_seconds, 6),
            **({"output": self.output} if self.output else {}),
            **({"fingerprint": self.fingerprint.to_dict()} if self.fingerprint else {}),
        }

    def to_json(self, indent: int | None = 2) -> str:
        import json

        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def to_dataframe(self) -> Any:
        """One row per loss instance: name, label, params, value, higher_is_better."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "name": r.name,
                    "label": r.label,
                    "column": r.column,
                    "params": r.params,
                    "value": r.value,
                    "higher_is_better": r.higher_is_better,
                }
                for r in self.losses
            ]
        )


def json_float(value: float | None) -> float | None:
    """JSON has no NaN or infinity: those (possible under --nan-policy propagate) become null."""
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    return float(value)
