"""losscli: how wrong is this model, by which measure — and is the difference real?

The API mirrors the CLI: one function per command, the command's options as keywords.

    >>> import losscli
    >>> report = losscli.evaluate("sample_data/regression.parquet", losses=["mse", "huber"])
    >>> report["huber"], report.to_dict(), report.to_dataframe()
    >>> result = losscli.check(y_true=y, y_pred=p, losses=["mse"], max={"mse": 2.0})
    >>> bool(result)                       # passed?
    >>> losscli.compare({"ridge": "a.parquet", "hgb": "b.parquet"}, "truth.csv", id_col="id")
    >>> losscli.merge("part-0.state", "part-1.state")
    >>> losscli.inspect("preds.parquet")
    >>> losscli.history("metrics/report.json", n=10)   # the losses at each commit

Names are imported lazily so that ``losscli --help`` (and TAB completion) stays fast.
"""

from __future__ import annotations

from losscli._version import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: the command starts with this module
    from typing import Any

__all__ = ["LOSSES", "CheckResult", "Comparison", "Report", "__version__", "check", "compare",
           "evaluate", "history", "inspect", "merge"]

_FROM = {
    "evaluate": "losscli.api", "check": "losscli.api", "compare": "losscli.api",
    "merge": "losscli.api", "inspect": "losscli.api", "history": "losscli.api", "Report": "losscli.report",
    "CheckResult": "losscli.gate", "Comparison": "losscli.comparison",
}


def __getattr__(name: str) -> Any:
    if name in _FROM:
        import importlib

        return getattr(importlib.import_module(_FROM[name]), name)
    if name == "LOSSES":
        from losscli.registry import all_losses

        return all_losses()
    raise AttributeError(f"module 'losscli' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
