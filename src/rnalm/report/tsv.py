"""``predictions.tsv``: one row per record, every task prediction and every structure, and in ``notes``
why a cell is empty (a record too long for a model, a letter it lacks)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from rnalm.report.gather import main_column
from rnalm.report.results import StructureResult, TaskResult, record_notes, relevant_task, type_of


def _columns(tasks: list[TaskResult], structures: list[StructureResult]) -> list[str]:
    cols = ["id", "type", "length", "relevant_task"]
    for t in tasks:
        cols += [t.alias] if t.alias != "family" else ["family", "family_prob"]
    for s in structures:
        cols += [f"{s.key}_pairs", f"{s.key}_dot_bracket"] + (["vienna_mfe_kcal_mol"] if s.key == "vienna" else [])
    return cols + ["notes"]


def _task_cells(t: TaskResult, rid: str) -> list[str]:
    raw = t.raw.get(rid)
    if t.alias == "family":
        if raw:
            p = str(raw["family"])
            return [p, f"{float(raw.get('prob_' + p, float('nan'))):.4f}"]
        return ["", ""]
    if t.alias == "ires":
        return [t.values.get(rid, "")]
    name = main_column(t.entry) if t.entry is not None else None
    return [f"{float(raw[name]):.4f}" if raw and name else ""]


def write_tsv(
    path: Path,
    records: list,
    tasks: list[TaskResult],
    structures: list[StructureResult],
    write: Callable[[Path, str], object],
) -> None:
    """Write the table to ``path`` with ``write(path, text)`` (an atomic writer)."""
    lines = ["\t".join(_columns(tasks, structures))]
    for r in records:
        rtype = type_of(r.description)
        vals = [r.id, rtype, str(len(r.seq)), relevant_task(rtype) or ""]
        for t in tasks:
            vals += _task_cells(t, r.id)
        for s in structures:
            row = s.rows.get(r.id)
            vals += [str(row["pairs"]) if row else "", s.dbn.get(r.id, "")]
            if s.key == "vienna":
                vals.append(row["energy"] if row else "")
        vals.append("; ".join(record_notes(r.id, tasks, structures)).replace("\t", " "))
        lines.append("\t".join(vals))
    write(path, "\n".join(lines) + "\n")


__all__ = ["write_tsv"]
