"""``rnalm predict``'s model: a saved fine-tuning run, loaded once, applied to new sequences.

The run directory holds everything needed: the resolved config, the head weights, the label state
(class names, the scaler that is inverted here so predictions come back in the label's units)
and the backbone's identity -- path and weights sha256, checked so that a run is never silently
applied on top of different weights. A cross-validated run predicts with the mean of its fold
models (class probabilities averaged). :meth:`Predictor.window` is what the run reads of a
sequence (:func:`rnalm.runs.sequences.window_of`), and :meth:`Predictor.columns` what its
predictions are called (:mod:`rnalm.runs.prediction_columns`); files are read and written by
:mod:`rnalm.runs.prediction_table`.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

import numpy as np
import torch

from rnalm import shipped
from rnalm.api import load, resolve
from rnalm.errors import option
from rnalm.io.arrayfiles import read_safetensors
from rnalm.io.digest import state_sha256
from rnalm.io.jsonfile import read_json_object
from rnalm.model.encoder import RNAEncoder
from rnalm.precision import Precision
from rnalm.precision import resolve as resolve_precision
from rnalm.runs.backbones import FrozenFeatures, LMBackbone
from rnalm.runs.batch_workers import batch_workers, map_batches
from rnalm.runs.builder import build_model
from rnalm.runs.calibration import Calibration
from rnalm.runs.config import FinetuneConfig, expand_path
from rnalm.runs.config_file import load_finetune_config
from rnalm.runs.embedding_cache import EmbeddingCache, default_cache_dir, embedding_cache_id
from rnalm.runs.errors import RunDirError
from rnalm.runs.feature_model import FeatureModel, feature_matrix
from rnalm.runs.model import SeqDataset, make_collate, to_device
from rnalm.runs.prediction_columns import PredictionColumns, name_from_label, prediction_columns
from rnalm.runs.rundir import CONFIG_FILE, FEATURE_MODEL_FILE, INFO_FILE, LABEL_FILE, WEIGHTS_FILE, RunDir
from rnalm.runs.sequences import Window, default_alphabet, prepare, window_of
from rnalm.runs.table import Records
from rnalm.runs.task_base import LabelState
from rnalm.runs.tasks import ClassificationTask, get_task
from rnalm.training.device import resolve_device


def _model_dirs(run_dir: Path, info: dict) -> list[Path]:
    dirs = RunDir(run_dir).model_dirs(info)
    for d in dirs:
        if not d.labels.is_file() or not (d.weights.is_file() or d.feature_model.is_file()):
            raise RunDirError(
                f"{d.path}: incomplete run (no {LABEL_FILE} / {WEIGHTS_FILE}); did training finish? "
                f"Resume it with `rnalm finetune --resume -o {run_dir}`"
            )
    return [d.path for d in dirs]


class Predictor:
    """A loaded run: call :meth:`predict` with normalised or raw sequences."""

    def __init__(
        self,
        run_dir: str | Path,
        backbone: Optional[str] = None,
        log: Callable[[str], None] = print,
        device: Optional[str] = "auto",
        dtype: Optional[str] = "float32",
    ) -> None:
        self.run_dir = Path(run_dir)
        run = RunDir(self.run_dir)
        self.device = resolve_device(
            device, setting=option("device"), no_cuda=f"{option('device', str(device))}: CUDA is not available"
        )
        if not run.is_finished():
            raise RunDirError(f"{self.run_dir}: not a finished fine-tuning run (no {CONFIG_FILE} / {INFO_FILE})")
        self.cfg: FinetuneConfig = load_finetune_config(run.config)
        self.info = run.read_info()
        if self.cfg.task == "structure":
            raise RunDirError(
                f"{self.run_dir}: a structure run predicts base pairs; use "
                f"`rnalm fold --model {self.run_dir} --input FILE --output DIR`"
            )
        self.task = get_task(self.cfg.task, self.cfg)
        #: the temperature of a classification run's probabilities (rnalm.runs.calibration), if fitted
        self.calibration = Calibration.read(self.run_dir) if isinstance(self.task, ClassificationTask) else None
        self.dirs = _model_dirs(self.run_dir, self.info)
        self.states = [LabelState.from_dict(read_json_object(d / LABEL_FILE)) for d in self.dirs]
        self.log = log
        self.encoder: Optional[RNAEncoder] = None
        self._models: dict[Path, tuple] = {}
        bb = self.cfg.backbone
        if bb.kind == "lm":
            self._load_backbone(backbone)
        else:
            self.alphabet = default_alphabet()
        self.precision = self._precision(dtype)

    def _precision(self, dtype: Optional[str]) -> Precision:
        """What the model computes in: ``dtype`` resolved for the device. A model without torch
        layers (``backbone.kind: features``, scikit-learn) always computes in float32."""
        asked = resolve_precision(dtype, self.device)  # a misspelt --dtype is an error for every model
        if self.cfg.backbone.kind == "features":
            return Precision("float32", "scikit-learn model: dtype does not apply", self.device.type)
        return asked

    def _load_backbone(self, override: Optional[str]) -> None:
        saved = self.info["backbone"]
        path = override or saved.get("path") or expand_path(self.cfg.backbone.name)
        if not override:
            # a model shipped with rnalm names its backbone (shipped:NAME), never a local path; a run
            # trained with backbone.name=NAME of a shipped backbone is found the same way
            for ref in (saved.get("path"), self.cfg.backbone.name):
                if ref and (
                    str(ref).startswith(shipped.PREFIX) or (not Path(str(ref)).exists() and shipped.is_ref(ref))
                ):
                    path = str(resolve(ref))
                    break
        if not Path(path).exists() and not override:
            raise RunDirError(
                f"the run's backbone {path} is not there any more; pass its new location (--backbone PATH)"
            )
        encoder, self.alphabet = load(path, device=self.device)
        self.encoder = encoder
        sha = state_sha256(encoder)
        if sha != saved.get("sha256"):
            raise RunDirError(
                f"backbone {path} has weights sha256 {sha[:16]}..., but the run was trained on "
                f"{str(saved.get('sha256'))[:16]}...; pass the backbone the run was trained with"
            )

    def _model(self, d: Path, state: LabelState):
        """The model of run folder ``d``, built and loaded on first use only."""
        if d not in self._models:
            model, source = build_model(self.cfg, self.task.out_dim(state), self.encoder, self.alphabet, self._frozen)
            model.load_saved_state(read_safetensors(d / WEIGHTS_FILE))
            self._models[d] = (model.to(self.device).eval(), source)
        return self._models[d]

    def forget_features(self) -> None:
        """Drop the frozen backbone's features of the sequences predicted so far (a file is predicted
        in chunks; features of a finished chunk are never needed again)."""
        frozen = getattr(self, "_frozen_features", None)
        if frozen is not None:
            frozen.pooled.clear()
            frozen.tokens.clear()

    def _frozen(self, needs) -> FrozenFeatures:
        if getattr(self, "_frozen_features", None) is None:
            bb = self.cfg.backbone
            root = Path(expand_path(bb.cache_dir)) if bb.cache_dir else default_cache_dir()
            assert self.encoder is not None, "frozen features come from the run's language model"
            backbone = LMBackbone(self.encoder, self.alphabet, bb.layer)
            sha = embedding_cache_id(self.info["backbone"]["sha256"], self.precision)
            cache = EmbeddingCache(root, sha, backbone.layer) if bb.cache else None
            self._frozen_features = FrozenFeatures(
                backbone, needs, cache, bb.embed_batch_size, precision=self.precision
            )
        return self._frozen_features

    def _limit(self) -> Optional[int]:
        limit = self.cfg.data.max_length
        h = self.cfg.head
        if h.type == "cnn" and h.pool == "flatten":
            assert h.max_len is not None  # resolved from the training data and saved in config.yaml
            limit = h.max_len if limit is None else min(limit, h.max_len)
        return limit

    @property
    def window(self) -> Window:
        """What the run reads of a sequence: the backbone's limit, ``data.max_length`` and a
        fixed-width head's length, longer inputs handled as ``data.truncate`` says."""
        return window_of(self.alphabet, self.cfg.data.truncate, self._limit())

    @property
    def unknown(self) -> Optional[str]:
        """How the run read letters its alphabet lacks (``data.unknown``)."""
        return self.cfg.data.unknown

    @property
    def seq_column(self) -> str:
        """The sequence column the run was trained on (read when an input table has it)."""
        return str(self.cfg.data.options.get("seq_column") or self.cfg.data.seq_column)

    @property
    def label_name(self) -> str:
        return str(self.info.get("label_name") or self.cfg.data.label_column)

    def columns(self, name: Optional[str] = None, unit: str = "") -> PredictionColumns:
        """The prediction columns, named ``name`` (default: from the run's label column)."""
        return prediction_columns(
            self.cfg.task,
            self.states[0].classes,
            name or name_from_label(self.label_name),
            len(self.dirs),
            unit,
        )

    def prepare(self, recs: Records) -> list[str]:
        d = self.cfg.data
        return prepare(recs.seqs, recs.ids, recs.where, self.alphabet, d.truncate, self._limit(), d.unknown)

    def predict(self, seqs: Sequence[str], batch_size: int = 64) -> dict[str, np.ndarray]:
        """Columns (``prediction``, class probabilities) for already-prepared sequences."""
        return self._combine([(self.task.decode(o, s), o, s) for o, s in self.raw_outputs(seqs, batch_size)])

    def raw_outputs(self, seqs: Sequence[str], batch_size: int = 64) -> list[tuple[np.ndarray, LabelState]]:
        """Per model (one, or one per fold): raw outputs in model space and that model's label state,
        for the task's ``metrics`` (shipped models recompute their recorded metric this way)."""
        per_model = []
        for d, state in zip(self.dirs, self.states):
            if self.cfg.backbone.kind == "features":
                fm = FeatureModel.load(d / FEATURE_MODEL_FILE)
                cache_dir = self.cfg.backbone.cache_dir
                root = Path(expand_path(cache_dir)) if cache_dir else default_cache_dir()
                x = feature_matrix(seqs, self.cfg.backbone.features, root)
                outputs = fm.outputs(x, self.task.class_count(state))
            else:
                model, source = self._model(d, state)
                if source.frozen is not None:
                    source.frozen.ensure(seqs)
                ds = SeqDataset(seqs)
                collate = make_collate(ds, source)
                order = np.argsort([len(s) for s in seqs], kind="stable")  # less padding; heads are padding-invariant
                batches = [order[i : i + batch_size].tolist() for i in range(0, len(seqs), batch_size)]

                def run(idx: list[int], model=model, collate=collate) -> torch.Tensor:
                    return model(to_device(collate(idx)[0], self.device)).float().cpu()

                workers = batch_workers(self.device, len(batches))
                outs = list(map_batches(run, batches, workers, self._inference))
                outputs = np.empty((len(seqs), outs[0].shape[1]), dtype=np.float32)
                outputs[order] = torch.cat(outs).numpy()
            per_model.append((outputs, state))
        return per_model

    @contextlib.contextmanager
    def _inference(self) -> Iterator[None]:
        with torch.no_grad(), self.precision.autocast():
            yield

    def _combine(self, per_model: list) -> dict[str, np.ndarray]:
        if isinstance(self.task, ClassificationTask):
            return self._class_columns(self.task, per_model)
        if len(per_model) == 1:
            return per_model[0][0]
        preds = np.stack([c["prediction"] for c, _, _ in per_model])
        return {"prediction": preds.mean(0), "prediction_std": preds.std(0)}

    def class_probabilities(self, task: ClassificationTask, outputs: Sequence[np.ndarray]) -> np.ndarray:
        """The mean class probabilities of the run's models from their raw ``outputs``, at the run's
        temperature when it has one (:mod:`rnalm.runs.calibration`): what predict reports."""
        probs = np.mean([task.probabilities(o) for o in outputs], axis=0)
        return self.calibration.apply(probs) if self.calibration is not None else probs

    def _class_columns(self, task: ClassificationTask, per_model: list) -> dict[str, np.ndarray]:
        """:meth:`class_probabilities` and the most probable class."""
        classes = per_model[0][2].classes
        if any(s.classes != classes for _, _, s in per_model):
            raise RunDirError(f"{self.run_dir}: fold models were trained on different class sets; predict per fold")
        probs = self.class_probabilities(task, [o for _, o, _ in per_model])
        cols = {"prediction": np.asarray(classes, dtype=object)[probs.argmax(1)]}
        for i, c in enumerate(classes):
            cols[f"prob_{c}"] = probs[:, i]
        return cols


__all__ = ["Predictor"]
