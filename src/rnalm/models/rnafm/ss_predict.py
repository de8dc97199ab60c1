"""RNA-FM's SS-ResNet as a probability model: sequences -> ``L x L`` base-pair probability maps.

Each record runs alone through the network (as rna-fm's ``launch/predict.py`` runs them), and its
map is ``sigmoid`` of the symmetric ``r-ss`` logits, float32. Letters are RNA-FM's (``T`` read as
``U``, case folded); anything else is an error naming the record and position, and a record longer
than the encoder allows (1,022 nt for RNA-FM) is a :class:`SequenceLengthError` naming the record
and the limit, raised before any record is computed. Post-processing into pairs is not done here:
that is the caller's choice (``rnalm fold``).

This sits beside the model rather than in :mod:`rnalm.structure` because it needs only the
alphabet and torch; :mod:`rnalm.structure` and the fold command consume it through the plain
``Callable[[Sequence[str]], list[np.ndarray]]`` they already take.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np
import torch

from rnalm.errors import SequenceLengthError
from rnalm.models.rnafm.alphabet import RNA_FM_ALPHABET
from rnalm.models.rnafm.ss_convert import load_ss_resnet
from rnalm.models.rnafm.ss_resnet import SSResNet

Record = tuple[str, str]


def probabilities(logits: torch.Tensor) -> np.ndarray:
    """``sigmoid`` of symmetric logits, mirrored from the upper triangle so that it is exactly
    symmetric (vectorised and scalar sigmoid kernels can differ in the last bit)."""
    p = torch.sigmoid(logits.float())
    return (torch.triu(p) + torch.triu(p, diagonal=1).T).cpu().numpy()


class SSResNetProbabilities:
    """Callable ``sequences -> maps`` (``rnalm fold``'s probability model) around a loaded :class:`SSResNet`."""

    def __init__(self, model: SSResNet) -> None:
        self.model = model.eval()
        self.alphabet = RNA_FM_ALPHABET
        #: longest record in nucleotides
        self.limit = model.max_length

    def tokens(self, records: Sequence[Record]) -> list[torch.Tensor]:
        """Token ids (``<cls>`` .. ``<eos>``) of every record, all validated before any is run."""
        a = self.alphabet
        out = []
        for rid, seq in records:
            ids = a.encode(seq, str(rid))
            if not ids:
                raise SequenceLengthError(f"record {rid!r}: empty sequence")
            if len(ids) > self.limit:
                raise SequenceLengthError(
                    f"record {rid!r}: {len(ids)} nt is longer than the {self.limit} nt RNA-FM's SS-ResNet "
                    f"accepts (its encoder has {self.limit + 2} positions, <cls> and <eos> included)"
                )
            out.append(torch.tensor([[a.cls_idx, *ids, a.eos_idx]], dtype=torch.int64))
        return out

    @torch.no_grad()
    def predict_records(self, records: Sequence[Record]) -> list[np.ndarray]:
        """``(L, L)`` float32 pair probabilities of each ``(id, sequence)``, one forward per record."""
        device = next(self.model.parameters()).device
        return [probabilities(self.model(t.to(device))[0]) for t in self.tokens(records)]

    def __call__(self, sequences: Sequence[str]) -> list[np.ndarray]:
        """Maps for bare sequences; errors name them ``#1``, ``#2``, ... in input order."""
        return self.predict_records([(f"#{i + 1}", s) for i, s in enumerate(sequences)])


def ss_resnet_probabilities(
    path: Union[str, Path], device: Optional[Union[str, torch.device]] = None
) -> SSResNetProbabilities:
    """The probability model of the SS-ResNet file at ``path`` (loaded safely and strictly)."""
    return SSResNetProbabilities(load_ss_resnet(path, device=device))


__all__ = ["SSResNetProbabilities", "ss_resnet_probabilities"]
