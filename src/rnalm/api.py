"""``rnalm.load``: any supported checkpoint, by path or registered name, to ``(model, alphabet)``."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import torch

from rnalm.alphabet import Alphabet
from rnalm.errors import CheckpointError
from rnalm.io.formats import Converted, convert_checkpoint
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
    model.provenance = conv.provenance  # type: ignore[attr-defined]
    return model


def load(
    name_or_path: Union[str, Path],
    device: Optional[Union[str, torch.device]] = None,
    eval_mode: bool = True,
) -> tuple[RNAEncoder, Alphabet]:
    """Load a model and its alphabet.

    ``name_or_path`` is either a path (file or directory; its format is detected from content:
    RNA-FM/mRNA-FM ``.pth``, UTR-LM state dicts, fair-esm ESM-2 ``.pt``, Hugging Face ESM
    directories such as LAMAR's, ProtRNA Keras ``.h5``, or rnalm's native directory) or the name
    of a model: one shipped inside the package (``"utrlm-mini"`` or ``"shipped:utrlm-mini"``, no
    network needed) or a registered checkpoint (see ``rnalm models``), which is taken from the local
    cache and downloaded when missing.
    """
    path = Path(name_or_path)
    if not path.exists():
        from rnalm import shipped

        if shipped.is_ref(name_or_path):
            path = shipped.backbone_path(str(name_or_path))
        else:
            from rnalm import hub

            path = hub.resolve(str(name_or_path))
    fmt, conv = convert_checkpoint(path)
    model = build_from_converted(conv)
    model.provenance.setdefault("source_format", fmt.name)  # type: ignore[attr-defined]
    model.provenance.setdefault("source_path", str(path))  # type: ignore[attr-defined]
    if device is not None:
        model = model.to(device)
    if eval_mode:
        model.eval()
    alphabet = conv.alphabet.with_max_length(conv.config.max_length)
    return model, alphabet
