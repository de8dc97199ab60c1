"""The settings of an embedding run (the flags of ``rnalm embed``), their checks, and its summary."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import torch

from rnalm.embedding.outputs import POOLS, key
from rnalm.embedding.store import OutputError
from rnalm.errors import RnalmError, option
from rnalm.io.progress import summary
from rnalm.precision import Precision, resolve
from rnalm.training.device import resolve_device

#: Default padded tokens per batch: large batches keep CPU matrix multiplies efficient.
DEFAULT_TOKENS_PER_BATCH = {"cpu": 8192, "cuda": 65536}
#: Records read ahead and sorted by length for batching.
DEFAULT_LOOKAHEAD = 4096
#: Upper bound on the attention maps a batch may hold when contacts/attentions are requested.
ATTENTION_BUDGET_BYTES = 2 << 30


@dataclass
class EmbedOptions:
    """Settings of one embedding run (the CLI flags of ``rnalm embed``)."""

    layers: Optional[Sequence[Union[int, str]]] = None  # None: the last layer
    pools: Sequence[str] = ("mean",)
    output_format: str = "hdf5"  # hdf5, npy or pt (stored in the metadata as "storage")
    contacts: bool = False
    attentions: bool = False
    long: str = "window"
    window_overlap: Optional[int] = None
    tokens_per_batch: Optional[int] = None
    lookahead: Optional[int] = None  # None: DEFAULT_LOOKAHEAD, or the interrupted run's value on resume
    device: Optional[str] = None
    dtype: str = "auto"  # auto, float32, bfloat16 or float16 (GPU): see :mod:`rnalm.precision`
    threads: Optional[int] = None
    resume: bool = False
    overwrite: bool = False
    unknown: Optional[str] = None
    input_format: Optional[str] = None
    id_column: Optional[str] = None
    seq_column: Optional[str] = None
    #: progress bar: None shows it on a terminal or in a notebook, True always, False never (and no warnings)
    progress: Optional[bool] = None
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
    #: the arithmetic, as :meth:`rnalm.precision.Precision.summary` words it with its mode
    #: (``bfloat16 autocast (auto: ...)``)
    precision: str = ""

    def line(self) -> str:
        """The closing line: ``12 records in 3.1 s (3.9 records/s) -> out.h5``, then what was skipped."""
        part = f" (rank {self.rank} of {self.world_size})" if self.world_size > 1 else ""
        text = f"{summary(self.n_embedded, self.seconds)}{part} -> {self.merged or self.output}"
        extra = []
        if self.n_skipped:
            extra.append(f"{self.n_skipped} of {self.n_records} already complete")
        if self.dropped:
            extra.append(f"{self.dropped} half-written removed")
        text += f"; {', '.join(extra)}" if extra else ""
        return text + (f"; {self.precision}" if self.precision else "")


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
            raise RnalmError(f"{option('layers')}: {spec!r} is not a layer number") from None
        j = i + num_layers + 1 if i < 0 else i
        if not 0 <= j <= num_layers:
            raise RnalmError(
                f"{option('layers')}: {i} is out of range for a {num_layers}-layer model "
                f"(0..{num_layers}, or -1..-{num_layers + 1})"
            )
        out.append(j)
    return sorted(set(out))


def resolve_pools(pools: Sequence[str]) -> list[str]:
    out = []
    for p in pools:
        q = p.strip().lower().replace("-", "_")
        if q in ("per_token", "token", "tokens"):
            q = "per_token"
        if q not in POOLS:
            raise RnalmError(f"{option('pool')}: {p!r} is not one of per-token, mean, cls")
        if q not in out:
            out.append(q)
    if not out:
        raise RnalmError(f"{option('pool')}: give at least one of per-token, mean, cls")
    return out


def select_key(
    layer: Union[int, str], pool: str, num_layers: int, layers: Sequence[int], pools: Sequence[str], source: str
) -> str:
    """The output key (``layer_12/mean``) of one ``layer`` (negatives count from the end) and ``pool``
    among the ``layers`` and ``pools`` that ``source`` (an output path, or the run) holds."""
    j = resolve_layers([layer], num_layers)[0]
    q = resolve_pools([pool])[0]
    if j not in layers or q not in pools:
        held = ", ".join(key(x, p) for x in layers for p in pools)
        raise RnalmError(
            f"{source}: holds {held}, not layer {layer} ({key(j, q)}); embed again with {option('layers')} "
            f"and {option('pool')} naming it"
        )
    return key(j, q)


def check_compute_options(opts: EmbedOptions, world: int = 1) -> tuple[list[str], torch.device, Precision]:
    """The pools, device and arithmetic (:class:`rnalm.precision.Precision`, float16 offered on a GPU)
    of a run, and its batching numbers checked: before loading a model."""
    pools = resolve_pools(opts.pools)
    if opts.tokens_per_batch is not None and opts.tokens_per_batch < 1:
        raise RnalmError(f"{option('tokens_per_batch')} must be positive, got {opts.tokens_per_batch}")
    if opts.lookahead is not None and opts.lookahead < 1:
        raise RnalmError(f"{option('lookahead')} must be positive, got {opts.lookahead}")
    device = resolve_device(
        opts.device,
        world,
        setting=option("device"),
        no_cuda=f"{option('device', opts.device or 'cuda')}: no CUDA GPU is available to this process",
    )
    return pools, device, resolve(opts.dtype, device, float16=True)


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
