"""What predicts a structure: :class:`Prediction`, and the two kinds of predictor functions.

A *predictor* maps a batch of ``(id, sequence)`` to :class:`Prediction` objects:

* :func:`vienna_predictor` -- ViennaRNA's MFE structure, with its base-pair probabilities as the
  probability map;
* :func:`model_predictor` -- any *probability model* (a callable from sequences to ``L x L``
  probability matrices, e.g. a trained pairwise head with its backbone) followed by the user's
  post-processing choices (:mod:`rnalm.structure.postprocess`).

Learned models come from ``rnalm finetune`` run directories; the run-directory format belongs to
the fine-tuning code (:func:`rnalm.runs.structure_model.load_run_model`), so this module never
parses weights itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from rnalm.errors import RnalmError
from rnalm.structure.pairs import Structure
from rnalm.structure.postprocess import ONE_PARTNER_METHODS, postprocess
from rnalm.structure.vienna import import_rna, vienna_fold


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


__all__ = ["PostprocessOptions", "Prediction", "Predictor", "ProbabilityModel", "model_predictor", "vienna_predictor"]
