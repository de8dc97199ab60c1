"""``build_from_converted``: the encoder is built on ``meta`` and takes the converted tensors as its
parameters, strictly, in the config's dtype, with the LM head tied to the embedding again."""

from __future__ import annotations

import pytest
import torch

from rnalm.errors import CheckpointError
from rnalm.io.formats import Converted
from rnalm.model import RNAEncoder, named_config
from rnalm.models.build import build_from_converted
from rnalm.models.utrlm import UTRLM_ALPHABET

CFG = named_config("tiny", alphabet=UTRLM_ALPHABET, position_embedding="rotary", max_positions=64)


def _source() -> RNAEncoder:
    torch.manual_seed(0)
    return RNAEncoder(CFG).reset_parameters().eval()


def _converted(state: dict) -> Converted:
    return Converted(CFG, UTRLM_ALPHABET, state, {"source": "test"})


def test_loaded_encoder_equals_the_source_and_is_tied():
    src = _source()
    model = build_from_converted(_converted({k: v.clone() for k, v in src.state_dict().items()})).eval()
    assert all(not p.is_meta for p in model.parameters()) and all(not b.is_meta for b in model.buffers())
    assert model.lm_head.weight is model.embed_tokens.weight  # one parameter, as RNAEncoder builds it
    assert torch.equal(model.layers[0].self_attn.rot_emb.inv_freq, src.layers[0].self_attn.rot_emb.inv_freq)
    tokens = torch.tensor([[0, 5, 6, 7, 8, 2], [0, 6, 6, 2, 1, 1]])
    with torch.no_grad():
        a, b = src(tokens, repr_layers=[2]), model(tokens, repr_layers=[2])
    assert torch.equal(a["logits"], b["logits"]) and torch.equal(a["representations"][2], b["representations"][2])
    assert model.provenance == {"source": "test"}


def test_half_precision_tensors_load_as_the_configs_float32():
    state = {k: v.half() for k, v in _source().state_dict().items()}
    model = build_from_converted(_converted(state))
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    assert torch.equal(model.embed_tokens.weight, state["embed_tokens.weight"].float())


def test_mismatches_name_the_tensor():
    state = _source().state_dict()
    bad = dict(state, **{"layers.0.fc1.weight": torch.zeros(3, 3)})
    with pytest.raises(CheckpointError, match=r"'layers.0.fc1.weight' has shape \(3, 3\)"):
        build_from_converted(_converted(bad))
    with pytest.raises(CheckpointError, match="missing keys.*layers.1.fc2.bias"):
        build_from_converted(_converted({k: v for k, v in state.items() if k != "layers.1.fc2.bias"}))
    with pytest.raises(CheckpointError, match="unexpected keys.*extra"):
        build_from_converted(_converted(dict(state, extra=torch.zeros(1))))
    untied = dict(state, **{"lm_head.weight": state["lm_head.weight"] + 1})
    with pytest.raises(CheckpointError, match="tie_lm_head"):
        build_from_converted(_converted(untied))
