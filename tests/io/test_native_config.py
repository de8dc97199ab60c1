"""config.json of a native checkpoint: every field checked, and checked against the weights, before
anything is allocated."""

import json
import resource
import time

import pytest
from safetensors.torch import load_file, save_file

import rnalm
from rnalm.errors import CheckpointError
from rnalm.io.digest import sha256_file
from rnalm.io.native import CONFIG_FILE, WEIGHTS_FILE, save_native


@pytest.fixture
def native(tiny_rnafm, tmp_path):
    model, alphabet = tiny_rnafm
    return save_native(model, alphabet, tmp_path / "m")


def _edit(path, change):
    p = path / CONFIG_FILE
    cfg = json.loads(p.read_text())
    change(cfg)
    p.write_text(json.dumps(cfg))


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c["encoder"].update(num_layers=6.5), r"encoder\.num_layers=6\.5 must be an integer"),
        (lambda c: c.update(encoder=[c["encoder"]]), r"encoder=\[.*must be a mapping"),
        (lambda c: c["encoder"].update(token_dropout="false"), r"encoder\.token_dropout='false' must be true or false"),
        (
            lambda c: c["encoder"].update(num_layer=2),
            r"unknown key 'encoder\.num_layer'; did you mean 'encoder\.num_layers'",
        ),
        (lambda c: c["encoder"].update(attention_heads=0), r"encoder\.attention_heads=0 must be >= 1"),
        (lambda c: c["encoder"].update(embed_dim=30), r"encoder: embed_dim 30 is not divisible by attention_heads 4"),
        (lambda c: c["encoder"].update(padding_idx=99), r"padding_idx 99 is not a token id"),
        (lambda c: c["alphabet"].update(tokens="ACGU"), r"alphabet\.tokens='ACGU' must be a list"),
        (lambda c: c.update(weights_sha256=7), r"weights_sha256=7 must be a string"),
        (lambda c: c.pop("encoder"), r"encoder is required"),
    ],
)
def test_bad_field_names_file_and_field(native, change, message):
    _edit(native, change)
    with pytest.raises(CheckpointError, match=message) as info:
        rnalm.load(native)
    assert str(info.value).startswith(str(native / CONFIG_FILE))


def test_huge_config_next_to_small_weights_is_refused_without_allocating(native):
    # 2,000 layers x 4,096 wide: terabytes if built; the file holds a 2-layer, 32-wide model
    _edit(
        native, lambda c: c["encoder"].update(num_layers=2000, embed_dim=4096, ffn_embed_dim=16384, attention_heads=32)
    )
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with pytest.raises(
        CheckpointError,
        match=r"model\.safetensors: tensors do not match .*config\.json.*"
        r"implies [0-9,]{15} values \([0-9,.]+ GiB: 2000 layers x 4096 wide\), "
        r"the file holds 22,018",
    ):
        rnalm.load(native)
    assert time.perf_counter() - start < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 200_000  # KiB on Linux


def test_same_size_but_wrong_shape_names_the_tensor_and_both_shapes(native):
    weights = native / WEIGHTS_FILE
    state = load_file(str(weights))
    state["layers.1.fc1.weight"] = state["layers.1.fc1.weight"].t().contiguous()  # 64x32 -> 32x64
    save_file(state, str(weights), metadata={"format": "rnalm"})
    _edit(native, lambda c: c.update(weights_sha256=sha256_file(weights)))
    with pytest.raises(
        CheckpointError,
        match=r"model\.safetensors: .*shape mismatches \(file != config\) "
        r"\['layers\.1\.fc1\.weight: \(32, 64\) != \(64, 32\)'\]",
    ):
        rnalm.load(native)


def test_valid_checkpoint_still_loads_and_extra_keys_are_refused(native):
    model, _ = rnalm.load(native)
    assert model.config.num_layers == 2
    _edit(native, lambda c: c.update(notes="hand-edited"))
    with pytest.raises(CheckpointError, match="unknown key 'notes'"):
        rnalm.load(native)
