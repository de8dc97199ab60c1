"""``task: structure`` in ``rnalm finetune``: base-pair maps, trained by the shared runner and trainer.

The fine-tuning runner writes the run directory (config, weights, ``trainer_state.json``, metrics,
predictions, learning curves), splits, folds, resumes and stops early for every task alike; this
module supplies only what is particular to ``L x L`` targets:

* **data**: the ``structure`` loader (:mod:`rnalm.finetune.structure.data`; chosen automatically), whose
  labels are :class:`~rnalm.structure.pairs.Structure` objects;
* **model**: ``head.type: pairwise`` (chosen automatically) -- the 2-D residual
  :class:`~rnalm.runs.pairwise_head.PairwiseHead` on one-hot nucleotides (``backbone.name: none``) or
  on a language model's per-nucleotide embeddings (plus the one-hot with ``head.onehot``, plus
  every attention map with ``structure.attention``, plus ViennaRNA's base-pair probability map with
  ``structure.vienna_bpp``, :mod:`rnalm.structure.bpp`); frozen, full or LoRA backbones as for other tasks;
* **targets**: a batch is a ``(B, L, L)`` 0/1 map holding -1 outside each sequence, so the loss
  finds the real cells without a separate mask;
* **batches**: length buckets of at most ``structure.cells_per_batch`` cells (batch size x longest
  length squared) -- a 2-D network's memory grows with ``L^2``, not with the number of sequences;
* **loss**: masked binary cross-entropy over the cells ``i < j`` with ``structure.pos_weight``;
* **metrics**: per-sequence precision / recall / F1 / MCC (and the shifted F1 under its own keys)
  of the structure after ``rnalm fold``'s default post-processing (probability > 0.5, no hairpin
  shorter than 3, greedy one partner per base), averaged over sequences; model selection and early
  stopping use the validation ``f1``;
* **threshold**: with ``structure.select_threshold`` the pair threshold is chosen on the training
  sequences once the best weights are loaded (:mod:`rnalm.structure.threshold`); the valid / test
  metrics and predictions then use it, and the figures at 0.5 stay under ``<metric>_t050`` keys;
* **predictions.csv**: true (``label``) and predicted dot-brackets and per-sequence scores;
* **rnalm fold --model RUN_DIR**: :func:`rnalm.runs.structure_model.load_run_model`.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from rnalm.runs import plots
from rnalm.runs.config import FinetuneConfig, StructureConfig, TrainConfig
from rnalm.runs.errors import ConfigError, DataError
from rnalm.runs.pair_batching import length_buckets
from rnalm.runs.pair_loss import masked_bce_loss
from rnalm.runs.pairwise_head import PAD_LOGIT
from rnalm.runs.table import Records
from rnalm.runs.task_base import LabelState, Task
from rnalm.structure.metrics import evaluate, score_pairs
from rnalm.structure.pairs import Structure, pairs_to_dot_bracket
from rnalm.structure.plots import f1_by_length
from rnalm.structure.postprocess import postprocess
from rnalm.structure.predict import PostprocessOptions
from rnalm.structure.threshold import SUFFIX_T050, THRESHOLD_GRID, choose_threshold, make_record

#: Post-processing behind every reported metric (``rnalm fold``'s defaults).
POSTPROCESS = PostprocessOptions()
#: Evaluation batches may hold this many times ``structure.cells_per_batch`` (no activations kept for backward).
EVAL_CELLS_FACTOR = 4
METRICS = ("f1", "precision", "recall", "mcc", "f1_shifted", "precision_shifted", "recall_shifted", "f1_pooled")


# ------------------------------------------------------------------------------------ task
def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))


def pair_map_loss(out: torch.Tensor, y: torch.Tensor, pos_weight: float) -> torch.Tensor:
    """Masked BCE; ``y`` holds -1 outside each sequence (see :meth:`StructureTask.collate_targets`)."""
    return masked_bce_loss(out, y.clamp(min=0), y[:, :, 0] >= 0, pos_weight)


class StructureTask(Task):
    name = "structure"
    own_heads = ("pairwise",)

    def __init__(self, settings: Optional[StructureConfig] = None) -> None:
        #: the run's ``structure`` section (loss weight, batch budget); defaults without a run.
        self.settings = settings or StructureConfig()

    @classmethod
    def from_config(cls, cfg: FinetuneConfig) -> "StructureTask":
        return cls(cfg.structure)

    @classmethod
    def check_config(cls, cfg: FinetuneConfig) -> None:
        if cfg.data.loader == "generic":
            cfg.data.loader = "structure"
        if cfg.data.loader != "structure":
            raise ConfigError(
                f"task=structure reads structure files (data.loader=structure), not data.loader={cfg.data.loader!r}"
            )
        if cfg.head.type == "mlp":  # the default of sequence-level tasks
            cfg.head.type = "pairwise"
        if cfg.head.type not in cls.own_heads:
            raise ConfigError(f"task=structure needs head.type=pairwise, not {cfg.head.type!r}")
        if cfg.backbone.kind == "features":
            raise ConfigError("backbone.name=features has no per-nucleotide features; use none or a language model")
        if cfg.data.truncate != "error":
            raise ConfigError(
                "task=structure cannot truncate sequences (the structure would be cut); "
                "use data.max_length to skip long ones"
            )
        if cfg.train.loss not in ("auto", "bce"):
            raise ConfigError(f"train.loss={cfg.train.loss!r} does not apply to structure (use bce)")
        if cfg.structure.attention and cfg.backbone.kind != "lm":
            raise ConfigError("structure.attention=true reads a language model's attention maps; set backbone.name")

    # ------------------------------------------------------------ labels
    def fit(self, train: Records, label_column: str, transform: str, standardize: bool) -> LabelState:
        self._structures(train)
        if not len(train):
            raise DataError("no training structures")
        if not any(s.pairs for s in train.labels):
            raise DataError(f"none of the {len(train)} training structures has a base pair: nothing to learn")
        return LabelState(self.name, label_column="structure")

    @staticmethod
    def _structures(recs: Records) -> list[Structure]:
        for s, seq, w in zip(recs.labels, recs.seqs, recs.where):
            if not isinstance(s, Structure):
                raise DataError(f"{w}: task=structure needs structures as labels (data.loader=structure)")
            if len(s) != len(seq):
                raise DataError(f"{w}: sequence of {len(seq)} nt but structure of {len(s)}")
        return list(recs.labels)

    def targets(self, recs: Records, state: LabelState) -> np.ndarray:
        structs = self._structures(recs)
        out = np.empty(len(structs), dtype=object)
        for k, s in enumerate(structs):
            out[k] = s
        return out

    def label_values(self, targets: np.ndarray, state: LabelState) -> np.ndarray:
        return np.asarray([s.dot_bracket() for s in targets], dtype=object)

    def out_dim(self, state: LabelState) -> int:
        return 1

    # ------------------------------------------------------------ training
    def loss_fn(self, name: str, huber_delta: float):
        if name not in ("auto", "bce"):
            raise ConfigError(f"train.loss={name!r} does not apply to structure (use bce)")
        return partial(pair_map_loss, pos_weight=1.0)

    def train_loss(self, cfg: TrainConfig):
        self.loss_fn(cfg.loss, cfg.huber_delta)
        return partial(pair_map_loss, pos_weight=self.settings.pos_weight)

    def collate_targets(self, targets: list) -> torch.Tensor:
        length = max(len(s) for s in targets)
        y = torch.full((len(targets), length, length), -1.0)
        for b, s in enumerate(targets):
            y[b, : len(s), : len(s)] = 0.0
            if s.pairs:
                ij = torch.tensor(s.pairs, dtype=torch.long)
                y[b, ij[:, 0], ij[:, 1]] = 1.0
                y[b, ij[:, 1], ij[:, 0]] = 1.0
        return y

    def batch_plan(self, lengths: Sequence[int], cfg: TrainConfig, train: bool, seed: int) -> list[list[int]]:
        if train:
            return length_buckets(lengths, self.settings.cells_per_batch, cfg.batch_size, shuffle=True, seed=seed)
        return length_buckets(lengths, EVAL_CELLS_FACTOR * self.settings.cells_per_batch, cfg.eval_batch_size)

    def concat_outputs(self, outputs: list[torch.Tensor]) -> np.ndarray:
        """Per sequence its ``(L, L)`` logits, cut out of its padded batch (padding is ``PAD_LOGIT``
        and only ever on the right)."""
        out = np.empty(len(outputs), dtype=object)
        for k, o in enumerate(outputs):
            x = o[0]
            n = int((x.diagonal() != PAD_LOGIT).sum())
            out[k] = x[:n, :n].numpy().copy()
        return out

    # ------------------------------------------------------------ decision threshold
    #: the threshold record in use (:mod:`rnalm.structure.threshold`); None = the fixed 0.5.
    decision: Optional[dict] = None

    @property
    def options(self) -> PostprocessOptions:
        if self.decision is None:
            return POSTPROCESS
        return replace(POSTPROCESS, threshold=float(self.decision["threshold"]))

    def use_decision(self, record: Optional[dict]) -> None:
        self.decision = record

    def select_decision(
        self,
        targets: np.ndarray,
        outputs: np.ndarray,
        state: LabelState,
        *,
        n_train: int,
        seed: int,
        max_sequences: Optional[int],
        how: str,
    ) -> dict:
        """The threshold record chosen on these (training) targets and raw outputs."""
        p = POSTPROCESS
        choice = choose_threshold(
            [_sigmoid(o) for o in outputs],
            [s.pairs for s in targets],
            THRESHOLD_GRID,
            p.min_loop,
            p.canonical_only,
            p.one_partner,
        )
        return make_record(
            choice, len(targets), n_train, seed, max_sequences, p.min_loop, p.canonical_only, p.one_partner, how
        )

    # ------------------------------------------------------------ evaluation
    def predicted_pairs(
        self, outputs: np.ndarray, options: Optional[PostprocessOptions] = None
    ) -> list[list[tuple[int, int]]]:
        p = options or self.options
        return [
            postprocess(_sigmoid(o), None, p.threshold, p.min_loop, p.canonical_only, p.one_partner) for o in outputs
        ]

    def default_metric(self, state: LabelState) -> str:
        return "f1"

    def metric_names(self, state: LabelState) -> list[str]:
        return list(METRICS)

    def metrics(self, targets, outputs, state) -> dict:
        out = self._metrics(targets, outputs, self.options)
        if self.decision is not None:  # keep the figures at the default 0.5 visible next to them
            out["threshold"] = float(self.decision["threshold"])
            at050 = self._metrics(targets, outputs, POSTPROCESS)
            out.update({f"{k}{SUFFIX_T050}": at050[k] for k in METRICS})
        return out

    def _metrics(self, targets, outputs, options: PostprocessOptions) -> dict:
        r = evaluate(self.predicted_pairs(outputs, options), [s.pairs for s in targets], [len(s) for s in targets])
        out: dict = {k: r[f"{k}_seq_mean"] for k in METRICS if k != "f1_pooled"}
        out["f1_pooled"] = r["f1_pooled"]
        out["n"] = r["n_sequences"]
        return out

    def decode(self, outputs, state) -> dict[str, np.ndarray]:
        preds = self.predicted_pairs(outputs)
        return {
            "prediction": np.asarray([pairs_to_dot_bracket(p, len(o)) for p, o in zip(preds, outputs)], dtype=object),
            "n_pairs_pred": np.asarray([len(p) for p in preds]),
        }

    def prediction_columns(self, targets, outputs, state) -> dict[str, np.ndarray]:
        preds = self.predicted_pairs(outputs)
        scores = [score_pairs(p, s.pairs, len(s)) for p, s in zip(preds, targets)]
        cols: dict[str, np.ndarray] = {
            "prediction": np.asarray([pairs_to_dot_bracket(p, len(s)) for p, s in zip(preds, targets)], dtype=object),
            "length": np.asarray([len(s) for s in targets]),
            "n_pairs_true": np.asarray([len(s.pairs) for s in targets]),
            "n_pairs_pred": np.asarray([len(p) for p in preds]),
        }
        for k in ("f1", "precision", "recall", "mcc", "f1_shifted"):
            cols[k] = np.asarray([getattr(sc, k) for sc in scores], dtype=np.float64)
        return cols

    def plot(self, name, targets, outputs, state, out_dir: Path, metrics) -> list[str]:
        if not plots.available():
            return []
        preds = self.predicted_pairs(outputs)
        f1 = [score_pairs(p, s.pairs, len(s)).f1 for p, s in zip(preds, targets)]
        path = Path(out_dir) / f"f1_length_{name}.png"
        f1_by_length([len(s) for s in targets], f1, path, name)
        return [path.name]


__all__ = ["POSTPROCESS", "StructureTask", "pair_map_loss"]
