"""``rnalm.load``: any supported checkpoint, by path or name, to ``(model, alphabet)``; :func:`resolve`
is the one place a model reference (path, shipped name, registered name) becomes a local path."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import torch

from rnalm import hub, shipped
from rnalm.alphabet import Alphabet
from rnalm.model.encoder import RNAEncoder
from rnalm.models import convert_checkpoint
from rnalm.models.build import load_converted


def resolve(ref: Union[str, Path]) -> Path:
    """The local path of model reference ``ref``.

    An existing path (file or directory) is returned as it is; a shipped backbone
    (``"utrlm-mini"`` or ``"shipped:utrlm-mini"``) gives its folder inside the installation after
    checking its weights' and config's sha256 against the manifest; any other name must be a
    registered checkpoint (see ``rnalm models``), taken from the local cache and downloaded when
    missing (:func:`rnalm.hub.resolve`).
    """
    path = Path(ref)
    if path.exists():
        return path
    if shipped.is_ref(ref):
        entry = shipped.get(str(ref), "backbone")
        entry.verify(entry.weight_files() + ["config.json"])
        return entry.path
    return hub.resolve(str(ref))


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
    cache (or from torch hub's cache, where fair-esm and rna-fm download) and downloaded when missing.

    The model is on the CPU unless ``device`` names another (anything :class:`torch.device` takes, or
    ``"auto"``: CUDA when available, as the commands' ``--device auto``), and in eval mode unless
    ``eval_mode=False``.
    """
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    path = resolve(name_or_path)
    fmt, conv = convert_checkpoint(path)
    return load_converted(conv, fmt.name, path, device=device, eval_mode=eval_mode)
