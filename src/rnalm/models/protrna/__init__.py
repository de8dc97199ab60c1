"""ProtRNA: ESM-2 650M transferred to RNA (TensorFlow/Keras original, ``roxie-zhang/ProtRNA``).

Importing this package registers the ``protrna-h5`` checkpoint format (see :mod:`.convert`), so
``rnalm.load("ProtRNA_pretrained.h5")`` works; reading it needs the optional h5py package
(``pip install 'rnalm[h5]'``). The model card is ``card.md`` next to this file.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import torch

from rnalm.alphabet import Alphabet
from rnalm.models.protrna.alphabet import PROTRNA_ALPHABET, PROTRNA_TOKENS, RNA_LETTERS
from rnalm.models.protrna.convert import FORMAT_NAME, convert_protrna, convert_protrna_h5


def load_protrna_h5(
    path: Union[str, Path],
    attention_heads: Optional[int] = None,
    max_positions: Optional[int] = None,
    device: Optional[Union[str, torch.device]] = None,
) -> tuple[torch.nn.Module, Alphabet]:
    """:func:`rnalm.load` for a ProtRNA ``.h5`` with the inferred head count or length limit overridden.

    Only needed for files that do not hold the rotary frequencies the head count is read from, or
    to accept inputs longer than ProtRNA's own 512-token limit.
    """
    from rnalm.api import build_from_converted

    conv = convert_protrna_h5(path, attention_heads=attention_heads, max_positions=max_positions)
    model = build_from_converted(conv)
    model.provenance.setdefault("source_format", FORMAT_NAME)  # type: ignore[attr-defined]
    model.provenance.setdefault("source_path", str(path))  # type: ignore[attr-defined]
    if device is not None:
        model = model.to(device)
    return model.eval(), conv.alphabet.with_max_length(conv.config.max_length)


__all__ = [
    "PROTRNA_ALPHABET", "PROTRNA_TOKENS", "RNA_LETTERS", "FORMAT_NAME",
    "convert_protrna", "convert_protrna_h5", "load_protrna_h5",
]
