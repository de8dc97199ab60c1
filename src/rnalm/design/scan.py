"""In-silico saturation mutagenesis: every single substitution (and optionally every one-base
insertion and deletion) of a sequence, scored by a task model or an ensemble, as effects on the
prediction relative to the wild type.

The mutants are scored by the same :class:`~rnalm.design.objective.Objective` as designs, so an
effect is exactly ``prediction(mutant) - prediction(wild type)`` of the predictor interface; a
mutant the model cannot score keeps an empty effect and the model's note.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from rnalm.design.constraints import BASES, rna
from rnalm.design.objective import Objective
from rnalm.errors import RnalmError
from rnalm.io.progress import Progress

KINDS = ("sub", "ins", "del")


@dataclass(frozen=True)
class Mutant:
    kind: str
    #: 1-based position: the substituted or deleted base, or the base the insertion goes before
    #: (length + 1: after the last base)
    position: int
    ref: str
    alt: str
    seq: str


def mutants(seq: str, indels: bool = False) -> list[Mutant]:
    """Every single substitution of ``seq`` (position by position, bases in ``ACGU`` order), then,
    with ``indels``, every distinct one-base insertion and deletion."""
    out = [
        Mutant("sub", i + 1, seq[i], b, seq[:i] + b + seq[i + 1 :])
        for i in range(len(seq))
        for b in BASES
        if b != seq[i]
    ]
    if indels:
        seen = {seq}
        for i in range(len(seq) + 1):
            for b in BASES:
                m = seq[:i] + b + seq[i:]
                if m not in seen:
                    seen.add(m)
                    out.append(Mutant("ins", i + 1, "-", b, m))
        for i in range(len(seq)):
            m = seq[:i] + seq[i + 1 :]
            if m and m not in seen:
                seen.add(m)
                out.append(Mutant("del", i + 1, seq[i], "-", m))
    return out


def scan(
    records: Sequence[tuple[str, str]],
    objective: Objective,
    indels: bool = False,
    show: Optional[bool] = None,
) -> pd.DataFrame:
    """The effects table: one row per mutant of each record (``id, kind, position, ref, alt, mutant``,
    each prediction column of the mutant and its ``_effect``, ``objective_effect``, ``note``)."""
    if len(objective.terms) != 1:
        raise RnalmError("a scan reads one model (or one ensemble); pass one task")
    col = objective.terms[0].name
    names = objective.column_names()
    frames = []
    with Progress(len(records), "design scan", show=show) as bar:
        for rid, raw in records:
            seq = rna(raw)
            if set(seq) - set(BASES):
                raise RnalmError(f"record {rid!r}: letters other than A, C, G, U (or T) cannot be scanned")
            muts = mutants(seq, indels)
            got = objective.score([seq, *(m.seq for m in muts)])
            wt = {c: got.columns[c][0] for c in names}
            table = {
                "id": rid,
                "kind": [m.kind for m in muts],
                "position": [m.position for m in muts],
                "ref": [m.ref for m in muts],
                "alt": [m.alt for m in muts],
                "mutant": [m.seq for m in muts],
                f"{col}_wild_type": wt[col],
            }
            for c in names:
                table[c] = got.columns[c][1:]
            table[f"{col}_effect"] = got.columns[col][1:] - wt[col]
            table["note"] = got.notes[1:]
            if math.isnan(wt[col]):
                table["note"] = [f"wild type not scored: {got.notes[0]}"] * len(muts)
            frames.append(pd.DataFrame(table))
            bar.update()
        closing = bar.summary()
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    df.attrs["closing"] = closing
    return df


def effect_matrix(effects: pd.DataFrame, record_id: str, column: str) -> tuple[str, np.ndarray]:
    """The wild type of ``record_id`` and its substitution effects as a ``4 x length`` matrix (rows
    ``ACGU``; the wild-type base's cell is 0)."""
    sub = effects[(effects["id"] == record_id) & (effects["kind"] == "sub")]
    length = int(sub["position"].max())
    wt = ["N"] * length
    m = np.zeros((4, length))
    for pos, ref, alt, eff in zip(sub["position"], sub["ref"], sub["alt"], sub[f"{column}_effect"]):
        wt[pos - 1] = ref
        m[BASES.index(alt), pos - 1] = eff
    return "".join(wt), m


def heatmap(effects: pd.DataFrame, record_id: str, column: str, path: str) -> None:
    """Position x base heatmap of substitution effects (diverging colours, 0 white; wild type dotted)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    wt, m = effect_matrix(effects, record_id, column)
    lim = float(np.nanmax(np.abs(m))) or 1.0
    fig, ax = plt.subplots(figsize=(min(40.0, max(4.0, 0.16 * len(wt) + 1.5)), 2.2))  # long records: capped width
    im = ax.imshow(m, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
    for i, b in enumerate(wt):
        if b in BASES:
            ax.plot(i, BASES.index(b), marker=".", color="black", markersize=3)
    ax.set_yticks(range(4), list(BASES))
    step = max(1, len(wt) // 25)
    ax.set_xticks(range(0, len(wt), step), [str(i + 1) for i in range(0, len(wt), step)], fontsize=7)
    ax.set_xlabel("position (nt)")
    ax.set_title(f"{record_id}: effect on {column} of each substitution", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.01, label=f"delta {column}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


__all__ = ["KINDS", "Mutant", "effect_matrix", "heatmap", "mutants", "scan"]
