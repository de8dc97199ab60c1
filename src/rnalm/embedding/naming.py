"""The file names of per-rank parts of a torchrun ``rnalm embed`` run (record names: :mod:`rnalm.io.record_names`)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from rnalm.errors import RnalmError

# ------------------------------------------------------------------------------ ranks and parts
_PART = re.compile(r"\.rank(\d+)-of-(\d+)$")


def rank_from_env() -> tuple[int, int]:
    """``(rank, world_size)`` from torchrun's environment (``RANK``/``WORLD_SIZE``), else ``(0, 1)``."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
    except ValueError as exc:
        raise RnalmError(f"RANK/WORLD_SIZE must be integers: {exc}") from exc
    if world < 1 or not 0 <= rank < world:
        raise RnalmError(f"invalid RANK={rank} for WORLD_SIZE={world}")
    return rank, world


def part_path(output: Path, rank: int, world_size: int) -> Path:
    """Where rank ``rank`` of ``world_size`` writes: ``OUTPUT.rankR-of-W`` (``OUTPUT`` itself if alone)."""
    if world_size == 1:
        return output
    return output.with_name(f"{output.name}.rank{rank}-of-{world_size}")


def find_parts(output: Path) -> dict[int, tuple[int, Path]]:
    """The per-rank parts next to ``output``: ``{rank: (world_size, path)}``."""
    parts: dict[int, tuple[int, Path]] = {}
    parent = output.parent if str(output.parent) else Path(".")
    if not parent.is_dir():
        return parts
    prefix = output.name + ".rank"
    for p in parent.iterdir():
        if not p.name.startswith(prefix):
            continue
        m = _PART.search(p.name)
        if m and p.name[: m.start()] == output.name:
            parts[int(m.group(1))] = (int(m.group(2)), p)
    return parts
