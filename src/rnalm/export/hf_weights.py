"""rnalm's tensors under transformers' ``EsmForMaskedLM`` names: the inverse of reading LAMAR.

:func:`rnalm.models.lamar.convert.rename_key` maps every ``EsmModel`` tensor name to rnalm's. The
inverse is taken name by name over the state of the ``EsmForMaskedLM`` being filled, so the table
lives in one place. Buffers transformers computes itself (rotary ``inv_freq``, ``position_ids``) keep
transformers' values; any other name without an rnalm tensor is an error, except the contact head of
a model that has none (written as zeros, see :func:`~rnalm.export.hf_config.hf_notes`). An rnalm
tensor left over must belong to a head ``EsmForMaskedLM`` has no place for
(:data:`~rnalm.export.hf_config.DROPPED_HEADS`).
"""

from __future__ import annotations

from typing import Mapping

import torch

from rnalm.export.errors import ExportError
from rnalm.export.hf_config import DROPPED_HEADS
from rnalm.models.lamar.convert import rename_key

#: transformers' prefix for the encoder inside ``EsmForMaskedLM``.
ENCODER_PREFIX = "esm."
#: ``EsmModel`` names of the contact regression.
CONTACT_PREFIX = "contact_head."


def rnalm_name(hf_name: str) -> str | None:
    """rnalm's name for ``EsmForMaskedLM`` tensor ``hf_name``, or None when it has none."""
    return rename_key(hf_name[len(ENCODER_PREFIX) :] if hf_name.startswith(ENCODER_PREFIX) else hf_name)


def hf_state(
    target: Mapping[str, torch.Tensor], buffers: set[str], source: Mapping[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """A full state for the ``EsmForMaskedLM`` whose state is ``target``, filled from rnalm's ``source``.

    ``buffers`` are ``target``'s buffer names (kept as they are when rnalm has no such tensor).
    """
    out: dict[str, torch.Tensor] = {}
    used: set[str] = set()
    unfilled: list[str] = []
    for name, tensor in target.items():
        mine = rnalm_name(name)
        if mine is not None and mine in source:
            value = source[mine]
            if value.shape != tensor.shape:
                raise ExportError(
                    f"{mine}: shape {tuple(value.shape)} but EsmForMaskedLM's {name} is {tuple(tensor.shape)}"
                )
            out[name] = value.detach().to(tensor.dtype).clone()
            used.add(mine)
        elif name in buffers:
            out[name] = tensor
        elif name.removeprefix(ENCODER_PREFIX).startswith(CONTACT_PREFIX):
            out[name] = torch.zeros_like(tensor)
        else:
            unfilled.append(name)
    dropped = tuple(f"{flag}." for flag, _ in DROPPED_HEADS)
    left = sorted(k for k in source if k not in used and not k.startswith(dropped))
    if unfilled or left:
        raise ExportError(
            f"the model's tensors do not map onto EsmForMaskedLM: no rnalm tensor for {unfilled[:6]}, "
            f"no EsmForMaskedLM place for {left[:6]}"
        )
    return out


__all__ = ["ENCODER_PREFIX", "hf_state", "rnalm_name"]
