"""One function per model, shaped like fair-esm's ``esm.pretrained`` and rna-fm's ``fm.pretrained``.

People moving from those packages keep their habits::

    model, alphabet = rnalm.pretrained.rna_fm_t12()          # was fm.pretrained.rna_fm_t12()
    model, alphabet = rnalm.pretrained.esm2_t6_8M_UR50D()    # was esm.pretrained.esm2_t6_8M_UR50D()

Each function returns ``(model, alphabet)`` as :func:`rnalm.load` does, and is that call on one
registered checkpoint: :data:`MODELS` maps each function name to the checkpoint name
``rnalm models`` lists. The weights come from rnalm's cache, else from torch hub's cache when
fair-esm or rna-fm already downloaded them there (checked first), else they are downloaded and
verified (:mod:`rnalm.hub`). :func:`utrlm_mini` loads the backbone shipped inside the package, so it
works offline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Union

import torch

from rnalm.alphabet import Alphabet
from rnalm.api import load
from rnalm.hub.registry import get
from rnalm.model.encoder import RNAEncoder

Loader = Callable[..., tuple[RNAEncoder, Alphabet]]

#: Function name -> the registered checkpoint it loads (names as fair-esm and rna-fm spell them).
MODELS: dict[str, str] = {
    "rna_fm_t12": "rna-fm",
    "mrna_fm_t12": "mrna-fm",
    "utrlm_mrl": "utr-lm-mrl",
    "utrlm_te_el": "utr-lm-te-el",
    "utrlm_mlm": "utr-lm-mlm",
    "lamar": "lamar-4k",
    "lamar_4k": "lamar-4k",
    "lamar_2k": "lamar-2k",
    "protrna": "protrna",
    "esm2_t6_8M_UR50D": "esm2_t6_8M_UR50D",
    "esm2_t12_35M_UR50D": "esm2_t12_35M_UR50D",
    "esm2_t30_150M_UR50D": "esm2_t30_150M_UR50D",
    "esm2_t33_650M_UR50D": "esm2_t33_650M_UR50D",
}

_ARGS = """
    ``model_location``: a local copy of the published file (or folder) to load instead, as rna-fm's
    ``model_location`` (its format is read from its content). ``device`` and ``eval_mode`` as in
    :func:`rnalm.load`. Returns ``(model, alphabet)``.
"""


def _registered(name: str) -> Loader:
    """The function ``name`` of :data:`MODELS`: :func:`rnalm.load` of its checkpoint, documented from the registry."""
    entry = get(MODELS[name])

    def loader(
        model_location: Union[str, Path, None] = None,
        device: Optional[Union[str, torch.device]] = None,
        eval_mode: bool = True,
    ) -> tuple[RNAEncoder, Alphabet]:
        return load(entry.name if model_location is None else model_location, device=device, eval_mode=eval_mode)

    cite = f"; cite {entry.citation}" if entry.citation else ""
    loader.__name__ = loader.__qualname__ = name
    loader.__doc__ = (
        f"{entry.description}.\n\n    Licence: {entry.licence} ({entry.homepage}{cite}). Loads the registered "
        f"checkpoint ``{entry.name}`` (``rnalm.load({entry.name!r})``; see ``rnalm models -v``).\n{_ARGS}"
    )
    return loader


rna_fm_t12 = _registered("rna_fm_t12")
mrna_fm_t12 = _registered("mrna_fm_t12")
utrlm_mrl = _registered("utrlm_mrl")
utrlm_te_el = _registered("utrlm_te_el")
utrlm_mlm = _registered("utrlm_mlm")
lamar = _registered("lamar")
lamar_4k = _registered("lamar_4k")
lamar_2k = _registered("lamar_2k")
protrna = _registered("protrna")
esm2_t6_8M_UR50D = _registered("esm2_t6_8M_UR50D")
esm2_t12_35M_UR50D = _registered("esm2_t12_35M_UR50D")
esm2_t30_150M_UR50D = _registered("esm2_t30_150M_UR50D")
esm2_t33_650M_UR50D = _registered("esm2_t33_650M_UR50D")


def utrlm_mini(
    model_location: Union[str, Path, None] = None,
    device: Optional[Union[str, torch.device]] = None,
    eval_mode: bool = True,
) -> tuple[RNAEncoder, Alphabet]:
    """utrlm-mini: rnalm's UTR-LM-size RNA language model (6 layers x 128, 1.2 M parameters), shipped inside
    the package, so no download.

    Licence: MIT (weights; the model card, ``rnalm models -v``, lists the data licences). Loads
    ``rnalm.load("utrlm-mini")`` after checking its files against the package manifest.

    ``model_location``: another copy of it to load instead (a folder ``rnalm convert`` or
    ``rnalm.io.native.save_native`` wrote). ``device`` and ``eval_mode`` as in :func:`rnalm.load`.
    Returns ``(model, alphabet)``.
    """
    return load("utrlm-mini" if model_location is None else model_location, device=device, eval_mode=eval_mode)


__all__ = ["MODELS", *MODELS, "utrlm_mini"]
