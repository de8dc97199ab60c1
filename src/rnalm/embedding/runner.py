"""``embed_file``: a sequence file through a model into an embedding output, resumably.

The order of work is chosen so that a mistake costs nothing:

1. options, the output path and the device are checked before the model is loaded;
2. the whole input is validated in one streaming pass (ids unique, letters valid for the
   alphabet, lengths allowed by ``--long``) before any output is created or touched, so bad
   input never leaves a partial or modified output behind;
3. records are embedded in deterministic token-budget batches (:mod:`.batching`) and each
   batch's records are committed to the store (:mod:`.store`) while the next batch runs.

Under ``torchrun`` (``RANK``/``WORLD_SIZE`` set) rank ``r`` embeds the records whose input
position ``i`` has ``i % WORLD_SIZE == r`` and writes ``OUTPUT.rank{r}-of-{W}``; no collective
operation is needed except for the optional ``merge`` at the end.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Union

import torch
import torch.distributed as dist

from rnalm.alphabet import Alphabet
from rnalm.embedding.batching import plan_batches
from rnalm.embedding.loop import BackgroundWriter, cpu_kernels, embed_batches
from rnalm.embedding.merge import merge_parts
from rnalm.embedding.metadata import run_metadata
from rnalm.embedding.naming import part_path, rank_from_env
from rnalm.embedding.options import (
    ATTENTION_BUDGET_BYTES,
    EmbedOptions,
    EmbedSummary,
    check_compute_options,
    check_output_path,
)
from rnalm.embedding.outputs import Assembler
from rnalm.embedding.plan import DoneRecords, batching_settings, rank_work, read_old_metadata, validate_input
from rnalm.embedding.setup import EmbedModel, attention_cost, setup_model
from rnalm.embedding.storage import EMBEDDINGS, make_store
from rnalm.embedding.store import STORAGES, OutputError, Store, check_compatible, storage_of
from rnalm.errors import RnalmError, option
from rnalm.io.output_guard import (
    NEW,
    REPLACE,
    RESUME,
    claim_output,
    is_empty_dir,
    output_lock,
    remove_path,
    remove_stale_staging,
    staging_path,
    swap_into_place,
)
from rnalm.io.progress import Progress
from rnalm.io.seqio import SequenceFileError, iter_records
from rnalm.numerics import reproducible
from rnalm.precision import Precision, resolve


# ------------------------------------------------------------------------------ the run
def embed_file(
    model: Union[str, Path, torch.nn.Module],
    input_path: Union[str, Path],
    output: Union[str, Path],
    options: Optional[EmbedOptions] = None,
    alphabet: Optional[Alphabet] = None,
) -> EmbedSummary:
    """Embed every record of ``input_path`` into ``output``; see :class:`EmbedOptions`.

    ``model`` is a name or path for :func:`rnalm.load`, or an already loaded encoder together
    with its ``alphabet``. Returns an :class:`EmbedSummary`; raises :class:`rnalm.RnalmError`
    for any problem with the input, the output or the options, before touching the output.
    """
    opts = options or EmbedOptions()
    t_start = time.perf_counter()
    input_path, output = Path(input_path), Path(output)
    if opts.rank is not None:
        rank, world = opts.rank, opts.world_size or 1
    else:
        rank, world = rank_from_env()
    target = part_path(output, rank, world)
    pools, device, precision = _check_before_loading(opts, input_path, output, target, world)
    with output_lock(target):
        return _embed_locked(
            model, alphabet, input_path, output, target, opts, rank, world, pools, device, precision, t_start
        )


def _check_before_loading(
    opts: EmbedOptions, input_path: Path, output: Path, target: Path, world: int
) -> tuple[list[str], torch.device, Precision]:
    """Step 1 of :func:`embed_file`: the cheap checks, before loading anything."""
    if opts.output_format not in STORAGES:
        raise OutputError(
            f"{option('output_format')}: must be one of {', '.join(STORAGES)}, got {opts.output_format!r}"
        )
    if opts.resume and opts.overwrite:
        raise RnalmError(f"{option('resume')} and {option('overwrite')} exclude each other")
    pools, device, precision = check_compute_options(opts, world)
    if not input_path.is_file():
        raise SequenceFileError(f"{input_path}: no such input file")
    claim_output(
        target,
        EMBEDDINGS,
        opts.overwrite,
        opts.resume,
        [input_path],
        resume_option=option("resume"),
        overwrite_option=option("overwrite"),
    )
    if world > 1 and output.exists() and not opts.overwrite:
        raise OutputError(f"{output}: a merged output already exists; remove it before a new sharded run")
    if opts.merge and world > 1 and "MASTER_ADDR" not in os.environ:
        raise RnalmError(
            "--merge with several ranks needs torchrun's rendezvous (MASTER_ADDR); otherwise run "
            "`rnalm embed-merge OUTPUT` after all ranks finish"
        )
    check_output_path(target)
    reproducible()  # run-to-run identical math (a no-op under RNALM_FAST_MATH=1)
    return pools, device, precision


# About 85 lines: steps 2-4 of embed_file read in order here; steps 5-6 are _write_embeddings.
def _embed_locked(
    model: Union[str, Path, torch.nn.Module],
    alphabet: Optional[Alphabet],
    input_path: Path,
    output: Path,
    target: Path,
    opts: EmbedOptions,
    rank: int,
    world: int,
    pools: list[str],
    device: torch.device,
    precision: Precision,
    t_start: float,
) -> EmbedSummary:
    """Steps 2-6 of :func:`embed_file`, run while this process holds ``target``'s one-writer lock.

    The output is claimed again under the lock (another run may have created it meanwhile).
    A new output is written in place, so a killed run can be completed with ``--resume``; a
    replacement (``--overwrite``) is written beside it and swapped in only once complete, so a
    killed ``--overwrite`` leaves the old output as it was.
    """
    action = claim_output(
        target,
        EMBEDDINGS,
        opts.overwrite,
        opts.resume,
        [input_path],
        resume_option=option("resume"),
        overwrite_option=option("overwrite"),
    )
    resuming = action == RESUME and opts.resume
    if action == RESUME and storage_of(target) != opts.output_format:
        raise OutputError(
            f"{target}: holds {storage_of(target)} output, not {opts.output_format}; pass "
            f"{option('output_format', storage_of(target))} to resume it"
        )
    if resuming:
        why = make_store(target, opts.output_format).damage()
        if why is not None:  # HDF5 after a kill during a flush: nothing in it can be read back
            if opts.progress is not False:
                print(
                    f"rnalm embed: warning: {target} cannot be read ({why}), as after a kill during a write; "
                    f"starting it over",
                    file=sys.stderr,
                )
            remove_path(target)
            action, resuming = NEW, False
    remove_stale_staging(target, EMBEDDINGS)
    if opts.threads:
        torch.set_num_threads(opts.threads)
    old_meta = read_old_metadata(target, opts.output_format) if resuming else {}
    if resuming:  # auto means the interrupted run's type, so one output is computed in one type
        precision = resolve(opts.dtype, device, float16=True, previous=old_meta.get("dtype"))

    # 2. the model
    em, old_meta = setup_model(model, alphabet, opts, pools, device, precision, old_meta)
    batching = batching_settings(opts, old_meta, device)
    metadata = run_metadata(
        em.alphabet,
        em.config,
        em.identity,
        em.layers,
        pools,
        em.preparer,
        opts,
        precision,
        batching,
        rank,
        world,
        input_path,
    )

    # 3. what the output already holds (read only)
    done = DoneRecords()
    if resuming:
        batch_diffs = check_compatible(old_meta, metadata, target)
        done.read(make_store(target, opts.output_format))
        if batch_diffs and opts.progress is not False:
            print(
                f"rnalm embed: warning: {', '.join(batch_diffs)} differ from the interrupted run; new records "
                f"are batched differently (same embeddings up to float rounding)",
                file=sys.stderr,
            )

    # 4. validate the whole input before creating or changing any output
    def records():
        return iter_records(input_path, opts.input_format, opts.id_column, opts.seq_column)

    n_mine, n_mine_done = validate_input(records(), input_path, em.preparer, done, rank, world, target)
    return _write_embeddings(
        em,
        records,
        done,
        metadata,
        batching,
        action,
        resuming,
        output,
        target,
        opts,
        (rank, world),
        pools,
        device,
        precision,
        (n_mine, n_mine_done),
        t_start,
    )


def _write_embeddings(
    em: EmbedModel,
    records: Callable[[], Iterator[Any]],
    done: DoneRecords,
    metadata: dict,
    batching: tuple[int, int],
    action: str,
    resuming: bool,
    output: Path,
    target: Path,
    opts: EmbedOptions,
    ranks: tuple[int, int],
    pools: list[str],
    device: torch.device,
    precision: Precision,
    counts: tuple[int, int],
    t_start: float,
) -> EmbedSummary:
    """Steps 5-6 of :func:`embed_file`: open the output, embed this rank's records, swap a replacement in."""
    rank, world = ranks
    n_mine, n_mine_done = counts
    # 5. open the output for writing: a replacement is built aside and swapped in at the end
    if action == NEW and is_empty_dir(target):
        remove_path(target)
    writing = staging_path(target) if action == REPLACE else target
    store = make_store(writing, opts.output_format)
    dropped = store.resume(metadata) if resuming else 0
    if not resuming:
        store.create(metadata)

    # 6. embed
    batches = plan_batches(
        rank_work(records(), em.preparer, rank, world),
        batching[0],
        batching[1],
        int(em.alphabet.prepend_bos) + int(em.alphabet.append_eos),
        attention_cost(em, opts),
        ATTENTION_BUDGET_BYTES,
    )
    n_embedded, n_tokens, work_seconds = _embed_into(
        em, batches, done, store, writing != target, opts, pools, device, precision, (n_mine, n_mine_done), t_start
    )
    if writing != target:
        swap_into_place(writing, target, EMBEDDINGS)
    summary = EmbedSummary(
        target,
        n_mine,
        n_embedded,
        n_mine_done,
        n_tokens,
        time.perf_counter() - t_start,
        work_seconds,
        dropped,
        rank=rank,
        world_size=world,
        precision=precision.summary(mode=True),
    )
    if opts.merge and world > 1:
        summary.merged = _merge_after_barrier(output, rank)
    return summary


def _embed_into(
    em: EmbedModel,
    batches: Any,
    done: DoneRecords,
    store: Store,
    staged: bool,
    opts: EmbedOptions,
    pools: list[str],
    device: torch.device,
    precision: Precision,
    counts: tuple[int, int],
    t_start: float,
) -> tuple[int, int, float]:
    """Run the batch loop into ``store`` and finish it; returns (records embedded, tokens, loop seconds).

    On failure the store is closed and, when it is a ``staged`` replacement, removed.
    """
    n_mine, n_mine_done = counts
    assembler = Assembler(em.layers, set(pools), opts.contacts, opts.attentions)
    progress = Progress(n_mine - n_mine_done, "embed", show=opts.progress)
    t_work = time.perf_counter()
    writer = BackgroundWriter(store)
    complete = False
    try:
        with cpu_kernels(device, precision.dtype):
            n_embedded, n_tokens = embed_batches(
                em.model,
                em.alphabet,
                batches,
                done.ids,
                assembler,
                em.layers,
                pools,
                opts.contacts,
                opts.attentions,
                device,
                writer,
                progress,
                precision.autocast,
            )
        writer.close()
        work_seconds = time.perf_counter() - t_work
        if len(assembler):
            raise RuntimeError(f"{len(assembler)} windowed records were left incomplete (a bug)")
        seconds = time.perf_counter() - t_start
        store.finish({"n_records": n_mine, "n_embedded": n_embedded + n_mine_done, "seconds_last_run": seconds})
        complete = True
    finally:
        try:
            writer.close()
        except BaseException:
            pass
        store.close()
        progress.close()
        if staged and not complete:
            remove_path(store.path)
    return n_embedded, n_tokens, work_seconds


def _merge_after_barrier(output: Path, rank: int) -> Optional[Path]:
    """Wait for every rank (gloo barrier), then rank 0 merges the parts."""
    owns = not dist.is_initialized()
    if owns:
        dist.init_process_group("gloo", timeout=timedelta(hours=48))
    try:
        dist.barrier()
        merged, error = None, None
        if rank == 0:
            try:
                merged = merge_parts(output).output
            except BaseException as exc:  # release the other ranks before failing
                error = exc
        dist.barrier()
        if error is not None:
            raise error
        return merged if rank == 0 else output
    finally:
        if owns:
            dist.destroy_process_group()
