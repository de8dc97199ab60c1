"""What the demo gathers for each record, and how a record's ``type=`` picks the task that fits it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

#: (alias, column header, what the cell shows)
TASK_COLUMNS = (
    ("te", "TE (log)", "5' UTR"),
    ("halflife", "half-life", "3' UTR"),
    ("ires", "IRES prob.", "IRES"),
    ("family", "ncRNA family", "ncRNA"),
    ("mrl", "MRL", "5' UTR"),
)


def short(msg: Any, limit: int = 300) -> str:
    """First line of an error, at most ``limit`` characters (state-dict errors run to pages)."""
    line = str(msg).strip().splitlines()[0] if str(msg).strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def type_of(description: str) -> str:
    """The ``type=`` word of a FASTA description ("" when there is none)."""
    for word in description.split():
        if word.startswith("type="):
            return word[5:]
    return ""


def relevant_task(rtype: str) -> Optional[str]:
    """The task that fits a record's ``type=``: 5UTR -> te, 3UTR -> halflife, IRES -> ires, other RNA -> family."""
    t = rtype.lower().replace("'", "").replace("_", "").replace("-", "")
    if not t:
        return None
    if t in ("5utr", "utr5"):
        return "te"
    if t in ("3utr", "utr3"):
        return "halflife"
    if t == "ires":
        return "ires"
    return "family"


@dataclass
class TaskResult:
    alias: str
    entry: Any = None  # rnalm.shipped.Entry
    missing: str = ""
    values: dict = field(default_factory=dict)  # id -> display text
    raw: dict = field(default_factory=dict)  # id -> dict of numbers / labels
    errors: dict = field(default_factory=dict)  # id -> why that record has no prediction


@dataclass
class StructureResult:
    key: str
    label: str
    folder: Path
    entry: Any = None
    missing: str = ""
    rows: dict = field(default_factory=dict)  # id -> fold_records row
    dbn: dict = field(default_factory=dict)  # id -> dot-bracket
    plots: bool = False
    notes: dict = field(default_factory=dict)  # id -> why that record has no structure here


def record_notes(rid: str, tasks: list[TaskResult], structures: list[StructureResult]) -> list[str]:
    """Why a record lacks a prediction or a structure, one ``model: reason`` per gap."""
    notes = [f"{t.alias}: {t.errors[rid]}" for t in tasks if rid in t.errors]
    return notes + [f"{s.label} structure: {s.notes[rid]}" for s in structures if rid in s.notes]


@dataclass
class Embeddings:
    """Mean-pooled embeddings of the records and their cosine similarities (``info``: model, layers, dim...)."""

    info: dict
    vectors: Any  # numpy array, one row per record
    similarity: Any  # numpy array, records x records


__all__ = [
    "Embeddings",
    "StructureResult",
    "TASK_COLUMNS",
    "TaskResult",
    "record_notes",
    "relevant_task",
    "short",
    "type_of",
]
