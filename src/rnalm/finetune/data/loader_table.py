"""Every data loader, by its ``data.loader`` name, and :func:`load_data`, which runs the chosen one."""

from __future__ import annotations

import dataclasses
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
from rnalm.runs.table import Records

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
    loader = _loader(cfg.loader, "data.loader")
    if not cfg.train:
        raise ConfigError("data.train is required (the training file, or the file to cross-validate)")
    bundle = loader(cfg, task)
    if cfg.extra_train:
        bundle.extra_train = _extra_training_rows(cfg, task, bundle.notes)
    if cfg.homology_kmer:
        tr = bundle.train
        tr.groups = shared_kmer_groups(tr.seqs, cfg.homology_kmer, tr.groups if tr.has_groups else None)
        bundle.notes.append(
            f"training rows grouped by shared {cfg.homology_kmer}-mers (data.homology_kmer): "
            f"{group_summary(tr.groups)}; hold-outs and folds keep groups whole"
        )
    return bundle


def _loader(name: str, where: str) -> Loader:
    try:
        return LOADERS[name]
    except KeyError:
        raise ConfigError(f"{where}={name!r} is not one of {sorted(LOADERS)}") from None


def _extra_training_rows(cfg: DataConfig, task: str, notes: list[str]) -> Records:
    """Each ``data.extra_train`` file read as ``data.train`` would be, with its own loader and options
    where the entry names them (:meth:`DataConfig.extra_sources`)."""
    parts = []
    for i, source in enumerate(cfg.extra_sources()):
        loader = _loader(source.loader, f"data.extra_train[{i}].loader")
        one = dataclasses.replace(
            cfg, loader=source.loader, options=source.options, train=source.path, valid=None, test=None, extra_train=[]
        )
        extra = loader(one, task)
        notes.extend(extra.notes)
        notes.append(f"data.extra_train {source.path}: {len(extra.train)} rows, training only")
        parts.append(extra.train)
    return Records.join(parts)


__all__ = ["LOADERS", "Loader", "load_data"]
