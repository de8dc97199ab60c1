"""BERT masking for MLM: 15% of nucleotide tokens; of those 80% <mask>, 10% random letter, 10% kept.

Only letter tokens are eligible (never <cls>, <eos>, <pad>). Randomness comes from an explicit
generator so that a run is reproducible and a resumed run, or a run split over several processes,
masks every micro-batch exactly as a single uninterrupted process would.
"""

from __future__ import annotations

import torch

from rnalm.alphabet import Alphabet

IGNORE_INDEX = -100


def mask_tokens(
    tokens: torch.Tensor,
    alphabet: Alphabet,
    generator: torch.Generator,
    rate: float = 0.15,
    mask_fraction: float = 0.8,
    random_fraction: float = 0.1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(inputs, targets)``; ``targets`` is ``IGNORE_INDEX`` where no prediction is asked."""
    letters = torch.tensor(alphabet.letter_indices, dtype=tokens.dtype)
    eligible = torch.isin(tokens, letters)
    u = torch.rand(tokens.shape, generator=generator)
    selected = eligible & (u < rate)
    targets = torch.where(selected, tokens, torch.full_like(tokens, IGNORE_INDEX))
    action = torch.rand(tokens.shape, generator=generator)
    to_mask = selected & (action < mask_fraction)
    to_random = selected & (action >= mask_fraction) & (action < mask_fraction + random_fraction)
    random_letters = letters[torch.randint(len(letters), tokens.shape, generator=generator)]
    inputs = tokens.clone()
    inputs[to_mask] = alphabet.mask_idx
    inputs[to_random] = random_letters[to_random]
    return inputs, targets
