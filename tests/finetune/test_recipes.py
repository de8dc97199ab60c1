"""Every recipe is a valid config that reads the shared data in place (never a copy)."""
from __future__ import annotations

from pathlib import Path

import pytest

from rnalm.finetune.config import load_finetune_config

ROOT = Path(__file__).parents[2] / "recipes"
#: fine-tuning recipe directories: one per dataset, recognisable by their one-hot baseline
DATASETS = sorted(p.parent for p in ROOT.glob("*/onehot.yaml"))
RECIPES = sorted(p for d in DATASETS for p in d.glob("*.yaml"))


def test_every_dataset_has_lm_onehot_and_feature_recipes():
    by_dir: dict[str, set] = {}
    for r in RECIPES:
        by_dir.setdefault(r.parent.name, set()).add(r.stem)
    assert len(by_dir) >= 5
    assert all(v == {"lm", "onehot", "features"} for v in by_dir.values()), by_dir


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_recipe_is_valid(recipe):
    cfg = load_finetune_config(recipe)
    assert cfg.data.train.startswith("${RNALM_SHARED_DATA:-../shared/data}/")
    assert cfg.output_dir == f"runs/{recipe.parent.name}/{recipe.stem}"
    assert cfg.backbone.name == {"onehot": "none", "features": "features", "lm": "${RNALM_BACKBONE}"}[recipe.stem]
