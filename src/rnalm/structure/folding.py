"""Which predictor folds which record, and the row each record becomes: one path for the CLI and Python.

Every record gets a :class:`Folded` result, in input order:

* records within the learned model's window (the length its backbone reads, from the model) are
  folded by the model, in batches; their energy is ViennaRNA's free energy of the predicted
  structure where ViennaRNA can score it (nested, AU / GC / GU pairs only), else empty;
* longer records follow ``long``: ``"vienna"`` (the default) folds them with ViennaRNA (MFE,
  ``method`` ``vienna`` and a note saying why), ``"skip"`` leaves them unfolded with a note,
  ``"error"`` stops;
* ViennaRNA -- as the fallback or as the chosen method -- folds records up to ``max_length`` nt
  (its time grows as L^3); a longer record is left unfolded with a note naming that bound;
* a record with letters folding cannot read (:mod:`rnalm.structure.checks`) is left unfolded with
  a note, unless ``unknown`` names a replacement.

With ``strict`` a record that would be left unfolded is an error instead; :func:`precheck` finds
the first such record before anything is folded.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Iterable, Iterator, Optional, Sequence

from rnalm.errors import RnalmError, option
from rnalm.structure.checks import FoldInputError, check_sequence, unknown_letter
from rnalm.structure.predictor import Prediction
from rnalm.structure.vienna import structure_energy, vienna_fold

#: What ``long`` may say about records longer than the model's window.
LONG_POLICIES = ("vienna", "skip", "error")
#: Longest record ViennaRNA folds unless told otherwise: its time grows as L^3 (the MFE of 2,000 nt
#: takes seconds, of 4,000 nt about a minute; base-pair probabilities take several times longer).
VIENNA_MAX_LENGTH = 4000
#: ``method`` of records folded by ViennaRNA.
VIENNA = "vienna"


@dataclass(frozen=True)
class FoldPolicy:
    """What to do with records the model cannot fold, and whether probability maps are wanted."""

    long: str = "vienna"
    #: longest record ViennaRNA folds (``None``: no bound)
    max_length: Optional[int] = VIENNA_MAX_LENGTH
    unknown: Optional[str] = None
    strict: bool = False
    #: ViennaRNA computes base-pair probabilities too (for ``.npy`` files, dot plots, ``probabilities=True``)
    probabilities: bool = False

    def __post_init__(self) -> None:
        if self.long not in LONG_POLICIES:
            raise RnalmError(f"{option('long')} must be one of {', '.join(LONG_POLICIES)}, got {self.long!r}")
        if self.max_length is not None and self.max_length < 1:
            raise RnalmError(f"{option('max_length')} must be positive, got {self.max_length}")
        unknown_letter(self.unknown)


@dataclass
class Folded:
    """One record's result: its structure (``None`` when not folded), energy and note."""

    id: str
    length: int
    method: str = ""
    prediction: Optional[Prediction] = None
    energy: Optional[float] = None
    note: str = ""

    @property
    def structure(self) -> str:
        """Dot-bracket (pseudoknots in ``[]``, ``{}``, ...), empty when not folded."""
        return self.prediction.structure.dot_bracket() if self.prediction is not None else ""

    @property
    def pairs(self) -> Optional[int]:
        return len(self.prediction.structure.pairs) if self.prediction is not None else None

    def row(self) -> dict[str, str]:
        """The summary row, every value as text (energy in kcal/mol with 2 decimals)."""
        return {
            "id": self.id,
            "length": str(self.length),
            "method": self.method,
            "structure": self.structure,
            "pairs": "" if self.pairs is None else str(self.pairs),
            "energy": "" if self.energy is None else f"{self.energy:.2f}",
            "note": self.note,
        }


@dataclass(frozen=True)
class _Route:
    how: str  # "model", VIENNA or "" (not folded)
    seq: str = ""
    note: str = ""


def _route(rid: str, raw: str, method: str, window: Optional[int], policy: FoldPolicy) -> _Route:
    """Who folds record ``rid``, or why nobody does (an error under ``strict``)."""
    try:
        seq = check_sequence(rid, raw, policy.unknown)
    except FoldInputError as exc:
        if policy.strict:
            raise
        return _Route("", note=str(exc).removeprefix(f"record {rid!r}: "))
    n, vmax = len(seq), policy.max_length
    if method != VIENNA and (window is None or n <= window):
        return _Route("model", seq)
    if method == VIENNA:
        why, note = f"{n} nt is longer than {option('max_length')} {vmax} (ViennaRNA's time grows as L^3)", ""
    else:
        if policy.long == "error":
            raise FoldInputError(
                f"record {rid!r}: {n} nt is longer than the model's window of {window} nt; "
                f"{option('long', 'vienna')} folds such records with ViennaRNA, {option('long', 'skip')} "
                f"leaves them unfolded with a note"
            )
        note = f"longer than the model's {window} nt"
        if policy.long == "skip":
            return _Route("", note=f"{note}: not folded ({option('long', 'skip')})")
        why = f"{note} and than {option('max_length')} {vmax} for ViennaRNA (time grows as L^3)"
        note += ": ViennaRNA MFE"
    if vmax is not None and n > vmax:
        text = f"{why}: not folded; raise {option('max_length')} to at least {n} to fold it with ViennaRNA"
        if policy.strict:
            raise FoldInputError(f"record {rid!r}: {text}")
        return _Route("", note=text)
    return _Route(VIENNA, seq, note)


def precheck(records: Iterable[tuple[str, str]], predictor: object, policy: FoldPolicy) -> None:
    """Raise for the first record :func:`fold` would stop at (under ``strict``, any it would not fold)."""
    for rid, raw in records:
        _route(rid, raw, getattr(predictor, "method", "model"), getattr(predictor, "window", None), policy)


def fold(
    records: Iterable[tuple[str, str]], predictor, policy: FoldPolicy = FoldPolicy(), batch_size: int = 1
) -> Iterator[Folded]:
    """One :class:`Folded` per record of ``(id, sequence)``, in input order, ``batch_size`` records
    per model call. ``predictor`` maps ``(id, sequence)`` batches to predictions; its ``method``
    (``vienna`` routes every record to ViennaRNA) and ``window`` (longest record it reads)
    attributes are read when present. A predictor with a ``call_cells`` attribute forms its own
    batches (by length, within a cell budget): it is called on windows of the file of up to that
    many pair cells (sum of ``L^2``, at least one record) instead of ``batch_size`` records, so
    records of similar lengths share batches across the file, and its predictions come back in
    input order. A predictor with a ``prefetch`` method is told the model's records of the next
    :data:`LOOKAHEAD` records (the next window) before each call, so their inputs (ViennaRNA
    base-pair probabilities) are computed while the model runs."""
    size = max(1, batch_size)
    cells = getattr(predictor, "call_cells", None)
    depth = 2 if cells else -(-LOOKAHEAD // size)  # calls known ahead: this one and the next ones
    prefetch = getattr(predictor, "prefetch", None)
    ahead: deque[list[tuple[str, str]]] = deque()
    chunks = _chunks(records, size, cells)
    told = 0  # chunks handed to prefetch
    for chunk in chunks:
        ahead.append(chunk)
        if len(ahead) >= depth:
            break
    while ahead:
        if prefetch is not None:
            for c in list(ahead)[told:]:
                prefetch(_model_records(c, predictor, policy))
            told = len(ahead)
        yield from _fold_chunk(ahead.popleft(), predictor, policy)
        told -= 1
        nxt = next(chunks, None)
        if nxt is not None:
            ahead.append(nxt)


#: how many records ahead of the model a predictor's ``prefetch`` is told about
LOOKAHEAD = 64


def _chunks(
    records: Iterable[tuple[str, str]], size: int, cells: Optional[int] = None
) -> Iterator[list[tuple[str, str]]]:
    """``size`` records at a time, or (``cells``) as many as fit ``cells`` pair cells (at least one)."""
    chunk: list[tuple[str, str]] = []
    total = 0
    for record in records:
        n = len(record[1]) ** 2
        if cells and chunk and total + n > cells:
            yield chunk
            chunk, total = [], 0
        chunk.append(record)
        total += n
        if not cells and len(chunk) >= size:
            yield chunk
            chunk, total = [], 0
    if chunk:
        yield chunk


def _model_records(chunk: Sequence[tuple[str, str]], predictor, policy: FoldPolicy) -> list[tuple[str, str]]:
    """The records of ``chunk`` the model folds, as it will get them."""
    method, window = getattr(predictor, "method", "model"), getattr(predictor, "window", None)
    try:
        routes = [_route(rid, raw, method, window, policy) for rid, raw in chunk]
    except FoldInputError:  # raised again, in order, when the chunk is folded
        return []
    return [(rid, r.seq) for (rid, _), r in zip(chunk, routes) if r.how == "model"]


def _fold_chunk(chunk: Sequence[tuple[str, str]], predictor, policy: FoldPolicy) -> Iterator[Folded]:
    """The model folds its records of ``chunk`` in one call; ViennaRNA's are folded one by one as
    they are yielded, so each finished record can be written before the next starts."""
    method, window = getattr(predictor, "method", "model"), getattr(predictor, "window", None)
    routes = [_route(rid, raw, method, window, policy) for rid, raw in chunk]
    by_model = [(rid, r.seq) for (rid, _), r in zip(chunk, routes) if r.how == "model"]
    predictions = iter(predictor(by_model) if by_model else [])
    for (rid, raw), r in zip(chunk, routes):
        length = len(r.seq) or len("".join(raw.split()))
        done = Folded(rid, length, method if r.how == "model" else r.how, note=r.note)
        if r.how == "model":
            done.prediction = next(predictions)
            done.energy = _energy(done.prediction)
        elif r.how == VIENNA:
            v = vienna_fold(r.seq, rid, bpp=policy.probabilities)
            done.prediction, done.energy = Prediction(v.structure, v.probs, v.energy), v.energy
        yield done


def _energy(pred: Prediction) -> Optional[float]:
    if pred.energy is not None:
        return pred.energy
    try:
        return structure_energy(pred.structure)
    except RnalmError:  # ViennaRNA missing: the structure stands without an energy
        return None


__all__ = ["FoldPolicy", "Folded", "LONG_POLICIES", "VIENNA", "VIENNA_MAX_LENGTH", "fold", "precheck"]
