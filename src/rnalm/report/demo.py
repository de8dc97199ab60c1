"""The demo job: read the records, run every shipped model on them, write ``predictions.tsv``,
``report.html``, ``structures/``, ``cards/`` and ``embeddings.npy`` under the output folder, and say
on stderr what was done and what is missing."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Optional

import numpy as np

from rnalm import shipped
from rnalm.errors import RnalmError
from rnalm.io.seqio import iter_records, unique_ids
from rnalm.report.gather import copy_cards, embed, predict_task, structures
from rnalm.report.html import render_report
from rnalm.report.results import TASK_COLUMNS, Embeddings, short
from rnalm.report.tsv import write_tsv
from rnalm.structure.atomic import atomic_write_text


def say(msg: str) -> None:
    print(f"rnalm demo: {msg}", file=sys.stderr, flush=True)


def _embeddings(model: Optional[str], records: list, out: Path) -> tuple[Optional[Embeddings], str]:
    """Embeddings with ``model`` (default: the shipped backbone), saved as ``embeddings.npy``; or the
    reason they were skipped. An explicit ``model`` that fails to load is an error."""
    model_ref = model
    if model_ref is None:
        bb = shipped.default_backbone()
        model_ref = shipped.ref(bb.name) if bb is not None else None
    if not model_ref:
        return None, ""
    try:
        emb = embed(model_ref, records)
        out.mkdir(parents=True, exist_ok=True)
        np.save(out / "embeddings.npy", emb.vectors)
    except RnalmError as exc:
        if model:
            raise
        say(f"embeddings skipped: {short(exc)}")
        return None, short(exc)
    return emb, ""


def run_demo(input_path: str, output: str, model: Optional[str] = None, vienna: bool = True) -> int:
    """Run the demo on ``input_path`` (FASTA or CSV) into the folder ``output``."""
    t0 = time.time()
    out = Path(output)
    records = list(unique_ids(iter_records(input_path), input_path))
    say(f"{len(records)} records from {input_path}")
    if not shipped.entries():
        say(
            f"no models are shipped with this installation ({shipped.root() / shipped.MANIFEST} is empty): "
            f"task predictions and the learned structures are skipped"
        )

    tasks = [predict_task(alias, records) for alias, _, _ in TASK_COLUMNS]
    for t in tasks:
        say(f"{t.alias}: {t.entry.name} ({len(t.values)} predictions)" if t.entry else f"{t.alias}: {t.missing}")
        for rid, why in t.errors.items():
            say(f"{t.alias}: record {rid!r}: {why}")
    folded = structures(records, out, vienna=vienna)
    for s in folded:
        if s.missing:
            say(f"structures: {s.missing}")
            continue
        say(f"structures ({s.key}): {s.label}, {len(s.rows)} folded")
        for rid, note in s.notes.items():
            say(f"structures ({s.key}): record {rid!r}: {note}")
    emb, emb_error = _embeddings(model, records, out)

    cards = copy_cards([t.entry for t in tasks] + [s.entry for s in folded], out)
    write_tsv(out / "predictions.tsv", records, tasks, folded, atomic_write_text)
    atomic_write_text(out / "report.html", render_report(input_path, records, tasks, folded, emb, cards, emb_error))
    say(f"wrote {out / 'report.html'}, {out / 'predictions.tsv'} and {out / 'structures'}/ in {time.time() - t0:.1f}s")
    return 0


__all__ = ["run_demo", "say"]
