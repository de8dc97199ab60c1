"""Baseline runs listed on the card: each one's figure for the shipped model's metric, compared on
exactly the same validation rows."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Sequence

from rnalm.metrics import greater_is_better
from rnalm.packaging.files import display_path, read_json
from rnalm.shipped import ShippedModelError


def valid_ids(run: Path) -> list[str]:
    """The sorted ids of a run's validation rows, from its ``predictions.csv``."""
    path = run / "predictions.csv"
    if not path.is_file():
        raise ShippedModelError(f"{run}: no predictions.csv, so its validation rows cannot be compared")
    with open(path, newline="", encoding="utf-8") as fh:
        return sorted(r["id"] for r in csv.DictReader(fh) if r.get("split") == "valid")


def baselines(source: Path, metric: dict, specs: Sequence[tuple[str, str]]) -> list[dict]:
    """Each baseline's figure for the shipped model's metric, after checking that it was validated
    on exactly the shipped run's validation rows (same ids), so the comparison is paired."""
    out = []
    ours = valid_ids(source) if specs else []
    for name, run in specs:
        run_dir = Path(run)
        m = read_json(run_dir / "metrics.json") if (run_dir / "metrics.json").is_file() else {}
        value = (m.get("valid") or {}).get(metric["name"])
        if value is None:
            raise ShippedModelError(f"baseline {name}: {run_dir}/metrics.json has no validation {metric['name']}")
        if valid_ids(run_dir) != ours:
            raise ShippedModelError(
                f"baseline {name}: {run_dir} was validated on other rows than {source}; "
                f"a baseline must share the shipped model's validation split"
            )
        better = metric["value"] > value if greater_is_better(metric["name"]) else metric["value"] < value
        out.append(
            {
                "name": name,
                "source": display_path(run_dir),
                "metric": metric["name"],
                "value": float(value),
                "n": m.get("n_valid", len(ours)),
                "beaten": bool(better),
            }
        )
    return out


__all__ = ["baselines", "valid_ids"]
