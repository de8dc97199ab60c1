"""What a design run writes: the ranked designs table (CSV), its HTML report, and a scan's folder.

Every file is built aside and moved into place (:mod:`rnalm.io.output_guard`), and an existing
output is replaced only with ``overwrite`` and only if rnalm wrote it as the same kind of output.
Numbers are written with six significant digits, so a seeded run writes byte-identical files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Optional, Sequence

import pandas as pd
from jinja2 import Environment

from rnalm.design.constraints import Constraints, describe, edit_distance, gc_fraction
from rnalm.design.objective import Objective
from rnalm.design.optimize import Candidate
from rnalm.design.scan import heatmap
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
from rnalm.io.permissions import honour_umask
from rnalm.io.record_names import file_name

#: The first columns of a designs table, how an existing file is recognised as one.
HEAD = ("rank", "sequence", "objective")
HTML_MARK = "<!-- rnalm design report -->"
FLOAT = "%.6g"


def _csv_head(path: Path) -> list[str]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return fh.readline(1 << 16).strip().split(",")


DESIGNS = OutputKind(
    "designs",
    "a designs CSV written by rnalm (header starting rank,sequence,objective)",
    lambda p: p.is_file() and tuple(_csv_head(p)[:3]) == HEAD,
)
DESIGN_HTML = OutputKind(
    "design-report",
    "an HTML design report written by rnalm",
    lambda p: p.is_file() and HTML_MARK in p.read_text(encoding="utf-8", errors="replace")[:400],
)
SCAN = OutputKind("design-scan", "a folder written by rnalm design scan", lambda p: (p / "effects.csv").is_file())


def designs_table(candidates: Sequence[Candidate], objective: Objective, constraints: Constraints) -> pd.DataFrame:
    """``rank, sequence, objective``, each prediction column, ``uncertainty``, ``constraints`` (``ok`` or
    what is broken), ``edit_distance`` to the start, ``seed_id``, ``seed``, ``length``, ``gc``, ``note``."""
    seqs = [c.seq for c in candidates]
    scores = objective.score(seqs)
    table: dict[str, object] = {
        "rank": list(range(1, len(seqs) + 1)),
        "sequence": seqs,
        "objective": scores.objective,
    }
    table.update(scores.columns)
    table.update(
        uncertainty=scores.uncertainty,
        constraints=[constraints.report(s) for s in seqs],
        edit_distance=[edit_distance(c.seq, c.origin) for c in candidates],
        seed_id=[c.origin_id for c in candidates],
        seed=[c.origin for c in candidates],
        length=[len(s) for s in seqs],
        gc=[round(gc_fraction(s), 4) for s in seqs],
        note=scores.notes,
    )
    return pd.DataFrame(table)


def _claim(path: Path, kind: OutputKind, overwrite: bool, inputs: Sequence[Optional[Path]]) -> None:
    claim_output(path, kind, overwrite, inputs=inputs)


def write_file(
    path: str | os.PathLike,
    kind: OutputKind,
    write: Callable[[Path], None],
    overwrite: bool = False,
    inputs: Sequence[Optional[str | os.PathLike]] = (),
) -> Path:
    """``write(staging)`` then move it to ``path`` (one writer at a time; modes as the umask says)."""
    out = Path(path)
    ins = [Path(p) for p in inputs if p]
    _claim(out, kind, overwrite, ins)
    out.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(out):
        _claim(out, kind, overwrite, ins)
        remove_stale_staging(out, kind)
        tmp = staging_path(out)
        try:
            write(tmp)
            honour_umask(tmp)
            swap_into_place(tmp, out, kind)
        finally:
            remove_path(tmp)
    return out


def write_designs(
    table: pd.DataFrame,
    path: str | os.PathLike,
    overwrite: bool = False,
    inputs: Sequence[Optional[str | os.PathLike]] = (),
) -> Path:
    return write_file(path, DESIGNS, lambda p: table.to_csv(p, index=False, float_format=FLOAT), overwrite, inputs)


_TEMPLATE = (
    """<!DOCTYPE html>
"""
    + HTML_MARK
    + """
<html><head><meta charset="utf-8"><title>rnalm design report</title>
<style>body{font-family:sans-serif;margin:2em;max-width:75em}td,th{padding:2px 8px;font-size:13px}
th{background:#eee}tr:nth-child(even){background:#f7f7f7}code,td.seq{font-family:monospace}
.warn{background:#fff4d6;padding:.6em;border-left:4px solid #e0a800}</style></head><body>
<h1>rnalm design report</h1>
<p class="warn">Every number here is a <b>model prediction</b>, not a measurement: these designs have not been
tested in the lab. The uncertainty column is the spread of the scoring ensemble, which says how much the
models disagree, not how far they are from the truth.</p>
<h2>Run</h2><ul>
<li>objective: {{ objective }}</li>
{% for c in constraints %}<li>constraint: <code>{{ c }}</code></li>{% endfor %}
{% for k, v in settings %}<li>{{ k }}: <code>{{ v }}</code></li>{% endfor %}
</ul>
<h2>Summary</h2><ul>
<li>{{ n }} designs; objective best {{ best }}, median {{ median }}, worst {{ worst }}</li>
<li>median ensemble spread (uncertainty): {{ spread }}</li>
<li>all designs satisfy every constraint: {{ all_ok }}</li></ul>
<h2>Designs</h2>
<table><tr>{% for c in columns %}<th>{{ c }}</th>{% endfor %}</tr>
{% for row in rows %}<tr>{% for c in columns %}<td{% if c == 'sequence' %} class="seq"{% endif %}>{{ row[c] }}</td>
{%- endfor %}</tr>
{% endfor %}</table></body></html>
"""
)


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return "" if v != v else f"{v:.4g}"
    return str(v)


def render_html(
    table: pd.DataFrame, objective: Objective, constraints: Constraints, settings: Sequence[tuple[str, str]] = ()
) -> str:
    """The report: what was optimised under which constraints, a summary, and the ranked designs."""
    env = Environment(autoescape=True)
    shown = [c for c in table.columns if c not in ("seed",)]
    rows = [{c: _fmt(r[c]) for c in shown} for r in table.to_dict("records")]
    obj = table["objective"] if len(table) else pd.Series(dtype=float)
    return env.from_string(_TEMPLATE).render(
        objective=objective.describe(),
        constraints=describe(constraints),
        settings=list(settings),
        n=len(table),
        best=_fmt(float(obj.max())) if len(obj) else "",
        median=_fmt(float(obj.median())) if len(obj) else "",
        worst=_fmt(float(obj.min())) if len(obj) else "",
        spread=_fmt(float(table["uncertainty"].median())) if len(table) else "",
        all_ok=bool((table["constraints"] == "ok").all()) if len(table) else True,
        columns=shown,
        rows=rows,
    )


def write_html(text: str, path: str | os.PathLike, overwrite: bool = False) -> Path:
    def write(p: Path) -> None:
        p.write_text(text, encoding="utf-8")

    return write_file(path, DESIGN_HTML, write, overwrite)


def write_scan(
    effects: pd.DataFrame,
    column: str,
    path: str | os.PathLike,
    overwrite: bool = False,
    inputs: Sequence[Optional[str | os.PathLike]] = (),
) -> Path:
    """``DIR/effects.csv`` and one ``heatmap_<id>.png`` per record (position x base substitution effects)."""

    def build(tmp: Path) -> None:
        tmp.mkdir()
        write_marker(tmp, SCAN)
        effects.to_csv(tmp / "effects.csv", index=False, float_format=FLOAT)
        for rid in dict.fromkeys(effects["id"]) if len(effects) else ():
            heatmap(effects, rid, column, str(tmp / f"heatmap_{file_name(str(rid))}.png"))

    return write_file(path, SCAN, build, overwrite, inputs)


__all__ = [
    "DESIGNS",
    "DESIGN_HTML",
    "SCAN",
    "designs_table",
    "render_html",
    "write_designs",
    "write_file",
    "write_html",
    "write_scan",
]
