"""The pretraining config: strict types and ranges, and a model size checked before it is built."""

import time

import pytest
import yaml

from rnalm.configfile import load_config
from rnalm.errors import ConfigError
from rnalm.models import get_alphabet
from rnalm.pretrain.build import encoder_config
from rnalm.pretrain.config import ModelSpec, PretrainConfig

HEADS = dict(mfe_head=False, structure_head=False, contact_head=False)


@pytest.mark.parametrize(
    "text, message",
    [
        ("optim: {lr: -1e-3}", r"optim\.lr=-0\.001 must be > 0"),
        ("optim: {max_steps: 6.5}", r"optim\.max_steps=6\.5 must be an integer"),
        ("optim: {schedule: step}", r"optim\.schedule='step' must be one of 'cosine', 'linear' or 'constant'"),
        ("optim: [1, 2]", r"optim=\[1, 2\] must be a mapping"),
        ("bf16: 'false'", r"bf16='false' must be true or false"),
        ("dtype: fp16", r"dtype='fp16' must be one of"),
        ("data: {valid_fraction: 1.5}", r"data\.valid_fraction=1\.5 must be < 1"),
        ("optim: {max_stpes: 4}", r"unknown key 'optim\.max_stpes'; did you mean 'optim\.max_steps'"),
    ],
)
def test_bad_values_name_file_and_field(tmp_path, text, message):
    p = tmp_path / "pre.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(PretrainConfig, p)
    assert str(info.value).startswith(str(p))


def test_yaml_float_strings_and_overrides_still_work(tmp_path):
    p = tmp_path / "pre.yaml"
    p.write_text(yaml.safe_dump({"optim": {"lr": "3e-4"}}))
    cfg = load_config(PretrainConfig, p, ["optim.weight_decay=1e-2", "optim.betas=[0.9,0.95]", "seed=3"])
    assert cfg.optim.lr == 3e-4 and cfg.optim.weight_decay == 0.01 and cfg.optim.betas == (0.9, 0.95) and cfg.seed == 3


def test_encoder_overrides_are_checked():
    a = get_alphabet("utr-lm")
    with pytest.raises(ConfigError, match=r"model\.overrides\.num_layers=6\.5 must be an integer"):
        encoder_config(ModelSpec(overrides={"num_layers": 6.5}), a, HEADS)
    with pytest.raises(ConfigError, match=r"model\.overrides\.token_dropout='false' must be true or false"):
        encoder_config(ModelSpec(overrides={"token_dropout": "false"}), a, HEADS)
    with pytest.raises(ConfigError, match="unknown model size"):
        encoder_config(ModelSpec(size="huge"), a, HEADS)
    assert encoder_config(ModelSpec(size="tiny"), a, HEADS).num_layers == 2


def test_model_too_large_to_train_is_refused_before_allocation():
    start = time.perf_counter()
    spec = ModelSpec(overrides={"num_layers": 2000, "embed_dim": 4096, "ffn_embed_dim": 16384, "attention_heads": 32})
    with pytest.raises(ConfigError, match=r"model\.size=utr-lm with model\.overrides: 2000 layers x 4096 wide .* GiB"):
        encoder_config(spec, get_alphabet("utr-lm"), HEADS)
    assert time.perf_counter() - start < 5
