"""Every data loader, by its ``data.loader`` name, and :func:`load_data`, which runs the chosen one."""

from __future__ import annotations

from typing import Callable

from rnalm.finetune.data.homology import group_summary, shared_kmer_groups
from rnalm.finetune.data.loaders import (
    DataBundle,
    load_cao,
    load_generic,
    load_lamar,
    load_nrc,
    load_sample_random50,
    load_sample_snv,
    load_sample_varlen,
)
from rnalm.finetune.structure.data import load_structures
from rnalm.runs.config import DataConfig
from rnalm.runs.errors import ConfigError

Loader = Callable[[DataConfig, str], DataBundle]

LOADERS: dict[str, Loader] = {
    "generic": load_generic,
    "lamar": load_lamar,
    "nrc": load_nrc,
    "sample2019_gsm3130435": load_sample_random50,
    "sample2019_gsm4084997": load_sample_varlen,
    "sample2019_snv": load_sample_snv,
    "cao": load_cao,
    "structure": load_structures,  # task=structure
}


def load_data(cfg: DataConfig, task: str) -> DataBundle:
    try:
        loader = LOADERS[cfg.loader]
    except KeyError:
        raise ConfigError(f"data.loader={cfg.loader!r} is not one of {sorted(LOADERS)}") from None
    if not cfg.train:
        raise ConfigError("data.train is required (the training file, or the file to cross-validate)")
    bundle = loader(cfg, task)
    if cfg.homology_kmer:
        tr = bundle.train
        tr.groups = shared_kmer_groups(tr.seqs, cfg.homology_kmer, tr.groups if tr.has_groups else None)
        bundle.notes.append(
            f"training rows grouped by shared {cfg.homology_kmer}-mers (data.homology_kmer): "
            f"{group_summary(tr.groups)}; hold-outs and folds keep groups whole"
        )
    return bundle


__all__ = ["LOADERS", "Loader", "load_data"]
