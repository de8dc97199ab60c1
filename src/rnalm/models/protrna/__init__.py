"""ProtRNA: ESM-2 650M transferred to RNA (TensorFlow/Keras original, ``roxie-zhang/ProtRNA``).

The ``protrna-h5`` checkpoint format (:data:`.convert.PROTRNA_FORMAT`, listed in
:data:`rnalm.models.FORMATS`) makes ``rnalm.load("ProtRNA_pretrained.h5")`` work; it is read with h5py (a
dependency of rnalm). ProtRNA's RotaFormer structure head loads with :func:`load_ss_head`;
:class:`ProtRNAStructureModel` turns a backbone and the head into ``L x L`` base-pair probability maps.
The model card is ``card.md`` next to this file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import torch

from rnalm.alphabet import Alphabet
from rnalm.model.encoder import RNAEncoder
from rnalm.models.build import load_converted
from rnalm.models.protrna.alphabet import PROTRNA_ALPHABET, PROTRNA_TOKENS, RNA_LETTERS
from rnalm.models.protrna.convert import FORMAT_NAME, convert_protrna, convert_protrna_h5
from rnalm.models.protrna.ss_convert import load_ss_head
from rnalm.models.protrna.ss_head import DEFAULT_THRESHOLD, HeadConfig, RotaFormerHead
from rnalm.models.protrna.ss_model import ProtRNAStructureModel


def load_protrna_h5(
    path: Union[str, Path],
    attention_heads: Optional[int] = None,
    max_positions: Optional[int] = None,
    device: Optional[Union[str, torch.device]] = None,
) -> tuple[RNAEncoder, Alphabet]:
    """:func:`rnalm.load` for a ProtRNA ``.h5`` with the inferred head count or length limit overridden.

    Only needed for files that do not hold the rotary frequencies the head count is read from, or
    to accept inputs longer than ProtRNA's own 512-token limit.
    """
    conv = convert_protrna_h5(path, attention_heads=attention_heads, max_positions=max_positions)
    return load_converted(conv, FORMAT_NAME, path, device=device)


__all__ = [
    "PROTRNA_ALPHABET",
    "PROTRNA_TOKENS",
    "RNA_LETTERS",
    "FORMAT_NAME",
    "convert_protrna",
    "convert_protrna_h5",
    "load_protrna_h5",
    "load_ss_head",
    "DEFAULT_THRESHOLD",
    "HeadConfig",
    "RotaFormerHead",
    "ProtRNAStructureModel",
]
