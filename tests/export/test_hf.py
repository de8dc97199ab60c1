"""``--to hf``: transformers' EsmForMaskedLM loads the export strictly and reproduces rnalm's outputs.

For a small random model of each family, and for the shipped ``utrlm-mini``: logits and every hidden
state within 1e-5 of rnalm's on a padded batch with a ``<mask>``, ``EsmTokenizer`` giving rnalm's
token ids, and contacts where transformers' contact head computes rnalm's.

Hidden states: ``hidden_states[i]`` (i < L) is the input of layer ``i + 1``, rnalm's
``representations[i]``; the last one is compared through ``last_hidden_state`` (after the final
LayerNorm in every transformers version; see tests/models/test_lamar.py).
"""

from __future__ import annotations

import json
import os
import stat

import pytest
import torch

import rnalm
from rnalm import shipped
from rnalm.export.errors import ExportError
from rnalm.export.hf import export_hf
from rnalm.export.hf_config import HF_CONTACT_EOS_IDX
from rnalm.model import RNAEncoder

from .conftest import LETTERS, RAW, family_batch, family_model

transformers = pytest.importorskip("transformers")
from transformers import EsmForMaskedLM, EsmTokenizer  # noqa: E402

TOL = 1e-5
#: weight spread of the random models: logits of a few units, where float32 rounding of two orders
#: of the same sums stays near 2e-6 (at the default 0.3, logits reach 8 and rounding 1e-5)
SPREAD = 0.2


def maxdiff(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a - b).abs().max().item()


def loaded_strictly(directory, **kwargs) -> EsmForMaskedLM:
    hf, info = EsmForMaskedLM.from_pretrained(str(directory), output_loading_info=True, **kwargs)
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys")), info
    return hf.eval()


def hf_differences(model: RNAEncoder, hf: EsmForMaskedLM, tokens: torch.Tensor, pad: int) -> dict[str, float]:
    mask = tokens.ne(pad).long()
    layers = model.num_layers
    with torch.no_grad():
        mine = model(tokens, repr_layers=range(layers + 1))
        out = hf(input_ids=tokens, attention_mask=mask, output_hidden_states=True)
        last = hf.esm(input_ids=tokens, attention_mask=mask).last_hidden_state
    diffs = {"logits": maxdiff(out.logits, mine["logits"]), f"layer{layers}": maxdiff(last, mine["last_hidden"])}
    for i in range(layers):
        diffs[f"layer{i}"] = maxdiff(out.hidden_states[i], mine["representations"][i])
    return diffs


def test_each_family_loads_in_transformers_with_rnalms_outputs(family, tmp_path):
    model, alphabet = family_model(family, std=SPREAD)
    done = export_hf(model, alphabet, tmp_path / "hf", family)
    hf = loaded_strictly(tmp_path / "hf")
    tokens = family_batch(family, alphabet)
    diffs = hf_differences(model, hf, tokens, alphabet.padding_idx)
    assert max(diffs.values()) <= TOL, diffs
    assert done.max_abs_diff <= TOL and done.parameters == hf.num_parameters()
    # the tokenizer gives rnalm's ids for the model's own letters
    tokenizer = EsmTokenizer.from_pretrained(str(tmp_path / "hf"))
    seqs = RAW[LETTERS[family]]
    _, _, expected = alphabet.get_batch_converter()([(str(i), s) for i, s in enumerate(seqs)])
    ids = tokenizer([alphabet.normalize(s) for s in seqs], padding=True, return_tensors="pt")["input_ids"]
    assert torch.equal(ids, expected)


def test_contacts_match_where_transformers_contact_head_reads_the_same_eos(tmp_path):
    for family in ("esm-2", "rna-fm"):
        model, alphabet = family_model(family, std=SPREAD)
        assert model.config.eos_idx == HF_CONTACT_EOS_IDX and model.contact_head is not None
        export_hf(model, alphabet, tmp_path / family, family)
        hf = loaded_strictly(tmp_path / family, attn_implementation="eager")  # attention maps
        tokens = family_batch(family, alphabet)
        with torch.no_grad():
            theirs = hf.predict_contacts(tokens, tokens.ne(alphabet.padding_idx).long())
            mine = model.predict_contacts(tokens)
        assert maxdiff(theirs, mine) <= TOL


def test_what_transformers_cannot_hold_is_named_in_the_readme(tmp_path):
    model, alphabet = family_model("utr-lm", std=SPREAD)
    done = export_hf(model, alphabet, tmp_path / "hf", "utr-lm")
    readme = (tmp_path / "hf" / "README.md").read_text()
    for note in done.notes:
        assert note in readme
    assert any("structure head" in n for n in done.notes) and any("MFE" in n for n in done.notes)
    assert any("<eos> at 1" in n for n in done.notes)  # UTR-LM's <eos> is not transformers' token 2
    assert "converts U to T" in readme


def test_exported_esm2_and_lamar_load_back_into_rnalm(tmp_path):
    """rnalm reads Hugging Face ESM directories with these two vocabularies: the round trip is exact."""
    for family in ("esm-2", "lamar"):
        model, alphabet = family_model(family, std=SPREAD)
        export_hf(model, alphabet, tmp_path / family, family)
        again, alphabet2 = rnalm.load(tmp_path / family)
        tokens = family_batch(family, alphabet)
        with torch.no_grad():
            assert torch.equal(again(tokens)["logits"], model(tokens)["logits"])
        assert alphabet2.tokens == alphabet.tokens


def test_shipped_utrlm_mini_exports_with_equal_outputs(tmp_path):
    with shipped.using_root(shipped.package_root()):
        model, alphabet = rnalm.load("utrlm-mini")
    export_hf(model, alphabet, tmp_path / "utrlm-mini", "utrlm-mini")
    hf = loaded_strictly(tmp_path / "utrlm-mini")
    tokens = family_batch("utr-lm", alphabet)
    diffs = hf_differences(model, hf, tokens, alphabet.padding_idx)
    # trained weights give larger activations than the small random models: measured 7.6e-6 on a 2-core
    # AVX-512 Xeon; the float32 summation order of another CPU's kernels may add a few 1e-6
    assert max(diffs.values()) <= 3 * TOL, diffs
    cfg = json.loads((tmp_path / "utrlm-mini" / "config.json").read_text())
    assert cfg["rnalm_export"]["source"] == "utrlm-mini" and cfg["rnalm_export"]["rnalm_version"] == rnalm.__version__


@pytest.mark.parametrize(
    "field, value, named",
    [
        ("embed_scale", 2.0, "embed_scale=2.0"),
        ("mask_ratio_train", 0.1, "mask_ratio_train=0.1"),
        ("lm_head", False, "lm_head=False"),
        ("prepend_bos", False, "prepend_bos=False"),
    ],
)
def test_configs_transformers_cannot_compute_are_refused_by_field(field, value, named, tmp_path):
    model, alphabet = family_model("esm-2", std=SPREAD)
    setattr(model.config, field, value)
    with pytest.raises(ExportError, match=rf"its {named}, but .* Models that export to Hugging Face: ESM-2"):
        export_hf(model, alphabet, tmp_path / "hf", "esm-2")
    assert not (tmp_path / "hf").exists() and not list(tmp_path.iterdir())


def test_files_honour_the_umask(tmp_path):
    model, alphabet = family_model("lamar", std=SPREAD)
    old = os.umask(0o027)
    try:
        export_hf(model, alphabet, tmp_path / "hf", "lamar")
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "hf").iterdir()}
    assert stat.S_IMODE((tmp_path / "hf").stat().st_mode) == 0o750
    assert set(modes.values()) == {0o640}, modes
    assert {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "README.md"} <= set(modes)
