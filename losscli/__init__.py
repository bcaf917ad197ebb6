"""losscli: how wrong is this model, by which measure.

    >>> import losscli
    >>> report = losscli.evaluate("sample_data/regression.parquet", losses=["mse", "huber"])
    >>> report["huber"], report.to_dict(), report.to_dataframe()

Names are imported lazily so that ``losscli --help`` (and TAB completion) stays fast.
"""

from __future__ import annotations

from losscli._version import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: the command starts with this module
    from typing import Any

__all__ = ["LOSSES", "Report", "__version__", "evaluate"]


def __getattr__(name: str) -> Any:
    if name == "evaluate":
        from losscli.api import evaluate

        return evaluate
    if name == "Report":
        from losscli.report import Report

        return Report
    if name == "LOSSES":
        from losscli.registry import all_losses

        return all_losses()
    raise AttributeError(f"module 'losscli' has no attribute {name!r}")
