"""Rows of ``rnalm models``: :class:`Listing`, and the rows for the registered checkpoints."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Union

from rnalm.hub.cache import cache_status, local_path, trust_state
from rnalm.hub.registry import REGISTRY
from rnalm.hub.torchhub import IN_TORCH_HUB, torch_hub_path, torch_hub_trust_state


@dataclass(frozen=True)
class Listing:
    """One row of ``rnalm models``; any model source (registry, shipped weights, ...) yields these."""

    name: str
    source: str
    format: str
    size: Optional[int]
    sha256: str
    cached: str
    licence: str
    description: str
    location: str
    urls: tuple[str, ...] = ()
    homepage: str = ""
    citation: str = ""
    notes: str = ""
    aliases: tuple[str, ...] = ()
    #: shipped models: backbone | task | structure, the task alias, the card's validation metric;
    #: ``structure predictor`` for the rows of ``rnalm fold --model``.
    kind: str = ""
    task: str = ""
    metric: str = ""
    #: structure predictors only: the backbone it reads, its longest record, its own post-processing,
    #: the registered checkpoints it needs
    needs: str = ""
    limit: str = ""
    postprocess: str = ""
    downloads: tuple[str, ...] = ()


def listings(cache_dir: Union[str, Path, None] = None) -> Iterator[Listing]:
    """Rows for every registered (downloadable) checkpoint.

    ``cached`` is ``"torch hub"`` (:data:`IN_TORCH_HUB`) for a checkpoint that is not in rnalm's cache
    but whose files fair-esm or rna-fm downloaded into torch hub's cache: ``location`` is then the
    file there, which :func:`rnalm.load` uses after checking it.
    """
    for entry in REGISTRY.values():
        cached, sha256, location = cache_status(entry, cache_dir), trust_state(entry, cache_dir), None
        if cached != "yes":
            location = torch_hub_path(entry)
            if location is not None:
                cached, sha256 = IN_TORCH_HUB, torch_hub_trust_state(entry, cache_dir)
        yield Listing(
            name=entry.name,
            source="download",
            format=entry.format,
            size=entry.size,
            sha256=sha256,
            cached=cached,
            licence=entry.licence,
            description=entry.description,
            location=str(location or local_path(entry, cache_dir)),
            urls=entry.urls,
            homepage=entry.homepage,
            citation=entry.citation or "",
            notes=entry.notes,
            aliases=entry.aliases,
        )
