"""The forward pass an ONNX file holds: token ids in, logits and the final representation out.

:class:`~rnalm.model.RNAEncoder`'s forward takes Python options (layers, attention maps, contacts)
and skips the attention mask when a batch has no padding, a branch on the data that ``torch.export``
cannot trace. :class:`ServingEncoder` runs the same modules (embedding, layers, final LayerNorm,
LM head) with the key-padding mask always applied, which gives the same values with or without
padding; the export is checked against the encoder's own forward before it is written.
"""

from __future__ import annotations

import torch
from torch import nn

from rnalm.model.encoder import RNAEncoder

#: the ONNX graph's input and outputs
INPUT_NAME = "tokens"
LOGITS, LAST_HIDDEN = "logits", "last_hidden"


class ServingEncoder(nn.Module):
    """``tokens (B, T) int64 -> (logits (B, T, V), last_hidden (B, T, C))``; last_hidden only without an LM head."""

    def __init__(self, encoder: RNAEncoder) -> None:
        super().__init__()
        self.encoder = encoder

    @property
    def output_names(self) -> list[str]:
        return [LOGITS, LAST_HIDDEN] if self.encoder.lm_head is not None else [LAST_HIDDEN]

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, ...]:
        enc = self.encoder
        keep = tokens.ne(enc.padding_idx)[:, None, None, :]
        x = enc.embed(tokens)
        for layer in enc.layers:
            x, _ = layer(x, keep)
        x = enc.emb_layer_norm_after(x)
        return (enc.lm_head(x), x) if enc.lm_head is not None else (x,)


def fresh_copy(encoder: RNAEncoder) -> RNAEncoder:
    """The same weights in a new encoder (on the CPU, in eval mode), so tracing leaves ``encoder`` untouched."""
    copy = RNAEncoder(encoder.config)
    copy.load_state_dict({k: v.detach().cpu() for k, v in encoder.state_dict().items()}, strict=True)
    return copy.eval()


__all__ = ["INPUT_NAME", "LAST_HIDDEN", "LOGITS", "ServingEncoder", "fresh_copy"]
