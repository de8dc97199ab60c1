"""The fine-tuning configuration: one YAML file, every key overridable as ``section.key=value``.

The sections mirror the questions a run has to answer: what data (``data``), which representation
(``backbone``), which predictor on top (``head``), how to train (``train``) and how to split (``cv``).
Types are checked strictly by the schema the annotations make (:mod:`rnalm.schema`: ``"false"`` is
not a bool, an unknown key suggests the nearest one), ranges and combinations by ``validate`` below,
once, so a typo or an impossible combination fails before any data is read; the resolved config is
written into the run directory and is all ``rnalm predict`` needs.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence, overload

from pydantic import with_config

from rnalm.configfile import ConfigError, to_yaml
from rnalm.precision import CHOICES as DTYPES
from rnalm.schema import STRICT, check_fields
from rnalm.structure.vienna import DEFAULT_ENERGY_PARAMETERS, ENERGY_PARAMETERS

#: ``data.homology_kmer`` lengths allowed (2 bits a letter in one uint64; shorter k-mers join unrelated sequences).
MIN_K, MAX_K = 8, 32

LABEL_TRANSFORMS = ("none", "log", "log2", "log10", "log1p")
TRUNCATE_MODES = ("error", "keep_5prime", "keep_3prime")
MODES = ("frozen", "full", "lora")
LOSSES = ("auto", "mse", "huber", "ce", "bce")
SCHEDULERS = ("linear", "constant", "cosine")


def _choice(where: str, value: Any, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ConfigError(f"{where}={value!r} is not one of {list(allowed)}")


def _positive(where: str, value: Any, allow_zero: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        raise ConfigError(f"{where}={value!r} must be a {'non-negative' if allow_zero else 'positive'} number")


def _int(where: str, value: Any, minimum: int = 0) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigError(f"{where}={value!r} must be an integer >= {minimum}")


def _kmer(where: str, value: Any) -> None:
    _int(where, value, MIN_K)
    if value > MAX_K:
        raise ConfigError(f"{where}={value!r} must be at most {MAX_K}")


@dataclass
class DataConfig:
    """Where the labelled sequences come from and how labels are prepared.

    ``loader`` picks a reader from :data:`rnalm.finetune.data.LOADERS` (``generic`` reads any
    CSV/TSV/FASTA with the named columns; the others know a published layout). ``train`` is the
    file used for training or, with ``cv.folds``, the single file that is cross-validated.
    """

    loader: str = "generic"
    train: Optional[str] = None
    valid: Optional[str] = None
    test: Optional[str] = None
    #: more files whose rows only ever train: they join the training side after the hold-out or the
    #: folds are drawn from ``train`` (so validation rows stay the same with or without them), less
    #: every row whose sequence is a validation or test row's. An entry is a path, read by this
    #: section's loader and options, or ``{path: ..., loader: ..., options: {...}}`` for a file of
    #: another layout (e.g. Cao et al.'s library beside LAMAR's CSV): its loader and options replace
    #: this section's for that file only (:meth:`extra_sources`).
    extra_train: list[Any] = field(default_factory=list)
    #: also leave out the ``extra_train`` rows that share an exact k-mer of this length with a
    #: validation or test row (relatives of held-out rows; see ``homology_kmer``). Not used to split.
    extra_train_kmer: Optional[int] = None
    #: csv, tsv or fasta; None = from the file extension (``.gz`` allowed).
    format: Optional[str] = None
    seq_column: str = "seq"
    label_column: str = "label"
    id_column: Optional[str] = None
    #: rows sharing a group value stay in the same fold / split (e.g. a variant and its wild type).
    group_column: Optional[str] = None
    #: join training rows that share an exact k-mer of this length into one group (single linkage;
    #: see :mod:`rnalm.finetune.data.homology`), so hold-outs and folds test unseen families.
    homology_kmer: Optional[int] = None
    #: FASTA only: which whitespace-separated header field (0 = the id) holds the label.
    fasta_label_field: int = 1
    label_transform: str = "none"
    #: regression: z-score labels with the training split's mean and std; predictions are mapped back.
    standardize: bool = False
    #: fraction of ``train`` held out for validation when there is no ``valid`` file and no CV.
    valid_fraction: float = 0.1
    #: sequences longer than the backbone (or ``max_length``) accepts: error, or keep one end.
    truncate: str = "error"
    max_length: Optional[int] = None
    #: loader-specific settings (e.g. ``cell_line`` for ``cao``); each loader checks its own keys.
    options: dict[str, Any] = field(default_factory=dict)
    #: IUPAC letters the backbone's alphabet lacks (e.g. N for UTR-LM's A/C/G/T): None = an error
    #: naming the record and position; ``mask`` = the language model reads ``<mask>`` there, while
    #: one-hot input and ViennaRNA still see the letter.
    unknown: Optional[str] = None

    def validate(self) -> None:
        _choice("data.label_transform", self.label_transform, LABEL_TRANSFORMS)
        _choice("data.truncate", self.truncate, TRUNCATE_MODES)
        if self.format is not None:
            _choice("data.format", self.format, ("csv", "tsv", "fasta"))
        if not (isinstance(self.valid_fraction, (int, float)) and 0 <= self.valid_fraction < 1):
            raise ConfigError(f"data.valid_fraction={self.valid_fraction!r} must be in [0, 1)")
        if self.max_length is not None:
            _int("data.max_length", self.max_length, 1)
        _int("data.fasta_label_field", self.fasta_label_field, 0)
        if self.homology_kmer is not None:
            _kmer("data.homology_kmer", self.homology_kmer)
        self.extra_sources()
        if self.extra_train_kmer is not None:
            _kmer("data.extra_train_kmer", self.extra_train_kmer)
            if not self.extra_train:
                raise ConfigError("data.extra_train_kmer is set but data.extra_train names no file")
        if self.unknown is not None:
            _choice("data.unknown", self.unknown, ("mask",))

    def extra_sources(self) -> list[ExtraSource]:
        """Each ``extra_train`` entry with the loader and options that read it."""
        out = []
        for i, entry in enumerate(self.extra_train):
            where = f"data.extra_train[{i}]"
            if isinstance(entry, str):
                out.append(ExtraSource(entry, self.loader, dict(self.options)))
                continue
            if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
                raise ConfigError(f"{where}={entry!r} must be a path or a mapping with a 'path'")
            unknown = sorted(set(entry) - {"path", "loader", "options"})
            if unknown:
                raise ConfigError(f"{where} has unknown keys {unknown}; it takes path, loader and options")
            options = entry.get("options", {})
            if not isinstance(options, dict):
                raise ConfigError(f"{where}.options={options!r} must be a mapping")
            out.append(ExtraSource(entry["path"], str(entry.get("loader", self.loader)), dict(options)))
        return out


@dataclass(frozen=True)
class ExtraSource:
    """One ``data.extra_train`` file and how to read it."""

    path: str
    loader: str
    options: dict[str, Any]


@dataclass
class LoraSettings:
    """LoRA adapters (via ``peft``) on the attention projections of every layer."""

    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    targets: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "out_proj"])


@dataclass
class FeatureSettings:
    """The hand-made feature baseline (``backbone.name: features``) and its gradient-boosted model."""

    mfe: bool = True
    kmer: int = 0
    max_iter: int = 300
    learning_rate: float = 0.05
    max_leaf_nodes: int = 31
    l2_regularization: float = 0.0


@dataclass
class BackboneConfig:
    """The sequence representation.

    ``name``: ``none`` (one-hot input only: the Optimus 5-Prime-style baseline), ``features``
    (hand-made features + gradient boosting), or anything :func:`rnalm.load` accepts.
    """

    name: str = "none"
    mode: str = "frozen"
    #: representation layer; -1 = the last (after the final LayerNorm).
    layer: int = -1
    #: frozen mode: embeddings cache; None = ``$RNALM_CACHE_DIR/embeddings`` or ``~/.cache/rnalm/embeddings``.
    cache_dir: Optional[str] = None
    cache: bool = True
    #: batch size for computing frozen embeddings.
    embed_batch_size: int = 16
    lora: LoraSettings = field(default_factory=LoraSettings)
    features: FeatureSettings = field(default_factory=FeatureSettings)

    @property
    def kind(self) -> str:
        return self.name if self.name in ("none", "features") else "lm"

    def validate(self) -> None:
        _choice("backbone.mode", self.mode, MODES)
        _int("backbone.embed_batch_size", self.embed_batch_size, 1)
        _int("backbone.lora.r", self.lora.r, 1)
        _int("backbone.features.kmer", self.features.kmer, 0)
        if self.features.kmer > 5:
            raise ConfigError("backbone.features.kmer must be at most 5 (4^k features)")


@dataclass
class HeadConfig:
    """The predictor on top of the representation; fields apply to the head types named in comments."""

    #: mlp | lamar | resnet1d | cnn; pairwise for task=structure (see :data:`rnalm.runs.heads.HEADS`).
    type: str = "mlp"
    #: mlp: which sequence vector feeds the MLP: ``cls`` (the <cls> token) or ``mean`` (over letters).
    pooling: str = "cls"
    #: mlp: hidden layer sizes (UTR-LM: one hidden layer of 40).
    hidden: list[int] = field(default_factory=lambda: [40])
    dropout: float = 0.2
    #: resnet1d / cnn / pairwise: per-token embeddings are reduced to this many channels (RNA-FM tutorial: 640 -> 32).
    reduction_dim: int = 32
    #: resnet1d / cnn / pairwise: concatenate the one-hot sequence with the (reduced) embeddings.
    onehot: bool = True
    #: resnet1d / pairwise (2-D residual blocks): width and number of residual blocks.
    channels: int = 64
    blocks: int = 6
    #: cnn (Optimus 5-Prime): filters, kernel size, conv layers, dense units.
    filters: int = 120
    kernel_size: int = 8
    conv_layers: int = 3
    dense: int = 40
    #: cnn: ``flatten`` (Optimus; fixed input length) or global ``mean`` / ``max`` pooling.
    pool: str = "flatten"
    #: cnn with flatten: input length (None = the longest training sequence) and padding side
    #: (``left`` aligns the 3' ends, as Optimus does for varying-length UTRs).
    max_len: Optional[int] = None
    pad_side: str = "left"

    def validate(self) -> None:
        _choice("head.pooling", self.pooling, ("cls", "mean"))
        _choice("head.pool", self.pool, ("flatten", "mean", "max"))
        _choice("head.pad_side", self.pad_side, ("left", "right"))
        if not all(h > 0 for h in self.hidden):
            raise ConfigError(f"head.hidden={self.hidden!r} must be a list of positive integers")
        if not (isinstance(self.dropout, (int, float)) and 0 <= self.dropout < 1):
            raise ConfigError(f"head.dropout={self.dropout!r} must be in [0, 1)")
        for name in ("reduction_dim", "channels", "filters", "kernel_size", "conv_layers", "dense"):
            _int(f"head.{name}", getattr(self, name), 1)
        _int("head.blocks", self.blocks, 0)
        if self.max_len is not None:
            _int("head.max_len", self.max_len, 1)


@dataclass
class TrainConfig:
    """Optimisation: AdamW with linear warmup, early stopping on a validation metric."""

    loss: str = "auto"
    huber_delta: float = 1.0
    epochs: int = 20
    batch_size: int = 32
    eval_batch_size: int = 64
    lr: float = 1e-3
    #: learning rate of backbone parameters in ``full`` / ``lora`` mode (None = ``lr``).
    backbone_lr: Optional[float] = None
    weight_decay: float = 0.01
    warmup_ratio: float = 0.0
    scheduler: str = "linear"
    #: max gradient norm (0 = no clipping).
    grad_clip: float = 1.0
    #: epochs without improvement of ``metric`` before stopping (0 = never stop early).
    patience: int = 5
    #: model-selection metric (``auto``: spearman for regression, auroc for two classes, accuracy otherwise).
    metric: str = "auto"
    logging_steps: int = 10
    seed: int = 42
    #: train this many models on the same split (initial weights and batch order from seeds
    #: ``seed``, ``seed + 1``, ...; the hold-out still drawn by ``seed``) and predict with their
    #: mean (class probabilities averaged), as a cross-validated run does with its fold models.
    members: int = 1
    deterministic: bool = True
    #: torch CPU threads (None = torch's default).
    threads: Optional[int] = None
    #: keep ``checkpoint-*`` directories (needed to resume an interrupted run).
    save_checkpoints: bool = True
    #: batch sequences of similar length together (less padding; faster on long, varied inputs).
    group_by_length: bool = False
    #: ``auto`` (CUDA when available, else CPU), ``cpu``, ``cuda``, ``cuda:1`` ...
    device: str = "auto"
    #: ``auto`` (bfloat16 where the device has native bf16, else float32), ``float32``, ``bfloat16``:
    #: the type the backbone and head compute in (autocast; weights and optimizer state float32).
    dtype: str = "auto"

    def validate(self) -> None:
        _choice("train.loss", self.loss, LOSSES)
        _choice("train.dtype", self.dtype, DTYPES)
        _choice("train.scheduler", self.scheduler, SCHEDULERS)
        _int("train.epochs", self.epochs, 1)
        _int("train.batch_size", self.batch_size, 1)
        _int("train.eval_batch_size", self.eval_batch_size, 1)
        _int("train.patience", self.patience, 0)
        _int("train.logging_steps", self.logging_steps, 1)
        _int("train.seed", self.seed, 0)
        _int("train.members", self.members, 1)
        _positive("train.lr", self.lr)
        if self.backbone_lr is not None:
            _positive("train.backbone_lr", self.backbone_lr)
        _positive("train.weight_decay", self.weight_decay, allow_zero=True)
        _positive("train.grad_clip", self.grad_clip, allow_zero=True)
        _positive("train.huber_delta", self.huber_delta)
        if not (isinstance(self.warmup_ratio, (int, float)) and 0 <= self.warmup_ratio < 1):
            raise ConfigError(f"train.warmup_ratio={self.warmup_ratio!r} must be in [0, 1)")
        if self.threads is not None:
            _int("train.threads", self.threads, 1)
        if not isinstance(self.device, str) or not (self.device in ("auto", "cpu") or self.device.startswith("cuda")):
            raise ConfigError(f"train.device={self.device!r} must be auto, cpu or cuda[:N]")


@dataclass
class StructureConfig:
    """``task: structure`` only: what the pairwise head reads, how its loss weighs pairs, how its
    batches are sized and whether the pair threshold is chosen after training."""

    #: also feed the backbone's attention maps (every layer and head) to the 2-D network.
    attention: bool = False
    #: with attention: number of maps (layers x heads); filled in from the backbone.
    attention_maps: Optional[int] = None
    #: also feed ViennaRNA's base-pair probability matrix of each sequence (RNAfold -p defaults,
    #: folded once per sequence and cached) to the 2-D network.
    vienna_bpp: bool = False
    #: with vienna_bpp: also add the probabilities' logit (times a learned scale, initially 1)
    #: to the head's output, so training starts from ViennaRNA's prediction and refines it.
    vienna_bpp_prior: bool = True
    #: with vienna_bpp: the ViennaRNA energy parameter sets to fold under, one map each
    #: (:data:`rnalm.structure.vienna.ENERGY_PARAMETERS`); the prior uses the first. The sets differ
    #: in accuracy on bpRNA, and the head may gain from seeing where they disagree.
    vienna_params: list[str] = field(default_factory=lambda: [DEFAULT_ENERGY_PARAMETERS])
    #: weight of the positive (paired) cells in the masked binary cross-entropy.
    pos_weight: float = 1.0
    #: a batch holds at most this many L x L cells (batch size x longest length^2; evaluation
    #: batches 4x as many) and at most ``train.batch_size`` sequences.
    cells_per_batch: int = 160_000
    #: after training, choose the base-pair threshold on (at most 400 of) the training sequences --
    #: grid 0.05..0.95, best mean per-sequence F1 -- and report valid / test metrics at it (the 0.5
    #: figures stay under ``<metric>_t050``); see :mod:`rnalm.structure.threshold`.
    select_threshold: bool = False

    def validate(self) -> None:
        if self.attention_maps is not None:
            _int("structure.attention_maps", self.attention_maps, 1)
        _positive("structure.pos_weight", self.pos_weight)
        _int("structure.cells_per_batch", self.cells_per_batch, 1)
        if not self.vienna_params:
            raise ConfigError(f"structure.vienna_params is empty; list one or more of {list(ENERGY_PARAMETERS)}")
        for name in self.vienna_params:
            _choice("structure.vienna_params", name, list(ENERGY_PARAMETERS))
        twice = sorted({n for n in self.vienna_params if self.vienna_params.count(n) > 1})
        if twice:
            raise ConfigError(f"structure.vienna_params names {', '.join(twice)} more than once; list each set once")


@dataclass
class CVConfig:
    """k-fold cross-validation of ``data.train`` (``folds`` >= 2), stratified for classification."""

    folds: int = 0
    stratify: bool = True
    #: share of each fold's training part held out for early stopping; 0 = select on the test fold
    #: itself (what UTR-LM's scripts do; optimistic, and flagged in metrics.json).
    inner_valid_fraction: float = 0.1
    #: hold out whole groups for that inner validation (false: rows at random -- e.g. with a few
    #: large RNA families as groups, where one held-out family could be half of the data).
    inner_valid_grouped: bool = True
    #: run only these fold indices (None = all).
    only: Optional[list[int]] = None

    def validate(self) -> None:
        if self.folds not in (0, 1):
            _int("cv.folds", self.folds, 2)
        if not (isinstance(self.inner_valid_fraction, (int, float)) and 0 <= self.inner_valid_fraction < 1):
            raise ConfigError(f"cv.inner_valid_fraction={self.inner_valid_fraction!r} must be in [0, 1)")
        if self.only is not None:
            if not all(0 <= i < max(self.folds, 1) for i in self.only):
                raise ConfigError(f"cv.only={self.only!r} must list fold indices in 0..{self.folds - 1}")


@with_config(STRICT)
@dataclass
class FinetuneConfig:
    """A whole fine-tuning run."""

    #: regression | classification | structure (see :data:`rnalm.runs.tasks.TASKS`).
    task: str = "regression"
    #: the run directory (created; must be new or empty unless ``overwrite``).
    output_dir: str = "runs/finetune"
    overwrite: bool = False
    plots: bool = True
    data: DataConfig = field(default_factory=DataConfig)
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    head: HeadConfig = field(default_factory=HeadConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    cv: CVConfig = field(default_factory=CVConfig)
    #: settings of ``task: structure`` (its own section; other tasks leave it at the defaults).
    structure: StructureConfig = field(default_factory=StructureConfig)

    def validate(self) -> "FinetuneConfig":
        """Field types, sections and the rules between them (the task's and head's own rules are
        checked first, by :func:`rnalm.runs.config_file.load_finetune_config`)."""
        check_fields(self, "config")
        for section in (self.data, self.backbone, self.head, self.train, self.cv, self.structure):
            section.validate()
        if self.cv.folds >= 2 and self.data.valid:
            raise ConfigError("cv.folds and data.valid exclude each other: cross-validation splits data.train itself")
        if self.train.members > 1 and self.cv.folds >= 2:
            raise ConfigError(
                f"train.members={self.train.members} and cv.folds={self.cv.folds} exclude each other: "
                f"a cross-validated run already predicts with the mean of its fold models"
            )
        if self.train.members > 1 and self.task == "structure":
            raise ConfigError(
                f"train.members={self.train.members}: ensembles of structure models are not supported; "
                f"train.members applies to regression and classification"
            )
        if self.backbone.kind != "lm" and self.backbone.mode != "frozen":
            raise ConfigError(
                f"backbone.mode={self.backbone.mode!r} needs a language model; backbone.name is {self.backbone.name!r}"
            )
        if self.data.standardize and self.task != "regression":
            raise ConfigError("data.standardize applies to regression labels only")
        if self.structure.select_threshold and self.task != "structure":
            raise ConfigError(
                f"structure.select_threshold chooses the base-pair threshold of task=structure; "
                f"it does not apply to task={self.task}"
            )
        if self.data.label_transform != "none" and self.task != "regression":
            raise ConfigError("data.label_transform applies to regression labels only")
        if self.structure.vienna_params != [DEFAULT_ENERGY_PARAMETERS] and not self.structure.vienna_bpp:
            raise ConfigError(
                f"structure.vienna_params={self.structure.vienna_params} chooses the energy models of "
                f"ViennaRNA's base-pair probabilities; set structure.vienna_bpp=true to use them"
            )
        if self.structure.vienna_bpp and self.head.type != "pairwise":
            raise ConfigError(
                f"structure.vienna_bpp=true applies to head.type=pairwise (task=structure) only, "
                f"not head.type={self.head.type!r}"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        return to_yaml(self)


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@overload
def expand_path(value: str) -> str: ...
@overload
def expand_path(value: None) -> None: ...
def expand_path(value: Optional[str]) -> Optional[str]:
    """``${VAR:-default}`` and ``~`` expansion for paths in configs (recipes use
    ``${RNALM_SHARED_DATA:-../shared/data}``)."""
    if value is None:
        return None

    def sub(m: re.Match) -> str:
        env = os.environ.get(m.group(1))
        if env:
            return env
        if m.group(2) is not None:
            return m.group(2)
        raise ConfigError(f"path {value!r} uses ${{{m.group(1)}}}, which is not set")

    return os.path.expanduser(_VAR.sub(sub, str(value)))


__all__ = [
    "BackboneConfig",
    "CVConfig",
    "ConfigError",
    "DataConfig",
    "FeatureSettings",
    "FinetuneConfig",
    "HeadConfig",
    "LoraSettings",
    "MAX_K",
    "MIN_K",
    "StructureConfig",
    "TrainConfig",
    "expand_path",
]
