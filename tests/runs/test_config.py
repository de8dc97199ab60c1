from __future__ import annotations

import pytest
import yaml

from rnalm.runs.config import expand_path
from rnalm.runs.config_file import load_finetune_config
from rnalm.runs.errors import ConfigError


def test_yaml_and_dotted_overrides(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(
        yaml.safe_dump({"task": "classification", "train": {"lr": 0.01, "epochs": 3}, "head": {"type": "lamar"}})
    )
    cfg = load_finetune_config(
        p, ["train.lr=1e-4", "cv.folds=5", "backbone.lora.r=4", "head.hidden=[64,8]", "data.options={cell_line: PC3}"]
    )
    assert cfg.task == "classification"
    assert cfg.train.lr == 1e-4 and cfg.train.epochs == 3
    assert cfg.cv.folds == 5 and cfg.backbone.lora.r == 4
    assert cfg.head.type == "lamar" and cfg.head.hidden == [64, 8]
    assert cfg.data.options == {"cell_line": "PC3"}
    # The resolved config round-trips through YAML.
    again = load_finetune_config(data=yaml.safe_load(cfg.to_yaml()))
    assert again.to_dict() == cfg.to_dict()


@pytest.mark.parametrize(
    "override, fragment",
    [
        ("train.lrr=1", "unknown key"),
        ("train.epochs=0", "train.epochs"),
        ("train.lr=fast", "train.lr"),
        ("backbone.mode=half", "backbone.mode"),
        ("head.type=transformer", "head.type"),
        ("task=ranking", "task"),
        ("data.truncate=middle", "data.truncate"),
        ("cv.folds=1.5", "cv.folds"),
        ("backbone.mode=lora", "needs a language model"),
        ("data.standardize=true", None),
    ],
)
def test_bad_values_are_config_errors(override, fragment):
    if fragment is None:  # standardize is fine for regression...
        load_finetune_config(overrides=[override])
        with pytest.raises(ConfigError, match="regression labels only"):  # ...but not for classification
            load_finetune_config(overrides=[override, "task=classification"])
        return
    with pytest.raises(ConfigError, match=fragment):
        load_finetune_config(overrides=[override])


def test_cv_with_valid_file_is_rejected():
    with pytest.raises(ConfigError, match="exclude each other"):
        load_finetune_config(overrides=["cv.folds=5", "data.valid=v.csv"])


def test_expand_path(monkeypatch):
    monkeypatch.delenv("RNALM_TEST_DATA", raising=False)
    assert expand_path("${RNALM_TEST_DATA:-../shared/data}/x.csv") == "../shared/data/x.csv"
    monkeypatch.setenv("RNALM_TEST_DATA", "/d")
    assert expand_path("${RNALM_TEST_DATA:-../shared/data}/x.csv") == "/d/x.csv"
    monkeypatch.delenv("RNALM_TEST_DATA")
    with pytest.raises(ConfigError, match="not set"):
        expand_path("${RNALM_TEST_DATA}/x.csv")


@pytest.mark.parametrize(
    "text, message",
    [
        ("train: {epochs: ten}", r"train\.epochs='ten' must be an integer"),
        ("train: {lr: -1e-4}", r"train\.lr=-0\.0001 must be a positive number"),
        ("trian: {lr: 0.1}", r"unknown key 'trian'; did you mean 'train'"),
        ("head: {hidden: [40, 2.5]}", r"head\.hidden\[1\]=2\.5 must be an integer"),
        ("train: {deterministic: 'false'}", r"train\.deterministic='false' must be true or false"),
        ("data: [a.csv]", r"data=\['a\.csv'\] must be a mapping"),
    ],
)
def test_yaml_errors_name_the_file_and_the_field(tmp_path, text, message):
    p = tmp_path / "run.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_finetune_config(p)
    assert str(info.value).startswith(str(p))


def test_structure_keys_of_older_configs_move_into_the_structure_section(tmp_path):
    """Configs and run directories written before the ``structure`` section existed spell its keys
    under ``head`` / ``train``; they are read into the section, from the file and the command line."""
    from rnalm.runs.config_file import migrate_structure_keys

    old = {
        "task": "structure",
        "data": {"train": "x.dbn"},
        "head": {
            "channels": 8,
            "attention": False,
            "attention_maps": None,
            "vienna_bpp": True,
            "vienna_bpp_prior": False,
        },
        "train": {"epochs": 3, "pos_weight": 5.0, "cells_per_batch": 1000, "select_threshold": True},
    }
    moved = migrate_structure_keys(old)
    assert moved["head"] == {"channels": 8} and moved["train"] == {"epochs": 3}
    assert moved["structure"] == {
        "attention": False,
        "attention_maps": None,
        "vienna_bpp": True,
        "vienna_bpp_prior": False,
        "pos_weight": 5.0,
        "cells_per_batch": 1000,
        "select_threshold": True,
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(old))
    cfg = load_finetune_config(path, ["train.pos_weight=2.0"])
    assert cfg.structure.vienna_bpp is True and cfg.structure.vienna_bpp_prior is False
    assert cfg.structure.pos_weight == 2.0 and cfg.structure.cells_per_batch == 1000
    assert cfg.head.channels == 8 and cfg.train.epochs == 3
    with pytest.raises(ConfigError, match="pos_weight given both"):
        migrate_structure_keys({"train": {"pos_weight": 1.0}, "structure": {"pos_weight": 2.0}})


def test_shipped_run_configs_load_with_the_structure_section():
    from pathlib import Path

    import rnalm

    configs = sorted(Path(rnalm.__file__).parent.glob("shipped/*/config.yaml"))
    assert configs
    for path in configs:
        cfg = load_finetune_config(path)
        assert not hasattr(cfg.head, "vienna_bpp") and not hasattr(cfg.train, "select_threshold")
        assert cfg.structure.select_threshold == (cfg.task == "structure")


STRUCTURE = {"task": "structure", "data": {"train": "x.dbn"}}


def test_vienna_params_default_to_viennas_own_set_and_list_several():
    cfg = load_finetune_config(data=STRUCTURE)
    assert cfg.structure.vienna_params == ["turner2004"]
    cfg = load_finetune_config(
        data=STRUCTURE, overrides=["structure.vienna_bpp=true", "structure.vienna_params=[turner2004,langdon2018]"]
    )
    assert cfg.structure.vienna_params == ["turner2004", "langdon2018"]
    again = load_finetune_config(data=yaml.safe_load(cfg.to_yaml()))  # as a run directory stores it
    assert again.structure.vienna_params == ["turner2004", "langdon2018"]


@pytest.mark.parametrize(
    "params, fragment",
    [
        ("[turner2005]", r"structure.vienna_params='turner2005' is not one of \['turner2004', 'andronescu2007'"),
        ("[]", "structure.vienna_params is empty; list one or more of"),
        ("[langdon2018,turner2004,langdon2018]", "structure.vienna_params names langdon2018 more than once"),
        ("langdon2018", "structure.vienna_params='langdon2018' must be a list"),
    ],
)
def test_bad_vienna_params_are_config_errors(params, fragment):
    with pytest.raises(ConfigError, match=fragment):
        load_finetune_config(
            data=STRUCTURE, overrides=["structure.vienna_bpp=true", f"structure.vienna_params={params}"]
        )


def test_vienna_params_need_vienna_bpp():
    with pytest.raises(ConfigError, match=r"vienna_params=\['andronescu2007'\].*set structure.vienna_bpp=true"):
        load_finetune_config(data=STRUCTURE, overrides=["structure.vienna_params=[andronescu2007]"])
    # the default list is what every config without the field has: never an error
    assert load_finetune_config(data=STRUCTURE, overrides=["structure.vienna_params=[turner2004]"])
