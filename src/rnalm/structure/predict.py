"""The engine behind ``rnalm fold``: validate records, predict, write per-record files.

A *predictor* maps a batch of ``(id, sequence)`` to :class:`Prediction` objects. Two kinds exist:

* :func:`vienna_predictor` -- ViennaRNA's MFE structure, with its base-pair probabilities as the
  probability map;
* :func:`model_predictor` -- any *probability model* (a callable from sequences to ``L x L``
  probability matrices, e.g. a trained pairwise head with its backbone) followed by the
  user's post-processing choices (:mod:`rnalm.structure.postprocess`).

Learned models come from ``rnalm finetune`` run directories; the run-directory format belongs to
the fine-tuning code (:func:`rnalm.runs.structure_model.load_run_model`), so this module
never parses weights itself.

Every record is validated before anything is written: letters (A, C, G, U, T, N in any case; T is
read as U), non-empty, at most ``max_length`` nt, unique output names. Each output file is written
atomically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

import numpy as np

from rnalm.errors import RnalmError, SequenceLengthError
from rnalm.io.output_guard import OutputKind
from rnalm.structure.atomic import atomic_save_npy, atomic_write_text
from rnalm.structure.formats import format_bpseq, format_ct, format_dbn
from rnalm.structure.pairs import Structure, assign_pages
from rnalm.structure.plots import arc_diagram, dot_plot
from rnalm.structure.postprocess import ONE_PARTNER_METHODS, postprocess
from rnalm.structure.vienna import import_rna, vienna_fold

#: Letters ``rnalm fold`` accepts (case-insensitive); T is read as U, N never pairs.
FOLD_LETTERS = "ACGUTN"
_BAD = re.compile(r"[^ACGUTNacgutn]")


class FoldInputError(RnalmError, ValueError):
    """A record cannot be folded (invalid letter, empty, too long, clashing output name)."""


@dataclass(frozen=True)
class Prediction:
    structure: Structure
    probs: Optional[np.ndarray] = None  # (L, L) pair probabilities
    energy: Optional[float] = None  # kcal/mol, ViennaRNA only


Predictor = Callable[[Sequence[tuple[str, str]]], list[Prediction]]
ProbabilityModel = Callable[[Sequence[str]], list[np.ndarray]]


@dataclass(frozen=True)
class PostprocessOptions:
    """Post-processing of probability maps (see :func:`rnalm.structure.postprocess.postprocess`)."""

    threshold: float = 0.5
    min_loop: int = 3
    canonical_only: bool = False
    one_partner: Optional[str] = "greedy"

    def __post_init__(self) -> None:
        if self.one_partner is not None and self.one_partner not in ONE_PARTNER_METHODS:
            raise RnalmError(
                f"one-partner method must be one of {ONE_PARTNER_METHODS} or none, got {self.one_partner!r}"
            )
        if self.min_loop < 0:
            raise RnalmError(f"minimum loop length must be >= 0, got {self.min_loop}")


# ------------------------------------------------------------------------------ validation
def check_sequence(record_id: str, seq: str, max_length: Optional[int] = None) -> str:
    """The sequence upper-cased with T -> U, or :class:`FoldInputError` naming the record."""
    seq = "".join(seq.split())
    if not seq:
        raise FoldInputError(f"record {record_id!r}: empty sequence")
    bad = _BAD.search(seq)
    if bad:
        raise FoldInputError(
            f"record {record_id!r}: invalid character {bad.group()!r} at position {bad.start() + 1} (1-based); "
            f"rnalm fold accepts {', '.join(FOLD_LETTERS)} in any case (T is read as U; replace other "
            f"IUPAC codes or gaps with N, or remove them)"
        )
    if max_length is not None and len(seq) > max_length:
        raise FoldInputError(
            f"record {record_id!r}: {len(seq)} nt is longer than the maximum length "
            f"{max_length}; raise --max-length or split the sequence"
        )
    return seq.upper().replace("T", "U")


def safe_stem(record_id: str) -> str:
    """File-name stem for a record id: characters outside ``[A-Za-z0-9._-]`` become ``_``."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", record_id).lstrip(".")
    return stem[:200] or "record"


def prepare_records(records: Iterable[tuple[str, str]], max_length: Optional[int] = None) -> list[tuple[str, str, str]]:
    """``(id, normalised sequence, file stem)`` for every record, all checked up front."""
    out = []
    stems: dict[str, str] = {}
    for rid, seq in records:
        norm = check_sequence(rid, seq, max_length)
        stem = safe_stem(rid)
        key = stem.lower()  # case-insensitive file systems would merge these
        if key in stems:
            raise FoldInputError(
                f"records {stems[key]!r} and {rid!r} would both be written as {stem!r}.*; give them distinct ids"
            )
        stems[key] = rid
        out.append((rid, norm, stem))
    if not out:
        raise FoldInputError("no records to fold")
    return out


# ------------------------------------------------------------------------------ predictors
def vienna_predictor(bpp: bool = True) -> Predictor:
    import_rna()  # fail before any work if ViennaRNA is missing

    def predict(batch: Sequence[tuple[str, str]]) -> list[Prediction]:
        out = []
        for rid, seq in batch:
            r = vienna_fold(seq, rid, bpp=bpp)
            out.append(Prediction(r.structure, r.probs, r.energy))
        return out

    return predict


def model_predictor(model: ProbabilityModel, options: PostprocessOptions = PostprocessOptions()) -> Predictor:
    """Wrap a probability model with post-processing into a predictor."""

    def predict(batch: Sequence[tuple[str, str]]) -> list[Prediction]:
        probs = model([seq for _, seq in batch])
        if len(probs) != len(batch):
            raise RuntimeError(f"probability model returned {len(probs)} maps for {len(batch)} sequences")
        out = []
        for (rid, seq), p in zip(batch, probs):
            p = np.asarray(p, dtype=np.float32)
            if p.shape != (len(seq), len(seq)):
                raise RuntimeError(f"record {rid!r}: probability map of shape {p.shape} for {len(seq)} nt")
            pairs = postprocess(
                p, seq, options.threshold, options.min_loop, options.canonical_only, options.one_partner
            )
            out.append(Prediction(Structure(rid, seq, tuple(pairs)), p))
        return out

    return predict


# ------------------------------------------------------------------------------------ writing
def write_prediction(pred: Prediction, out_dir: Path, stem: str, plots: bool = False) -> list[Path]:
    s = pred.structure
    written = [
        atomic_write_text(out_dir / f"{stem}.ct", format_ct(s, title=_ct_title(pred))),
        atomic_write_text(out_dir / f"{stem}.bpseq", f"#Name: {s.id}\n" + format_bpseq(s)),
        atomic_write_text(out_dir / f"{stem}.dbn", format_dbn(s)),
    ]
    if pred.probs is not None:
        written.append(atomic_save_npy(out_dir / f"{stem}.npy", pred.probs.astype(np.float32)))
    if plots:
        written.append(arc_diagram(s, out_dir / f"{stem}.arc.png"))
        written.append(dot_plot(s, pred.probs, out_dir / f"{stem}.dotplot.png"))
    return written


def _ct_title(pred: Prediction) -> str:
    s = pred.structure
    return s.id if pred.energy is None else f"ENERGY = {pred.energy:.2f}  {s.id}"


SUMMARY_FILE = "summary.tsv"
SUMMARY_COLUMNS = ["id", "file", "length", "pairs", "pseudoknot_pairs", "energy"]


def is_fold_output(path: Path) -> bool:
    """A folder ``rnalm fold`` wrote before the marker: its ``summary.tsv`` has rnalm's header."""
    with open(path / SUMMARY_FILE, encoding="utf-8", errors="replace") as fh:
        return fh.readline(4096).rstrip("\n").split("\t") == SUMMARY_COLUMNS


#: ``rnalm fold --output``: ``--overwrite`` replaces only such a folder.
FOLD_OUTPUT = OutputKind("fold", "an rnalm fold output folder", is_fold_output)


def fold_records(
    records: Iterable[tuple[str, str]],
    predictor: Predictor,
    out_dir: str | Path,
    max_length: Optional[int] = None,
    batch_size: int = 1,
    plots: bool = False,
    progress: Optional[Callable[[int, int], None]] = None,
) -> list[dict]:
    """Validate all records, predict them in batches and write their files plus ``summary.tsv``."""
    if max_length is not None and max_length < 1:
        raise SequenceLengthError(f"maximum length must be positive, got {max_length}")
    prepared = prepare_records(records, max_length)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise RnalmError(f"output {out_dir} exists and is not a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    for start in range(0, len(prepared), max(1, batch_size)):
        chunk = prepared[start : start + max(1, batch_size)]
        preds = predictor([(rid, seq) for rid, seq, _ in chunk])
        for (rid, seq, stem), pred in zip(chunk, preds):
            write_prediction(pred, out_dir, stem, plots)
            pk = sum(len(p) for p in assign_pages(pred.structure.pairs)[1:])
            rows.append(
                {
                    "id": rid,
                    "file": stem,
                    "length": len(seq),
                    "pairs": len(pred.structure.pairs),
                    "pseudoknot_pairs": pk,
                    "energy": "" if pred.energy is None else f"{pred.energy:.2f}",
                }
            )
        if progress is not None:
            progress(len(rows), len(prepared))
    cols = SUMMARY_COLUMNS
    lines = ["\t".join(cols)] + ["\t".join(str(r[c]) for c in cols) for r in rows]
    atomic_write_text(out_dir / SUMMARY_FILE, "\n".join(lines) + "\n")
    return rows


__all__ = [
    "Prediction",
    "Predictor",
    "ProbabilityModel",
    "PostprocessOptions",
    "FoldInputError",
    "check_sequence",
    "safe_stem",
    "prepare_records",
    "vienna_predictor",
    "model_predictor",
    "write_prediction",
    "fold_records",
    "FOLD_LETTERS",
    "FOLD_OUTPUT",
    "SUMMARY_COLUMNS",
    "is_fold_output",
]
