"""Every recipe is a valid config that reads the shared data in place (never a copy)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rnalm.runs.config_file import load_finetune_config

ROOT = Path(__file__).parents[2] / "recipes"
#: fine-tuning recipe directories: one per dataset, recognisable by their one-hot baseline
DATASETS = sorted(p.parent for p in ROOT.glob("*/onehot.yaml"))
RECIPES = sorted(p for d in DATASETS for p in d.glob("*.yaml"))


def test_every_dataset_has_lm_onehot_and_feature_recipes():
    """Structure datasets have no hand-made-feature recipe: their non-learned baseline is ViennaRNA
    (benchmarks/structure_table.py)."""
    by_dir: dict[str, set] = {}
    for r in RECIPES:
        by_dir.setdefault(r.parent.name, set()).add(r.stem)
    assert len(by_dir) >= 5
    for name, stems in by_dir.items():
        structure = load_finetune_config(ROOT / name / "onehot.yaml").task == "structure"
        base = {"lm", "onehot"} if structure else {"lm", "onehot", "features"}
        assert base <= stems, (name, stems)
        # variants are named <base>_<variant> (lm_cnn.yaml, onehot_bpp.yaml, ...)
        assert all(s in base or s.split("_")[0] in base for s in stems), (name, stems)


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_recipe_is_valid(recipe):
    cfg = load_finetune_config(recipe)
    assert cfg.data.train.startswith("${RNALM_SHARED_DATA:-../shared/data}/")
    assert cfg.output_dir == f"runs/{recipe.parent.name}/{recipe.stem}"
    kind = recipe.stem.split("_")[0]
    expected = {
        "onehot": ("none",),
        "features": ("features",),
        "lm": ("${RNALM_BACKBONE}", "${RNALM_BACKBONE:-utrlm-mini}"),
    }[kind]
    assert cfg.backbone.name in expected
    assert cfg.structure.vienna_bpp == recipe.stem.endswith("_bpp")
