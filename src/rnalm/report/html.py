"""``report.html``: the demo's results turned into plain rows and rendered with the Jinja2 template
``templates/demo.html.j2`` (autoescaped: every record id, path and message is escaped)."""

from __future__ import annotations

from typing import Any, Optional

from jinja2 import Environment, PackageLoader

from rnalm import shipped
from rnalm.report.gather import normalised_views
from rnalm.report.results import TASK_COLUMNS, Embeddings, StructureResult, TaskResult, relevant_task, type_of
from rnalm.version import __version__

CSS = (
    "body{font-family:sans-serif;margin:2em;max-width:1500px}td,th{border:1px solid #ccc;padding:4px;"
    "vertical-align:top}table{border-collapse:collapse;margin-bottom:1.5em}code{font-size:11px;"
    "word-break:break-all}img{max-width:460px}.hl{background:#fff3bf;font-weight:bold}.na{color:#999}"
    ".warn{background:#fdecea;padding:6px 10px;border-left:4px solid #d62728}small{color:#555}"
)
TEMPLATE = "demo.html.j2"

_ENV = Environment(
    loader=PackageLoader("rnalm.report", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def _model_row(used_for: str, entry: Any, why: str, cards: dict, emb_info: Optional[dict]) -> dict:
    if entry is None:
        name = str(emb_info["model"]) if used_for == "embeddings" and emb_info else "-"
        why = why or ("--model (not a shipped model)" if used_for == "embeddings" else "")
        return {"installed": False, "used_for": used_for, "name": name, "why": why}
    chk = entry.check
    check = f"{chk.get('metric')} {chk['value']:.3f} (n={chk.get('n')})" if chk.get("value") is not None else "-"
    return {
        "installed": True,
        "used_for": used_for,
        "name": entry.name,
        "backbone": entry.backbone,
        "metric": entry.metric_text(),
        "check": check,
        "licence": entry.licence,
        "data_licence": entry.data_licence,
        "card": cards.get(entry.name),
    }


def _model_rows(
    tasks: list[TaskResult], structures: list[StructureResult], emb_info: Optional[dict], cards: dict
) -> list[dict]:
    """One row per model used: the task models, the structure model, and the backbone (or --model)."""
    rows = [(f"{label} ({t.alias})", t.entry, t.missing) for t, (_, label, _) in zip(tasks, TASK_COLUMNS)]
    rows += [
        (f"structure: {s.label}" if s.key != "rnalm" else "structure (fold)", s.entry, s.missing)
        for s in structures
        if s.key == "rnalm"
    ]
    if emb_info and not shipped.is_ref(str(emb_info["model"])):
        rows.append(("embeddings", None, ""))
    else:  # the shipped backbone: embeddings, and the features the task models read
        ref = str(emb_info["model"]) if emb_info else None
        bb = shipped.find(ref, "backbone") if ref else shipped.default_backbone()
        rows.append(
            (
                "backbone" + (" (embeddings)" if emb_info else ""),
                bb,
                "" if bb else "no shipped backbone in this installation",
            )
        )
    return [_model_row(used_for, entry, why, cards, emb_info) for used_for, entry, why in rows]


def _prediction_rows(records: list, tasks: list[TaskResult]) -> list[dict]:
    """Every task model on every record; the cell of the task that fits the record's type is highlighted."""
    out = []
    for r in records:
        rtype = type_of(r.description)
        rel = relevant_task(rtype)
        cells = []
        for t in tasks:
            if t.entry is None:
                cells.append({"cls": "na", "title": None, "text": "-"})
            elif r.id in t.errors:
                cells.append({"cls": "na", "title": t.errors[r.id], "text": "invalid input"})
            else:
                cells.append({"cls": "hl" if t.alias == rel else "", "title": None, "text": t.values.get(r.id, "-")})
        out.append({"id": r.id, "type": rtype, "nt": len(r.seq), "cells": cells})
    return out


def _structure_rows(records: list, shown: list[StructureResult]) -> list[dict]:
    """Per record: the sequence, each method's dot-bracket, and each method's picture and files."""
    out = []
    for r in records:
        lines, cells = [], []
        for s in shown:
            row = s.rows.get(r.id)
            extra = f" ({row['energy']} kcal/mol)" if row and row.get("energy") else ""
            lines.append({"dbn": s.dbn.get(r.id, ""), "key": s.key, "extra": extra})
            cells.append(
                None
                if row is None
                else {
                    "rel": f"structures/{s.folder.name}/{row['file']}",
                    "key": s.key,
                    "plots": s.plots,
                    "pairs": row["pairs"],
                }
            )
        out.append({"id": r.id, "nt": len(r.seq), "seq": r.seq, "lines": lines, "cells": cells})
    return out


def _views(records: list) -> list[dict]:
    return [
        {
            "id": r.id,
            "views": [
                {"name": k, "text": v[:60], "more": "…" if len(v) > 60 else ""}
                for k, v in normalised_views(r.seq, r.id).items()
            ],
        }
        for r in records
    ]


def _embedding_view(emb: Optional[Embeddings], records: list) -> Optional[dict]:
    if emb is None:
        return None
    info = emb.info
    return {
        "model": str(info["model"]),
        "layers": info["layers"],
        "dim": info["dim"],
        "truncated": info.get("truncated"),
        "limit": info["limit"],
        "rows": [{"id": r.id, "cells": [f"{v:.2f}" for v in emb.similarity[i]]} for i, r in enumerate(records)],
    }


def render_report(
    input_path: Any,
    records: list,
    tasks: list[TaskResult],
    structures: list[StructureResult],
    emb: Optional[Embeddings],
    cards: dict,
    emb_error: str = "",
) -> str:
    """The whole report as one self-contained HTML page (links relative to the output folder)."""
    missing = [t.missing for t in tasks if t.missing] + [
        s.missing for s in structures if s.missing and s.key == "rnalm"
    ]
    shown = [s for s in structures if not s.missing and not s.error]
    return _ENV.get_template(TEMPLATE).render(
        css=CSS,
        n_records=len(records),
        input_path=str(input_path),
        version=__version__,
        shipped_root=str(shipped.root()),
        missing=missing,
        models=_model_rows(tasks, structures, emb.info if emb else None, cards),
        task_headers=[
            {"label": label, "model": t.entry.name if t.entry else "not installed"}
            for t, (_, label, _) in zip(tasks, TASK_COLUMNS)
        ],
        prediction_rows=_prediction_rows(records, tasks),
        structure_warnings=[
            {"label": s.label, "message": s.missing or s.error} for s in structures if s.missing or s.error
        ],
        shown=[s.label for s in shown],
        structure_rows=_structure_rows(records, shown) if shown else [],
        views=_views(records),
        emb=_embedding_view(emb, records),
        emb_error=emb_error,
    )


__all__ = ["CSS", "TEMPLATE", "render_report"]
