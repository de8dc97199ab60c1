"""``rnalm predict``: apply a saved fine-tuning run to new sequences.

The run directory holds everything needed: the resolved config, the head weights, the label state
(class names, the scaler that is inverted here so predictions come back in the label's units)
and the backbone's identity -- path and weights sha256, checked so that a run is never silently
applied on top of different weights. A cross-validated run predicts with the mean of its fold
models (class probabilities averaged). Inputs are validated with the backbone's alphabet exactly as
in training, with errors naming the file and row.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from rnalm import shipped
from rnalm.api import load, resolve
from rnalm.io import seqio
from rnalm.io.arrayfiles import read_safetensors
from rnalm.io.digest import state_sha256
from rnalm.io.jsonfile import read_json_object
from rnalm.io.output_guard import (
    OutputKind,
    claim_output,
    output_lock,
    remove_path,
    remove_stale_staging,
    staging_path,
    swap_into_place,
)
from rnalm.model.encoder import RNAEncoder
from rnalm.runs.backbones import FrozenFeatures, LMBackbone
from rnalm.runs.builder import build_model
from rnalm.runs.config import FinetuneConfig, expand_path
from rnalm.runs.config_file import load_finetune_config
from rnalm.runs.embedding_cache import EmbeddingCache, default_cache_dir
from rnalm.runs.errors import DataError, RunDirError
from rnalm.runs.feature_model import FeatureModel, feature_matrix
from rnalm.runs.model import SeqDataset, make_collate, run_device, to_device
from rnalm.runs.rundir import CONFIG_FILE, FEATURE_MODEL_FILE, INFO_FILE, LABEL_FILE, WEIGHTS_FILE, RunDir
from rnalm.runs.sequences import default_alphabet, prepare
from rnalm.runs.table import Records, read_table
from rnalm.runs.task_base import LabelState
from rnalm.runs.tasks import ClassificationTask, get_task


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
        device: str = "auto",
    ) -> None:
        self.run_dir = Path(run_dir)
        run = RunDir(self.run_dir)
        self.device = run_device(device)
        if not run.is_finished():
            raise RunDirError(f"{self.run_dir}: not a finished fine-tuning run (no {CONFIG_FILE} / {INFO_FILE})")
        self.cfg: FinetuneConfig = load_finetune_config(run.config)
        self.info = run.read_info()
        if self.cfg.task == "structure":
            raise RunDirError(
                f"{self.run_dir}: a structure run predicts base pairs; use "
                f"`rnalm fold --run {self.run_dir} --input FILE --output DIR`"
            )
        self.task = get_task(self.cfg.task, self.cfg)
        self.dirs = _model_dirs(self.run_dir, self.info)
        self.states = [LabelState.from_dict(read_json_object(d / LABEL_FILE)) for d in self.dirs]
        self.log = log
        self.encoder: Optional[RNAEncoder] = None
        bb = self.cfg.backbone
        if bb.kind == "lm":
            self._load_backbone(backbone)
        else:
            self.alphabet = default_alphabet()

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
        model, source = build_model(self.cfg, self.task.out_dim(state), self.encoder, self.alphabet, self._frozen)
        model.load_saved_state(read_safetensors(d / WEIGHTS_FILE))
        return model.to(self.device).eval(), source

    def _frozen(self, needs) -> FrozenFeatures:
        if getattr(self, "_frozen_features", None) is None:
            bb = self.cfg.backbone
            root = Path(expand_path(bb.cache_dir)) if bb.cache_dir else default_cache_dir()
            assert self.encoder is not None, "frozen features come from the run's language model"
            backbone = LMBackbone(self.encoder, self.alphabet, bb.layer)
            cache = EmbeddingCache(root, self.info["backbone"]["sha256"], backbone.layer) if bb.cache else None
            self._frozen_features = FrozenFeatures(backbone, needs, cache, bb.embed_batch_size)
        return self._frozen_features

    def prepare(self, recs: Records) -> list[str]:
        d = self.cfg.data
        limit = d.max_length
        h = self.cfg.head
        if h.type == "cnn" and h.pool == "flatten":
            assert h.max_len is not None  # resolved from the training data and saved in config.yaml
            limit = h.max_len if limit is None else min(limit, h.max_len)
        return prepare(recs.seqs, recs.ids, recs.where, self.alphabet, d.truncate, limit, d.unknown)

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
                outs = []
                with torch.no_grad():
                    for i in range(0, len(seqs), batch_size):
                        batch, _ = collate(order[i : i + batch_size].tolist())
                        outs.append(model(to_device(batch, self.device)).float().cpu())
                outputs = np.empty((len(seqs), outs[0].shape[1]), dtype=np.float32)
                outputs[order] = torch.cat(outs).numpy()
            per_model.append((outputs, state))
        return per_model

    def _combine(self, per_model: list) -> dict[str, np.ndarray]:
        if len(per_model) == 1:
            return per_model[0][0]
        if isinstance(self.task, ClassificationTask):
            classes = per_model[0][2].classes
            if any(s.classes != classes for _, _, s in per_model):
                raise RunDirError(f"{self.run_dir}: fold models were trained on different class sets; predict per fold")
            probs = np.mean([self.task.probabilities(o) for _, o, _ in per_model], axis=0)
            cols = {"prediction": np.asarray(classes, dtype=object)[probs.argmax(1)]}
            for i, c in enumerate(classes):
                cols[f"prob_{c}"] = probs[:, i]
            return cols
        preds = np.stack([c["prediction"] for c, _, _ in per_model])
        return {"prediction": preds.mean(0), "prediction_std": preds.std(0)}


def read_inputs(
    path: str | Path,
    fmt: Optional[str],
    seq_column: Optional[str],
    id_column: Optional[str],
    default_seq_column: Optional[str] = None,
) -> Records:
    """Sequences to predict, read as ``rnalm embed`` reads them (:func:`rnalm.io.seqio.iter_records`:
    format from content, FASTA ids from headers, unique ids). A table without an id column gets
    row-number ids. ``default_seq_column`` (the run's) is used when the file has that column."""
    p = Path(path)
    kind = fmt or seqio.detect_format(p)
    sc: Optional[str] = seq_column
    ic: Optional[str] = id_column
    if kind != "fasta":
        with seqio.open_text(p) as fh:
            header = [h.strip() for h in next(csv.reader(fh, delimiter="\t" if kind == "tsv" else ","), [])]
        lowered = [h.lower() for h in header]
        if sc is None and default_seq_column in header:
            sc = default_seq_column
        if ic is None and not any(c in lowered for c in seqio.ID_COLUMNS if c != "label"):
            # no id column: number the rows (1-based data rows), as the training loaders do
            if sc is None:
                sc = next((header[lowered.index(c)] for c in seqio.SEQ_COLUMNS if c in lowered), None)
                if sc is None:
                    raise DataError(
                        f"{p}: cannot tell which column holds the sequences; columns are {header}. "
                        f"Name it with --seq-column"
                    )
            return read_table(p, "\t" if kind == "tsv" else ",", sc, None)
        if ic is None:
            ic = next(header[lowered.index(c)] for c in seqio.ID_COLUMNS if c != "label" and c in lowered)
    recs = Records()
    for r in seqio.unique_ids(seqio.iter_records(p, kind, ic, sc), p):
        recs.append(r.id, r.seq, None, f"{p.name}:{r.line}")
    return recs


def is_predictions_csv(path: Path) -> bool:
    """True for a file whose header is one :func:`predict_file` writes: ``id,prediction[,prob_*...],length``."""
    if not path.is_file():
        return False
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        header = next(csv.reader([fh.readline(4096)]), [])
    return (
        len(header) >= 3
        and header[0] == "id"
        and header[1] == "prediction"
        and header[-1] == "length"
        and all(h.startswith("prob_") for h in header[2:-1])
    )


#: ``rnalm predict --output``: ``--overwrite`` replaces only a CSV this function wrote.
PREDICTIONS = OutputKind(
    "predictions", "a prediction CSV written by rnalm (header id,prediction,...,length)", is_predictions_csv
)


def predict_file(
    run_dir: str | Path,
    input_path: str | Path,
    output_path: str | Path,
    fmt: Optional[str] = None,
    seq_column: Optional[str] = None,
    id_column: Optional[str] = None,
    batch_size: int = 64,
    backbone: Optional[str] = None,
    log: Callable[[str], None] = print,
    device: str = "auto",
    overwrite: bool = False,
) -> Path:
    """Predict every sequence of a FASTA/CSV/TSV file and write a CSV (id, prediction, ...).

    An existing ``output_path`` is an error unless ``overwrite``, which replaces only a
    prediction CSV rnalm wrote (never the input); the CSV is written aside and renamed into
    place, by one process at a time.
    """
    out = Path(output_path)
    claim_output(out, PREDICTIONS, overwrite, inputs=[input_path])
    out.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(out):
        claim_output(out, PREDICTIONS, overwrite, inputs=[input_path])
        remove_stale_staging(out, PREDICTIONS)
        pred = Predictor(run_dir, backbone, log, device)
        default = pred.cfg.data.options.get("seq_column") or pred.cfg.data.seq_column
        recs = read_inputs(input_path, fmt, seq_column, id_column, default)
        seqs = pred.prepare(recs)
        cols = pred.predict(seqs, batch_size)
        tmp = staging_path(out)
        try:
            with open(tmp, "w", newline="") as fh:
                w = csv.writer(fh)
                keys = list(cols)
                w.writerow(["id", *keys, "length"])
                for i, rid in enumerate(recs.ids):
                    w.writerow(
                        [
                            rid,
                            *[
                                (f"{cols[k][i]:.6g}" if isinstance(cols[k][i], (float, np.floating)) else cols[k][i])
                                for k in keys
                            ],
                            len(seqs[i]),
                        ]
                    )
            swap_into_place(tmp, out, PREDICTIONS)
        finally:
            remove_path(tmp)
    log(f"{len(seqs)} predictions -> {out}")
    return out


__all__ = ["PREDICTIONS", "Predictor", "is_predictions_csv", "predict_file", "read_inputs"]
