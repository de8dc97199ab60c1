"""The demo job: read the records, run every shipped model on them, write ``predictions.tsv``,
``report.html``, ``structures/``, ``cards/`` and ``embeddings.npy`` under the output folder, and say
on stderr what was done and what is missing."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from rnalm import shipped
from rnalm.errors import RnalmError
from rnalm.io.atomic import atomic_write_text
from rnalm.io.output_guard import (
    OutputKind,
    claim_output,
    output_lock,
    remove_path,
    remove_stale_staging,
    staging_path,
    swap_into_place,
    write_marker,
)
from rnalm.io.seqio import iter_records, unique_ids
from rnalm.precision import resolve as resolve_precision
from rnalm.report.gather import copy_cards, embed, predict_task, structures
from rnalm.report.html import render_report
from rnalm.report.results import TASK_COLUMNS, Embeddings, short
from rnalm.report.tsv import write_tsv


def say(msg: str) -> None:
    print(f"rnalm demo: {msg}", file=sys.stderr, flush=True)


def quiet(_msg: str) -> None:
    pass


def is_demo_output(path: Path) -> bool:
    """A folder ``rnalm demo`` wrote before the marker: its report and its table."""
    return (path / "report.html").is_file() and (path / "predictions.tsv").is_file()


#: ``rnalm demo --output``: ``--overwrite`` replaces only such a folder.
DEMO_OUTPUT = OutputKind("demo", "an rnalm demo report folder", is_demo_output)


def _embeddings(
    model: Optional[str], records: list, out: Path, log: Callable[[str], None], dtype: str = "float32"
) -> tuple[Optional[Embeddings], str]:
    """Embeddings with ``model`` (default: the shipped backbone), saved as ``embeddings.npy``; or the
    reason they were skipped. An explicit ``model`` that fails to load is an error."""
    model_ref = model
    if model_ref is None:
        bb = shipped.default_backbone()
        model_ref = shipped.ref(bb.name) if bb is not None else None
    if not model_ref:
        return None, ""
    try:
        emb = embed(model_ref, records, dtype)
        out.mkdir(parents=True, exist_ok=True)
        np.save(out / "embeddings.npy", emb.vectors)
    except RnalmError as exc:
        if model:
            raise
        log(f"embeddings skipped: {short(exc)}")
        return None, short(exc)
    return emb, ""


def run_demo(
    input_path: str,
    output: str,
    model: Optional[str] = None,
    vienna: bool = True,
    overwrite: bool = False,
    input_format: Optional[str] = None,
    seq_column: Optional[str] = None,
    id_column: Optional[str] = None,
    log: Callable[[str], None] = say,
    dtype: str = "auto",
) -> int:
    """Run the demo on ``input_path`` (FASTA, CSV or TSV, read as every command reads it) into the
    folder ``output``: built aside and swapped in when complete; an existing ``output`` is replaced
    only with ``overwrite`` and only if it is a demo report folder."""
    t0 = time.time()
    out = Path(output)
    claim_output(out, DEMO_OUTPUT, overwrite, inputs=[input_path])
    records = list(unique_ids(iter_records(input_path, input_format, id_column, seq_column), input_path))
    log(f"{len(records)} records from {input_path}; models compute in {resolve_precision(dtype, 'cpu').summary()}")
    out.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(out):
        claim_output(out, DEMO_OUTPUT, overwrite, inputs=[input_path])
        remove_stale_staging(out, DEMO_OUTPUT)
        staged = staging_path(out)
        try:
            staged.mkdir()
            write_marker(staged, DEMO_OUTPUT)
            _write_demo(input_path, records, staged, model, vienna, log, dtype)
            swap_into_place(staged, out, DEMO_OUTPUT)
        finally:
            remove_path(staged)
    log(f"wrote {out / 'report.html'}, {out / 'predictions.tsv'} and {out / 'structures'}/ in {time.time() - t0:.1f}s")
    return 0


def _write_demo(
    input_path: str,
    records: list,
    out: Path,
    model: Optional[str],
    vienna: bool,
    log: Callable[[str], None],
    dtype: str = "float32",
) -> None:
    if not shipped.entries():
        log(
            f"no models are shipped with this installation ({shipped.root() / shipped.MANIFEST} is empty): "
            f"task predictions and the learned structures are skipped"
        )
    tasks = [predict_task(alias, records, dtype) for alias, _, _ in TASK_COLUMNS]
    for t in tasks:
        log(f"{t.alias}: {t.entry.name} ({len(t.values)} predictions)" if t.entry else f"{t.alias}: {t.missing}")
        for rid, why in t.errors.items():
            log(f"{t.alias}: record {rid!r}: {why}")
    folded = structures(records, out, vienna=vienna, dtype=dtype)
    for s in folded:
        if s.missing:
            log(f"structures: {s.missing}")
            continue
        log(f"structures ({s.key}): {s.label}, {len(s.rows)} folded")
        for rid, note in s.notes.items():
            log(f"structures ({s.key}): record {rid!r}: {note}")
    emb, emb_error = _embeddings(model, records, out, log, dtype)
    cards = copy_cards([t.entry for t in tasks] + [s.entry for s in folded], out)
    write_tsv(out / "predictions.tsv", records, tasks, folded, atomic_write_text)
    atomic_write_text(out / "report.html", render_report(input_path, records, tasks, folded, emb, cards, emb_error))


__all__ = ["DEMO_OUTPUT", "is_demo_output", "quiet", "run_demo", "say"]
