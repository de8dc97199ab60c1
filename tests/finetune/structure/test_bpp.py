"""``structure.vienna_bpp``: ViennaRNA base-pair probabilities as an input channel of the pairwise head.

Tests that fold with ViennaRNA are skipped where it is not installed; the head and config tests
run everywhere.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import sys

import numpy as np
import pytest
import torch

from rnalm.errors import RnalmError
from rnalm.runs.config import ConfigError
from rnalm.runs.config_file import load_finetune_config
from rnalm.runs.pairwise_head import PAD_LOGIT, PairwiseHead, PairwiseHeadConfig
from rnalm.structure.formats import read_dbn, write_dbn

from .conftest import planted_set, quiet, structure_config


@pytest.fixture
def rna():
    return pytest.importorskip("RNA")


# ------------------------------------------------------------------------------ the matrix
def test_bpp_is_symmetric_and_matches_vienna(rna):
    from rnalm.structure.bpp import vienna_bpp

    seq = "GGGGAAUACCCC"
    p = vienna_bpp("ggggAAtACCCC")  # lower case, T read as U
    assert p.shape == (12, 12) and p.dtype == np.float32
    assert np.array_equal(p, p.T) and (np.diag(p) == 0).all() and (p >= 0).all()
    fc = rna.fold_compound(seq)
    fc.pf()
    ref = np.asarray(fc.bpp())  # 1-based upper triangle
    for i in range(12):
        for j in range(i + 1, 12):
            assert p[i, j] == pytest.approx(ref[i + 1][j + 1], abs=1e-5)
    assert p[0, 11] > 0.5 and p[3, 8] > 0.5
    n = vienna_bpp("GGGGNAAACCCC")  # N allowed, never pairs
    assert n.shape == (12, 12) and (n[4] == 0).all() and (n[:, 4] == 0).all()


def test_pair_probabilities_fold_once_cache_and_pad(rna, tmp_path, monkeypatch):
    import rnalm.structure.bpp as bpp

    calls = []
    real = bpp.vienna_bpp
    monkeypatch.setattr(bpp, "vienna_bpp", lambda s, params="turner2004": calls.append(s) or real(s, params))
    pp = bpp.PairProbabilities(tmp_path / "cache")
    pp.ensure(["GGGGAAAACCCC", "gggtaaaaccc", "GGGGAAAACCCC"])
    assert calls == ["GGGGAAAACCCC", "GGGUAAAACCC"] and pp.computed == 2
    b = pp.batch(["GGGUAAAACCC", "GGGGAAAACCCC", "GGGUAAAACCC"])
    assert calls == ["GGGGAAAACCCC", "GGGUAAAACCC"]  # nothing folded twice
    assert b.shape == (3, 12, 12) and b.dtype == torch.float32
    assert (b[0, 11] == 0).all() and (b[0, :, 11] == 0).all()  # zero padding
    assert torch.equal(b[0], b[2]) and torch.equal(b[1], b[1].T)
    assert np.allclose(b[1].numpy(), real("GGGGAAAACCCC"), atol=1e-3)
    again = bpp.PairProbabilities(tmp_path / "cache")
    assert torch.equal(again.batch(["GGGGAAAACCCC"])[0], b[1])
    assert again.from_cache == 1 and again.computed == 0 and len(calls) == 2


def test_missing_vienna_is_a_clear_error(monkeypatch):
    from rnalm.structure.bpp import PairProbabilities

    monkeypatch.setitem(sys.modules, "RNA", None)  # import RNA -> ImportError
    with pytest.raises(RnalmError, match="reinstall rnalm"):
        PairProbabilities()


# ------------------------------------------------------------------------------ the head
def test_head_with_bpp_channel_is_symmetric_and_padding_invariant():
    torch.manual_seed(0)
    head = PairwiseHead(PairwiseHeadConfig(in_dim=4, proj_dim=4, channels=8, blocks=2, dropout=0.0, bpp=True)).eval()
    x = torch.randn(2, 13, 4)
    mask = torch.ones(2, 13, dtype=torch.bool)
    mask[1, 9:] = False
    p = torch.rand(2, 13, 13)
    p = (p + p.transpose(1, 2)) / 4
    p[1, 9:] = p[1, :, 9:] = 0
    p[0, 2, 7] = 0.9  # an asymmetric input still gives symmetric logits
    with torch.no_grad():
        out = head(x, mask, bpp=p)
        alone = head(x[1:, :9], mask[1:, :9], bpp=p[1:, :9, :9])
        changed = head(x, mask, bpp=torch.zeros_like(p))
    assert torch.equal(out, out.transpose(1, 2))
    assert (out[1, 9:] == PAD_LOGIT).all()
    assert torch.allclose(out[1, :9, :9], alone[0], atol=1e-5)
    assert not torch.allclose(out, changed)  # the channel is read
    with pytest.raises(ValueError, match="base-pair probability map"):
        head(x, mask)
    plain = PairwiseHead(PairwiseHeadConfig(in_dim=4, proj_dim=4, channels=8, blocks=1))
    with pytest.raises(ValueError, match="without a base-pair probability map"):
        plain(x, mask, bpp=p)
    assert head.stem.in_channels == plain.stem.in_channels + 2


def test_bpp_prior_adds_the_logit_of_the_probabilities():
    torch.manual_seed(0)
    head = PairwiseHead(
        PairwiseHeadConfig(in_dim=4, proj_dim=4, channels=8, blocks=1, dropout=0.0, bpp=True, bpp_prior=True)
    ).eval()
    x = torch.randn(1, 10, 4)
    p = torch.rand(1, 10, 10)
    p = (p + p.transpose(1, 2)) / 2
    p[0, 1, 8] = p[0, 8, 1] = 0.999
    with torch.no_grad():
        out = head(x, bpp=p)
        head.bpp_scale.fill_(0.0)
        base = head(x, bpp=p)
    assert torch.equal(out, out.transpose(1, 2))
    q = p.clamp(1e-4, 1 - 1e-4)
    assert torch.allclose(out - base, torch.log(q / (1 - q)), atol=1e-4)
    with pytest.raises(ValueError, match="bpp_prior needs bpp"):
        PairwiseHeadConfig(in_dim=4, bpp_prior=True)


def test_bpp_prior_is_finite_under_bf16_autocast():
    """Certain pairs (probability 1 or 0) give finite float32 logits under bf16 autocast too."""
    torch.manual_seed(0)
    head = PairwiseHead(
        PairwiseHeadConfig(in_dim=4, proj_dim=4, channels=8, blocks=1, dropout=0.0, bpp=True, bpp_prior=True)
    )
    x = torch.randn(1, 10, 4, requires_grad=True)
    p = torch.zeros(1, 10, 10)
    p[0, 1, 8] = p[0, 8, 1] = 1.0
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = head(x, bpp=p)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    out.sum().backward()
    assert torch.isfinite(x.grad).all()


def _maps(b: int, k: int, n: int) -> torch.Tensor:
    r = torch.rand(b, k, n, n) ** 2
    return (r + r.transpose(-1, -2)) / 2


def test_head_reads_every_map_and_adds_the_prior_of_the_first():
    torch.manual_seed(0)
    cfg = PairwiseHeadConfig(in_dim=4, proj_dim=4, channels=8, blocks=1, dropout=0.0, bpp=True, bpp_prior=True)
    head = PairwiseHead(dataclasses.replace(cfg, bpp_maps=3)).eval()
    assert head.stem.in_channels == PairwiseHead(cfg).stem.in_channels + 2 * 2
    x, p = torch.randn(2, 11, 4), _maps(2, 3, 11)
    with torch.no_grad():
        out = head(x, bpp=p)
        for k in (1, 2):  # a map other than the first changes the output through its channels
            q = p.clone()
            q[:, k] = 0
            assert not torch.allclose(head(x, bpp=q), out)
        head.bpp_scale.fill_(0.0)
        base = head(x, bpp=p)
    first = p[:, 0].clamp(1e-4, 1 - 1e-4)
    assert torch.allclose(out - base, torch.log(first / (1 - first)), atol=1e-4)


def test_head_with_three_maps_trains_a_step():
    from rnalm.runs.pair_loss import masked_bce_loss

    torch.manual_seed(0)
    head = PairwiseHead(
        PairwiseHeadConfig(in_dim=4, proj_dim=4, channels=8, blocks=1, bpp=True, bpp_prior=True, bpp_maps=3)
    ).train()
    x, p = torch.randn(2, 12, 4), _maps(2, 3, 12)
    mask = torch.ones(2, 12, dtype=torch.bool)
    mask[1, 8:] = False
    target = (p[:, 0] > 0.5).float()
    before = head.stem.weight.detach().clone()
    opt = torch.optim.AdamW(head.parameters(), lr=1e-2)
    loss = masked_bce_loss(head(x, mask, bpp=p), target, mask)
    loss.backward()
    grad = head.stem.weight.grad[:, -6:, 0, 0]  # the six bpp channels: two per map
    assert torch.isfinite(loss) and (grad.abs().sum(0) > 0).all()
    opt.step()
    assert not torch.equal(head.stem.weight, before)


def test_map_count_is_checked_and_stored_with_the_head():
    three = PairwiseHead(PairwiseHeadConfig(in_dim=4, proj_dim=4, channels=8, blocks=1, bpp=True, bpp_maps=3))
    one = PairwiseHead(PairwiseHeadConfig(in_dim=4, proj_dim=4, channels=8, blocks=1, bpp=True))
    x = torch.randn(2, 9, 4)
    with pytest.raises(ValueError, match=r"bpp_maps=3\): they must be \(2, 3, 9, 9\), got \(2, 9, 9\)"):
        three(x, bpp=torch.rand(2, 9, 9))
    with pytest.raises(ValueError, match=r"bpp_maps=3\): they must be \(2, 3, 9, 9\), got \(2, 2, 9, 9\)"):
        three(x, bpp=torch.rand(2, 2, 9, 9))
    with pytest.raises(ValueError, match=r"bpp_maps=1\): they must be \(2, 9, 9\)"):
        one(x, bpp=torch.rand(2, 3, 9, 9))
    with pytest.raises(ValueError, match="bpp_maps=2 needs bpp=True"):
        PairwiseHeadConfig(in_dim=4, bpp_maps=2)
    with pytest.raises(ValueError, match="bpp_maps must be a positive integer"):
        PairwiseHeadConfig(in_dim=4, bpp=True, bpp_maps=0)
    saved = three.config.to_dict()
    assert saved["bpp_maps"] == 3 and PairwiseHeadConfig.from_dict(saved) == three.config
    del saved["bpp_maps"]  # a head stored before several maps existed
    assert PairwiseHeadConfig.from_dict(saved).bpp_maps == 1


# ------------------------------------------------------------------------------ config
def test_vienna_bpp_only_for_pairwise_heads(tmp_path):
    with pytest.raises(ConfigError, match="structure.vienna_bpp=true applies to head.type=pairwise"):
        load_finetune_config(data={"task": "regression", "data": {"train": "x.csv"}, "structure": {"vienna_bpp": True}})
    with pytest.raises(ConfigError, match="structure.vienna_bpp"):
        load_finetune_config(
            data={
                "task": "classification",
                "data": {"train": "x.csv"},
                "head": {"type": "cnn"},
                "structure": {"vienna_bpp": True},
            }
        )
    with pytest.raises(ConfigError, match="must be true or false"):
        load_finetune_config(data={"task": "structure", "data": {"train": "x.dbn"}, "structure": {"vienna_bpp": "yes"}})
    with pytest.raises(ConfigError, match="structure.vienna_bpp_prior"):
        load_finetune_config(
            data={"task": "structure", "data": {"train": "x.dbn"}, "structure": {"vienna_bpp_prior": 1}}
        )
    cfg = load_finetune_config(
        data={"task": "structure", "data": {"train": "x.dbn"}}, overrides=["structure.vienna_bpp=true"]
    )
    assert cfg.head.type == "pairwise" and cfg.structure.vienna_bpp is True
    assert load_finetune_config(data={"task": "structure", "data": {"train": "x.dbn"}}).structure.vienna_bpp is False


# ------------------------------------------------------------------------------ end to end
def fold_validation_rows_as_trained(run, tmp_path, capsys, *options: str) -> list[dict]:
    """``rnalm fold OPTIONS`` on the run's validation records (into ``tmp_path/out``) gives the
    structures the run predicted for them in training (same maps, model and post-processing);
    the rows of its ``predictions.csv``."""
    from rnalm.cli import main

    with open(run / "predictions.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == "valid"]
    fa = tmp_path / "in.fa"
    fa.write_text("".join(f">{r['id']}\n{r['sequence']}\n" for r in rows))
    rc = main(["fold", *options, "--input", str(fa), "--output", str(tmp_path / "out")])
    _, err = capsys.readouterr()
    assert rc == 0, err
    for r in rows:
        assert read_dbn(tmp_path / "out" / f"{r['id']}.dbn")[0].dot_bracket() == r["prediction"]
    return rows


@pytest.mark.parametrize("prior", [True, False], ids=["prior", "channel_only"])
def test_tiny_run_with_bpp_and_fold_run(rna, tmp_path, capsys, one_thread, prior):
    from rnalm.finetune import finetune

    write_dbn(planted_set(20), tmp_path / "train.dbn")
    cfg = structure_config(tmp_path, tmp_path / "train.dbn", structure={"vienna_bpp": True, "vienna_bpp_prior": prior})
    run = finetune(cfg, log=quiet).run_dir
    st = load_finetune_config(run / "config.yaml").structure
    assert st.vienna_bpp is True and st.vienna_bpp_prior is prior
    info = json.loads((run / "run_info.json").read_text())
    assert "bpp" in info["head"]["needs"] and info["vienna"]["version"] == rna.__version__
    assert list((tmp_path / "cache").glob(f"vienna-{rna.__version__}/bpp/*/*.npy"))  # on-disk cache written
    metrics = json.loads((run / "metrics.json").read_text())
    assert 0 <= metrics["valid"]["f1"] <= 1
    rows = fold_validation_rows_as_trained(run, tmp_path, capsys, "--run", str(run), "--files", "dbn,npy")
    for r in rows:
        p = np.load(tmp_path / "out" / f"{r['id']}.npy")
        assert np.allclose(p, p.T)


def test_tiny_run_with_two_parameter_sets_folds_packages_and_loads_back(rna, tmp_path, capsys, one_thread):
    """``structure.vienna_params`` end to end: trained on two maps per sequence, folded by ``rnalm fold
    --model RUN`` as in training, shipped, and loaded back with the same maps."""
    from rnalm.finetune import finetune
    from rnalm.packaging import Options, package
    from rnalm.packaging.check import check_entry
    from rnalm.runs.structure_model import RunModel

    params = ["turner2004", "langdon2018"]
    structures = planted_set(16)
    write_dbn(structures, tmp_path / "train.dbn")
    cfg = structure_config(
        tmp_path, tmp_path / "train.dbn", train={"epochs": 1}, structure={"vienna_bpp": True, "vienna_params": params}
    )
    run = finetune(cfg, log=quiet).run_dir
    assert load_finetune_config(run / "config.yaml").structure.vienna_params == params
    info = json.loads((run / "run_info.json").read_text())
    assert info["vienna"]["params"] == params
    cached = list((tmp_path / "cache").glob(f"vienna-{rna.__version__}/bpp/*/*.npy"))
    assert len(cached) == 2 * len({s.sequence for s in structures})  # one map per sequence and set

    model = RunModel.load(run, "cpu")
    assert model.run.pair_probs is not None and model.run.pair_probs.params == tuple(params)
    head = model.models[0][0].head.pair
    assert head.config.bpp_maps == 2 and head.config.bpp_prior

    fold_validation_rows_as_trained(run, tmp_path, capsys, "--model", str(run), "--files", "dbn")

    entry = package(
        run, Options(name="two-sets-fold", data_licence="CC0", check_size=4), tmp_path / "shipped", log=quiet
    )
    recorded, value = check_entry(entry)
    assert value == pytest.approx(recorded, abs=1e-4)
    shipped_model = RunModel.load(entry.path, "cpu")
    assert shipped_model.run.pair_probs.params == tuple(params)
    assert shipped_model.models[0][0].head.pair.config.bpp_maps == 2


def test_a_provider_of_other_parameter_sets_is_refused(rna):
    from rnalm.runs.builder import build_model
    from rnalm.structure.bpp import PairProbabilities

    cfg = load_finetune_config(
        data={"task": "structure", "data": {"train": "x.dbn"}},
        overrides=["structure.vienna_bpp=true", "structure.vienna_params=[turner2004,andronescu2007]"],
    )
    build_model(cfg, 1, pair_probs=PairProbabilities(params=("turner2004", "andronescu2007")))
    with pytest.raises(
        ConfigError, match=r"folds under \['turner2004'\].*vienna_params=\['turner2004', 'andronescu2007'\]"
    ):
        build_model(cfg, 1, pair_probs=PairProbabilities())
