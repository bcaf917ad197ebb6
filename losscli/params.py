"""One hyper-parameter of a loss (:class:`Param`): its default, range and choices, and the
one conversion of a value given on the command line, inline (``huber:delta=0.5``), in the
API or in a saved baseline. Declared in each loss's registry entry; its ``--flag`` is built
from it (:mod:`losscli.cli.options`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from losscli.errors import UsageError, did_you_mean

ParamValue = float | int | bool | str | None

@dataclass(frozen=True)
class Param:
    """One hyper-parameter of a loss, with its default and valid range.

    ``default`` None means "auto": the value follows from the evaluation (zero_one's
    threshold is 0.5 on probabilities and 0 on logits; f1's average is ``binary`` for binary
    data and ``macro`` otherwise) — ``tasks.bind_options`` resolves it, and a loss key
    leaves it out, so a baseline written without it keeps matching. ``type`` str takes one
    of ``choices``.
    """

    name: str
    default: ParamValue
    doc: str
    type: type = float
    minimum: float | None = None  # inclusive
    exclusive_minimum: float | None = None
    maximum: float | None = None  # inclusive
    allow_negative_sentinel: bool = False  # e.g. focal alpha < 0 means "no weighting"
    tasks: tuple[str, ...] = ()  # tasks where it applies (empty: all); dropped elsewhere
    choices: tuple[str, ...] = ()  # for type str
    # an open interval the value may not lie in (tweedie's power: not in (0, 1))
    excluded: tuple[float, float] | None = None
    kernel: bool = True  # passed to the kernel (False: read by the aggregate only)
    # a value that is not one number or word (expected_cost's cost matrix): its own parser,
    # (raw value, where) -> the canonical value, or a UsageError naming ``where``
    parse: Callable[[Any, str], ParamValue] | None = None

    @property
    def range_text(self) -> str:
        if self.choices:
            return " | ".join(self.choices)
        parts = []
        if self.exclusive_minimum is not None:
            parts.append(f"> {self.exclusive_minimum:g}")
        if self.minimum is not None:
            parts.append(f">= {self.minimum:g}")
        if self.maximum is not None:
            parts.append(f"<= {self.maximum:g}")
        if self.excluded is not None:
            parts.append(f"outside ({self.excluded[0]:g}, {self.excluded[1]:g})")
        return " and ".join(parts)

    def coerce(self, raw: Any, where: str) -> ParamValue:
        """Convert a CLI/inline value to the parameter's type and check its range."""
        value: ParamValue
        if raw is None and self.default is None:
            return None
        if self.parse is not None:
            return self.parse(raw, where)
        if self.type is str:
            text = str(raw).strip().lower()
            if text not in self.choices:
                raise UsageError(
                    f"Parameter '{self.name}' of {where} must be one of: "
                    f"{', '.join(self.choices)}; got {raw!r}.{did_you_mean(text, self.choices)}"
                )
            return text
        if self.type is bool:
            if isinstance(raw, bool):
                value = raw
            elif str(raw).strip().lower() in ("true", "1", "yes"):
                value = True
            elif str(raw).strip().lower() in ("false", "0", "no"):
                value = False
            else:
                raise UsageError(
                    f"Parameter '{self.name}' of {where} must be true or false, got {raw!r}."
                )
            return value
        try:
            if self.type is int:
                as_float = float(raw)
                if as_float != int(as_float):
                    raise ValueError
                value = int(as_float)
            else:
                value = float(raw)
        except (TypeError, ValueError):
            kind = "an integer" if self.type is int else "a number"
            raise UsageError(
                f"Parameter '{self.name}' of {where} must be {kind}, got {raw!r}."
            ) from None
        if value != value or value in (float("inf"), float("-inf")):
            raise UsageError(f"Parameter '{self.name}' of {where} must be finite, got {raw!r}.")
        if self.allow_negative_sentinel and value < 0:
            return value
        bad = (
            (self.minimum is not None and value < self.minimum)
            or (self.exclusive_minimum is not None and value <= self.exclusive_minimum)
            or (self.maximum is not None and value > self.maximum)
            or (self.excluded is not None and self.excluded[0] < value < self.excluded[1])
        )
        if bad:
            raise UsageError(
                f"Parameter '{self.name}' of {where} must be {self.range_text}, got {raw!r}."
            )
        return value
