"""Masked binary cross-entropy for base-pair maps.

Only real pairs count: cells ``(i, j)`` with ``i < j`` (each pair once; the head is symmetric)
inside both sequences' lengths, optionally only ``j - i >= min_separation``. Pairs are rare (about
one cell in ``L / 2`` is positive), so ``pos_weight`` multiplies the positive term; values used in
the literature range from a few to 300 (UFold). The mean is over all counted cells of the batch,
so long sequences weigh more, as they do in per-cell training elsewhere.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F


def pair_mask(mask: torch.Tensor, min_separation: int = 1) -> torch.Tensor:
    """``(B, L, L)`` bool: both positions real and ``j - i >= min_separation`` (upper triangle)."""
    if min_separation < 1:
        raise ValueError("min_separation must be >= 1 (the diagonal is never a pair)")
    length = mask.shape[1]
    upper = torch.ones(length, length, dtype=torch.bool, device=mask.device).triu(min_separation)
    return mask[:, :, None] & mask[:, None, :] & upper


def masked_bce_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    pos_weight: Optional[float] = None,
    min_separation: int = 1,
) -> torch.Tensor:
    """Mean BCE-with-logits over the cells :func:`pair_mask` selects.

    Args:
        logits: ``(B, L, L)`` raw scores.
        target: ``(B, L, L)`` 0/1 contact maps (symmetric or upper-triangular; only ``i < j`` is read).
        mask: ``(B, L)`` bool, True on real nucleotides.
        pos_weight: weight of the positive term (``None`` = 1).
    """
    if logits.shape != target.shape or logits.shape[:2] != mask.shape or logits.shape[1] != logits.shape[2]:
        raise ValueError(
            f"shapes do not match: logits {tuple(logits.shape)}, target {tuple(target.shape)}, mask {tuple(mask.shape)}"
        )
    sel = pair_mask(mask, min_separation)
    x, y = logits[sel].float(), target[sel].float()
    if x.numel() == 0:
        return logits.sum() * 0.0
    pw = None if pos_weight is None else torch.tensor(float(pos_weight), device=x.device)
    return F.binary_cross_entropy_with_logits(x, y, pos_weight=pw)


__all__ = ["pair_mask", "masked_bce_loss"]
