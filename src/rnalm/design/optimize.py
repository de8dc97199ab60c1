"""Designing sequences toward an objective: a (mu + lambda) evolutionary algorithm under constraints.

Why this optimiser: task-model objectives are cheap to score in batches but have no gradient with
respect to letters, and the constraints cut the space into an irregular feasible set. An
evolutionary algorithm scores a whole generation in one batch, keeps the best (elitism), and
only ever proposes moves that keep every constraint satisfied -- substitutions in the free stretch,
insertions and deletions where the length may vary, and crossover of parents of the same length --
so every sequence it scores, and every design it returns, is valid. Starts are the given seeds
(walked into the feasible set first) or random feasible sequences. All randomness comes from one
seeded :class:`numpy.random.Generator`, and candidates are ranked by objective then sequence, so
the same seed gives the same designs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from rnalm.design.constraints import BASES, ConstraintError, Constraints, rna
from rnalm.design.objective import Objective
from rnalm.io.progress import Progress


@dataclass(frozen=True)
class Candidate:
    """A design and where it started: the seed's id and sequence (random starts: ``random_N`` and the
    random feasible sequence the search began from)."""

    seq: str
    origin_id: str
    origin: str


@dataclass
class Settings:
    population: int = 64
    generations: int = 30
    #: chance that a child is the crossover of two parents (of the same length) before mutation
    crossover: float = 0.3
    #: mean number of extra moves per child beyond the first (Poisson)
    extra_moves: float = 0.5
    #: proposals tried per child before its parent is kept unchanged
    tries: int = 25


def propose(seq: str, constraints: Constraints, rng: np.random.Generator) -> str:
    """One move in the free stretch: a substitution, or (when the length may vary) an insertion or deletion."""
    a, b = constraints.free(seq)
    lo, hi = constraints.length
    kinds = ["sub"] * 4
    if len(seq) < hi:
        kinds.append("ins")
    if len(seq) > max(lo, constraints.fixed) and b > a:
        kinds.append("del")
    kind = kinds[int(rng.integers(len(kinds)))]
    if kind == "ins":
        i = int(rng.integers(a, b + 1))
        return seq[:i] + BASES[int(rng.integers(4))] + seq[i:]
    if b <= a:
        return seq
    i = int(rng.integers(a, b))
    if kind == "del":
        return seq[:i] + seq[i + 1 :]
    alt = [c for c in BASES if c != seq[i]]
    return seq[:i] + alt[int(rng.integers(3))] + seq[i + 1 :]


def crossover(x: str, y: str, constraints: Constraints, rng: np.random.Generator) -> str:
    """One-point crossover inside the free stretch (parents of the same length)."""
    a, b = constraints.free(x)
    if len(x) != len(y) or b - a < 2:
        return x
    cut = int(rng.integers(a + 1, b))
    return x[:cut] + y[cut:]


def starts(
    constraints: Constraints, n: int, rng: np.random.Generator, seeds: Sequence[tuple[str, str]] = ()
) -> list[Candidate]:
    """``n`` feasible starting sequences: the seeds (each walked into the feasible set), cycled and
    mutated to fill ``n``, or random ones."""
    out: list[Candidate] = []
    if seeds:
        base = []
        for sid, s in seeds:
            s = rna(s)
            base.append(Candidate(constraints.repair(s, rng), sid, s))
        out.extend(base)
        k = 0
        while len(out) < n:
            c = base[k % len(base)]
            out.append(Candidate(mutate(c.seq, constraints, rng, Settings()), c.origin_id, c.origin))
            k += 1
        return out[: max(n, len(base))]
    for k in range(n):
        s = constraints.repair(constraints.random(rng), rng)
        out.append(Candidate(s, f"random_{k + 1}", s))
    return out


def mutate(seq: str, constraints: Constraints, rng: np.random.Generator, settings: Settings) -> str:
    """A valid child of ``seq`` (1 + Poisson moves), or ``seq`` itself when no proposal is valid."""
    for _ in range(settings.tries):
        child = seq
        for _ in range(1 + int(rng.poisson(settings.extra_moves))):
            child = propose(child, constraints, rng)
        if child != seq and constraints.ok(child):
            return child
    return seq


def _rank(pool: dict[str, Candidate], objective: Objective) -> list[Candidate]:
    seqs = list(pool)
    scores = objective.score(seqs).objective
    order = sorted((i for i in range(len(seqs)) if not np.isnan(scores[i])), key=lambda i: (-scores[i], seqs[i]))
    return [pool[seqs[i]] for i in order]


def optimize(
    objective: Objective,
    constraints: Constraints,
    count: int,
    seed: int = 0,
    seeds: Sequence[tuple[str, str]] = (),
    settings: Optional[Settings] = None,
    show: Optional[bool] = None,
    log: Callable[[str], None] = lambda _m: None,
) -> list[Candidate]:
    """The ``count`` best distinct designs found (fewer if fewer valid, scored sequences were met), best first."""
    settings = settings or Settings()
    rng = np.random.default_rng(seed)
    objective.check_length(constraints.length[1])
    population = starts(constraints, max(settings.population, 2), rng, seeds)
    archive: dict[str, Candidate] = {}
    for c in population:
        archive.setdefault(c.seq, c)
    with Progress(settings.generations, "design optimize", unit="generations", show=show) as bar:
        parents = _rank({c.seq: c for c in population}, objective) or population
        for _ in range(settings.generations):
            children: dict[str, Candidate] = {}
            for _ in range(settings.population):
                p = parents[_tournament(len(parents), rng)]
                seq = p.seq
                if rng.random() < settings.crossover and len(parents) > 1:
                    q = parents[_tournament(len(parents), rng)]
                    x = crossover(seq, q.seq, constraints, rng)
                    seq = x if constraints.ok(x) else seq
                seq = mutate(seq, constraints, rng, settings)
                if seq not in archive and seq not in children:
                    children[seq] = Candidate(seq, p.origin_id, p.origin)
            archive.update(children)
            pool = {c.seq: c for c in parents}
            pool.update(children)
            parents = _rank(pool, objective)[: settings.population] or parents
            bar.update()
        closing = bar.summary()
    ranked = _rank(archive, objective)
    designs = ranked[:count]
    bad = [c.seq for c in designs if not constraints.ok(c.seq)]
    if bad:  # every move is checked; this would be a bug, never a design to hand out
        raise ConstraintError(f"internal error: design {bad[0]} breaks " + "; ".join(constraints.failures(bad[0])))
    log(f"{closing}; {len(archive):,} valid sequences scored, {len(designs)} designs")
    if len(designs) < count:
        log(f"only {len(designs)} distinct valid, scored designs were found (asked for {count})")
    return designs


def _tournament(n: int, rng: np.random.Generator, k: int = 3) -> int:
    """The best of ``k`` random ranks (parents are sorted best first)."""
    return int(rng.integers(0, n, size=min(k, n)).min())


__all__ = ["Candidate", "Settings", "crossover", "mutate", "optimize", "propose", "starts"]
