"""The provenance note every export carries: which model it came from and which rnalm wrote it.

It goes into the HF directory's ``config.json`` and the ONNX file's ``metadata_props`` under
:data:`PROVENANCE_KEY`, which is also how ``--overwrite`` recognises an export rnalm wrote.
"""

from __future__ import annotations

from typing import Any

from rnalm.alphabet import Alphabet
from rnalm.io.digest import state_sha256
from rnalm.model.encoder import RNAEncoder
from rnalm.version import __version__

PROVENANCE_KEY = "rnalm_export"


def provenance(model: RNAEncoder, alphabet: Alphabet, source: str) -> dict[str, Any]:
    """What an exported file says about its origin (JSON-serialisable)."""
    loaded = getattr(model, "provenance", None) or {}
    note: dict[str, Any] = {
        "source": source,
        "source_format": loaded.get("source_format"),
        "alphabet": alphabet.name,
        "weights_sha256": state_sha256(model),
        "rnalm_version": __version__,
    }
    return {k: v for k, v in note.items() if v is not None}


__all__ = ["PROVENANCE_KEY", "provenance"]
