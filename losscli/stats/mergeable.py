"""The one contract every part of an evaluation's state keeps: :class:`Mergeable`.

A part (an exact sum, a confusion matrix, a sketch, an aggregate, a :class:`~losscli.state.Cell`,
the whole :class:`~losscli.state.State`) is built by streaming rows into it and then:

- ``a.merge(b)`` folds ``b`` (a part of the same kind and configuration) into ``a`` **in
  place and returns ``a``**, so merges chain (``a.merge(b).merge(c)``). Merging is exact:
  associative and commutative to the bit, which is what makes results independent of the
  chunk size, the number of workers and the merge tree.
- ``to_dict()`` gives a JSON-able dict and ``cls.from_dict(d)`` the same part back, bit for
  bit; ``from_dict`` treats ``d`` as untrusted (:mod:`losscli.stats.fields`). Some parts
  take an optional ``context`` as a second argument (what the reader knows of the run).

``tests/test_mergeable.py`` checks both promises on generated parts of every kind.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, runtime_checkable

M = TypeVar("M", bound="Mergeable")


@runtime_checkable
class Mergeable(Protocol):
    """A state part: merged in place (returning itself), serialised to a dict and back."""

    def merge(self: M, other: M) -> M:
        """Fold ``other`` in (in place) and return self."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict that :meth:`from_dict` reads back bit for bit."""
        ...

    @classmethod
    def from_dict(cls: type[M], data: dict[str, Any]) -> M:
        """The part :meth:`to_dict` wrote (every field checked)."""
        ...

