"""Every recipe is a valid config that reads the shared data in place (never a copy)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pytest

from rnalm.finetune import finetune
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
    # <base>_bpp: ViennaRNA's base-pair probabilities; <base>_bppK: under K energy parameter sets
    bpp = re.fullmatch(r".*_bpp(\d*)", recipe.stem)
    assert cfg.structure.vienna_bpp == (bpp is not None)
    assert len(cfg.structure.vienna_params) == (int(bpp.group(1) or 1) if bpp else 1)


def _geo_table(path: Path, sets: tuple[str, ...]) -> None:
    """A GEO-shaped table (unnamed index column, utr, set, total_reads, rl) small enough to train on."""
    rng = np.random.default_rng(0)
    lines = [",utr,set,total_reads,rl"]
    for i in range(240):
        length = 50 if sets == ("random",) else int(rng.integers(25, 31))
        seq = "".join(rng.choice(list("ACGT"), length))
        rl = 3 + seq.count("G") / length * 4 - 2 * ("ATG" in seq)
        lines.append(f"{i},{seq},{sets[i % len(sets)]},{int(rng.integers(5, 500))},{rl:.4f}")
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    "name, options, sets",
    [
        ("mrl_sample2019_random50", ["data.options.keep=200", "data.options.n_test=40"], ("random",)),
        ("mrl_sample2019_varlen", ["data.options.n_test_per_length=3"], ("random", "human", "snv")),
    ],
)
def test_geo_recipes_run_on_geo_shaped_tables(tmp_path, monkeypatch, name, options, sets):
    """The GEO libraries are not bundled; their recipes run end to end on tables of the same shape
    placed where the recipes look, and score the published test split."""
    cfg = load_finetune_config(ROOT / name / "features.yaml")
    geo = tmp_path / "data" / "mrl_sample2019_geo"
    geo.mkdir(parents=True)
    _geo_table(geo / Path(cfg.data.train).name, sets)
    monkeypatch.setenv("RNALM_SHARED_DATA", str(tmp_path / "data"))
    out = tmp_path / "run"
    result = finetune(
        ROOT / name / "features.yaml",
        [f"output_dir={out}", "backbone.features.mfe=false", "backbone.features.max_iter=20", *options],
        log=None,
    )
    metrics = result.metrics
    assert metrics["test"]["n"] > 0 and np.isfinite(metrics["test"]["spearman"])
    assert (out / "predictions.csv").is_file()
