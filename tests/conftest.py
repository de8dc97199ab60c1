"""Shared fixtures: tiny models built in-process, so no test needs network or shared data."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

import rnalm
from rnalm import numerics
from rnalm.model import EncoderConfig, RNAEncoder
from rnalm.models.rnafm.alphabet import RNA_FM_ALPHABET

# What a library user does: fix the math libraries' mode before the first torch computation, so the
# whole suite (and every `rnalm` subprocess it starts, which inherits the environment) runs in it.
numerics.reproducible()


def merge_sections(cfg: dict, sections: dict) -> dict:
    """``cfg`` with test-specific config ``sections`` applied: a dict updates that section's keys,
    anything else replaces the top-level value."""
    for k, v in sections.items():
        if isinstance(v, dict):
            cfg.setdefault(k, {}).update(v)
        else:
            cfg[k] = v
    return cfg


#: A second process that takes an output's one-writer lock, says so, and holds it until its stdin closes.
_HOLD_LOCK = """import sys
from rnalm.io.output_guard import output_lock
with output_lock(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.read()
"""


@contextmanager
def lock_held_by_child(path):
    """Run the ``with`` block while a child process holds ``path``'s rnalm output lock; yields its pid."""
    src = str(Path(rnalm.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout.readline().strip() == "locked"
        yield proc.pid
    finally:
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0


@pytest.fixture
def child_lock():
    """:func:`lock_held_by_child`, as a fixture for test packages that cannot import this module."""
    return lock_held_by_child


@pytest.fixture
def tiny_rnafm():
    """A 2-layer RNA-FM-style encoder with random weights and its alphabet."""
    torch.manual_seed(0)
    a = RNA_FM_ALPHABET
    cfg = EncoderConfig(
        vocab_size=len(a),
        num_layers=2,
        embed_dim=32,
        ffn_embed_dim=64,
        attention_heads=4,
        max_positions=64,
        padding_idx=a.padding_idx,
        mask_idx=a.mask_idx,
        cls_idx=a.cls_idx,
        eos_idx=a.eos_idx,
    )
    model = RNAEncoder(cfg).reset_parameters().eval()
    return model, a.with_max_length(cfg.max_length)


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory):
    """A 2-layer, 16-wide RNA-FM-style model (4 heads: 8 attention maps) in rnalm's native format."""
    from rnalm.io.native import save_native

    torch.manual_seed(0)
    a = RNA_FM_ALPHABET
    cfg = EncoderConfig(
        vocab_size=len(a),
        num_layers=2,
        embed_dim=16,
        ffn_embed_dim=32,
        attention_heads=4,
        max_positions=64,
        padding_idx=a.padding_idx,
        mask_idx=a.mask_idx,
        cls_idx=a.cls_idx,
        eos_idx=a.eos_idx,
    )
    return save_native(RNAEncoder(cfg).reset_parameters().eval(), a, tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(autouse=True)
def _no_shipped_models(tmp_path_factory, monkeypatch):
    """Tests see no shipped models unless they ask for some (tests/shipped points $RNALM_SHIPPED_DIR at
    a folder it builds; tests/shipped/test_manifest.py reads the package's own manifest directly), so
    results do not depend on which real models the package ships."""
    from rnalm import shipped

    monkeypatch.setenv(shipped.ENV_DIR, str(tmp_path_factory.getbasetemp() / "no-shipped-models"))


# ------------------------------------------------------------------ structure model files, published layouts
def write_ss_resnet(path: Path, limit: int = 30, seed: int = 0) -> Path:
    """A small random RNA-FM SS-ResNet saved as rna-fm's ``Baseline.state_dict()`` is (12 encoder
    layers, as the head reads layer 12; records up to ``limit`` nt)."""
    from rnalm.model.config import EncoderConfig
    from rnalm.models.rnafm.ss_convert import BACKBONE, HEAD_PREFIX, file_key
    from rnalm.models.rnafm.ss_resnet import PairResNet, SSResNet

    cfg = EncoderConfig.for_alphabet(
        RNA_FM_ALPHABET,
        num_layers=12,
        embed_dim=20,
        ffn_embed_dim=40,
        attention_heads=20,
        position_embedding="learned",
        max_positions=limit + 2,
        emb_layer_norm_before=True,
        token_dropout=True,
        tie_lm_head=True,
        lm_head=True,
        contact_head=False,
    )
    torch.manual_seed(seed)
    model = SSResNet(RNAEncoder(cfg), PairResNet(20, reduced=8, channels=4, blocks=2))
    with torch.no_grad():
        for p in model.head.parameters():
            p.add_(0.5 * torch.randn_like(p))
    prefix = f"{HEAD_PREFIX}pc-resnet_1_sym_first:r-ss."
    state = {
        (BACKBONE + k[len("encoder.") :] if k.startswith("encoder.") else file_key(k, prefix)): v
        for k, v in model.state_dict().items()
    }
    torch.save(state, path)
    return path


def write_protrna_head(path: Path, input_dim: int = 16, seed: int = 0) -> Path:
    """A small random ProtRNA RotaFormer head written as tf.keras 2 ``save_weights`` writes
    ``SSPredictionModel`` (layers ``conv2d``, ``aa_embedding``, ``evoformer_ensemble_K``)."""
    import h5py
    import numpy as np
    from torch import nn

    from rnalm.models.protrna.ss_convert import FIXED
    from rnalm.models.protrna.ss_head import HeadConfig, RotaFormerHead

    c = HeadConfig(input_dim, 8, 4, 4, 2, 2, 2, 2, 2, 2, 1, 2, 5)
    torch.manual_seed(seed)
    head = RotaFormerHead(c)
    layer_of = {"embedding": "aa_embedding", "conv": "conv2d"}
    fixed = {t: (layer_of[role], k) for role, table in FIXED.items() for k, t in table.items()}
    modules = dict(head.named_modules())
    groups: dict[str, dict[str, np.ndarray]] = {"conv2d": {}, "aa_embedding": {}}
    for name, p in head.named_parameters():
        value = (p.detach() + 0.3 * torch.randn_like(p)).numpy()
        owner, leaf = name.rsplit(".", 1)
        if isinstance(modules[owner], nn.Linear) and leaf == "weight":
            value = value.T
        elif isinstance(modules[owner], nn.Conv2d) and leaf == "weight":
            value = value.transpose(2, 3, 1, 0)
        if name in fixed:
            layer, key = fixed[name]
            groups[layer][f"{layer}/{key}:0" if layer == "conv2d" else f"{key}:0"] = value
            continue
        if isinstance(modules[owner], nn.LayerNorm):
            leaf = {"weight": "scale", "bias": "offset"}[leaf]
        elif isinstance(modules[owner], nn.Linear) and leaf == "weight":
            leaf = "weights"
        _, k, *rest = owner.split(".")
        layer = f"evoformer_ensemble_{int(k) // c.iterations_per_ensemble}"
        groups.setdefault(layer, {})["/".join([f"evoformer_iteration_{k}", *rest, leaf]) + ":0"] = value
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.asarray([n.encode() for n in groups])
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.14.0"
        for layer, weights in groups.items():
            g = f.create_group(layer)
            g.attrs["weight_names"] = np.asarray([n.encode() for n in weights])
            for n, v in weights.items():
                g.create_dataset(n, data=np.asarray(v, dtype=np.float32))
    return path


def write_protrna_backbone(path: Path, width: int = 16, limit: int = 20, seed: int = 0) -> Path:
    """A small random encoder with ProtRNA's vocabulary (rotary, 2 layers), as an rnalm native folder."""
    from rnalm.io.native import save_native
    from rnalm.models.protrna import PROTRNA_ALPHABET

    a = PROTRNA_ALPHABET
    cfg = EncoderConfig.for_alphabet(
        a,
        num_layers=2,
        embed_dim=width,
        ffn_embed_dim=2 * width,
        attention_heads=2,
        position_embedding="rotary",
        max_positions=limit + 2,
        emb_layer_norm_before=False,
        token_dropout=False,
        tie_lm_head=True,
        lm_head=True,
        contact_head=False,
    )
    torch.manual_seed(seed)
    return save_native(RNAEncoder(cfg).eval(), a.with_max_length(limit), path)


@pytest.fixture(scope="session")
def structure_files(tmp_path_factory):
    """Small structure models in the published layouts: ``ss_resnet`` (RNA-FM, 30 nt),
    ``protrna_head`` + ``protrna_backbone`` (ProtRNA, 20 nt), and ``home`` -- an rnalm cache holding
    the first two under their registry names (``rna-fm-ss-resnet``, ``protrna-ss-head``) and the
    backbone as ``protrna`` is not (it is a folder here; pass it as the backbone)."""
    from types import SimpleNamespace

    from rnalm import hub

    root = tmp_path_factory.mktemp("structure-files")
    files = SimpleNamespace(
        ss_resnet=write_ss_resnet(root / "my_ss_resnet.bin"),
        protrna_head=write_protrna_head(root / "my_head.weights"),
        protrna_backbone=write_protrna_backbone(root / "protrna_backbone"),
        home=root / "home",
    )
    for name, src in (("rna-fm-ss-resnet", files.ss_resnet), ("protrna-ss-head", files.protrna_head)):
        dest = hub.local_path(hub.get(name), files.home)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(src.read_bytes())
    return files
