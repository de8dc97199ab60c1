"""What a designed sequence must satisfy, checked one rule at a time and as a whole.

Each rule is a small object: ``check(seq)`` gives ``None`` or the reason it fails, and
``violation(seq)`` how far it is from passing (0 when it passes), so a random start can be walked
into the feasible set (:meth:`Constraints.repair`). :meth:`Constraints.contradictions` finds rule
sets no sequence can satisfy before any search starts, naming the options that clash, because an
optimiser that never finds a valid sequence says nothing useful about why.

Sequences are RNA letters ``ACGU``; a fixed prefix and suffix are never edited, only the free
stretch between them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional, Protocol

import numpy as np

from rnalm.errors import RnalmError, option

BASES = "ACGU"
STOPS = ("UAA", "UAG", "UGA")


class ConstraintError(RnalmError):
    """The constraints contradict each other, or no sequence satisfying them was found."""


def rna(seq: str) -> str:
    """Upper-case RNA letters (``T`` read as ``U``, whitespace dropped)."""
    return re.sub(r"\s+", "", seq).upper().replace("T", "U")


class Constraint(Protocol):
    @property
    def name(self) -> str:
        """The option that sets the rule, as the running entry point spells it."""
        ...

    def check(self, seq: str) -> Optional[str]: ...

    def violation(self, seq: str) -> float: ...


def gc_fraction(seq: str) -> float:
    return (seq.count("G") + seq.count("C")) / len(seq) if seq else 0.0


def longest_run(seq: str) -> int:
    best = run = 0
    prev = ""
    for c in seq:
        run = run + 1 if c == prev else 1
        prev = c
        best = max(best, run)
    return best


def upstream_augs(seq: str) -> list[int]:
    """0-based starts of every AUG in ``seq``."""
    return [m.start() for m in re.finditer("(?=AUG)", seq)]


def out_of_frame_augs(seq: str) -> list[int]:
    """AUGs out of frame with a start codon right after ``seq`` (each starts an ORF in another frame)."""
    return [i for i in upstream_augs(seq) if (len(seq) - i) % 3 != 0]


@dataclass(frozen=True)
class Length:
    lo: int
    hi: int
    name: str = field(default_factory=lambda: option("length"))

    def check(self, seq: str) -> Optional[str]:
        n = len(seq)
        return None if self.lo <= n <= self.hi else f"length {n} outside {self.lo}-{self.hi}"

    def violation(self, seq: str) -> float:
        n = len(seq)
        return float(max(self.lo - n, n - self.hi, 0))


@dataclass(frozen=True)
class Fixed:
    """The sequence starts (``end='prefix'``) or ends (``'suffix'``) with ``part``."""

    part: str
    end: str
    name: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", option(self.end))

    def check(self, seq: str) -> Optional[str]:
        ok = seq.startswith(self.part) if self.end == "prefix" else seq.endswith(self.part)
        return None if ok else f"does not {'start' if self.end == 'prefix' else 'end'} with {self.part}"

    def violation(self, seq: str) -> float:
        return 0.0 if self.check(seq) is None else 1.0


@dataclass(frozen=True)
class GCRange:
    lo: float
    hi: float
    name: str = field(default_factory=lambda: option("gc"))

    def check(self, seq: str) -> Optional[str]:
        gc = gc_fraction(seq)
        return None if self.lo - 1e-9 <= gc <= self.hi + 1e-9 else f"GC {gc:.2f} outside {self.lo:g}-{self.hi:g}"

    def violation(self, seq: str) -> float:
        gc = gc_fraction(seq)
        return max(self.lo - gc, gc - self.hi, 0.0) * len(seq)


@dataclass(frozen=True)
class NoUpstreamAUG:
    name: str = field(default_factory=lambda: option("no_uaug"))

    def check(self, seq: str) -> Optional[str]:
        at = upstream_augs(seq)
        return None if not at else "upstream AUG at " + ",".join(str(i + 1) for i in at)

    def violation(self, seq: str) -> float:
        return float(len(upstream_augs(seq)))


@dataclass(frozen=True)
class NoOutOfFrameUORF:
    """No AUG out of frame with the start codon that follows the UTR (in-frame AUGs, which only
    extend the protein at its N terminus, are allowed)."""

    name: str = field(default_factory=lambda: option("no_oof_uorf"))

    def check(self, seq: str) -> Optional[str]:
        at = out_of_frame_augs(seq)
        return None if not at else "out-of-frame uORF AUG at " + ",".join(str(i + 1) for i in at)

    def violation(self, seq: str) -> float:
        return float(len(out_of_frame_augs(seq)))


@dataclass(frozen=True)
class ForbiddenMotifs:
    motifs: tuple[str, ...]
    name: str = field(default_factory=lambda: option("motif_forbid"))

    def hits(self, seq: str) -> list[str]:
        return [m for m in self.motifs if m in seq]

    def check(self, seq: str) -> Optional[str]:
        hits = self.hits(seq)
        return None if not hits else "forbidden motif " + ",".join(hits)

    def violation(self, seq: str) -> float:
        return float(sum(len(re.findall(f"(?={m})", seq)) for m in self.motifs))


@dataclass(frozen=True)
class MaxHomopolymer:
    n: int
    name: str = field(default_factory=lambda: option("max_homopolymer"))

    def check(self, seq: str) -> Optional[str]:
        run = longest_run(seq)
        return None if run <= self.n else f"homopolymer of {run} > {self.n}"

    def violation(self, seq: str) -> float:
        return float(sum(max(len(m.group()) - self.n, 0) for m in re.finditer(r"A+|C+|G+|U+", seq)))


def mfe(seq: str) -> float:
    """Minimum free energy (kcal/mol) of ``seq``'s ViennaRNA fold at 37 C."""
    import RNA  # ViennaRNA: imported only when an MFE rule is set

    return float(RNA.fold(seq)[1])


@dataclass
class MFERange:
    lo: float
    hi: float
    name: str = field(default_factory=lambda: option("mfe_range"))
    _memo: dict[str, float] = field(default_factory=dict, repr=False)

    def energy(self, seq: str) -> float:
        if seq not in self._memo:
            if len(self._memo) > 200_000:
                self._memo.clear()
            self._memo[seq] = mfe(seq)
        return self._memo[seq]

    def check(self, seq: str) -> Optional[str]:
        e = self.energy(seq)
        return None if self.lo <= e <= self.hi else f"MFE {e:.1f} outside {self.lo:g}..{self.hi:g} kcal/mol"

    def violation(self, seq: str) -> float:
        e = self.energy(seq)
        return max(self.lo - e, e - self.hi, 0.0)


def parse_range(text: str, what: str) -> tuple[float, float]:
    """``0.4-0.6``, ``-30..-10``, ``50`` (one value) or ``40:60`` as ``(lo, hi)``."""
    t = text.strip()
    num = r"(-?(?:\d+(?:\.\d*)?|\.\d+))"
    m = re.fullmatch(rf"{num}\s*(?:\.\.|:|,|-)\s*{num}", t) or re.fullmatch(num, t)
    try:
        lo, hi = (float(m.group(1)), float(m.group(2) if m.lastindex == 2 else m.group(1))) if m else (None, None)
    except ValueError:
        lo = hi = None
    if lo is None or hi is None:
        raise ConstraintError(f"{option(what, text)}: not a number or range (say 0.4-0.6, or -30..-10)")
    if lo > hi:
        raise ConstraintError(f"{option(what, text)}: the range is empty ({lo:g} > {hi:g})")
    return lo, hi


@dataclass
class Constraints:
    """Every rule on a design, and what the optimiser may edit (the stretch between prefix and suffix)."""

    length: tuple[int, int]
    prefix: str = ""
    suffix: str = ""
    gc: Optional[tuple[float, float]] = None
    no_uaug: bool = False
    no_oof_uorf: bool = False
    motif_forbid: tuple[str, ...] = ()
    max_homopolymer: Optional[int] = None
    mfe_range: Optional[tuple[float, float]] = None
    rules: list[Constraint] = field(init=False)

    def __post_init__(self) -> None:
        self.prefix, self.suffix = rna(self.prefix), rna(self.suffix)
        self.motif_forbid = tuple(rna(m) for m in self.motif_forbid if m.strip())
        for given, what in (
            (self.prefix, "prefix"),
            (self.suffix, "suffix"),
            *((m, "motif_forbid") for m in self.motif_forbid),
        ):
            if set(given) - set(BASES):
                raise ConstraintError(f"{option(what, given)}: letters other than A, C, G, U (or T)")
        lo, hi = self.length
        if lo < 1 or lo > hi:
            raise ConstraintError(f"{option('length', f'{lo}-{hi}')}: not a length range of at least 1 nt")
        if self.gc is not None and not (0 <= self.gc[0] <= self.gc[1] <= 1):
            raise ConstraintError(f"{option('gc')}: a GC range is two fractions 0-1 (say 0.4-0.6)")
        if self.max_homopolymer is not None and self.max_homopolymer < 1:
            raise ConstraintError(f"{option('max_homopolymer', str(self.max_homopolymer))}: must be at least 1")
        rules: list[Constraint] = [Length(lo, hi)]
        if self.prefix:
            rules.append(Fixed(self.prefix, "prefix"))
        if self.suffix:
            rules.append(Fixed(self.suffix, "suffix"))
        if self.gc is not None:
            rules.append(GCRange(*self.gc))
        if self.no_uaug:
            rules.append(NoUpstreamAUG())
        if self.no_oof_uorf:
            rules.append(NoOutOfFrameUORF())
        if self.motif_forbid:
            rules.append(ForbiddenMotifs(self.motif_forbid))
        if self.max_homopolymer is not None:
            rules.append(MaxHomopolymer(self.max_homopolymer))
        if self.mfe_range is not None:
            rules.append(MFERange(*self.mfe_range))
        self.rules = rules
        self.contradictions()

    # ---------------------------------------------------------------- checking
    def failures(self, seq: str) -> list[str]:
        """``option: reason`` for every rule ``seq`` breaks."""
        out = []
        for r in self.rules:
            why = r.check(seq)
            if why is not None:
                out.append(f"{r.name.rstrip('=')}: {why}")
        return out

    def ok(self, seq: str) -> bool:
        return all(r.check(seq) is None for r in self.rules)

    def report(self, seq: str) -> str:
        """``ok`` or the broken rules, for the designs table."""
        return "; ".join(self.failures(seq)) or "ok"

    def violation(self, seq: str) -> float:
        return sum(r.violation(seq) for r in self.rules)

    @property
    def fixed(self) -> int:
        return len(self.prefix) + len(self.suffix)

    def free(self, seq: str) -> tuple[int, int]:
        """``[start, end)`` of the stretch of ``seq`` the optimiser may edit."""
        return len(self.prefix), len(seq) - len(self.suffix)

    # ---------------------------------------------------------------- contradictions
    def contradictions(self) -> None:
        """Raise :class:`ConstraintError` naming the options when no sequence can satisfy them all."""
        lo, hi = self.length
        name_len = option("length")
        parts = " + ".join(
            f"{option(w)} ({len(p)} nt)" for w, p in (("prefix", self.prefix), ("suffix", self.suffix)) if p
        )
        if self.fixed > hi:
            raise ConstraintError(
                f"{name_len} {self._len_text()} contradicts {parts}: the fixed parts alone are {self.fixed} nt"
            )
        lengths = range(max(lo, self.fixed), hi + 1)
        for part, what in ((self.prefix, "prefix"), (self.suffix, "suffix")):
            if not part:
                continue
            if self.no_uaug and "AUG" in part:
                raise ConstraintError(f"{option('no_uaug')} contradicts {option(what)}: {part} contains AUG")
            for m in self.motif_forbid:
                if m in part:
                    raise ConstraintError(
                        f"{option('motif_forbid')} {m} contradicts {option(what)}: {part} contains it"
                    )
            if self.max_homopolymer is not None and longest_run(part) > self.max_homopolymer:
                raise ConstraintError(
                    f"{option('max_homopolymer')} {self.max_homopolymer} contradicts {option(what)}: {part} has "
                    f"a run of {longest_run(part)}"
                )
        if self.no_oof_uorf and self.suffix and out_of_frame_augs(self.suffix):
            raise ConstraintError(
                f"{option('no_oof_uorf')} contradicts {option('suffix')}: {self.suffix} holds an AUG out of frame "
                "with the start codon"
            )
        if self.no_oof_uorf and self.prefix:
            at = upstream_augs(self.prefix)
            if at and not any(all((n - i) % 3 == 0 for i in at) for n in lengths):
                raise ConstraintError(
                    f"{option('no_oof_uorf')} contradicts {option('prefix')} and {name_len} {self._len_text()}: the "
                    "prefix's AUGs are out of frame with the start codon at every allowed length"
                )
        if self.gc is not None:
            g_fixed = sum(p.count("G") + p.count("C") for p in (self.prefix, self.suffix))
            feasible = any(_gc_reachable(g_fixed, g_fixed + n - self.fixed, n, self.gc) for n in lengths)
            if not feasible:
                raise ConstraintError(
                    f"{option('gc')} {self.gc[0]:g}-{self.gc[1]:g} contradicts "
                    + (f"{parts} at {name_len} {self._len_text()}" if parts else f"{name_len} {self._len_text()}")
                    + ": no GC count in range is reachable"
                )
        if self.mfe_range is not None and self.mfe_range[0] > 0:
            raise ConstraintError(f"{option('mfe_range')}: a minimum free energy is never above 0 kcal/mol")
        if set(self.motif_forbid) >= set(BASES):
            raise ConstraintError(f"{option('motif_forbid')}: forbids every base")
        if self.fixed == hi:  # no free letter at any allowed length: the fixed parts are the only design
            whole = self.prefix + self.suffix
            if not self.ok(whole):
                raise ConstraintError(
                    f"{parts} leave no free letter at {name_len} {self._len_text()}, and "
                    f"{whole} breaks " + "; ".join(self.failures(whole))
                )

    def _len_text(self) -> str:
        lo, hi = self.length
        return str(lo) if lo == hi else f"{lo}-{hi}"

    # ---------------------------------------------------------------- repair
    def random(self, rng: np.random.Generator, length: Optional[int] = None) -> str:
        """A random sequence with the fixed parts in place (not yet checked against the other rules)."""
        lo, hi = self.length
        n = length if length is not None else int(rng.integers(max(lo, self.fixed), hi + 1))
        middle = "".join(np.asarray(list(BASES))[rng.integers(0, 4, n - self.fixed)])
        return self.prefix + middle + self.suffix

    def repair(self, seq: str, rng: np.random.Generator, steps: int = 4000) -> str:
        """``seq`` walked (substitutions in the free stretch, the best of the three letters at a random
        position, ties broken at random) until it satisfies every rule. Raises :class:`ConstraintError`
        naming the rules still broken when ``steps`` are spent."""
        lo, hi = self.length
        if len(seq) < max(lo, self.fixed) or len(seq) > hi:  # a seed of the wrong length: resized in the middle
            n = min(max(len(seq), lo, self.fixed), hi)
            a, b = self.free(seq)
            mid = seq[a:b] if a <= b else ""
            need = n - self.fixed
            mid = (mid + self.random(rng, self.fixed + need)[len(self.prefix) : len(self.prefix) + need])[:need]
            seq = self.prefix + mid + self.suffix
        else:
            a, b = self.free(seq)
            seq = self.prefix + seq[a:b] + self.suffix if a <= b else seq
        score = self.violation(seq)
        a, b = self.free(seq)
        for _ in range(steps):
            if score == 0:
                return seq
            if b <= a:
                break
            i = int(rng.integers(a, b))
            options = [seq[:i] + c + seq[i + 1 :] for c in BASES]
            scores = np.array([self.violation(s) for s in options])
            best = np.flatnonzero(scores == scores.min())
            pick = int(best[rng.integers(len(best))])
            if scores[pick] <= score or rng.random() < 0.05:
                seq, score = options[pick], float(scores[pick])
        if score == 0:
            return seq
        raise ConstraintError(
            "no sequence satisfying every constraint was found (still broken: " + "; ".join(self.failures(seq)) + ")"
        )


def _gc_reachable(g_min: int, g_max: int, n: int, gc: tuple[float, float]) -> bool:
    """Some whole GC count between ``g_min`` and ``g_max`` has a fraction of ``n`` inside ``gc``."""
    need_lo = int(np.ceil(gc[0] * n - 1e-9))
    need_hi = int(np.floor(gc[1] * n + 1e-9))
    return max(need_lo, g_min) <= min(need_hi, g_max)


def describe(constraints: Constraints) -> list[str]:
    """The rules in words, for reports."""
    return [f"{r.name.rstrip('=')} {_rule_text(r)}".strip() for r in constraints.rules]


def _rule_text(r: Constraint) -> str:
    if isinstance(r, Length):
        return str(r.lo) if r.lo == r.hi else f"{r.lo}-{r.hi}"
    if isinstance(r, Fixed):
        return r.part
    if isinstance(r, GCRange):
        return f"{r.lo:g}-{r.hi:g}"
    if isinstance(r, ForbiddenMotifs):
        return ",".join(r.motifs)
    if isinstance(r, MaxHomopolymer):
        return str(r.n)
    if isinstance(r, MFERange):
        return f"{r.lo:g}..{r.hi:g}"
    return ""


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (substitutions, insertions, deletions)."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


__all__ = [
    "BASES",
    "Constraint",
    "ConstraintError",
    "Constraints",
    "describe",
    "edit_distance",
    "gc_fraction",
    "longest_run",
    "mfe",
    "out_of_frame_augs",
    "parse_range",
    "rna",
    "upstream_augs",
]
