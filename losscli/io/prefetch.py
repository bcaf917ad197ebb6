"""Read ahead in a background thread, so decoding the next chunk overlaps the kernels.

pyarrow's decoders and numpy's ufuncs release the GIL, so with a bounded queue the reader
and the engine keep both cores busy. Order, values and errors are those of the wrapped
iterator: an exception raised while reading is re-raised in the consumer, at the same
point of the stream. Closing the consumer (e.g. ``| head``) stops the reader.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Yield ``items`` in order while a thread produces up to ``depth`` of them ahead."""
    slots: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not put(item):
                    break
            else:
                put(_DONE)
        except BaseException as exc:  # handed over to the consumer, raised there
            put(_Raised(exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None and stop.is_set():
                close()

    thread = threading.Thread(target=produce, name="losscli-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, _Raised):
                raise item.exc
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        # The reader notices within 0.1 s, unless it is blocked reading a slow pipe; it is a
        # daemon thread, so it never keeps the process alive.
        thread.join(timeout=1.0)


class _Raised:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
