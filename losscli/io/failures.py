"""What can go wrong when foreign bytes are read, and how it is said.

Every reader turns the exceptions of :func:`foreign_errors` into an
:class:`~losscli.errors.InputError` that names the input and the fix; anything else is a bug
and keeps its traceback. The fuzz tests (``tests/test_fuzz_inputs.py``) hold the readers to
that. Standard library only.
"""

from __future__ import annotations

import sys

#: Plain exception types that decoding foreign bytes raises: the OS (a read fails, a FIFO
#: closes), bad values (ValueError, which UnicodeDecodeError and pyarrow's ArrowInvalid
#: subclass), a stream that ends early, a header that asks for more memory than there is,
#: numbers out of range.
_PLAIN = (OSError, ValueError, EOFError, MemoryError, OverflowError)


def foreign_errors() -> tuple[type[BaseException], ...]:
    """The exception types a reader translates: :data:`_PLAIN` and every pyarrow error
    (``ArrowException``; its NotImplemented, Type, Index and Key variants are not ValueErrors).
    pyarrow is looked up, not imported: if it is not loaded it raised nothing."""
    pa = sys.modules.get("pyarrow")
    arrow = getattr(pa, "ArrowException", None)
    return (*_PLAIN, arrow) if isinstance(arrow, type) else _PLAIN


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def describe_size(n: int) -> str:
    """``16 MiB``, ``512 KiB`` or ``100 bytes``: a byte count as people say it."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} bytes"


def not_text(name: str, exc: UnicodeDecodeError, encoding: str, where: str = "") -> str:
    """The message for bytes that are not text in ``encoding``: which byte, and the fix."""
    bad = exc.object[exc.start:exc.start + 1]
    place = f" ({where})" if where else ""
    hint = ("it starts with a UTF-16 byte-order mark: add --encoding utf-16"
            if bytes(exc.object[:2]) in (b"\xff\xfe", b"\xfe\xff") and encoding != "utf-16"
            else "give the file's encoding with --encoding, e.g. --encoding latin-1 (or cp1252, "
            "utf-16)")
    return (f"'{name}' is not valid {encoding} text{place}: byte 0x{bad.hex()} cannot be decoded; "
            f"{hint}.")


def unreadable(name: str, row: int, exc: BaseException) -> str:
    """Why rows of ``name`` could not be decoded after ``row``, and what to do.

    pyarrow before 26 cannot read a null row of a fixed-size list column from Parquet
    ("Expected all lists to be of size=…"; the file is fine, and pyarrow 26 reads it): said
    as such, with the two ways out, instead of calling the file corrupt."""
    text = first_line(exc)
    pa = sys.modules.get("pyarrow")
    version = str(getattr(pa, "__version__", "0"))
    major = int(version.split(".")[0]) if version.split(".")[0].isdigit() else 0
    if text.startswith("Expected all lists to be of size=") and major < 26:
        return (f"Cannot read '{name}' (after row {row}): a fixed-size list column has a "
                f"null row, which pyarrow {version} cannot read from Parquet (fixed in "
                "pyarrow 26); upgrade pyarrow (pip install 'pyarrow>=26') or store the "
                "column as a variable-size list.")
    return (f"Cannot read '{name}' (after row {row}): {text}; the file may be truncated "
            "or corrupt.")
