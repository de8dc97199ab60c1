"""What a config implies, found without allocating: exact, fast, and silent about torch._dynamo."""

import subprocess
import sys

import pytest

from rnalm.errors import RnalmError
from rnalm.model import EncoderConfig, RNAEncoder
from rnalm.model.footprint import check_fits_in_memory, implied_size, tensor_shapes


@pytest.mark.parametrize(
    "fields",
    [
        dict(),
        dict(position_embedding="rotary", token_dropout=True, mfe_head=True, structure_head=True),
        dict(emb_layer_norm_before=True, tie_lm_head=False, contact_head=False),
    ],
)
def test_implied_size_and_shapes_equal_a_real_build(fields):
    cfg = EncoderConfig(vocab_size=25, num_layers=3, embed_dim=16, ffn_embed_dim=48, attention_heads=4, **fields)
    state = RNAEncoder(cfg).state_dict()
    assert implied_size(cfg) == (
        sum(t.numel() for t in state.values()),
        sum(t.numel() * t.element_size() for t in state.values()),
    )
    assert tensor_shapes(cfg) == {k: tuple(t.shape) for k, t in state.items()}


def test_config_too_large_for_memory_is_refused_with_its_size():
    cfg = EncoderConfig(vocab_size=25, num_layers=2000, embed_dim=4096, ffn_embed_dim=16384, attention_heads=32)
    with pytest.raises(RnalmError, match=r"pretrain: 2000 layers x 4096 wide .* is [0-9,]+ parameters = [0-9.]+ GiB"):
        check_fits_in_memory(cfg, "pretrain", copies=4)


def test_shape_only_builds_do_not_import_dynamo():
    # torch's meta normal_ / pow import torch._dynamo (seconds); every checkpoint load runs these builds
    code = (
        "import sys; from rnalm.model import EncoderConfig; from rnalm.model.footprint import tensor_shapes;"
        "tensor_shapes(EncoderConfig(vocab_size=25, num_layers=1, embed_dim=16, ffn_embed_dim=32, "
        "attention_heads=4, position_embedding='rotary', tie_lm_head=False));"
        " print('torch._dynamo' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
