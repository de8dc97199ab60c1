"""A complete shipped-models folder built from tiny models, once per session.

A 2-layer UTR-LM-style backbone is pretrained for two steps on a random corpus (``rnalm
pretrain``), two task runs are fine-tuned on it (``rnalm finetune``: GC content as a stand-in for
TE, and a GC > 50 % class as a stand-in for IRES), and a stand-in structure run whose probability
model is served in place of :meth:`rnalm.runs.structure_model.RunModel.load`. All are packaged
with :func:`rnalm.packaging.package` into a temporary folder that the tests point
``$RNALM_SHIPPED_DIR`` at.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from rnalm.packaging import Options, package

COMPLEMENT = {"A": "U", "U": "A", "G": "C", "C": "G"}


def random_seq(rng: np.random.Generator, lo: int = 14, hi: int = 40) -> str:
    return "".join(rng.choice(list("ACGU"), int(rng.integers(lo, hi))))


def gc(seq: str) -> float:
    return sum(c in "GC" for c in seq) / len(seq)


def write_csv(path: Path, rows: list[tuple], header: str = "seq,label") -> Path:
    path.write_text(header + "\n" + "".join(",".join(str(x) for x in r) + "\n" for r in rows))
    return path


def hairpin(rng: random.Random, k: int) -> tuple[str, str]:
    n = rng.randint(20, 30)
    stem, loop = 4, rng.randint(3, 6)
    start = rng.randint(0, n - 2 * stem - loop)
    seq = [rng.choice("ACGU") for _ in range(n)]
    db = ["."] * n
    for s in range(stem):
        i, j = start + s, start + 2 * stem + loop - 1 - s
        seq[j] = COMPLEMENT[seq[i]]
        db[i], db[j] = "(", ")"
    return "".join(seq), "".join(db)


# ---------------------------------------------------------------------- stand-in structure model
def fake_structure_loader(run_dir: Path):
    """Probability model of a stand-in structure run: canonical pairs at 0.6 x a stored scale.

    It loads the run's backbone through ``rnalm.load`` exactly as a real structure loader would, so
    the shipped reference (``shipped:NAME``) must resolve."""
    info = json.loads((Path(run_dir) / "run_info.json").read_text())
    if not info.get("fake_structure"):
        return None
    import rnalm
    from rnalm.structure.pairs import canonical_mask

    rnalm.load(info["backbone"]["path"])
    scale = float(load_file(str(Path(run_dir) / "model.safetensors"))["scale"][0])

    def model(seqs):
        out = []
        for s in seqs:
            m = canonical_mask(s).astype(np.float32)
            n = len(s)
            i, j = np.indices((n, n))
            out.append(m * scale * (0.3 + 0.7 * np.exp(-np.abs(i + j - (n - 1)) / 2.0)))
        return out

    return model


@pytest.fixture(scope="session", autouse=True)
def _fake_structure_loader():
    from rnalm.runs.structure_model import RunModel

    real = RunModel.__dict__["load"]

    def load(cls, run_dir, device=None, use_cache=False, **_kw):
        fake = fake_structure_loader(run_dir)
        return fake if fake is not None else real.__func__(cls, run_dir, device, use_cache)

    RunModel.load = classmethod(load)
    yield
    RunModel.load = real


# ---------------------------------------------------------------------- the session's models
@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict:
    """Trained tiny sources: {'pretrain': dir, 'te': run, 'ires': run (2 members), 'fold': run, 'fold_check': csv}."""
    from rnalm.configfile import from_dict
    from rnalm.finetune import finetune
    from rnalm.io.digest import state_sha256
    from rnalm.pretrain.config import PretrainConfig
    from rnalm.pretrain.trainer import pretrain

    base = tmp_path_factory.mktemp("sources")
    rng = np.random.default_rng(0)
    corpus = base / "corpus.fa"
    corpus.write_text("".join(f">c{i}\n{random_seq(rng, 16, 48)}\n" for i in range(240)))
    torch.manual_seed(0)
    pcfg = from_dict(
        PretrainConfig,
        {
            "output": str(base / "pretrain"),
            "progress": False,
            "log_every": 1,
            "eval_every": 100,
            "save_every": 100,
            "model": {
                "size": "utr-lm",
                "alphabet": "utr-lm",
                "overrides": {
                    "num_layers": 2,
                    "embed_dim": 16,
                    "ffn_embed_dim": 32,
                    "attention_heads": 4,
                    "max_positions": 128,
                },
            },
            "data": {"paths": [str(corpus)], "valid_fraction": 0.3},
            "optim": {"max_steps": 2, "warmup_steps": 1, "tokens_per_batch": 1024},
        },
    )
    torch.set_num_threads(1)
    pretrain(pcfg)
    final = base / "pretrain" / "final"

    def run(name: str, task: str, rows: list[tuple], head: dict, members: int = 1, **data) -> Path:
        write_csv(base / f"{name}_train.csv", rows[:60])
        write_csv(base / f"{name}_valid.csv", rows[60:])
        cfg = {
            "task": task,
            "output_dir": str(base / name),
            "plots": False,
            "data": {"train": str(base / f"{name}_train.csv"), "valid": str(base / f"{name}_valid.csv"), **data},
            "backbone": {"name": str(final), "cache_dir": str(base / "cache")},
            "head": head,
            "train": {"epochs": 2, "batch_size": 16, "threads": 1, "lr": 3e-3, "logging_steps": 2, "members": members},
        }
        return finetune(cfg, log=None).run_dir

    seqs = [random_seq(rng) for _ in range(100)]
    te = run(
        "te", "regression", [(s, f"{10 * gc(s):.4f}") for s in seqs], {"type": "mlp", "pooling": "cls", "hidden": [8]}
    )
    ires = run(
        "ires",
        "classification",
        [(s, int(gc(s) > 0.5)) for s in seqs],
        {"type": "mlp", "pooling": "mean", "hidden": [8]},
        members=2,  # an ensemble (train.members): shipped, checked and predicted as the mean of its members
    )

    # a stand-in structure run (the structure task's own run format lands separately)
    import rnalm

    model, _ = rnalm.load(final)
    fold = base / "fold"
    fold.mkdir()
    (fold / "config.yaml").write_text(f"task: structure\nbackbone:\n  name: {final}\n  mode: frozen\n")
    (fold / "run_info.json").write_text(
        json.dumps(
            {
                "task": "structure",
                "fake_structure": True,
                "backbone": {
                    "name": str(final),
                    "kind": "lm",
                    "mode": "frozen",
                    "path": str(final),
                    "sha256": state_sha256(model),
                },
            }
        )
    )
    save_file({"scale": torch.tensor([0.8])}, str(fold / "model.safetensors"))
    (fold / "metrics.json").write_text(json.dumps({"metric": "f1", "valid": {"f1": 0.25}, "n_valid": 40}))
    r = random.Random(0)
    lines = ["id,sequence,structure"] + [f"h{k},{s},{d}" for k in range(40) for s, d in [hairpin(r, k)]]
    (base / "fold_valid.csv").write_text("\n".join(lines) + "\n")
    return {"pretrain": base / "pretrain", "te": te, "ires": ires, "fold": fold, "fold_check": base / "fold_valid.csv"}


@pytest.fixture(scope="session")
def shipped_root(tiny_models, tmp_path_factory) -> Path:
    """A shipped-models folder with a backbone, two task models and a structure model."""
    root = tmp_path_factory.mktemp("shipped")
    quiet = lambda _m: None  # noqa: E731
    package(
        tiny_models["pretrain"],
        Options(name="tiny-bb", data_licence="CC0 (random sequences)", check_size=32),
        root,
        log=quiet,
    )
    common = dict(data_licence="CC0 (random sequences)", backbone="tiny-bb", check_size=16)
    package(
        tiny_models["te"],
        Options(name="tiny-te", task="te", command="rnalm finetune --config te.yaml", **common),
        root,
        log=quiet,
    )
    package(tiny_models["ires"], Options(name="tiny-ires", task="ires", dtype="float16", **common), root, log=quiet)
    package(
        tiny_models["fold"],
        Options(name="tiny-fold", check_data=str(tiny_models["fold_check"]), **common),
        root,
        log=quiet,
    )
    return root


@pytest.fixture
def use_shipped(shipped_root, monkeypatch) -> Path:
    """Point rnalm at the session's shipped folder."""
    from rnalm import shipped

    monkeypatch.setenv(shipped.ENV_DIR, str(shipped_root))
    return shipped_root
