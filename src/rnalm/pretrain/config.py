"""The pretraining configuration: model, objective, optimisation, and the run's top-level settings.

The annotations are the config's schema (see :mod:`rnalm.schema`): ranges and choices are checked
when a YAML file is loaded and again when :func:`rnalm.pretrain.trainer.pretrain` starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Optional

from pydantic import Field, with_config

from rnalm.pretrain.data import CorpusConfig
from rnalm.schema import STRICT

# Field types of the pretraining config: the annotations are its schema (see rnalm.schema).
Count = Annotated[int, Field(ge=1)]
NonNegative = Annotated[float, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0, lt=1)]


@dataclass
class ModelSpec:
    #: named size from rnalm.model.config.NAMED_SIZES (ignored when init_from is set).
    size: str = "utr-lm"
    #: alphabet name (see rnalm.models.alphabets()).
    alphabet: str = "utr-lm"
    #: EncoderConfig fields overriding the named size.
    overrides: dict[str, Any] = field(default_factory=dict)
    #: start from a checkpoint rnalm.load accepts (ProtRNA-style transfer when its alphabet differs).
    init_from: Optional[str] = None
    #: freezing for transfer: train only the last k transformer layers (None = all layers).
    train_last_layers: Optional[Annotated[int, Field(ge=0)]] = None
    train_embeddings: bool = True


@dataclass
class ObjectiveConfig:
    mask_rate: Annotated[float, Field(gt=0, lt=1)] = 0.15
    #: UTR-LM's ``supervised_weight``: weight of the MFE regression loss (0 = off).
    mfe_weight: NonNegative = 0.0
    #: UTR-LM's ``structure_weight``: weight of the per-token structure loss (0 = off).
    structure_weight: NonNegative = 0.0
    #: MFE targets are divided by this (kcal/mol) to keep the regression loss on the MLM scale.
    mfe_scale: Annotated[float, Field(gt=0)] = 10.0
    #: SQLite cache of ViennaRNA labels (default: <output>/labels.sqlite).
    label_cache: Optional[str] = None
    label_processes: Count = 1


@dataclass
class OptimConfig:
    lr: Annotated[float, Field(gt=0)] = 1e-3
    weight_decay: NonNegative = 0.01
    betas: tuple[Fraction, Fraction] = (0.9, 0.98)
    warmup_steps: Annotated[int, Field(ge=0)] = 100
    schedule: Literal["cosine", "linear", "constant"] = "cosine"
    max_steps: Count = 1000
    grad_accum: Count = 1
    #: max gradient norm (0 = no clipping).
    clip_norm: NonNegative = 1.0
    tokens_per_batch: Count = 8192
    max_batch: Count = 256


@with_config(STRICT)
@dataclass
class PretrainConfig:
    """Top-level pretraining configuration.

    ``distributed`` chooses how several torchrun processes share the work: ``ddp`` (default) keeps a
    full model replica per process and all-reduces gradients; ``fsdp`` shards parameters, gradients
    and optimizer state across processes (PyTorch FSDP2 ``fully_shard``, one unit per transformer
    layer plus the root), for models that do not fit one device. Both compute the same update. With a
    single process (no torchrun, or world size 1) ``fsdp`` is a no-op and training runs plain.
    """

    output: str = "runs/pretrain"
    seed: Annotated[int, Field(ge=0)] = 0
    device: str = "cpu"
    #: ddp | fsdp (see the class docstring); only matters under torchrun with more than one process.
    distributed: Literal["ddp", "fsdp"] = "ddp"
    #: auto | float32 | bfloat16: the type forward and loss compute in (:mod:`rnalm.precision`;
    #: auto: bfloat16 where the device has native bf16). Weights, gradients and optimizer state stay
    #: float32 either way; a resumed run keeps the type it was started with.
    dtype: Literal["auto", "float32", "bfloat16"] = "auto"
    #: the older spelling of ``dtype`` (configs and run folders written before it): true meant
    #: bf16 autocast on a GPU only, so it reads as bfloat16 on CUDA and float32 elsewhere.
    bf16: Optional[bool] = None
    model: ModelSpec = field(default_factory=ModelSpec)
    data: CorpusConfig = field(default_factory=CorpusConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    log_every: Count = 10
    eval_every: Count = 200
    save_every: Count = 200
    keep_checkpoints: Count = 2
    tensorboard: bool = False
    progress: bool = True

    def dtype_choice(self) -> str:
        """``dtype``, or what an older config's ``bf16`` meant when ``dtype`` is left at auto."""
        return dtype_choice(self.dtype, self.bf16, self.device)


def dtype_choice(dtype: Optional[str], bf16: Optional[bool], device: str) -> str:
    """The ``dtype`` a config asks for: ``dtype`` itself unless it is auto (or absent) and the
    older ``bf16`` flag is set, which meant bf16 autocast on CUDA and nothing elsewhere."""
    if dtype not in (None, "auto") or bf16 is None:
        return dtype or "auto"
    return "bfloat16" if bf16 and str(device).startswith("cuda") else "float32"
