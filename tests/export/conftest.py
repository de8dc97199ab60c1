"""Small random encoders shaped like each published family, and padded batches to compare them on.

Each family's row holds the config fields its converter sets (position kind, embedding LayerNorm,
token dropout, tied or untied LM head, contact / UTR-LM heads); the sizes are tiny so every export
runs in seconds. Weights are random with a large spread (LayerNorm gains around 1) so that no term
of the forward pass is negligible.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from rnalm.alphabet import Alphabet
from rnalm.model import EncoderConfig, RNAEncoder
from rnalm.models.esm2.alphabet import ESM2_ALPHABET
from rnalm.models.lamar.alphabet import LAMAR_ALPHABET
from rnalm.models.protrna.alphabet import PROTRNA_ALPHABET
from rnalm.models.rnafm.alphabet import MRNA_FM_ALPHABET, RNA_FM_ALPHABET
from rnalm.models.utrlm.alphabet import UTRLM_ALPHABET

SIZES: dict[str, Any] = dict(num_layers=2, embed_dim=32, ffn_embed_dim=48, attention_heads=4, max_positions=40)

#: family -> (alphabet, the config fields its converter sets)
FAMILIES: dict[str, tuple[Alphabet, dict[str, Any]]] = {
    "esm-2": (ESM2_ALPHABET, dict(position_embedding="rotary", token_dropout=True, contact_head=True)),
    "utr-lm": (
        UTRLM_ALPHABET,
        dict(position_embedding="rotary", token_dropout=True, contact_head=True, mfe_head=True, structure_head=True),
    ),
    "lamar": (LAMAR_ALPHABET, dict(position_embedding="rotary", tie_lm_head=False, contact_head=False)),
    "protrna": (PROTRNA_ALPHABET, dict(position_embedding="rotary", contact_head=False)),
    "rna-fm": (RNA_FM_ALPHABET, dict(position_embedding="learned", emb_layer_norm_before=True, contact_head=True)),
    "mrna-fm": (MRNA_FM_ALPHABET, dict(position_embedding="learned", emb_layer_norm_before=True, contact_head=False)),
}

#: sequences per family letter set: a long, a short and a middle one (so the batch is padded)
RAW = {
    "dna": ["ACGTTGCAAGTACCGTA", "ACG", "GGGTTTAACCA"],
    "rna": ["ACGUUGCAAGUACCGUA", "ACG", "GGGUUUAACCA"],
    "protein": ["MKTAYIAKQRQISFVKSH", "MKV", "LLGDFFRKSKE"],
    "codons": ["AUGGCCAAAUUUGGGCCC", "AUG", "GCUGAAUAC"],
}
LETTERS = {"esm-2": "protein", "utr-lm": "dna", "lamar": "dna", "protrna": "rna", "rna-fm": "rna", "mrna-fm": "codons"}


def randomize(model: torch.nn.Module, seed: int, std: float = 0.3) -> torch.nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            is_ln = "norm" in name and name.endswith("weight")
            p.copy_(1.0 + 0.2 * noise if is_ln else std * noise)
    return model.eval()


def family_model(family: str, seed: int = 0, std: float = 0.3) -> tuple[RNAEncoder, Alphabet]:
    alphabet, fields = FAMILIES[family]
    config = EncoderConfig.for_alphabet(alphabet, **SIZES, **fields)
    return randomize(RNAEncoder(config), seed, std), alphabet.with_max_length(config.max_length)


def family_batch(family: str, alphabet: Alphabet, rows: int = 3) -> torch.Tensor:
    """A padded batch of ``rows`` of the family's sequences, one ``<mask>`` in the first row."""
    seqs = (RAW[LETTERS[family]] * 2)[:rows]
    _, _, tokens = alphabet.get_batch_converter()([(str(i), s) for i, s in enumerate(seqs)])
    tokens[0, 2] = alphabet.mask_idx
    return tokens


@pytest.fixture(params=sorted(FAMILIES))
def family(request) -> str:
    return request.param
