"""Sequences to base-pair probability maps with a ProtRNA backbone and the RotaFormer head.

Lives with the head in :mod:`rnalm.models` (the lowest layer that has both the encoder and the
alphabet) so that ``rnalm fold``, the Python API and the demo can all wrap it; it imports nothing
from :mod:`rnalm.structure`. The decision rule (``> DEFAULT_THRESHOLD``, no post-processing) is
data for the caller, not applied here.

As ``test_downstream_ss.py`` runs it: one record per forward (no padding), the backbone's last
layer (after its final layer norm, ``representations[33]`` in ProtRNA), ``<cls>``/``<eos>``
dropped, head logits through a sigmoid.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch

from rnalm.alphabet import Alphabet
from rnalm.errors import CheckpointError, SequenceLengthError
from rnalm.model.encoder import RNAEncoder
from rnalm.models.protrna.alphabet import PROTRNA_TOKENS
from rnalm.models.protrna.ss_head import DEFAULT_THRESHOLD, RotaFormerHead


class ProtRNAStructureModel:
    """``probabilities(sequences)``: one ``(L, L)`` float32 map of ``sigmoid(head(last layer))`` each.

    ``encoder``/``alphabet``: any backbone in ProtRNA's layout whose width is the head's input
    width (``rnalm.load("ProtRNA_pretrained.h5")``). ``unknown``: how letters outside ``a u g c x``
    (after ``t`` -> ``u``) are read; ``None`` refuses them naming the record and position,
    ``"x"`` is ProtRNA's own converter (every other character becomes ``x``).
    """

    threshold = DEFAULT_THRESHOLD

    def __init__(
        self, encoder: RNAEncoder, alphabet: Alphabet, head: RotaFormerHead, unknown: Optional[str] = None
    ) -> None:
        if tuple(alphabet.tokens) != PROTRNA_TOKENS:
            raise CheckpointError(
                f"the RotaFormer head needs a backbone with ProtRNA's vocabulary; this one's alphabet is "
                f"{alphabet.name!r}"
            )
        if encoder.embed_dim != head.config.input_dim:
            raise CheckpointError(
                f"the head reads {head.config.input_dim}-wide representations, the backbone is {encoder.embed_dim} wide"
            )
        self.encoder, self.alphabet, self.head, self.unknown = encoder.eval(), alphabet, head.eval(), unknown
        self.description = f"ProtRNA RotaFormer head on a {encoder.num_layers}-layer ProtRNA backbone"

    @property
    def limit(self) -> Optional[int]:
        """Longest sequence in nt (the backbone's positions less ``<cls>`` and ``<eos>``), or None."""
        return self.alphabet.max_length

    @torch.no_grad()
    def probabilities(self, sequences: Sequence[str], ids: Optional[Sequence[str]] = None) -> list[np.ndarray]:
        """Probability maps in input order; ``ids`` name the records in errors (default ``sequence k``)."""
        ids = list(ids) if ids is not None else [f"sequence {k + 1}" for k in range(len(sequences))]
        if len(ids) != len(sequences):
            raise ValueError(f"{len(ids)} ids for {len(sequences)} sequences")
        device = next(self.head.parameters()).device
        last = self.encoder.num_layers
        out = []
        for rid, seq in zip(ids, sequences):
            norm = self.alphabet.normalize(seq, rid, self.unknown)
            self._check_length(len(norm), rid)
            a = self.alphabet
            ids_ = [a.cls_idx, *a.encode_normalized(norm, rid, self.unknown), a.eos_idx]
            tokens = torch.tensor([ids_], dtype=torch.long, device=next(self.encoder.parameters()).device)
            rep = self.encoder(tokens, repr_layers=[last], return_logits=False)["representations"][last]
            logits = self.head(rep[0, 1:-1].to(device))
            out.append(torch.sigmoid(logits).float().cpu().numpy())
        return out

    __call__ = probabilities

    def _check_length(self, n: int, rid: str) -> None:
        if n == 0:
            raise SequenceLengthError(f"record {rid!r}: empty sequence")
        if self.limit is not None and n > self.limit:
            raise SequenceLengthError(
                f"record {rid!r}: {n} nt is longer than the {self.limit} nt the ProtRNA backbone accepts "
                f"(its {self.limit + 2} positions less <cls> and <eos>)"
            )


__all__ = ["ProtRNAStructureModel", "DEFAULT_THRESHOLD"]
