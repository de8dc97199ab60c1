"""The batch every export is checked on before it is moved into place.

Two random sequences of different lengths (so one is padded), each with a ``<mask>`` token (so
token dropout's rescaling is exercised), wrapped and padded exactly as rnalm's batch converter does.
"""

from __future__ import annotations

import torch

from rnalm.alphabet import Alphabet

PROBE_LENGTHS = (11, 6)


def probe_tokens(alphabet: Alphabet, lengths: tuple[int, ...] = PROBE_LENGTHS, seed: int = 0) -> torch.Tensor:
    """``(len(lengths), T)`` token ids: random letters, one ``<mask>`` per row, padded with ``<pad>``."""
    g = torch.Generator().manual_seed(seed)
    letters = torch.tensor(alphabet.letter_indices)
    rows = []
    for n in lengths:
        n = min(n, alphabet.max_length or n)
        ids = letters[torch.randint(len(letters), (n,), generator=g)]
        ids[n // 2] = alphabet.mask_idx
        rows.append(ids.tolist())
    return alphabet.get_batch_converter().pad(rows)


__all__ = ["PROBE_LENGTHS", "probe_tokens"]
