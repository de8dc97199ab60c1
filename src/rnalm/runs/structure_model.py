"""A trained structure run (``rnalm finetune``, ``task: structure``) as ``rnalm fold``'s probability model.

The model is rebuilt exactly as the runner built it (:func:`rnalm.runs.builder.build_model`
from the run's resolved ``config.yaml``), so training and folding cannot drift apart. A
language-model backbone is taken from the path recorded in ``run_info.json`` (else the config's
``backbone.name``) and must have the weights the run was trained on (sha256), or the run is refused
with an error saying so. A cross-validated run averages the probability maps of its fold models.
Frozen embeddings and, for runs trained with ``structure.vienna_bpp``, ViennaRNA base-pair
probabilities (under the run's ``structure.vienna_params``) are computed per call and not cached on
disk: folding does not write into the caches
(``use_cache=True``, for :mod:`rnalm.finetune.structure.calibrate`, reads and fills the run's caches as
training did).

A run may record a pair threshold chosen on its training split (``postprocess.json``,
:mod:`rnalm.structure.threshold`): :attr:`RunModel.threshold_record`; ``rnalm fold --model`` uses it
unless ``--threshold`` is given. A cross-validated run's top-level record holds the mean of its
fold thresholds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch

from rnalm import hub, shipped
from rnalm.api import load
from rnalm.errors import RnalmError
from rnalm.io.arrayfiles import read_safetensors
from rnalm.io.digest import state_sha256
from rnalm.model.encoder import RNAEncoder
from rnalm.precision import Precision
from rnalm.precision import resolve as resolve_precision
from rnalm.runs.backbones import FrozenFeatures, LMBackbone
from rnalm.runs.builder import build_model, head_needs
from rnalm.runs.config import ConfigError, FinetuneConfig, expand_path
from rnalm.runs.config_file import load_finetune_config
from rnalm.runs.embedding_cache import EmbeddingCache, default_cache_dir
from rnalm.runs.model import run_device, to_device
from rnalm.runs.pair_batching import length_buckets
from rnalm.runs.rundir import CONFIG_FILE, INFO_FILE, WEIGHTS_FILE, RunDir
from rnalm.runs.sequences import default_alphabet, prepare
from rnalm.runs.task_base import Task
from rnalm.runs.tasks import get_task
from rnalm.runs.threads import inference_threads, threads_beside
from rnalm.structure.bpp import PairProbabilities, available_cores, spare_cores
from rnalm.structure.threshold import read_record

#: The longest record a structure run without a language model folds (a backbone's own maximum
#: length bounds the others): its 2-D head holds ``channels x L x L`` activations, 134 MB per
#: 32-channel float32 map at 1,024 nt but 12.8 GB at 10,000 nt, and ViennaRNA's base-pair
#: probabilities cost O(L^3) per map. Longer records get ``rnalm fold``'s ``--long`` policy.
NO_BACKBONE_WINDOW = 1024
#: Pair cells (``batch x L^2``) per model call when folding: 16 MiB per ``B x 32 x L x L`` float32
#: tensor of the shipped head, small enough for the allocator to reuse its memory between batches
#: (larger batches were no faster per cell and page-faulted more)
INFERENCE_CELLS = 2**17
#: sequence lengths -> batches of indices
Planner = Callable[[list[int]], list[list[int]]]


def _model_dirs(run_dir: Path, info: dict) -> list[Path]:
    dirs = RunDir(run_dir).model_dirs(info)
    for d in dirs:
        if not d.weights.is_file():
            raise RnalmError(
                f"{d.path}: no {WEIGHTS_FILE}; the training did not finish (resume it with "
                f"`rnalm finetune --resume -o {run_dir}`)"
            )
    return [d.path for d in dirs]


def _load_backbone(run_dir: Path, cfg: FinetuneConfig, info: dict, device: torch.device):
    saved = info.get("backbone") or {}
    try:
        name = expand_path(cfg.backbone.name)
    except ConfigError:
        name = None
    path = next((p for p in (saved.get("path"), name) if p and Path(p).exists()), None)
    where = saved.get("path") or cfg.backbone.name
    if path is None:
        if name is None or not _registered(name):
            raise RnalmError(
                f"{run_dir}: the run's backbone {where} is not there any more; put the checkpoint "
                f"back at that path (the run needs weights sha256 {str(saved.get('sha256'))[:16]}...)"
            )
        path = name  # a registered checkpoint name: from the local cache, downloaded when missing
    try:
        encoder, alphabet = load(path, device=device)
    except (RnalmError, OSError) as exc:
        raise RnalmError(f"{run_dir}: cannot load the run's backbone {where}: {exc}") from None
    sha = state_sha256(encoder)
    if saved.get("sha256") and sha != saved["sha256"]:
        raise RnalmError(
            f"{run_dir}: backbone {path} has weights sha256 {sha[:16]}..., but the run was "
            f"trained on {saved['sha256'][:16]}...; put the run's backbone back at {where}"
        )
    return encoder, alphabet, sha


def _registered(name: str) -> bool:
    if shipped.is_ref(name):  # a backbone shipped inside the package (rnalm.load resolves it)
        return True
    try:
        hub.get(name)
    except RnalmError:
        return False
    return True


def load_run_model(run_dir: str | Path, device: Optional[str] = None, dtype: Optional[str] = "float32") -> "RunModel":
    """The probability model of a trained structure run (``rnalm fold --model``), or a clear error."""
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise RnalmError(f"run directory {run_dir} does not exist")
    if not run_dir.is_dir():
        raise RnalmError(f"{run_dir} is not a directory; a structure run is the directory `rnalm finetune` wrote")
    info_path = run_dir / INFO_FILE
    if not info_path.is_file():
        raise RnalmError(
            f"{run_dir} is not a trained `rnalm finetune` run (no {INFO_FILE}); "
            f"train a structure model first (task: structure)"
        )
    try:
        task = json.loads(info_path.read_text(encoding="utf-8")).get("task")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as exc:
        raise RnalmError(f"{info_path}: unreadable run info ({exc})") from None
    if task != "structure":
        raise RnalmError(
            f"{run_dir} is a {task!r} run, not a secondary-structure model; "
            f"`rnalm fold --model` needs a run trained with task: structure"
        )
    model = RunModel.load(run_dir, device, dtype=dtype, bpp_workers=spare_cores())
    if model is None:
        raise RnalmError(
            f"{run_dir} is a structure run, but no structure model could be loaded from it (is the training finished?)"
        )
    return model


@dataclass
class LoadedRun:
    """What a structure run's fold models share: its config, task, backbone and feature providers."""

    cfg: FinetuneConfig
    task: Task
    run_dir: Path
    device: torch.device
    alphabet: Any = None
    encoder: Optional[RNAEncoder] = None
    sha256: Optional[str] = None
    frozen: Optional[FrozenFeatures] = None
    pair_probs: Optional[PairProbabilities] = None
    #: what the models compute in (``--dtype``)
    precision: Precision = Precision("float32", "asked")


class RunModel:
    """Callable: sequences (A/C/G/U/N) -> their ``(L, L)`` base-pair probability maps."""

    def __init__(
        self,
        run: LoadedRun,
        models: list,
        limit: Optional[int],
        info: Optional[dict] = None,
        dirs: Optional[list[Path]] = None,
    ) -> None:
        self.run = run
        self.models = models  # [(model, feature source)], one per fold
        self.limit = limit
        self.info = info or {}
        self.dirs = dirs or []  # the model directories (run dir, or fold_<i>/), aligned with models
        self.threshold_record = read_record(run.run_dir)
        self.precision = run.precision
        #: intra-op threads while the models run beside ViennaRNA workers (:mod:`rnalm.runs.threads`)
        pp = run.pair_probs
        self.threads = threads_beside(pp.workers if pp is not None else 0, available_cores())

    @classmethod
    def load(
        cls,
        run_dir: Path,
        device: Optional[str] = None,
        use_cache: bool = False,
        dtype: Optional[str] = "float32",
        bpp_workers: int = 0,
    ) -> Optional["RunModel"]:
        """``None`` when ``run_dir`` is not a structure run; an :class:`RnalmError` when it is one
        that cannot be used."""
        run = RunDir(run_dir)
        if not run.is_finished():
            raise RnalmError(f"{run_dir}: no {CONFIG_FILE} / {INFO_FILE}; not a finished `rnalm finetune` run")
        try:
            cfg = load_finetune_config(run.config)
        except ConfigError as exc:
            raise RnalmError(f"{run_dir}/{CONFIG_FILE}: {exc}") from None
        if cfg.task != "structure":
            return None
        info = run.read_info()
        dirs = _model_dirs(run_dir, info)
        loaded = LoadedRun(cfg, get_task("structure", cfg), run_dir, run_device(device or cfg.train.device))
        loaded.precision = resolve_precision(dtype, loaded.device)
        if cfg.backbone.kind == "lm":
            loaded.encoder, loaded.alphabet, loaded.sha256 = _load_backbone(run_dir, cfg, info, loaded.device)
        else:
            loaded.alphabet = default_alphabet()
        needs = head_needs(cfg, loaded.encoder)
        cache_root = None
        if use_cache and cfg.backbone.cache:
            cache_root = Path(expand_path(cfg.backbone.cache_dir)) if cfg.backbone.cache_dir else default_cache_dir()
        if "bpp" in needs:
            # an RnalmError saying the installation is incomplete when ViennaRNA is missing
            loaded.pair_probs = PairProbabilities(cache_root, bpp_workers, params=cfg.structure.vienna_params)
        if loaded.encoder is not None and cfg.backbone.mode == "frozen" and "attentions" not in needs:
            lmb = LMBackbone(loaded.encoder, loaded.alphabet, cfg.backbone.layer)
            cache = (
                EmbeddingCache(cache_root, loaded.sha256, lmb.layer)
                if cache_root is not None and loaded.sha256
                else None
            )
            loaded.frozen = FrozenFeatures(lmb, needs, cache, cfg.backbone.embed_batch_size, precision=loaded.precision)
        models = []
        for d in dirs:
            model, source = build_model(cfg, 1, loaded.encoder, loaded.alphabet, loaded.frozen, loaded.pair_probs)
            state = read_safetensors(RunDir(d).weights)
            try:
                model.load_saved_state(state)
            except (RuntimeError, OSError) as exc:
                raise RnalmError(f"{d / WEIGHTS_FILE}: does not fit the run's config: {exc}") from None
            models.append((model.to(loaded.device).eval(), source))
        a = loaded.alphabet
        limit = a.max_length * a.k_mer if a.max_length is not None else None
        if loaded.encoder is None:
            limit = NO_BACKBONE_WINDOW
        return cls(loaded, models, limit, info, dirs)

    def prefetch(self, sequences: Sequence[str]) -> None:
        """Start ViennaRNA on ``sequences`` (coming calls) in the provider's worker processes, so the
        base-pair probabilities are ready when the model reaches them."""
        if self.run.pair_probs is not None and sequences:
            self.run.pair_probs.prefetch(self._prepared(sequences))

    def _prepared(self, sequences: Sequence[str]) -> list[str]:
        ids = [f"sequence {k + 1}" for k in range(len(sequences))]
        # rnalm fold accepts N (never paired): a language model without N reads <mask> there
        return prepare(sequences, ids, ids, self.run.alphabet, "error", None, "mask")

    #: a call takes records up to this many pair cells (sum of ``L^2``; 32 MiB of float32 maps):
    #: ``rnalm fold`` hands the model windows of the file this size, which it sorts by length
    call_cells = 2**23

    def __call__(self, sequences: Sequence[str]) -> list[np.ndarray]:
        """Probability maps, averaged over the run's fold models: batches of similar lengths within
        :data:`INFERENCE_CELLS` cells, under :func:`torch.inference_mode` (the pairwise head's
        inference layout: equal to the training path's maps up to float rounding)."""
        with torch.inference_mode():
            maps = self._run(sequences, self.models, torch.sigmoid, lambda n: length_buckets(n, INFERENCE_CELLS))
        return [p / len(self.models) for p in maps]

    def outputs(self, sequences: Sequence[str], index: int = 0) -> list[np.ndarray]:
        """Raw ``(L, L)`` logits of model ``index`` alone (a fold model; what the trainer's
        ``predict`` gives, batched and computed as evaluation computes them), e.g. to recompute a
        fold's metrics."""
        with torch.no_grad():
            return self._run(sequences, [self.models[index]], lambda x: x, self._eval_plan)

    def _eval_plan(self, lengths: list[int]) -> list[list[int]]:
        plan = self.run.task.batch_plan(lengths, self.run.cfg.train, False, 0)
        assert plan is not None, "the structure task plans its own batches"
        return plan

    def _run(self, sequences: Sequence[str], models: list, fn, planner: Planner) -> list[np.ndarray]:
        with inference_threads(self.threads), self.precision.autocast():
            return self._run_models(sequences, models, fn, planner)

    def _run_models(self, sequences: Sequence[str], models: list, fn, planner: Planner) -> list[np.ndarray]:
        ids = [f"sequence {k + 1}" for k in range(len(sequences))]
        for rid, s in zip(ids, sequences):
            if self.limit is not None and len(s) > self.limit:
                raise RnalmError(
                    f"a sequence of {len(s)} nt is longer than the run's backbone accepts "
                    f"({self.limit} nt); `rnalm fold` and rnalm.fold() fold such records with ViennaRNA"
                )
        seqs = self._prepared(sequences)
        plan = planner([len(s) for s in seqs])
        if self.run.pair_probs is not None:
            self.run.pair_probs.clear()
            self.run.pair_probs.prefetch(seqs[i] for idx in plan for i in idx)  # in the order batches need them
        if self.run.frozen is not None:
            self.run.frozen.tokens.clear()
            self.run.frozen.pooled.clear()
            self.run.frozen.ensure(seqs)
        probs = [np.zeros((len(s), len(s)), dtype=np.float32) for s in seqs]
        # batch by batch, every model on it: an ensemble's later models run while the ViennaRNA
        # workers still fold the next batches (model by model, they would run after all folding)
        for idx in plan:
            for model, source in models:
                out = fn(model(to_device(source([seqs[i] for i in idx]), self.run.device)).float()).cpu().numpy()
                for r, i in enumerate(idx):
                    n = len(seqs[i])
                    probs[i] += out[r, :n, :n]
        return probs


__all__ = ["LoadedRun", "RunModel", "load_run_model"]
