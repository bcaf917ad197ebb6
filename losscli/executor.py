"""Run work units on a pool of threads and hand their results back in unit order.

numpy's ufuncs and pyarrow's decoders release the GIL, so threads use every core without
re-importing anything (processes would gain nothing and pay numpy's import again). At most
``2 × workers`` units are in flight, so memory stays bounded by a few units whatever the
input's size. Results come back in unit order whatever order they finish in: merging them in
that order is what makes the outcome independent of the scheduling.

``stop_after(result)`` says that no later unit matters (a unit stopped at a bad row: the
earliest error wins, as in a serial pass): units after it are not started, and the ones
already running are told to stop through the :class:`threading.Event` each unit receives.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def ordered_map(
    fn: Callable[[T, threading.Event], R],
    items: Iterable[T],
    *,
    workers: int,
    stop_after: Callable[[R], bool] | None = None,
    when_idle: Callable[[], None] | None = None,
) -> Iterator[tuple[T, R]]:
    """``(item, fn(item, stop))`` for every item, in item order, computed on ``workers``
    threads (in this thread when ``workers`` is 1). See the module doc for ``stop_after``.
    An exception raised by ``fn`` is re-raised here, in item order; closing the iterator
    (an error downstream, Ctrl-C) stops the units still running at their next chunk.
    ``when_idle()`` runs on a worker thread that finished an item when no item is left to
    start (a thread's last one), e.g. to hand back what its allocators keep."""
    stop = threading.Event()
    if when_idle is not None and workers > 1:
        fn = _then_idle(fn, when_idle, drained := threading.Event())
    if workers <= 1:
        for item in items:
            result = fn(item, stop)
            yield item, result
            if stop_after is not None and stop_after(result):
                return
        return
    pending: deque[tuple[T, Future[R]]] = deque()
    source = iter(items)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="losscli-unit")
    try:
        while True:
            while len(pending) < 2 * workers:
                try:
                    item = next(source)
                except StopIteration:
                    if when_idle is not None:
                        drained.set()
                    break
                pending.append((item, pool.submit(fn, item, stop)))
            if not pending:
                return
            item, future = pending.popleft()
            result = future.result()
            yield item, result
            if stop_after is not None and stop_after(result):
                return
    finally:
        stop.set()
        for _, future in pending:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)



def _then_idle(fn: Callable[[T, threading.Event], R], when_idle: Callable[[], None],
               drained: threading.Event) -> Callable[[T, threading.Event], R]:
    def run(item: T, stop: threading.Event) -> R:
        try:
            return fn(item, stop)
        finally:
            if drained.is_set():
                when_idle()

    return run
