"""What a join by key (``--id-col``, :mod:`losscli.io.join`) saw in a set of rows: a
mergeable part of :class:`losscli.state.State`."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from losscli.stats.fields import FieldError, Fields, check, whole


@dataclass
class JoinState:
    """What the join by key (``--id-col``, :mod:`losscli.io.join`) saw in a set of rows:
    which of the ``targets`` rows were matched (a bitmap: merging is an OR, and a row
    matched on both sides is a key matched twice), the prediction rows without a target
    (how many, and the first few in row order: row number and key)."""

    targets: int
    matched: Any = None  # uint8 per target row (1: matched)
    twice: int = 0  # target rows matched by more than one prediction row
    first_twice: list[int] = field(default_factory=list)  # their target positions
    unmatched: int = 0
    first_unmatched: list[tuple[int, Any]] = field(default_factory=list)  # (row, key)

    def __post_init__(self) -> None:
        if self.matched is None:
            self.matched = np.zeros(self.targets, np.uint8)

    def merge(self, other: JoinState) -> JoinState:
        if other.targets != self.targets:
            raise ValueError(f"cannot merge joins over {self.targets} and {other.targets} "
                             "target rows (other targets)")
        both = np.flatnonzero((self.matched > 0) & (other.matched > 0))
        self.twice += other.twice + int(both.size)
        self.first_twice = sorted({*self.first_twice, *other.first_twice,
                                   *(int(i) for i in both[:3])})[:3]
        self.matched |= other.matched
        self.unmatched += other.unmatched
        self.first_unmatched = sorted([*self.first_unmatched, *other.first_unmatched],
                                      key=lambda rk: rk[0])[:3]
        return self

    def to_dict(self) -> dict[str, Any]:
        bits = np.packbits(self.matched.astype(bool))
        return {"targets": self.targets, "matched": base64.b64encode(bits.tobytes()).decode(),
                "twice": self.twice, "first_twice": list(self.first_twice),
                "unmatched": self.unmatched,
                "first_unmatched": [[r, k] for r, k in self.first_unmatched]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JoinState:
        f = Fields(data)
        text = f.text("matched", longest=1 << 31)
        n = f.count("targets", hi=len(text) * 6)  # base64: 6 bits a character
        try:
            bits = np.frombuffer(base64.b64decode(text, validate=True), np.uint8)
        except ValueError:
            raise FieldError("matched", "not base64") from None
        check(bits.size == (n + 7) // 8, "matched", f"{bits.size * 8} bits for {n} targets")
        matched = np.unpackbits(bits)[:n].astype(np.uint8)

        def first(item: Any) -> tuple[int, Any]:
            row, key = Fields({"": item}).items("", length=2)
            return whole(row), tuple(key) if isinstance(key, list) else key

        return cls(n, matched, f.count("twice"), f.each("first_twice", whole, longest=3),
                   f.count("unmatched"), f.each("first_unmatched", first, longest=3))
