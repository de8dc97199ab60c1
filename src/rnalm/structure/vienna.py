"""ViennaRNA baseline: minimum-free-energy structure and base-pair probabilities.

ViennaRNA is a dependency of rnalm, imported on first use. Default energy parameters (Turner 2004,
37 C, lonely pairs allowed), i.e. what plain ``RNAfold``
and ``RNAfold -p`` compute, which is what published tables mean by "RNAfold".
Letters are upper-cased and T read as U; other letters (N, ...) are passed on and never pair.

:func:`structure_energy` gives the free energy of *any* structure ViennaRNA's loop model can score
(nested, only AU / GC / GU pairs): what ``rnalm fold`` reports as the energy of a learned model's
structure. A pseudoknot or a non-canonical pair has no energy in that model, so ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from rnalm.errors import RnalmError
from rnalm.structure.pairs import CANONICAL_PAIRS, Structure, dot_bracket_to_pairs, is_nested, normalize_rna


def import_rna():
    try:
        import RNA
    except ImportError:
        raise RnalmError(
            "the ViennaRNA baseline needs ViennaRNA, a dependency of rnalm missing from this installation: "
            "reinstall rnalm (pip install --force-reinstall rnalm)"
        ) from None
    return RNA


@dataclass(frozen=True)
class ViennaResult:
    structure: Structure  # MFE structure (normalised sequence)
    energy: float  # kcal/mol
    probs: Optional[np.ndarray] = None  # (L, L) symmetric base-pair probabilities


def vienna_fold(sequence: str, record_id: str = "<unnamed>", bpp: bool = False) -> ViennaResult:
    """MFE structure, and with ``bpp`` the equilibrium base-pair probability matrix."""
    RNA = import_rna()
    seq = normalize_rna(sequence)
    if not seq:
        raise RnalmError(f"record {record_id!r}: empty sequence")
    fc = RNA.fold_compound(seq)
    db, energy = fc.mfe()
    structure = Structure(record_id, seq, tuple(dot_bracket_to_pairs(db, record_id)))
    probs = None
    if bpp:
        fc.exp_params_rescale(energy)  # scale the partition function around the MFE: no overflow
        fc.pf()
        raw = np.asarray(fc.bpp(), dtype=np.float64)[1:, 1:]  # 1-based, upper triangle
        probs = np.triu(raw, 1)
        probs = (probs + probs.T).astype(np.float32)
    return ViennaResult(structure, float(energy), probs)


def vienna_mea(sequence: str, record_id: str = "<unnamed>", gamma: float = 1.0) -> ViennaResult:
    """Maximum expected accuracy structure (``RNAfold -p --MEA``: the nested structure maximising
    ``sum 2 gamma P_ij`` over pairs plus ``sum P_i^unpaired``), with the base-pair probabilities it
    comes from; ``energy`` is its free energy."""
    RNA = import_rna()
    seq = normalize_rna(sequence)
    if not seq:
        raise RnalmError(f"record {record_id!r}: empty sequence")
    fc = RNA.fold_compound(seq)
    _, mfe = fc.mfe()
    fc.exp_params_rescale(mfe)
    fc.pf()
    raw = np.asarray(fc.bpp(), dtype=np.float64)[1:, 1:]
    probs = np.triu(raw, 1)
    db, _ = fc.MEA(gamma)
    structure = Structure(record_id, seq, tuple(dot_bracket_to_pairs(db, record_id)))
    return ViennaResult(structure, float(fc.eval_structure(db)), (probs + probs.T).astype(np.float32))


def evaluable(structure: Structure) -> bool:
    """True when ViennaRNA's nearest-neighbour model can score ``structure``: nested, canonical pairs only."""
    seq = normalize_rna(structure.sequence)
    return is_nested(structure.pairs) and all((seq[i], seq[j]) in CANONICAL_PAIRS for i, j in structure.pairs)


def structure_energy(structure: Structure) -> Optional[float]:
    """Free energy (kcal/mol, same parameters as :func:`vienna_fold`) of ``structure`` on its own
    sequence, or ``None`` when it is not :func:`evaluable`."""
    if not evaluable(structure):
        return None
    RNA = import_rna()
    fc = RNA.fold_compound(normalize_rna(structure.sequence))
    energy = float(fc.eval_structure(structure.dot_bracket()))
    return None if energy >= NO_ENERGY else energy


#: What ``eval_structure`` returns for a loop the model forbids (a hairpin under 3 nt): no energy.
NO_ENERGY = 1e4


__all__ = ["vienna_fold", "vienna_mea", "ViennaResult", "evaluable", "import_rna", "structure_energy"]
