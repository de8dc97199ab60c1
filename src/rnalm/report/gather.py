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
from rnalm.predictors import fold as fold_predictors
from rnalm.predictors import task as task_predictors
from rnalm.report.results import Embeddings, StructureResult, TaskResult, short
from rnalm.runs.table import Records
from rnalm.structure.predict import fold_records


def _display(alias: str, row: dict) -> str:
    """The text of a prediction cell: a probability (ires), label (probability), or a number."""
    p = row["prediction"]
    probs = {k[5:]: float(v) for k, v in row.items() if k.startswith("prob_")}
    if alias == "ires" and probs:
        positive = "1" if "1" in probs else sorted(probs)[-1]
        return f"{probs[positive]:.2f}"
    if probs:
        return f"{p} ({probs[str(p)]:.2f})"
    return f"{float(p):.3f}"


def predict_task(alias: str, records: list) -> TaskResult:
    """Predictions of the shipped task model ``alias`` for every record it can read."""
    res = TaskResult(alias)
    try:
        res.entry = shipped.task_entry(alias)
    except shipped.ShippedModelError:
        res.missing = f"no shipped task model '{alias}' in this installation"
        return res
    e = res.entry
    try:
        pred = task_predictors.from_shipped(e, device="cpu", log=lambda _m: None).model
    except RnalmError as exc:
        res.entry, res.missing = None, f"shipped model {e.name} cannot be loaded: {short(exc)}"
        return res
    ok, seqs = [], []
    for r in records:  # one bad record (a letter the model's alphabet lacks) must not sink the others
        recs = Records()
        recs.append(r.id, r.seq, None, f"record {r.id}")
        try:
            seqs.append(pred.prepare(recs)[0])
            ok.append(r)
        except RnalmError as exc:
            res.errors[r.id] = short(exc)
    if not ok:
        return res
    cols = pred.predict(seqs)
    for i, r in enumerate(ok):
        row = {k: v[i] for k, v in cols.items()}
        res.raw[r.id] = row
        res.values[r.id] = _display(alias, row)
    return res


def fold(res: StructureResult, predictor: Any, records: list, batch_size: int) -> None:
    """Fold every record into ``res`` (files under ``res.folder``); without matplotlib, without plots."""
    try:
        rows = fold_records(
            [(r.id, r.seq) for r in records], predictor, res.folder, batch_size=batch_size, plots=res.plots
        )
    except RnalmError as exc:
        if res.plots and "matplotlib" in str(exc):
            res.plots = False
            rows = fold_records([(r.id, r.seq) for r in records], predictor, res.folder, batch_size=batch_size)
        else:
            res.error = short(exc)
            return
    for row in rows:
        res.rows[row["id"]] = row
        res.dbn[row["id"]] = row["structure"]


def _shipped_structures(records: list, out: Path, plots: bool) -> StructureResult:
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
        predictor = fold_predictors.from_shipped(entry)
    except RnalmError as exc:
        res.entry, res.missing = None, f"shipped model {entry.name} cannot be loaded: {short(exc)}"
    else:
        fold(res, predictor, records, 8)
    return res


def structures(records: list, out: Path, vienna: bool, plots: bool) -> list[StructureResult]:
    """Structures of the shipped structure model, and of ViennaRNA when ``vienna``."""
    results = [_shipped_structures(records, out, plots)]
    if vienna:
        res = StructureResult("vienna", "ViennaRNA (MFE)", out / "structures" / "vienna", plots=plots)
        try:
            predictor = fold_predictors.vienna(bpp=True)
        except RnalmError as exc:
            res.missing = f"ViennaRNA is not installed ({short(exc)})"
        else:
            fold(res, predictor, records, 1)
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


def embed(model_ref: str, records: list) -> Embeddings:
    """Mean-pooled last-layer embeddings of every record (the first ``limit`` nt of longer ones)."""
    model, alphabet = load(model_ref)
    conv = alphabet.get_batch_converter(unknown="mask")
    limit = alphabet.max_length * alphabet.k_mer if alphabet.max_length else None
    pooled, mfe, truncated = [], [], []
    with torch.inference_mode():
        for r in records:
            seq = "".join(r.seq.split())
            if limit is not None and len(seq) > limit:  # the first `limit` nt: a demo, not a measurement
                seq = seq[:limit]
                truncated.append(r.id)
            _, _, tokens = conv([(r.id, seq)])
            out = model(tokens, repr_layers=[model.num_layers])
            rep = out["representations"][model.num_layers][0]
            keep = ~torch.isin(tokens[0], torch.tensor(alphabet.special_indices))
            pooled.append(rep[keep].mean(0).numpy())
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


__all__ = ["copy_cards", "embed", "fold", "normalised_views", "predict_task", "structures"]
