"""ViennaRNA baseline: minimum-free-energy structure and base-pair probabilities.

ViennaRNA is a dependency of rnalm, imported on first use. Default energy parameters (Turner 2004,
37 C, lonely pairs allowed), i.e. what plain ``RNAfold``
and ``RNAfold -p`` compute, which is what published tables mean by "RNAfold".
Letters are upper-cased and T read as U; other letters (N, ...) are passed on and never pair.

:func:`vienna_fold` can also fold under another of ViennaRNA's parameter sets
(:data:`ENERGY_PARAMETERS`, ``structure.vienna_params``): their accuracies differ on bpRNA, and a
pairwise head may read the maps of several. ViennaRNA keeps the parameters in one global state
that a fold compound reads when it is made *and* again when its partition function parameters are
first needed (``exp_params_rescale``), so :func:`energy_parameters` holds the named set for the
whole fold and restores the default right after: no other fold ever sees a changed global state.

:func:`structure_energy` gives the free energy of *any* structure ViennaRNA's loop model can score
(nested, only AU / GC / GU pairs): what ``rnalm fold`` reports as the energy of a learned model's
structure. A pseudoknot or a non-canonical pair has no energy in that model, so ``None``.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Optional

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


#: ViennaRNA's RNA energy parameter sets by the name configs use (``structure.vienna_params``):
#: the loader function of the ``RNA`` module that makes each the global set.
ENERGY_PARAMETERS: dict[str, str] = {
    "turner2004": "params_load_RNA_Turner2004",
    "andronescu2007": "params_load_RNA_Andronescu2007",
    "langdon2018": "params_load_RNA_Langdon2018",
    "turner1999": "params_load_RNA_Turner1999",
}
#: ViennaRNA's own default, what every fold without a named set uses.
DEFAULT_ENERGY_PARAMETERS = "turner2004"

#: One fold at a time touches the global parameters: a fold in another thread must not run while a
#: non-default set is loaded.
_PARAMETERS_LOCK = threading.Lock()


@contextmanager
def energy_parameters(name: str = DEFAULT_ENERGY_PARAMETERS) -> Iterator[None]:
    """ViennaRNA folds under parameter set ``name`` inside the block, under the default again after.

    The default set is never reloaded (ViennaRNA's state is exactly the one it starts with); any
    other is loaded on entry and the default restored on exit, errors included."""
    if name not in ENERGY_PARAMETERS:
        raise RnalmError(f"unknown ViennaRNA energy parameter set {name!r}; choose from {list(ENERGY_PARAMETERS)}")
    RNA = import_rna()
    with _PARAMETERS_LOCK:
        if name == DEFAULT_ENERGY_PARAMETERS:
            yield
            return
        getattr(RNA, ENERGY_PARAMETERS[name])()
        try:
            yield
        finally:
            getattr(RNA, ENERGY_PARAMETERS[DEFAULT_ENERGY_PARAMETERS])()


@dataclass(frozen=True)
class ViennaResult:
    structure: Structure  # MFE structure (normalised sequence)
    energy: float  # kcal/mol
    probs: Optional[np.ndarray] = None  # (L, L) symmetric base-pair probabilities


def _folded_sequence(sequence: str, record_id: str) -> str:
    """``sequence`` as ViennaRNA folds it (:func:`normalize_rna`), or an error naming an empty record."""
    seq = normalize_rna(sequence)
    if not seq:
        raise RnalmError(f"record {record_id!r}: empty sequence")
    return seq


def _pair_probs(fc) -> np.ndarray:
    """The ``(L, L)`` symmetric float32 base-pair probabilities of fold compound ``fc`` after ``pf()``
    (ViennaRNA gives the upper triangle, 1-based)."""
    raw = np.asarray(fc.bpp(), dtype=np.float64)[1:, 1:]
    probs = np.triu(raw, 1)
    return (probs + probs.T).astype(np.float32)


def vienna_fold(
    sequence: str, record_id: str = "<unnamed>", bpp: bool = False, params: str = DEFAULT_ENERGY_PARAMETERS
) -> ViennaResult:
    """MFE structure, and with ``bpp`` the equilibrium base-pair probability matrix, under energy
    parameter set ``params`` (:data:`ENERGY_PARAMETERS`; the default is ViennaRNA's own)."""
    RNA = import_rna()
    seq = _folded_sequence(sequence, record_id)
    with energy_parameters(params):
        return _fold(RNA, seq, record_id, bpp)


def _fold(RNA, seq: str, record_id: str, bpp: bool) -> ViennaResult:
    """:func:`vienna_fold` of a normalised sequence under the parameters loaded now."""
    fc = RNA.fold_compound(seq)
    db, energy = fc.mfe()
    structure = Structure(record_id, seq, tuple(dot_bracket_to_pairs(db, record_id)))
    probs = None
    if bpp:
        fc.exp_params_rescale(energy)  # scale the partition function around the MFE: no overflow
        fc.pf()
        probs = _pair_probs(fc)
    return ViennaResult(structure, float(energy), probs)


def vienna_pair_probs(
    sequence: str, record_id: str = "<unnamed>", params: str = DEFAULT_ENERGY_PARAMETERS
) -> np.ndarray:
    """``(L, L)`` symmetric float32 base-pair probabilities under ``params``, without the MFE.

    ``RNAfold -p`` scales the partition function around the MFE, computed first; the probabilities
    do not depend on the scale unless the numbers leave the double range, so this computes the
    partition function at ViennaRNA's default scale (a third to a half less time per map) and only on
    an overflow, which ViennaRNA reports as an ensemble energy of +100000 kcal/mol with all-zero
    probabilities (GC-rich sequences of a few hundred nt), folds again the ``RNAfold -p`` way. An
    ensemble free energy is never above 0 (the open chain alone gives Z = 1), so any positive value
    is taken as that signal. Equal to :func:`vienna_fold`'s ``probs`` within 1e-13."""
    RNA = import_rna()
    seq = _folded_sequence(sequence, record_id)
    with energy_parameters(params):
        fc = RNA.fold_compound(seq)
        _, ensemble = fc.pf()
        if not ensemble <= OPEN_CHAIN_LIMIT:
            return _fold(RNA, seq, record_id, True).probs  # type: ignore[return-value]
        return _pair_probs(fc)


#: The largest ensemble free energy (kcal/mol) :func:`vienna_pair_probs` accepts: 0 up to rounding.
OPEN_CHAIN_LIMIT = 1e-6


def vienna_mea(sequence: str, record_id: str = "<unnamed>", gamma: float = 1.0) -> ViennaResult:
    """Maximum expected accuracy structure (``RNAfold -p --MEA``: the nested structure maximising
    ``sum 2 gamma P_ij`` over pairs plus ``sum P_i^unpaired``), with the base-pair probabilities it
    comes from; ``energy`` is its free energy."""
    RNA = import_rna()
    seq = _folded_sequence(sequence, record_id)
    with energy_parameters():  # the default set, while no other thread holds another
        fc = RNA.fold_compound(seq)
        _, mfe = fc.mfe()
        fc.exp_params_rescale(mfe)
        fc.pf()
        probs = _pair_probs(fc)
        db, _ = fc.MEA(gamma)
        energy = float(fc.eval_structure(db))
    structure = Structure(record_id, seq, tuple(dot_bracket_to_pairs(db, record_id)))
    return ViennaResult(structure, energy, probs)


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
    with energy_parameters():
        fc = RNA.fold_compound(normalize_rna(structure.sequence))
        energy = float(fc.eval_structure(structure.dot_bracket()))
    return None if energy >= NO_ENERGY else energy


#: What ``eval_structure`` returns for a loop the model forbids (a hairpin under 3 nt): no energy.
NO_ENERGY = 1e4


__all__ = [
    "DEFAULT_ENERGY_PARAMETERS",
    "ENERGY_PARAMETERS",
    "energy_parameters",
    "vienna_fold",
    "vienna_mea",
    "ViennaResult",
    "evaluable",
    "import_rna",
    "structure_energy",
]
