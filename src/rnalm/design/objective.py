"""What a design is scored by: task models, their ensembles, and a weighted sum of goals.

A *term* is one predicted quantity (``te_log``, ``halflife``, ``ires_probability`` ...) from one
model or an ensemble of models (several runs or shipped models; a cross-validated run is already
the mean of its fold models and reports their spread as ``NAME_std``). Each term is maximised,
minimised, or pulled towards a target value, and weighted; the objective is the weighted sum, and
the uncertainty is the ensemble spread carried through the same weights. Every score goes through
the predictor interface (:meth:`rnalm.predictors.task.TaskPredictor.predict`), so a sequence the
model cannot score gets no objective at all -- it is never ranked as if it had been scored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Protocol, Sequence

import numpy as np

from rnalm import shipped
from rnalm.design.constraints import ConstraintError
from rnalm.errors import RnalmError, option
from rnalm.predictors import task as task_predictors

GOALS = ("max", "min", "target")


class Model(Protocol):
    """What a term needs of a model: :class:`~rnalm.predictors.task.TaskPredictor`'s interface."""

    description: str

    @property
    def columns(self) -> Any: ...

    @property
    def window(self) -> Any: ...

    def predict(self, records: Sequence[tuple[str, str]]) -> list[dict[str, Any]]: ...


@dataclass
class Member:
    """One model of a term's ensemble: what it is called in the table and which column it is scored on."""

    label: str
    model: Model
    column: str


@dataclass
class Term:
    members: list[Member]
    weight: float = 1.0
    goal: str = "max"
    target: Optional[float] = None

    @property
    def name(self) -> str:
        return self.members[0].column

    def value(self, mean: np.ndarray) -> np.ndarray:
        """What is maximised: the mean itself, its negative, or minus its distance to the target."""
        if self.goal == "min":
            return -mean
        if self.goal == "target":
            assert self.target is not None
            return -np.abs(mean - self.target)
        return mean

    def columns(self) -> list[str]:
        """The table's columns for this term: the (ensemble) mean, then the spread and each model's prediction
        for an ensemble, or ``NAME_std`` for a cross-validated run."""
        if len(self.members) > 1:
            return [self.name, f"{self.name}_spread", *(f"{m.column}@{m.label}" for m in self.members)]
        m = self.members[0]
        return [self.name, *([f"{self.name}_std"] if f"{m.column}_std" in m.model.columns.names else [])]

    def describe(self) -> str:
        how = (
            f"reach {self.target:g} for" if self.goal == "target" else {"max": "maximise", "min": "minimise"}[self.goal]
        )
        models = " + ".join(m.model.description for m in self.members)
        return f"{self.weight:g} x {how} {self.name} ({models})"


@dataclass
class Scores:
    """Scores of a batch of sequences, in order. ``objective`` is NaN where any model did not score."""

    objective: np.ndarray
    uncertainty: np.ndarray
    #: the table's prediction columns: each model's prediction, and per ensemble term its mean and spread
    columns: dict[str, np.ndarray]
    notes: list[str]

    @property
    def scored(self) -> np.ndarray:
        return ~np.isnan(self.objective)


def load_model(
    spec: str, device: Optional[str] = "cpu", log: Callable[[str], None] = lambda _m: None, dtype: str = "float32"
) -> Model:
    """A shipped task model (alias ``te``, ``mrl``, ... or its name) or a run directory of ``rnalm finetune``,
    computing in ``dtype`` (``auto``: :func:`rnalm.precision.resolve`)."""
    if Path(spec).is_dir():
        return task_predictors.from_run(spec, device=device, log=log, dtype=dtype)
    try:
        entry = shipped.task_entry(spec)
    except shipped.ShippedModelError as exc:  # here a run is named in the same place, not with --run
        raise RnalmError(f"{str(exc).split('; use --run')[0]}; or name a run directory of rnalm finetune") from None
    return task_predictors.from_shipped(entry, device=device, log=log, dtype=dtype)


def parse_spec(spec: str) -> tuple[list[str], Optional[str], float]:
    """``NAME[+NAME...][@COLUMN][:WEIGHT]`` -> (model specs, column, weight)."""
    weight = 1.0
    head, sep, tail = spec.rpartition(":")
    if sep:
        try:
            weight = float(tail)
            spec = head
        except ValueError:
            pass
    column = None
    if "@" in spec:
        spec, column = spec.rsplit("@", 1)
    names = [s for s in spec.split("+") if s]
    if not names:
        raise RnalmError(f"{option('objective', spec)}: name a task model (te, a shipped name or a run directory)")
    return names, column, weight


def make_term(
    models: Sequence[tuple[str, Model]],
    column: Optional[str] = None,
    weight: float = 1.0,
    goal: str = "max",
    target: Optional[float] = None,
) -> Term:
    """A term scored on ``column`` (default: each model's first prediction column) of ``models``."""
    if goal not in GOALS:
        raise RnalmError(f"goal {goal!r}: one of {', '.join(GOALS)}")
    if goal == "target" and target is None:
        raise RnalmError(f"a target goal needs {option('target')}")
    members = []
    for label, model in models:
        names = list(model.columns.names)
        col = column or names[0]
        if col not in names:
            raise RnalmError(f"{model.description} has no prediction column {col!r}; it has {', '.join(names)}")
        members.append(Member(label, model, col))
    return Term(members, weight, goal, target)


def _label(spec: str) -> str:
    return Path(spec).name if Path(spec).is_dir() else spec


@dataclass
class Objective:
    """A weighted sum of terms, with a memo so that a sequence met again is not scored again."""

    terms: list[Term]
    batch_size: int = 256
    _memo: dict[str, tuple[float, float, dict[str, float], str]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_specs(
        cls,
        specs: Sequence[str],
        goal: str = "max",
        target: Optional[float] = None,
        device: Optional[str] = "cpu",
        log: Callable[[str], None] = lambda _m: None,
        dtype: str = "float32",
    ) -> "Objective":
        """``--objective`` values (``te``, ``te:0.5``, ``runA+runB``, ``family@prob_tRNA``), each a term."""
        terms = []
        loaded: dict[str, Model] = {}
        for spec in specs:
            names, column, weight = parse_spec(spec)
            models = []
            for n in names:
                if n not in loaded:
                    loaded[n] = load_model(n, device, log, dtype)
                models.append((_label(n), loaded[n]))
            terms.append(make_term(models, column, weight, goal, target))
        return cls(terms)

    def describe(self) -> str:
        return " + ".join(t.describe() for t in self.terms)

    def column_names(self) -> list[str]:
        """The prediction columns of the designs table, in order."""
        names: list[str] = []
        for t in self.terms:
            for c in t.columns():
                if c not in names:
                    names.append(c)
        return names

    def check_length(self, longest: int) -> None:
        """Refuse designs longer than a model reads: their 5' end would be designed blind."""
        for t in self.terms:
            for m in t.members:
                w = m.model.window
                if w.max_nt is not None and longest > w.max_nt:
                    raise ConstraintError(
                        f"{option('length')} up to {longest} nt contradicts {m.model.description}, which reads "
                        f"{w.describe()}: designs must fit the model's window"
                    )

    def score(self, seqs: Sequence[str]) -> Scores:
        """Objective, uncertainty, prediction columns and notes of ``seqs`` (batched, memoised)."""
        todo = list(dict.fromkeys(s for s in seqs if s not in self._memo))
        for i in range(0, len(todo), self.batch_size):
            self._score(todo[i : i + self.batch_size])
        names = self.column_names()
        got = [self._memo[s] for s in seqs]
        return Scores(
            np.array([g[0] for g in got], dtype=float),
            np.array([g[1] for g in got], dtype=float),
            {c: np.array([g[2].get(c, math.nan) for g in got], dtype=float) for c in names},
            [g[3] for g in got],
        )

    def _score(self, seqs: list[str]) -> None:
        records = [(f"s{i}", s) for i, s in enumerate(seqs)]
        n = len(seqs)
        total = np.zeros(n)
        var = np.zeros(n)
        cols: list[dict[str, float]] = [{} for _ in seqs]
        notes: list[list[str]] = [[] for _ in seqs]
        bad = np.zeros(n, dtype=bool)
        rows_of: dict[int, list[dict[str, Any]]] = {}
        for t in self.terms:
            means, sq = np.zeros(n), np.zeros(n)
            missing = np.zeros(n, dtype=bool)
            for m in t.members:
                key = id(m.model)
                if key not in rows_of:
                    rows_of[key] = m.model.predict(records)
                rows = rows_of[key]
                for j, row in enumerate(rows):
                    v, sd = row.get(m.column), row.get(f"{m.column}_std")
                    note = str(row.get("note") or "")
                    if note and note not in notes[j]:
                        notes[j].append(note)
                    if v is None or (isinstance(v, float) and math.isnan(v)):
                        missing[j] = True
                        continue
                    if not isinstance(v, (int, float)):
                        raise RnalmError(
                            f"{m.model.description}: column {m.column!r} holds classes ({v!r}), not numbers; "
                            f"score a probability column instead ({option('objective')} NAME@prob_CLASS)"
                        )
                    sd = float(sd or 0.0)
                    means[j] += float(v) / len(t.members)
                    sq[j] += (sd * sd + float(v) ** 2) / len(t.members)
                    if len(t.members) > 1:
                        cols[j][f"{m.column}@{m.label}"] = float(v)
                    elif sd or f"{m.column}_std" in m.model.columns.names:
                        cols[j][f"{m.column}_std"] = sd
            spread = np.sqrt(np.maximum(sq - means**2, 0.0))
            means[missing], spread[missing] = math.nan, math.nan
            bad |= missing
            for j in range(n):
                cols[j][t.name] = float(means[j])
                if len(t.members) > 1:
                    cols[j][f"{t.name}_spread"] = float(spread[j])
            total += t.weight * t.value(means)
            var += (t.weight * spread) ** 2
        spread_known = any(len(t.columns()) > 1 for t in self.terms)  # no ensemble: no spread to report
        for j, s in enumerate(seqs):
            obj = math.nan if bad[j] else float(total[j])
            unc = float(math.sqrt(var[j])) if spread_known and not bad[j] else math.nan
            self._memo[s] = (obj, unc, cols[j], "; ".join(notes[j]))


__all__ = ["GOALS", "Member", "Model", "Objective", "Scores", "Term", "load_model", "make_term", "parse_spec"]
