"""The probability-model adapter (ProtRNA backbone + RotaFormer head) and ProtRNA's TS0 scoring.

``test_downstream_ss.py`` scores each TS0 record with ``downstream_ss/metrics.py`` (scikit-learn on
the strict lower triangle of the ``L x L`` matrices, ``sigmoid(logits) > 0.25``) and prints the plain
mean over records. The reference below re-states that code path; rnalm's
:func:`rnalm.structure.metrics.evaluate` must give the same per-sequence means with
``both_empty=0.0``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnalm.errors import CheckpointError, InvalidSequenceError, SequenceLengthError
from rnalm.model.config import EncoderConfig
from rnalm.model.encoder import build_encoder
from rnalm.models.protrna import PROTRNA_ALPHABET
from rnalm.models.protrna.ss_head import DEFAULT_THRESHOLD, HeadConfig, RotaFormerHead
from rnalm.models.protrna.ss_model import ProtRNAStructureModel
from rnalm.structure.metrics import evaluate

WIDTH = 16


def backbone(width: int = WIDTH, max_positions: int = 12):
    a = PROTRNA_ALPHABET
    cfg = EncoderConfig(
        vocab_size=len(a),
        num_layers=2,
        embed_dim=width,
        ffn_embed_dim=2 * width,
        attention_heads=2,
        position_embedding="rotary",
        max_positions=max_positions,
        padding_idx=a.padding_idx,
        mask_idx=a.mask_idx,
        cls_idx=a.cls_idx,
        eos_idx=a.eos_idx,
        prepend_bos=True,
        append_eos=True,
        emb_layer_norm_before=False,
        token_dropout=False,
        layer_norm_eps=1e-5,
        embed_scale=1.0,
        tie_lm_head=True,
        lm_head=True,
        contact_head=False,
    )
    torch.manual_seed(0)
    return build_encoder(cfg).eval(), a.with_max_length(cfg.max_length)


def head(width: int = WIDTH) -> RotaFormerHead:
    torch.manual_seed(1)
    h = RotaFormerHead(
        HeadConfig(
            input_dim=width,
            msa_dim=8,
            pair_dim=4,
            max_relative_distance=4,
            msa_heads=2,
            msa_head_dim=2,
            pair_heads=2,
            pair_head_dim=2,
            outer_dim=2,
            num_ensembles=1,
            iterations_per_ensemble=2,
        )
    )
    with torch.no_grad():
        for p in h.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return h.eval()


def test_maps_are_sigmoid_of_the_head_on_the_last_layer_without_specials():
    enc, alphabet = backbone()
    h = head()
    model = ProtRNAStructureModel(enc, alphabet, h)
    seqs = ["ACGUAGCU", "gcT", "A"]
    maps = model.probabilities(seqs)
    assert model.threshold == DEFAULT_THRESHOLD == 0.25 and model.limit == 10
    for s, p in zip(seqs, maps):
        tokens = torch.tensor([[alphabet.cls_idx, *alphabet.encode(s), alphabet.eos_idx]])
        with torch.no_grad():
            last = enc(tokens, repr_layers=[2])["representations"][2]  # after the final layer norm
            want = torch.sigmoid(h(last[0, 1:-1])).numpy()
        assert p.dtype == np.float32 and p.shape == (len(s), len(s))
        np.testing.assert_array_equal(p, want)
        np.testing.assert_array_equal(p, p.T)


def test_longer_than_the_backbone_is_refused_naming_record_and_limit():
    enc, alphabet = backbone()
    model = ProtRNAStructureModel(enc, alphabet, head())
    with pytest.raises(SequenceLengthError, match=r"record 'long'.*11 nt.*10 nt"):
        model.probabilities(["ACGU", "A" * 11], ids=["ok", "long"])
    with pytest.raises(SequenceLengthError, match="record 'sequence 1': empty"):
        model([""])


def test_unknown_letters_error_by_default_and_read_as_x_on_request():
    enc, alphabet = backbone()
    with pytest.raises(InvalidSequenceError):
        ProtRNAStructureModel(enc, alphabet, head()).probabilities(["ACNU"])
    a, b = ProtRNAStructureModel(enc, alphabet, head(), unknown="x").probabilities(["ACNU", "ACXU"])
    np.testing.assert_array_equal(a, b)


def test_width_and_vocabulary_must_fit():
    enc, alphabet = backbone(width=8)
    with pytest.raises(CheckpointError, match="reads 16-wide representations, the backbone is 8 wide"):
        ProtRNAStructureModel(enc, alphabet, head())
    from rnalm.models.esm2.alphabet import ESM2_ALPHABET

    enc, _ = backbone()
    with pytest.raises(CheckpointError, match="ProtRNA's vocabulary"):
        ProtRNAStructureModel(enc, ESM2_ALPHABET, head())


# ----------------------------------------------------------------------------- ProtRNA's scoring
def protrna_scores(prob: np.ndarray, pairs: list[tuple[int, int]]) -> dict:
    """One record as ``test_downstream_ss.py`` scores it (``downstream_ss/metrics.py``)."""
    metrics = pytest.importorskip("sklearn.metrics")
    L = len(prob)
    target = np.zeros((L, L))
    if pairs:
        target[tuple(zip(*pairs))] = 1
    pred = prob > DEFAULT_THRESHOLD
    low = np.tril_indices(L, k=-1)
    t, p = target[low], pred[low]
    return {
        "f1": metrics.f1_score(t, p, zero_division=0.0),  # sklearn's default "warn" also gives 0.0
        "precision": metrics.precision_score(t, p, zero_division=0.0),
        "recall": metrics.recall_score(t, p, zero_division=0.0),
        "mcc": metrics.matthews_corrcoef(t, p),
        "f1_shifted": _ss_f1(target, pred.astype(float), metrics),
    }


def _relax(m: np.ndarray) -> np.ndarray:
    pad = np.pad(m, 1)
    out = pad + np.roll(pad, 1, -1) + np.roll(pad, -1, -1) + np.roll(pad, 1, -2) + np.roll(pad, -1, -2)
    return np.clip(out[1:-1, 1:-1], 0, 1)


def _ss_f1(target, pred, metrics) -> float:
    up = np.triu_indices(len(target), k=1)
    r = metrics.recall_score(target[up], _relax(pred)[up], zero_division=0.0)
    p = metrics.precision_score(_relax(target)[up], pred[up], zero_division=0.0)
    return 0.0 if p + r < 1e-5 else 2 * p * r / (p + r)


def _record(rng, L, n_pairs):
    prob = rng.random((L, L)) ** 3
    prob = (prob + prob.T) / 2  # the head's maps are symmetric
    # ProtRNA's shifted recall dilates the whole thresholded matrix, so a predicted *diagonal* cell
    # (i, i) counts as finding a true (i, i + 1); rnalm has no diagonal pairs. Equal without them.
    np.fill_diagonal(prob, 0.0)
    idx = rng.choice(L * (L - 1) // 2, size=n_pairs, replace=False)
    iu = np.triu_indices(L, k=1)
    pairs = [(int(iu[0][k]), int(iu[1][k])) for k in idx]
    return prob, pairs + [(j, i) for i, j in pairs]  # both ways round, so the lower triangle sees each


def test_rnalm_metrics_reproduce_protrna_ts0_averaging():
    pytest.importorskip("sklearn")
    rng = np.random.default_rng(0)
    records = [_record(rng, L, n) for L, n in ((12, 3), (20, 6), (9, 0), (15, 4), (30, 9))]
    records.append((np.zeros((6, 6)), []))  # nothing predicted, nothing true: ProtRNA scores 0
    records.append((np.zeros((7, 7)), [(1, 5), (5, 1)]))  # nothing predicted
    ref = [protrna_scores(p, t) for p, t in records]
    preds = [list(zip(*np.nonzero(np.triu(p > DEFAULT_THRESHOLD, 1)))) for p, _ in records]
    got = evaluate(preds, [t for _, t in records], [len(p) for p, _ in records], both_empty=0.0)
    for key in ("f1", "precision", "recall", "mcc", "f1_shifted"):
        want = sum(r[key] for r in ref) / len(ref)
        assert got[f"{key}_seq_mean"] == pytest.approx(want, abs=1e-12), key
    # rnalm's own default scores an empty-for-empty record 1, not 0
    assert evaluate(preds[-2:-1], [[]], [6])["f1_seq_mean"] == 1.0
