"""Text columns carried with their dictionary codes (:class:`CodedText`): what the Arrow
readers give for a text column of few distinct values (:func:`losscli.io.arrow.raw_values`),
so that group keys and labels are read one distinct value at a time; the re-chunking's
concatenation that keeps the codes; and the columns read as codes only (:class:`CodesOnly`:
the label column, whose rows are never spelled out). Imports numpy alone."""

from __future__ import annotations

from typing import Any

import numpy as np


class CodedText(np.ndarray):
    """An object array of ``str`` (None for null) that also carries how it was coded:
    ``codes`` (intp, one per row) index ``values`` (an object array of the distinct strings
    and None, possibly with entries no row uses). Group keys are then factorised from the
    codes, without hashing a string per row (``losscli.grouping``).

    Everything else sees a plain object array. A basic slice (the re-chunking of a batch)
    keeps the coding; any other operation's result has ``codes`` None and is coded as
    plain text would be."""

    codes: np.ndarray | None
    values: np.ndarray | None

    def __array_finalize__(self, obj: Any) -> None:
        self.codes = None
        self.values = None

    def __getitem__(self, item: Any) -> Any:
        if self.unread and not isinstance(item, slice):  # the rows spelled out from codes
            assert self.codes is not None and self.values is not None
            return self.values[self.codes[item]]
        out = super().__getitem__(item)
        if isinstance(out, CodedText) and isinstance(item, slice) and self.codes is not None:
            out.codes = self.codes[item]
            out.values = self.values
        return out

    @property
    def unread(self) -> bool:
        """Whether the rows are only codes (:class:`CodesOnly`): every row of the array
        itself is :data:`UNREAD`, which refuses to be used."""
        return self.ndim == 1 and self.shape[0] > 0 and self.strides[0] == 0 and (
            self.codes is not None)


class _Unread:
    """The rows of a column read as codes only (:class:`CodesOnly`): read through the
    array's ``codes`` and ``values``, never as objects — any use of one is a bug, loud."""

    __slots__ = ()

    def _refuse(self, *args: Any) -> Any:
        raise TypeError("a text column read as dictionary codes only was read row by row")

    __eq__ = __ne__ = __lt__ = __hash__ = __str__ = __bool__ = __len__ = _refuse  # type: ignore[assignment]


UNREAD = _Unread()


class CodesOnly(str):
    """A raw text column's name that asks :func:`raw_values` for its dictionary codes
    alone where a dictionary decodes it (the label column: mapped one distinct label at a
    time, :func:`losscli.labels.mapping.coding`): a :class:`CodedText` whose rows are not
    spelled out (``unread``: 8 bytes a row less; its basic slices, concatenation and
    element access stay right, by the codes)."""

    __slots__ = ()


def _spelled(coded: CodedText) -> CodedText:
    """An unread :class:`CodedText` with its rows spelled out."""
    assert coded.codes is not None and coded.values is not None
    out = coded.values[coded.codes].view(CodedText)
    out.codes, out.values = coded.codes, coded.values
    return out


def unread(codes: np.ndarray, values: np.ndarray) -> CodedText:
    """A :class:`CodedText` of ``codes`` into ``values`` whose rows are not spelled out."""
    one = np.empty((), dtype=object)
    one[()] = UNREAD
    out = np.broadcast_to(one, codes.shape).view(CodedText)
    out.codes, out.values = codes, values
    return out


def concatenate(parts: list[np.ndarray]) -> np.ndarray:
    """``np.concatenate`` of a column's pieces (the re-chunking of batches); text pieces that
    all carry their codes give a :class:`CodedText` whose values are only those in use."""
    lazy = [isinstance(p, CodedText) and p.unread for p in parts]
    if any(lazy) and not all(lazy):  # (one column's pieces are read alike)
        parts = [_spelled(p) if isinstance(p, CodedText) and p.unread else p for p in parts]
    if not (parts and all(lazy)):
        out = np.concatenate(parts)
    pieces = [(p.codes, p.values) for p in parts if isinstance(p, CodedText)
              and p.codes is not None and p.values is not None]
    if not parts or len(pieces) != len(parts):
        return out
    offsets = np.cumsum([0] + [len(v) for _, v in pieces[:-1]])
    codes, kept = recode(np.concatenate([c.astype(np.intp) + o
                                         for (c, _), o in zip(pieces, offsets)]),
                         np.concatenate([v for _, v in pieces]))
    table = np.empty(len(kept), dtype=object)
    table[:] = kept
    if all(lazy):
        return unread(codes.astype(narrow_codes(len(kept))), table)
    coded = out.view(CodedText)
    coded.codes = codes.astype(narrow_codes(len(kept)))
    coded.values = table
    return coded


def recode(codes: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """Codes (intp) into ``values`` renumbered so that each value in use appears once, in
    order of first code: a dictionary may hold unused entries, repeat a value (the pieces
    of several batches, each with its own dictionary) or hold a null entry beside the
    null code. Returns the new codes and the distinct values (None included)."""
    from losscli.stats.keyed import unique_inverse

    used, local = unique_inverse(codes.astype(np.int64, copy=False))
    slot: dict[Any, int] = {}
    remap = np.array([slot.setdefault(v, len(slot)) for v in values[used].tolist()], np.intp)
    return remap[local], list(slot)


def narrow_codes(size: int) -> type[np.signedinteger[Any]]:
    """The narrowest signed integer type that holds codes 0..size-1: a text column's codes
    are one byte a row for a dictionary of a few values (labels, a group), not eight."""
    for dtype in (np.int8, np.int16, np.int32):
        if size <= np.iinfo(dtype).max + 1:
            return dtype
    return np.intp
