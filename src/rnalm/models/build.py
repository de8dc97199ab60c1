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
    """Instantiate the encoder and load the converted weights *strictly*.

    The encoder is built on the ``meta`` device and takes the converted tensors as its parameters
    (cast to the parameter's dtype where they differ), so no random initialisation runs only to be
    overwritten and no weight is copied a second time (about 1 s of start-up at RNA-FM's size)."""
    with torch.device("meta"):
        model = RNAEncoder(conv.config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(conv.state_dict))
    unexpected = sorted(set(conv.state_dict) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            "checkpoint does not match the architecture its config describes: "
            f"missing keys {missing[:10]}{'...' if len(missing) > 10 else ''}, "
            f"unexpected keys {unexpected[:10]}{'...' if len(unexpected) > 10 else ''}"
        )
    state = {}
    for name, value in conv.state_dict.items():
        want = expected[name]
        if tuple(value.shape) != tuple(want.shape):
            raise CheckpointError(
                f"checkpoint tensor {name!r} has shape {tuple(value.shape)}; the config describes {tuple(want.shape)}"
            )
        state[name] = value.to(dtype=want.dtype).contiguous()
    model.load_state_dict(state, strict=True, assign=True)
    model.tie_weights()
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
