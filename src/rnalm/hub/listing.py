"""Rows of ``rnalm models``: :class:`Listing`, and the rows for the registered checkpoints."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Union

from rnalm.hub.cache import cache_status, local_path, trust_state
from rnalm.hub.registry import REGISTRY


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
    #: shipped models only: backbone | task | structure, the task alias, the card's validation metric.
    kind: str = ""
    task: str = ""
    metric: str = ""


def listings(cache_dir: Union[str, Path, None] = None) -> Iterator[Listing]:
    """Rows for every registered (downloadable) checkpoint."""
    for entry in REGISTRY.values():
        yield Listing(
            name=entry.name,
            source="download",
            format=entry.format,
            size=entry.size,
            sha256=trust_state(entry, cache_dir),
            cached=cache_status(entry, cache_dir),
            licence=entry.licence,
            description=entry.description,
            location=str(local_path(entry, cache_dir)),
            urls=entry.urls,
            homepage=entry.homepage,
            citation=entry.citation or "",
            notes=entry.notes,
            aliases=entry.aliases,
        )
