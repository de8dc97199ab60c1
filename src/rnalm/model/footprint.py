"""What an :class:`EncoderConfig` implies in tensors and bytes, found without allocating the model.

A config is a few numbers that can ask for terabytes (``num_layers: 2000``), so loaders and trainers
check what it implies before building anything: tensor shapes come from a build on PyTorch's
``meta`` device (shapes and dtypes, no storage), and the total size from two one- and two-layer
meta builds, since every size grows linearly with the number of layers. That keeps the check fast
even for a config far too large to build.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Optional

import torch

from rnalm.errors import RnalmError
from rnalm.model.config import EncoderConfig
from rnalm.model.encoder import RNAEncoder


def tensor_shapes(config: EncoderConfig) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every tensor in the state dict of ``RNAEncoder(config)`` (built on ``meta``)."""
    with torch.device("meta"):
        state = RNAEncoder(config).state_dict()
    return {name: tuple(t.shape) for name, t in state.items()}


def _meta_size(config: EncoderConfig) -> tuple[int, int]:
    with torch.device("meta"):
        state = RNAEncoder(config).state_dict()
    return sum(t.numel() for t in state.values()), sum(t.numel() * t.element_size() for t in state.values())


def implied_size(config: EncoderConfig) -> tuple[int, int]:
    """(elements, bytes) of the state dict ``config`` describes, tied tensors counted once per name.

    Exact: per-layer tensors and the contact head's input width are linear in ``num_layers``.
    """
    n1, b1 = _meta_size(dataclasses.replace(config, num_layers=1))
    n2, b2 = _meta_size(dataclasses.replace(config, num_layers=2))
    extra = config.num_layers - 1
    return n1 + extra * (n2 - n1), b1 + extra * (b2 - b1)


def physical_memory() -> Optional[int]:
    """Bytes of RAM of this machine, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_fits_in_memory(
    config: EncoderConfig,
    context: str,
    copies: int = 1,
    error: type[RnalmError] = RnalmError,
    size: Optional[tuple[int, int]] = None,
) -> None:
    """Refuse a config whose ``copies`` of the weights exceed physical memory.

    ``copies``: how many weight-sized tensors the caller holds at once (2 when loading: the file's
    tensors and the model; 4 when training with AdamW: weights, gradients and two moments).
    ``size``: :func:`implied_size` of ``config`` when the caller has it already.
    """
    elements, nbytes = size or implied_size(config)
    ram = physical_memory()
    if ram is not None and nbytes * copies > ram:
        raise error(
            f"{context}: {config.num_layers} layers x {config.embed_dim} wide (ffn {config.ffn_embed_dim}) is "
            f"{elements:,} parameters = {nbytes / 2**30:.1f} GiB, x{copies} = {nbytes * copies / 2**30:.1f} GiB, "
            f"more than this machine's {ram / 2**30:.1f} GiB of memory; check num_layers / embed_dim / ffn_embed_dim"
        )


__all__ = ["check_fits_in_memory", "implied_size", "physical_memory", "tensor_shapes"]
