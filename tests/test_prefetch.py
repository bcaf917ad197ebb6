"""The reader thread: same items in the same order, errors where they happened, and a
consumer that stops early stops the reader."""

from __future__ import annotations

import threading
import time

import pytest

from losscli.errors import InputError
from losscli.io.prefetch import prefetch


def test_items_arrive_in_order():
    assert list(prefetch(iter(range(1000)), depth=3)) == list(range(1000))


def test_an_error_is_raised_in_the_consumer_after_the_items_before_it():
    def items():
        yield 1
        yield 2
        raise InputError("corrupt block")

    seen = []
    with pytest.raises(InputError, match="corrupt block"):
        for item in prefetch(items()):
            seen.append(item)
    assert seen == [1, 2]


def test_stopping_early_closes_the_reader():
    closed = threading.Event()

    def items():
        try:
            yield from range(10**9)
        finally:
            closed.set()

    stream = prefetch(items(), depth=2)
    assert [next(stream) for _ in range(5)] == [0, 1, 2, 3, 4]
    stream.close()  # what `| head` does to the engine's loop
    assert closed.wait(2.0)


def test_the_reader_runs_ahead_while_the_consumer_works():
    produced = []

    def items():
        for i in range(4):
            produced.append(i)
            yield i

    stream = prefetch(items(), depth=2)
    assert next(stream) == 0
    deadline = time.monotonic() + 2.0
    while len(produced) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(produced) >= 3  # items 1 and 2 were read before we asked for them
    assert list(stream) == [1, 2, 3]
