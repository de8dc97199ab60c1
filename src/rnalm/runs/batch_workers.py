"""Independent inference batches on several cores, each batch on one thread.

torch parallelises *within* an operator: every operator of a small model (the shipped 128-wide
encoder: a few hundred microseconds each) ends at a barrier where all its threads meet. When
other processes share the cores, a thread the scheduler has not run yet stalls the others until
it is (measured on 2 shared cores under load: the shipped encoder ran 17,100 tokens/s on one
thread, 5,400 on two intra-op threads, and 28,400 on two batches at a time, one thread each:
BENCHMARKS.md "Speed: predict"). Batches of frozen-backbone inference are independent, so here
each runs whole on one worker thread (torch releases the GIL inside operators): no barrier ever
waits, a busy core slows one batch instead of every operator, and each batch is computed on one
thread, so its result is the same bytes whatever the number of workers.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, ContextManager, Iterable, Iterator, Optional, TypeVar

import torch

T = TypeVar("T")
R = TypeVar("R")


def batch_workers(device: torch.device, batches: int) -> int:
    """How many batches to compute at once: torch's thread setting on a CPU (the cores it may
    use), one on other devices (their kernels are parallel already) or for a single batch."""
    if device.type != "cpu" or batches < 2:
        return 1
    return max(1, min(torch.get_num_threads(), batches))


def map_batches(
    fn: Callable[[T], R],
    items: Iterable[T],
    workers: int,
    context: Optional[Callable[[], ContextManager]] = None,
) -> Iterator[R]:
    """``fn(item)`` for each item, in order, on ``workers`` threads of one intra-op thread each.

    ``context`` is entered around every call on the thread that makes it (``torch.no_grad``,
    autocast: both are thread-local, so the caller's do not reach the workers). ``workers`` 1
    computes inline on the calling thread with its own thread setting. torch's setting is
    restored when the iteration ends."""
    ctx = context or contextlib.nullcontext

    def call(item: T) -> R:
        with ctx():
            return fn(item)

    if workers <= 1:
        for item in items:
            yield call(item)
        return
    old = torch.get_num_threads()

    def one_thread() -> None:
        # OpenMP's thread count is per calling thread: set it on each worker, not only here
        torch.set_num_threads(1)

    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(workers, thread_name_prefix="rnalm-batch", initializer=one_thread) as pool:
            # at most 2 x workers batches in flight: results are consumed in order as they come
            pending: list = []
            for item in items:
                pending.append(pool.submit(call, item))
                if len(pending) >= 2 * workers:
                    yield pending.pop(0).result()
            for fut in pending:
                yield fut.result()
    finally:
        torch.set_num_threads(old)


__all__ = ["batch_workers", "map_batches"]
