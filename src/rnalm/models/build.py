"""From a :class:`~rnalm.io.formats.Converted` checkpoint to a loaded encoder and its alphabet.

One place builds the encoder and loads converted weights *strictly*, so :func:`rnalm.load`,
``rnalm convert`` and a converter with options of its own (ProtRNA's head-count override) all
load the same way and record the same provenance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Union

import torch

from rnalm.alphabet import Alphabet
from rnalm.errors import CheckpointError
from rnalm.io.formats import Converted
from rnalm.model.encoder import RNAEncoder


def build_from_converted(conv: Converted) -> RNAEncoder:
    """Instantiate the encoder and load the converted weights *strictly*."""
    model = RNAEncoder(conv.config)
    missing, unexpected = model.load_state_dict(conv.state_dict, strict=False)
    if missing or unexpected:
        raise CheckpointError(
            "checkpoint does not match the architecture its config describes: "
            f"missing keys {sorted(missing)[:10]}{'...' if len(missing) > 10 else ''}, "
            f"unexpected keys {sorted(unexpected)[:10]}{'...' if len(unexpected) > 10 else ''}"
        )
    model.provenance = conv.provenance  # type: ignore[assignment]
    return model


def load_converted(
    conv: Converted,
    source_format: str,
    source_path: Union[str, Path],
    device: Optional[Union[str, torch.device]] = None,
    eval_mode: bool = True,
) -> tuple[RNAEncoder, Alphabet]:
    """The encoder of ``conv`` (provenance noting where it came from, on ``device``) and its alphabet."""
    model = build_from_converted(conv)
    provenance: dict[str, Any] = model.provenance  # type: ignore[assignment]
    provenance.setdefault("source_format", source_format)
    provenance.setdefault("source_path", str(source_path))
    if device is not None:
        model = model.to(device)
    if eval_mode:
        model.eval()
    return model, conv.alphabet.with_max_length(conv.config.max_length)
