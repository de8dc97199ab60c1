"""Embeddings held in memory: the model-running part of ``rnalm embed`` without an output file.

:func:`embed_records` runs records through the same steps as :func:`~rnalm.embedding.embed_file`
-- model setup, the same deterministic token-budget batches, windows for long sequences, the
same pooling -- and keeps each record's arrays instead of writing them, so the Python API
(:func:`rnalm.embed`) returns exactly the vectors the command stores for the same inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Union

import numpy as np
import torch

from rnalm.alphabet import Alphabet
from rnalm.embedding.batching import plan_batches
from rnalm.embedding.loop import Collector, cpu_kernels, embed_batches
from rnalm.embedding.options import ATTENTION_BUDGET_BYTES, EmbedOptions, check_compute_options, select_key
from rnalm.embedding.outputs import Assembler, RecordOutput
from rnalm.embedding.plan import batching_settings, rank_work
from rnalm.embedding.setup import attention_cost, setup_model
from rnalm.io.progress import Progress
from rnalm.io.seqio import Record
from rnalm.numerics import reproducible


@dataclass
class EmbeddedRecords:
    """What :func:`embed_records` computed: one :class:`RecordOutput` per record, in input order."""

    records: list[RecordOutput]
    num_layers: int
    layers: list[int]
    pools: list[str]
    progress: Progress

    @property
    def ids(self) -> list[str]:
        return [r.meta.id for r in self.records]

    def arrays(self, layer: Union[int, str] = -1, pool: str = "mean") -> list[np.ndarray]:
        """Each record's array for ``layer`` (negatives count from the end) and ``pool``."""
        k = select_key(layer, pool, self.num_layers, self.layers, self.pools, "this run")
        return [r.arrays[k] for r in self.records]


def embed_records(
    model: Union[str, Path, torch.nn.Module],
    records: Iterable[Record],
    options: Optional[EmbedOptions] = None,
    alphabet: Optional[Alphabet] = None,
) -> EmbeddedRecords:
    """Embed ``records`` (ids unique, ``index`` their input position) in memory.

    ``model`` and ``alphabet`` as for :func:`~rnalm.embedding.embed_file`; of ``options`` the
    output settings (format, resume, overwrite, merge) do not apply. Every record is checked
    (letters, length against ``long``) before the first forward pass.
    """
    opts = options or EmbedOptions()
    pools, device, precision = check_compute_options(opts)
    reproducible()  # the same math as the command, so the vectors are the same
    em, _ = setup_model(model, alphabet, opts, pools, device, precision, {})
    todo = list(records)
    for rec in todo:
        em.preparer.meta(rec)
    tokens_per_batch, lookahead = batching_settings(opts, {}, device)
    batches = plan_batches(
        rank_work(todo, em.preparer, 0, 1),
        tokens_per_batch,
        lookahead,
        int(em.alphabet.prepend_bos) + int(em.alphabet.append_eos),
        attention_cost(em, opts),
        ATTENTION_BUDGET_BYTES,
    )
    assembler = Assembler(em.layers, set(pools), opts.contacts, opts.attentions)
    sink = Collector()
    with Progress(len(todo), "embed", show=opts.progress) as progress, cpu_kernels(device, precision.dtype):
        embed_batches(
            em.model,
            em.alphabet,
            batches,
            set(),
            assembler,
            em.layers,
            pools,
            opts.contacts,
            opts.attentions,
            device,
            sink,
            progress,
            precision.autocast,
        )
    done = sorted(sink.records, key=lambda r: r.meta.index)
    return EmbeddedRecords(done, em.config.num_layers, em.layers, pools, progress)
