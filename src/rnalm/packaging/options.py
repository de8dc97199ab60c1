"""What the packager is asked to do (:class:`Options`) and what each kind's packer hands to the common
tail that writes the card and the manifest entry (:class:`Packed`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from rnalm import shipped

#: weight files of a run folder (one per fold), copied when present
WEIGHT_FILES = ("model.safetensors", "model.skops")
CARD_FILE = "card.md"
#: how closely ``tests/shipped`` must reproduce the recorded check metric (quoted on the card)
TOLERANCE = 1e-4


@dataclass
class Options:
    name: str
    data_licence: str
    task: Optional[str] = None
    licence: str = "MIT"
    description: str = ""
    command: Optional[str] = None
    check_size: int = 64
    seed: int = 0
    check_data: Optional[str] = None
    dtype: str = "float32"
    backbone: str = shipped.DEFAULT_BACKBONE
    threshold: Optional[float] = None
    include: tuple = ()
    recompute_valid: bool = True
    #: ``(name, run folder)`` of baselines validated on the same rows (the first: the recipe's one-hot baseline).
    baselines: tuple = ()
    #: paragraphs for the card's Notes section (what a user should know beyond the figures).
    notes: tuple = ()
    #: a previous shipped model folder (task models) this one must beat on the same validation rows.
    previous: Optional[str] = None
    #: a shipped entry of the same task alias this one replaces (removed once this one is in place).
    replaces: Optional[str] = None


@dataclass
class Packed:
    """What the kind-specific packer hands to the common tail (card, manifest)."""

    kind: str
    rows: list[dict]
    columns: list[str]
    check_metric: str
    check: dict
    metric: dict
    card_sections: list[str]
    backbone: Optional[str] = None
    backbone_sha256: Optional[str] = None
    postprocess: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    #: the baselines row of ``--previous`` (listed after the ``--baseline`` runs)
    previous: Optional[dict] = None


__all__ = ["CARD_FILE", "Options", "Packed", "TOLERANCE", "WEIGHT_FILES"]
