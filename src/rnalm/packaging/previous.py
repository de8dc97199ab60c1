"""The previous shipped model as a baseline and a gate (``--previous DIR``).

A model is shipped only if it beats the one it replaces on validation. ``DIR`` is a shipped model
folder of an earlier release (its manifest is ``DIR/../manifest.json``, which also resolves its
backbone); it is scored with its own files on exactly the rows the new model's figure is measured
on, so the comparison is paired. The result is one more row of the card's baselines table, and a
:class:`~rnalm.shipped.ShippedModelError` when the new model does not beat it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Sequence

from rnalm import shipped
from rnalm.metrics import greater_is_better
from rnalm.packaging.check import entry_metrics
from rnalm.packaging.files import display_path
from rnalm.shipped import MANIFEST, Entry, ShippedModelError


def previous_entry(folder: str | Path) -> Entry:
    """The manifest entry of the shipped model folder ``folder`` (its files verified)."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ShippedModelError(f"--previous {folder}: no such directory")
    root = folder.resolve().parent
    if not (root / MANIFEST).is_file():
        raise ShippedModelError(
            f"--previous {folder}: no {root / MANIFEST} next to it; give a shipped model folder "
            f"of an earlier release (e.g. its src/rnalm/shipped/utrlm-mini-te)"
        )
    found = [e for e in shipped.entries(root) if e.dir == folder.resolve().name]
    if not found:
        raise ShippedModelError(f"--previous {folder}: not an entry of {root / MANIFEST}")
    entry = found[0]
    entry.verify()
    return entry


def previous_row(
    folder: str | Path,
    alias: str | None,
    rows: Sequence[dict[str, str]],
    metric_name: str,
    ours: float,
    log: Callable[[str], None] = print,
) -> dict:
    """The baselines row of the previous shipped model in ``folder``, scored on ``rows`` where this
    model scores ``ours``; refused unless this model beats it."""
    entry = previous_entry(folder)
    if entry.kind != "task" or entry.task != alias:
        raise ShippedModelError(
            f"--previous {folder}: {entry.name} is the {entry.kind} model of task {entry.task!r}, "
            f"not of {alias!r}; give the previous model of the same task"
        )
    value = entry_metrics(entry, rows).get(metric_name)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise ShippedModelError(f"--previous {folder}: its {metric_name} on the validation rows could not be computed")
    beaten = ours > value if greater_is_better(metric_name) else ours < value
    log(f"previous shipped model {entry.name}: {metric_name} = {value:.4f} (this model {ours:.4f}), {len(rows)} rows")
    if not beaten:
        raise ShippedModelError(
            f"this model's {metric_name} = {ours:.4f} does not beat the previous shipped model {entry.name} "
            f"({metric_name} = {value:.4f}) on the same {len(rows)} validation rows; not shipped. Drop "
            f"--previous only if you mean to ship it anyway"
        )
    return {
        "name": f"previous shipped model ({entry.name}, packaged {entry.raw.get('packaged', 'date not recorded')})",
        "source": display_path(entry.path),
        "metric": metric_name,
        "value": float(value),
        "n": len(rows),
        "beaten": True,
        "this_model": float(ours),
    }


__all__ = ["previous_entry", "previous_row"]
