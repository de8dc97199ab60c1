"""Running the shipped models for the demo: task predictions, structures (shipped model and
ViennaRNA), the sequence as each family reads it, mean-pooled embeddings, and the model cards used.
A model that is missing or cannot be loaded is recorded as such, never raised."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnalm import shipped
from rnalm.api import load
from rnalm.errors import InvalidSequenceError, RnalmError
from rnalm.models import alphabets
from rnalm.precision import resolve as resolve_precision
from rnalm.predictors import fold as fold_predictors
from rnalm.predictors import task as task_predictors
from rnalm.report.results import Embeddings, StructureResult, TaskResult, short
from rnalm.structure.predict import fold_records


def main_column(entry: Any) -> str:
    """The column holding a shipped task model's prediction (``te_log``, ``ires_probability``, ``family``)."""
    return str((entry.prediction.get("columns") or ["prediction"])[0])


def _display(entry: Any, row: dict) -> str:
    """The text of a prediction cell: a probability (ires), class (probability), or a number."""
    name = main_column(entry)
    value = row[name]  # a scored row (the caller checks "read") has every prediction column
    if name.endswith("_probability"):
        return f"{float(value):.2f}"
    probability = row.get(f"prob_{value}")
    if probability is not None:
        return f"{value} ({float(probability):.2f})"
    return f"{float(value):.3f}"


def predict_task(alias: str, records: list, dtype: str = "float32") -> TaskResult:
    """Predictions of the shipped task model ``alias``, as ``rnalm predict`` makes them: a record the
    model cannot score gets its note in ``errors``, the others are scored as if it were not there."""
    res = TaskResult(alias)
    try:
        res.entry = shipped.task_entry(alias)
    except shipped.ShippedModelError:
        res.missing = f"no shipped task model '{alias}' in this installation"
        return res
    e = res.entry
    try:
        rows = task_predictors.from_shipped(e, device="cpu", log=lambda _m: None, dtype=dtype).predict(
            [(r.id, r.seq) for r in records]
        )
    except RnalmError as exc:
        res.entry, res.missing = None, f"shipped model {e.name} cannot be used: {short(exc)}"
        return res
    for row in rows:
        if row.get("read"):
            res.raw[row["id"]] = row
            res.values[row["id"]] = _display(e, row)
        if row.get("note"):
            res.errors[row["id"]] = row["note"]
    return res


def fold(res: StructureResult, predictor: Any, records: list, batch_size: int = 1) -> None:
    """Fold every record into ``res`` (files under ``res.folder``) as ``rnalm fold`` does: a record
    longer than the model reads is folded by ViennaRNA and one the model cannot read is left out,
    each with its note in ``res.notes``; the others are folded as if it were not there."""
    try:
        rows = fold_records(
            [(r.id, r.seq) for r in records], predictor, res.folder, batch_size=batch_size, plots=res.plots
        )
    except RnalmError as exc:
        res.missing = short(exc)
        return
    for row in rows:
        if row["method"]:
            res.rows[row["id"]] = row
            res.dbn[row["id"]] = row["structure"]
        if row["note"]:
            res.notes[row["id"]] = row["note"]


def _shipped_structures(records: list, out: Path, plots: bool, dtype: str) -> StructureResult:
    entry = shipped.structure_entry()
    if entry is None:
        return StructureResult(
            "rnalm",
            "shipped structure model",
            out / "structures" / "rnalm",
            missing="no shipped structure model (fold) in this installation",
        )
    res = StructureResult("rnalm", entry.name, out / "structures" / entry.name, entry=entry, plots=plots)
    try:
        predictor = fold_predictors.choose("shipped", dtype=dtype)  # the table rnalm fold --model reads
    except RnalmError as exc:
        res.entry, res.missing = None, f"shipped model {entry.name} cannot be loaded: {short(exc)}"
    else:
        fold(res, predictor, records)
    return res


def structures(
    records: list, out: Path, vienna: bool, plots: bool = True, dtype: str = "float32"
) -> list[StructureResult]:
    """Structures of the shipped structure model (computing in ``dtype``), and of ViennaRNA when ``vienna``."""
    results = [_shipped_structures(records, out, plots, dtype)]
    if vienna:
        res = StructureResult("vienna", "ViennaRNA (MFE)", out / "structures" / "vienna", plots=plots)
        fold(res, fold_predictors.choose("vienna", bpp=True), records)
        results.append(res)
    return results


def normalised_views(seq: str, rid: str) -> dict[str, str]:
    """The sequence as each model family's alphabet reads it (or the error it gives)."""
    views = {}
    for name in ("rna-fm", "utr-lm", "protrna"):
        a = alphabets()[name]
        try:
            views[name] = a.normalize(seq, rid)
        except InvalidSequenceError as exc:
            views[name] = f"error: {exc}"
    return views


def embed(model_ref: str, records: list, dtype: str = "float32") -> Embeddings:
    """Mean-pooled last-layer embeddings of every record (the first ``limit`` nt of longer ones),
    computed in ``dtype`` (:func:`rnalm.precision.resolve`) and returned in float32."""
    model, alphabet = load(model_ref)
    conv = alphabet.get_batch_converter(unknown="mask")
    limit = alphabet.max_length * alphabet.k_mer if alphabet.max_length else None
    pooled, mfe, truncated = [], [], []
    with torch.inference_mode(), resolve_precision(dtype, "cpu").autocast():
        for r in records:
            seq = "".join(r.seq.split())
            if limit is not None and len(seq) > limit:  # the first `limit` nt: a demo, not a measurement
                seq = seq[:limit]
                truncated.append(r.id)
            _, _, tokens = conv([(r.id, seq)])
            out = model(tokens, repr_layers=[model.num_layers])
            rep = out["representations"][model.num_layers][0]
            keep = ~torch.isin(tokens[0], torch.tensor(alphabet.special_indices))
            pooled.append(rep[keep].float().mean(0).numpy())
            mfe.append(float(out["mfe"][0]) * getattr(model, "mfe_scale", 1.0) if "mfe" in out else None)
    emb = np.stack(pooled)
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    info = {
        "model": model_ref,
        "layers": model.num_layers,
        "dim": model.embed_dim,
        "mfe_head": mfe,
        "truncated": truncated,
        "limit": limit,
    }
    return Embeddings(info, emb, unit @ unit.T)


def copy_cards(entries: list, out: Path) -> dict:
    """Copy the cards of the shipped models used (and of their backbones) to ``out/cards``; name -> link."""
    cards = {}
    used = [e for e in entries if e is not None]
    for e in list(used):
        if e.backbone:
            bb = shipped.find(e.backbone, "backbone")
            if bb is not None and bb not in used:
                used.append(bb)
    for e in used:
        if e.card.is_file():
            (out / "cards").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(e.card, out / "cards" / f"{e.name}.md")
            cards[e.name] = f"cards/{e.name}.md"
    return cards


__all__ = ["main_column", "copy_cards", "embed", "fold", "normalised_views", "predict_task", "structures"]
