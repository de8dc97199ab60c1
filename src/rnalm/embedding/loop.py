"""The batch loop of an embedding run: forward passes on the device, with reading, tokenising and
batching in one background thread (:class:`Prefetcher`) and writing in another
(:class:`BackgroundWriter`), so the device never waits for the disk.

Both queues are bounded (a few batches), so memory does not depend on the input's size. The
threads change when work happens, not what is computed: batches arrive in the planned order and
records are written in the order they complete, exactly as a serial loop would.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, ContextManager, Iterable, Iterator, Optional, Protocol

import torch

from rnalm.alphabet import Alphabet
from rnalm.embedding.batching import Batch, batch_tensor
from rnalm.embedding.outputs import Assembler, extract
from rnalm.embedding.store import Store
from rnalm.io.progress import Progress

#: Records between commits inside one batch (batches of short sequences can hold thousands).
COMMIT_EVERY = 256


class Sink(Protocol):
    """Where :func:`embed_batches` hands each batch's finished records: a store's writer, or a list."""

    def submit(self, records: list) -> None: ...


class Collector:
    """A :class:`Sink` that keeps the records in memory (the Python API's path; nothing is written)."""

    def __init__(self) -> None:
        self.records: list = []

    def submit(self, records: list) -> None:
        self.records.extend(records)


class BackgroundWriter:
    """Writes and commits each batch's records in a thread, so disk I/O overlaps the next forward."""

    def __init__(self, store: Store, depth: int = 2) -> None:
        self.store = store
        self._q: "queue.Queue[Optional[list]]" = queue.Queue(maxsize=depth)
        self._err: Optional[BaseException] = None
        self._t = threading.Thread(target=self._run, name="rnalm-embed-writer", daemon=True)
        self._t.start()

    def _run(self) -> None:
        while True:
            job = self._q.get()
            if job is None:
                return
            if self._err is not None:
                continue
            try:
                for i, rec in enumerate(job, 1):
                    self.store.write(rec)
                    if i % COMMIT_EVERY == 0:
                        self.store.commit()
                self.store.commit()
            except BaseException as exc:  # re-raised in the main thread
                self._err = exc

    def submit(self, records: list) -> None:
        if self._err is not None:
            raise self._err
        self._q.put(records)

    def close(self) -> None:
        self._q.put(None)
        self._t.join()
        if self._err is not None:
            err, self._err = self._err, None
            raise err


#: Batches read and tokenised ahead of the forward pass.
PREFETCH_DEPTH = 2
_END = object()


class Prefetcher:
    """Iterates ``batches`` (reading and tokenising the input) in a thread, ``depth`` batches ahead,
    each with its token tensor already built; iterate it as the batches themselves.

    An error in the thread is raised in the consumer at the batch where it happened; :meth:`close`
    (also on leaving a ``with`` block) stops the thread when the consumer stops early.
    """

    def __init__(self, batches: Iterable[Batch], alphabet: Alphabet, depth: int = PREFETCH_DEPTH) -> None:
        self._q: "queue.Queue[Any]" = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, args=(batches, alphabet), name="rnalm-embed-reader", daemon=True)
        self._t.start()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, batches: Iterable[Batch], alphabet: Alphabet) -> None:
        try:
            for batch in batches:
                if not self._put((batch, batch_tensor(batch.items, alphabet))):
                    return
        except BaseException as exc:  # re-raised in the consumer
            self._put(exc)
            return
        self._put(_END)

    def __iter__(self) -> Iterator[tuple[Batch, torch.Tensor]]:
        while True:
            item = self._q.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
        self._t.join()

    def __enter__(self) -> "Prefetcher":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


@contextmanager
def cpu_kernels(device: torch.device, dtype: torch.dtype) -> Iterator[None]:
    """float32 on the CPU: run without oneDNN, so memory does not grow with the number of batch shapes.

    PyTorch sends float32 GELU to oneDNN, which JIT-compiles and caches one primitive per input
    shape (up to 1,024 of them, ~150 kB each); token-budget batches bring ever new shapes, so the
    process would grow by hundreds of MB over a long input. ATen's own kernels are as fast for
    float32 (matrix products go to MKL either way). bfloat16 keeps oneDNN, its fast CPU path.
    """
    if device.type != "cpu" or dtype != torch.float32 or not torch.backends.mkldnn.is_available():
        yield
        return
    before = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False  # type: ignore[assignment]
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = before


def embed_batch(
    model: torch.nn.Module,
    alphabet: Alphabet,
    batch: Batch,
    todo: set[int],
    assembler: Assembler,
    layers: list[int],
    pools: list[str],
    contacts: bool,
    attentions: bool,
    device: torch.device,
    tokens: Optional[torch.Tensor] = None,
    context: Callable[[], ContextManager] = contextlib.nullcontext,
) -> list:
    """One forward pass (in ``context``, e.g. autocast) on ``tokens`` (default: built from the
    batch); returns the records it completes (windowed records may need several batches)."""
    if tokens is None:
        tokens = batch_tensor(batch.items, alphabet)
    tokens = tokens.to(device, non_blocking=True)
    with torch.inference_mode(), context():
        out = model(
            tokens, repr_layers=layers, return_contacts=contacts, need_head_weights=attentions, return_logits=False
        )
    with torch.inference_mode():
        windowed = {i for i, m in batch.records.items() if m.windows > 1}
        results = extract(out, batch.items, layers, set(pools), int(alphabet.prepend_bos), windowed)
    finished = []
    for res in results:
        if res.item.record in todo:
            rec_out = assembler.add(batch.records[res.item.record], res)
            if rec_out is not None:
                finished.append(rec_out)
    return finished


def embed_batches(
    model: torch.nn.Module,
    alphabet: Alphabet,
    batches: Iterable[Batch],
    done_ids: Any,
    assembler: Assembler,
    layers: list[int],
    pools: list[str],
    contacts: bool,
    attentions: bool,
    device: torch.device,
    writer: Sink,
    progress: Optional[Progress],
    context: Callable[[], ContextManager] = contextlib.nullcontext,
    prefetch: int = PREFETCH_DEPTH,
) -> tuple[int, int]:
    """Embed every batch holding a record not in ``done_ids`` and hand its finished records to
    ``writer``; returns (records embedded, model tokens computed without padding).

    ``batches`` is consumed by a :class:`Prefetcher` ``prefetch`` batches ahead (0: in this
    thread); forward passes run in ``context``."""
    specials = int(alphabet.prepend_bos) + int(alphabet.append_eos)
    n_embedded = n_tokens = 0
    t_work = time.perf_counter()
    with _prefetched(batches, alphabet, prefetch) as planned:
        for batch, tokens in planned:
            todo = {i for i, m in batch.records.items() if m.id not in done_ids}
            if not todo:  # every record of this batch is already in the output
                continue
            finished = embed_batch(
                model, alphabet, batch, todo, assembler, layers, pools, contacts, attentions, device, tokens, context
            )
            n_tokens += sum(len(it.ids) + specials for it in batch.items if it.record in todo)
            writer.submit(finished)
            n_embedded += len(finished)
            if progress is not None:
                progress.update(len(finished))
                if progress.bar is not None:
                    elapsed = max(time.perf_counter() - t_work, 1e-9)
                    progress.bar.set_postfix_str(f"{n_tokens / elapsed:,.0f} tok/s", refresh=False)
    return n_embedded, n_tokens


@contextmanager
def _prefetched(batches: Iterable[Batch], alphabet: Alphabet, depth: int) -> Iterator[Iterable[tuple[Batch, Any]]]:
    """``(batch, tokens)`` pairs: from a :class:`Prefetcher`, or built in this thread when ``depth`` is 0."""
    if depth < 1:
        yield ((b, None) for b in batches)
        return
    with Prefetcher(batches, alphabet, depth) as pre:
        yield pre
