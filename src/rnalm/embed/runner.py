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

import hashlib
import os
import queue
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence, Union

import torch

from rnalm.alphabet import Alphabet
from rnalm.embed.batching import Preparer, batch_tensor, check_long_options, plan_batches
from rnalm.embed.naming import part_path, rank_from_env
from rnalm.embed.outputs import POOLS, Assembler, extract
from rnalm.embed.store import (STORAGES, OutputError, Store, check_compatible, make_store, remove_output,
                               storage_of)
from rnalm.errors import RnalmError
from rnalm.io.seqio import IdSet, SequenceFileError, iter_records, unique_ids
from rnalm.numerics import reproducible

DTYPES = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
          "float16": torch.float16, "fp16": torch.float16}
#: Default padded tokens per batch: large batches keep CPU matrix multiplies efficient.
DEFAULT_TOKENS_PER_BATCH = {"cpu": 8192, "cuda": 65536}
#: Records read ahead and sorted by length for batching.
DEFAULT_LOOKAHEAD = 4096
#: Records between commits inside one batch (batches of short sequences can hold thousands).
COMMIT_EVERY = 256
#: Upper bound on the attention maps a batch may hold when contacts/attentions are requested.
ATTENTION_BUDGET_BYTES = 2 << 30


@dataclass
class EmbedOptions:
    """Settings of one embedding run (the CLI flags of ``rnalm embed``)."""

    layers: Optional[Sequence[Union[int, str]]] = None  # None: the last layer
    pools: Sequence[str] = ("mean",)
    storage: str = "hdf5"
    contacts: bool = False
    attentions: bool = False
    long: str = "window"
    overlap: Optional[int] = None
    tokens_per_batch: Optional[int] = None
    lookahead: Optional[int] = None  # None: DEFAULT_LOOKAHEAD, or the interrupted run's value on resume
    device: Optional[str] = None
    dtype: str = "float32"
    threads: Optional[int] = None
    resume: bool = False
    overwrite: bool = False
    unknown: Optional[str] = None
    input_format: Optional[str] = None
    id_column: Optional[str] = None
    seq_column: Optional[str] = None
    progress: bool = True
    merge: bool = False
    rank: Optional[int] = None
    world_size: Optional[int] = None
    model_name: Optional[str] = None


@dataclass
class EmbedSummary:
    output: Path
    n_records: int  # records of this rank
    n_embedded: int
    n_skipped: int  # already complete (resume)
    n_tokens: int  # model tokens computed, padding excluded
    seconds: float  # the whole call: checks, model load, validation, embedding, writes
    work_seconds: float = 0.0  # the batch loop alone (forward passes and writes)
    dropped: int = 0  # half-written records removed on resume
    merged: Optional[Path] = None
    rank: int = 0
    world_size: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        s = max(self.seconds, 1e-9)
        part = f" (rank {self.rank} of {self.world_size})" if self.world_size > 1 else ""
        text = (f"embedded {self.n_embedded} of {self.n_records} records{part}, {self.n_tokens} tokens in "
                f"{self.seconds:.1f} s ({self.n_embedded / s:.1f} seq/s, {self.n_tokens / s:.0f} tok/s); "
                f"{self.n_skipped} already complete")
        if self.dropped:
            text += f", {self.dropped} half-written removed"
        text += f"; output: {self.merged or self.output}"
        return text


# ------------------------------------------------------------------------------ option checks
def resolve_device(name: Optional[str], world_size: int = 1) -> torch.device:
    if name in (None, "auto"):
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(name)
    except RuntimeError as exc:
        raise RnalmError(f"--device: {exc}") from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise RnalmError("--device cuda: no CUDA GPU is available to this process")
        if dev.index is None and world_size > 1:
            dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return dev


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """float32 anywhere; bfloat16 on GPU and CPU (fast on CPUs with native bf16); float16 on GPU only."""
    try:
        dtype = DTYPES[name.lower()]
    except KeyError:
        raise RnalmError(f"--dtype must be one of float32, bfloat16, float16; got {name!r}") from None
    if dtype == torch.float16 and device.type == "cpu":
        raise RnalmError("--dtype float16 needs a GPU; on CPU use float32 (or bfloat16)")
    return dtype


def resolve_layers(layers: Optional[Sequence[Union[int, str]]], num_layers: int) -> list[int]:
    """Layer numbers 0..num_layers (0 = embeddings); negatives count from the end; ``all``."""
    if not layers:
        return [num_layers]
    out: list[int] = []
    for spec in layers:
        if isinstance(spec, str) and spec.strip().lower() == "all":
            out.extend(range(num_layers + 1))
            continue
        try:
            i = int(spec)
        except (TypeError, ValueError):
            raise RnalmError(f"--layers: {spec!r} is not a layer number") from None
        j = i + num_layers + 1 if i < 0 else i
        if not 0 <= j <= num_layers:
            raise RnalmError(f"--layers: {i} is out of range for a {num_layers}-layer model "
                             f"(0..{num_layers}, or -1..-{num_layers + 1})")
        out.append(j)
    return sorted(set(out))


def resolve_pools(pools: Sequence[str]) -> list[str]:
    out = []
    for p in pools:
        q = p.strip().lower().replace("-", "_")
        if q in ("per_token", "token", "tokens"):
            q = "per_token"
        if q not in POOLS:
            raise RnalmError(f"--pool: {p!r} is not one of per-token, mean, cls")
        if q not in out:
            out.append(q)
    if not out:
        raise RnalmError("--pool: give at least one of per-token, mean, cls")
    return out


def check_output_path(target: Path) -> None:
    """Fail early, with the path in the message, if ``target`` cannot be created."""
    parent = target.parent if str(target.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{target}: cannot create the output's directory {parent}: {exc.strerror or exc}") from exc
    if not parent.is_dir():
        raise OutputError(f"{target}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{target}: no permission to write in {parent}")


def weights_digest(model: torch.nn.Module, source: Optional[str]) -> tuple[Optional[str], str]:
    """``(weights_sha256, model_id)``: the checkpoint file's sha256 when known, else a digest of the tensors."""
    prov = getattr(model, "provenance", {}) or {}
    sha = prov.get("weights_sha256")
    if not sha:
        from rnalm.io.native import sha256_file

        p = Path(prov.get("source_path") or source or "")
        if str(p) and p.is_file():
            sha = sha256_file(p)
        elif str(p) and p.is_dir():
            for fn in ("model.safetensors", "pytorch_model.bin"):
                if (p / fn).is_file():
                    sha = sha256_file(p / fn)
                    break
    if sha:
        return sha, sha
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().float().cpu().contiguous().numpy().tobytes())
    return None, f"state-sha256:{h.hexdigest()}"


# ------------------------------------------------------------------------------ background writes
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

    # 1. cheap checks, before loading anything
    if opts.storage not in STORAGES:
        raise OutputError(f"--format must be one of {', '.join(STORAGES)}, got {opts.storage!r}")
    if opts.resume and opts.overwrite:
        raise RnalmError("--resume and --overwrite exclude each other")
    pools = resolve_pools(opts.pools)
    if opts.tokens_per_batch is not None and opts.tokens_per_batch < 1:
        raise RnalmError(f"--tokens-per-batch must be positive, got {opts.tokens_per_batch}")
    if opts.lookahead is not None and opts.lookahead < 1:
        raise RnalmError(f"--lookahead must be positive, got {opts.lookahead}")
    device = resolve_device(opts.device, world)
    dtype = resolve_dtype(opts.dtype, device)
    if not input_path.is_file():
        raise SequenceFileError(f"{input_path}: no such input file")
    existing = target.exists() or target.is_symlink()
    if existing and not (opts.resume or opts.overwrite):
        raise OutputError(f"{target}: already exists; pass --resume to complete it or --overwrite to replace it")
    if existing and opts.resume and storage_of(target) != opts.storage:
        raise OutputError(f"{target}: holds {storage_of(target)} output, not {opts.storage}; pass --format "
                          f"{storage_of(target)} to resume it")
    if world > 1 and output.exists() and not opts.overwrite:
        raise OutputError(f"{output}: a merged output already exists; remove it before a new sharded run")
    if opts.merge and world > 1 and "MASTER_ADDR" not in os.environ:
        raise RnalmError("--merge with several ranks needs torchrun's rendezvous (MASTER_ADDR); otherwise run "
                         "`rnalm embed-merge OUTPUT` after all ranks finish")
    check_output_path(target)
    reproducible()  # run-to-run identical math (a no-op under RNALM_FAST_MATH=1)
    if opts.threads:
        torch.set_num_threads(opts.threads)

    # 2. the model
    if isinstance(model, (str, Path)):
        from rnalm.api import load

        model_name = str(model)
        model, alphabet = load(model)
    else:
        if alphabet is None:
            raise TypeError("embed_file: pass the model's alphabet with an in-memory model")
        model_name = opts.model_name or type(model).__name__
    sha, model_id = weights_digest(model, model_name)
    model = model.to(device=device, dtype=dtype).eval()
    cfg = model.config
    if alphabet.max_length is None:  # an in-memory model's bare alphabet: the model's limit applies
        alphabet = alphabet.with_max_length(cfg.max_length)
    layers = resolve_layers(opts.layers, cfg.num_layers)
    if opts.contacts and getattr(model, "contact_head", None) is None:
        raise RnalmError("--contacts: this model has no contact head")
    if "cls" in pools and not alphabet.prepend_bos:
        raise RnalmError("--pool cls: this model's inputs have no <cls> token")
    check_long_options(alphabet, opts.long, opts.overlap)
    preparer = Preparer(alphabet, opts.long, opts.overlap, opts.unknown,
                        refuse_windows="attention maps are not defined across windows" if opts.attentions else None)
    window = alphabet.max_length
    # what the output already holds decides the batching defaults: resuming with the interrupted
    # run's batches is what makes the finished output identical to an uninterrupted run's
    old_meta: dict[str, Any] = {}
    if existing and opts.resume:
        st = make_store(target, opts.storage)
        try:
            old_meta = st.read_metadata()
        finally:
            st.close()
    tokens_per_batch = (opts.tokens_per_batch or old_meta.get("tokens_per_batch")
                        or DEFAULT_TOKENS_PER_BATCH.get(device.type, 8192))
    lookahead = opts.lookahead or old_meta.get("lookahead") or DEFAULT_LOOKAHEAD
    from rnalm import __version__

    metadata: dict[str, Any] = {
        "format": "rnalm-embeddings", "format_version": 1, "storage": opts.storage,
        "model": model_name, "weights_sha256": sha, "model_id": model_id, "rnalm_version": __version__,
        "alphabet": alphabet.name, "k_mer": alphabet.k_mer, "embed_dim": cfg.embed_dim,
        "num_layers": cfg.num_layers, "layers": layers, "pools": pools,
        "contacts": bool(opts.contacts), "attentions": bool(opts.attentions),
        "long": opts.long, "window": window,
        "overlap": preparer.overlap_for(window) if (window and opts.long == "window") else None,
        "dtype": str(dtype).replace("torch.", ""), "unknown": opts.unknown,
        "tokens_per_batch": tokens_per_batch, "lookahead": lookahead,
        "rank": rank, "world_size": world, "input": str(input_path), "finished": False,
        "stored_dtype": "float32",
    }

    # 3. what the output already holds (read only)
    done = _Done()
    if existing and opts.resume:
        batch_diffs = check_compatible(old_meta, metadata, target)
        done.read(make_store(target, opts.storage))
        if batch_diffs and opts.progress:
            print(f"rnalm embed: warning: {', '.join(batch_diffs)} differ from the interrupted run; new records "
                  f"are batched differently (same embeddings up to float rounding)", file=sys.stderr)

    # 4. validate the whole input before creating or changing any output
    def records():
        return iter_records(input_path, opts.input_format, opts.id_column, opts.seq_column)

    n_mine, n_mine_done = _validate(records(), input_path, preparer, done, rank, world, target)

    # 5. open the output for writing
    if existing and opts.overwrite:
        remove_output(target)
    store = make_store(target, opts.storage)
    dropped = 0
    if existing and opts.resume:
        dropped = store.resume(metadata)
    else:
        store.create(metadata)

    # 6. embed
    specials = int(alphabet.prepend_bos) + int(alphabet.append_eos)
    attn_cost = cfg.num_layers * cfg.attention_heads * 4 if (opts.contacts or opts.attentions) else 0

    def work():
        for rec in records():
            if rec.index % world != rank:
                continue
            meta, ids = preparer.meta(rec)
            yield meta, preparer.items(meta, ids)

    assembler = Assembler(layers, set(pools), opts.contacts, opts.attentions)
    progress = _progress(n_mine, n_mine_done, opts.progress)
    n_embedded = n_tokens = 0
    t_work = time.perf_counter()
    writer = BackgroundWriter(store)
    try:
        with cpu_kernels(device, dtype):
            for batch in plan_batches(work(), tokens_per_batch, lookahead, specials, attn_cost,
                                      ATTENTION_BUDGET_BYTES):
                todo = {i for i, m in batch.records.items() if m.id not in done.ids}
                if not todo:  # every record of this batch is already in the output
                    continue
                finished = _embed_batch(model, alphabet, batch, todo, assembler, layers, pools, opts, device)
                n_tokens += sum(len(it.ids) + specials for it in batch.items if it.record in todo)
                writer.submit(finished)
                n_embedded += len(finished)
                if progress is not None:
                    progress.update(len(finished))
                    elapsed = max(time.perf_counter() - t_work, 1e-9)
                    progress.set_postfix_str(f"{n_tokens / elapsed:,.0f} tok/s", refresh=False)
        writer.close()
        work_seconds = time.perf_counter() - t_work
        if len(assembler):
            raise RuntimeError(f"{len(assembler)} windowed records were left incomplete (a bug)")
        seconds = time.perf_counter() - t_start
        store.finish({"n_records": n_mine, "n_embedded": n_embedded + n_mine_done, "seconds_last_run": seconds})
    finally:
        try:
            writer.close()
        except BaseException:
            pass
        store.close()
        if progress is not None:
            progress.close()
    summary = EmbedSummary(target, n_mine, n_embedded, n_mine_done, n_tokens, time.perf_counter() - t_start,
                           work_seconds, dropped, rank=rank, world_size=world)
    if opts.merge and world > 1:
        summary.merged = _merge_after_barrier(output, rank)
    return summary


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
    torch.backends.mkldnn.enabled = False
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = before


class _Done:
    """Ids already complete in the output, and (id, sequence digest) pairs to catch changed inputs."""

    def __init__(self) -> None:
        self.ids = IdSet()
        self.pairs = IdSet()

    def read(self, store: Store) -> None:
        try:
            for a in store.complete_records():
                self.ids.add(a["id"])
                self.pairs.add(f"{a['id']}\0{a.get('sequence_hash', '')}")
        finally:
            store.close()


def _validate(records, input_path: Path, preparer: Preparer, done: _Done, rank: int, world: int,
              target: Path) -> tuple[int, int]:
    """One streaming pass over the whole input: every error surfaces before any output changes.

    Returns this rank's record count and how many of them the output already holds.
    """
    n_mine = n_mine_done = 0
    for rec in unique_ids(records, input_path):
        meta, _ = preparer.meta(rec)
        if meta.id in done.ids and f"{meta.id}\0{meta.sequence_hash}" not in done.pairs:
            raise OutputError(f"record {meta.id!r}: {target} holds an embedding of a different sequence under "
                              f"this id; use a new output path or --overwrite")
        if rec.index % world == rank:
            n_mine += 1
            n_mine_done += meta.id in done.ids
    return n_mine, n_mine_done


def _embed_batch(model: torch.nn.Module, alphabet: Alphabet, batch: Any, todo: set[int], assembler: Assembler,
                 layers: list[int], pools: list[str], opts: EmbedOptions, device: torch.device) -> list:
    """One forward pass; returns the records it completes (windowed records may need several batches)."""
    tokens = batch_tensor(batch.items, alphabet).to(device, non_blocking=True)
    with torch.inference_mode():
        out = model(tokens, repr_layers=layers, return_contacts=opts.contacts,
                    need_head_weights=opts.attentions, return_logits=False)
        windowed = {i for i, m in batch.records.items() if m.windows > 1}
        results = extract(out, batch.items, layers, set(pools), int(alphabet.prepend_bos), windowed)
    finished = []
    for res in results:
        if res.item.record in todo:
            rec_out = assembler.add(batch.records[res.item.record], res)
            if rec_out is not None:
                finished.append(rec_out)
    return finished


def _progress(total: int, initial: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="seq", file=sys.stderr, dynamic_ncols=True, mininterval=0.5,
                desc="embed")


def _merge_after_barrier(output: Path, rank: int) -> Optional[Path]:
    """Wait for every rank (gloo barrier), then rank 0 merges the parts."""
    from datetime import timedelta

    import torch.distributed as dist

    from rnalm.embed.merge import merge_parts

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
