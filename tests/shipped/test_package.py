"""Packaging: what a shipped entry holds, and that its recorded check metric is reproduced."""

from __future__ import annotations

import json

import pytest

from rnalm import shipped


def test_manifest_lists_every_entry(shipped_root):
    data = json.loads((shipped_root / "manifest.json").read_text())
    assert data["format"] == "rnalm-shipped"
    by = {m["name"]: m for m in data["models"]}
    assert [m["kind"] for m in data["models"]] == ["backbone", "task", "task", "structure"]
    assert by["tiny-te"]["task"] == "te" and by["tiny-fold"]["task"] == "fold"
    assert by["tiny-te"]["backbone"] == "tiny-bb" == by["tiny-fold"]["backbone"]
    assert by["tiny-te"]["backbone_sha256"] == by["tiny-bb"]["backbone_sha256"]
    print(json.dumps(by["tiny-te"], indent=1))


def test_cards_record_data_command_steps_metrics_and_licence(shipped_root):
    te = shipped.get("tiny-te", folder=shipped_root)
    card = te.card.read_text()
    for text in (
        "rnalm finetune --config te.yaml",
        "Optimisation steps: 8",
        "te_valid.csv",
        "CC0 (random sequences)",
        "| spearman |",
        "`tiny-bb`",
        te.files["model.safetensors"],
    ):
        assert text in card, text
    assert "## Published anchors (held-out tests, not measured here)" in card and "LAMAR 0.671" in card
    ires = shipped.get("ires", folder=shipped_root)  # by alias
    assert ires.dtype == "float16" and "float32 weights of the run give" in ires.card.read_text()
    from safetensors import safe_open

    # an ensemble run ships every member's weights, each in float16, and its card lists the members
    assert sorted(f for f in ires.files if f.endswith(".safetensors")) == [
        "member_0/model.safetensors",
        "member_1/model.safetensors",
    ]
    for member in ("member_0", "member_1"):
        with safe_open(str(ires.path / member / "model.safetensors"), "pt") as fh:
            assert {str(fh.get_tensor(k).dtype) for k in fh.keys()} == {"torch.float16"}
    assert "An ensemble of 2 models" in ires.card.read_text() and "| ensemble |" in ires.card.read_text()
    # only what prediction needs; the frozen backbone is referenced, not copied
    assert sorted(te.files) == [
        "card.md",
        "check.csv",
        "config.yaml",
        "label_state.json",
        "model.safetensors",
        "run_info.json",
    ]
    assert te.size < 20_000
    cfg = (te.path / "config.yaml").read_text()
    assert "name: shipped:tiny-bb" in cfg and "cache: false" in cfg


def test_a_run_on_other_backbone_weights_is_refused(tiny_models, tmp_path, capsys):
    import torch

    from rnalm.io.native import save_native
    from rnalm.model import RNAEncoder, named_config
    from rnalm.models import get_alphabet
    from rnalm.packaging import main

    torch.manual_seed(1)
    a = get_alphabet("utr-lm")
    cfg = named_config(
        "utr-lm", alphabet=a, num_layers=2, embed_dim=16, ffn_embed_dim=32, attention_heads=4, max_positions=128
    )
    other = save_native(RNAEncoder(cfg).reset_parameters().eval(), a, tmp_path / "other")
    (tmp_path / "seqs.fa").write_text("".join(f">s{i}\n{'ACGU' * (3 + i)}\n" for i in range(8)))
    root = tmp_path / "root"
    assert (
        main(
            [
                str(other),
                "--name",
                "tiny-bb",
                "--data-licence",
                "none",
                "--check-data",
                str(tmp_path / "seqs.fa"),
                "--check-size",
                "8",
                "--root",
                str(root),
            ]
        )
        == 0
    )
    entry = shipped.get("tiny-bb", folder=root)
    assert entry.metric["split"] == "check" and entry.check["n"] == 8
    capsys.readouterr()
    assert (
        main(
            [
                str(tiny_models["te"]),
                "--name",
                "x",
                "--task",
                "te",
                "--data-licence",
                "none",
                "--backbone",
                "tiny-bb",
                "--root",
                str(root),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("ship: error: the run was trained on backbone") and "ship the run's backbone first" in err
    assert [e.name for e in shipped.entries(root)] == ["tiny-bb"] and not (root / "x").exists()
    assert main([str(tiny_models["te"]), "--name", "x", "--data-licence", "none", "--root", str(root)]) == 2
    assert "name the task alias with --task" in capsys.readouterr().err


def test_one_model_per_task_alias(shipped_root, tiny_models, tmp_path):
    import shutil

    from rnalm.packaging import Options, package

    root = tmp_path / "copy"
    shutil.copytree(shipped_root, root)
    with pytest.raises(shipped.ShippedModelError, match="task alias 'te' is already shipped as tiny-te"):
        package(
            tiny_models["te"],
            Options(name="te2", task="te", data_licence="x", backbone="tiny-bb", check_size=8, recompute_valid=False),
            root,
            log=lambda _m: None,
        )
    assert not (root / "te2").exists() and shipped.find("te2", folder=root) is None

    from rnalm.packaging import main

    assert main(["--remove", "--name", "tiny-bb", "--root", str(root)]) == 2  # still the backbone of three
    assert main(["--remove", "--name", "tiny-te", "--root", str(root)]) == 0
    assert shipped.find("te", folder=root) is None and not (root / "tiny-te").exists()

    # a manifest entry whose name leads out of the shipped folder never deletes there
    outside = tmp_path / "outside"
    outside.mkdir()
    data = json.loads((root / "manifest.json").read_text())
    data["models"].append({"name": "../outside", "kind": "task", "task": "zz", "dir": "../outside"})
    (root / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(shipped.ShippedModelError, match="use letters"):
        from rnalm.packaging.manifest import remove

        remove("../outside", root, log=lambda _m: None)
    assert outside.is_dir() and shipped.find("../outside", folder=root) is not None  # nothing written


def test_replaces_swaps_an_alias_to_a_new_name_in_one_manifest_write(shipped_root, tiny_models, tmp_path):
    import shutil

    from rnalm.packaging import Options, package

    root = tmp_path / "copy"
    shutil.copytree(shipped_root, root)
    opts = dict(data_licence="x", backbone="tiny-bb", check_size=8, recompute_valid=False)
    for bad, match in (
        (dict(name="te2", task="te", replaces="nope"), "--replaces nope: no other shipped model"),
        (dict(name="te2", task="te", replaces="tiny-fold"), "shipped under task alias 'fold', this model under 'te'"),
        (dict(name="tiny-te", task="te", replaces="tiny-te"), "no other shipped model"),
        (dict(name="te2", task="te", replaces="../outside"), "--replaces '../outside': use letters"),
    ):
        with pytest.raises(shipped.ShippedModelError, match=match):
            package(tiny_models["te"], Options(**bad, **opts), root, log=lambda _m: None)
        assert [e.name for e in shipped.entries(root)] == [e.name for e in shipped.entries(shipped_root)]
    # a packaging that fails after the checks leaves the replaced model in place
    with pytest.raises(shipped.ShippedModelError):
        package(
            tiny_models["te"],
            Options(name="te2", task="te", replaces="tiny-te", **{**opts, "backbone": "tiny-fold"}),
            root,
            log=lambda _m: None,
        )
    assert shipped.find("te", folder=root).name == "tiny-te" and (root / "tiny-te").is_dir()

    entry = package(
        tiny_models["te"], Options(name="te2", task="te", replaces="tiny-te", **opts), root, log=lambda _m: None
    )
    assert entry.name == "te2" and shipped.find("te", folder=root).name == "te2"
    assert shipped.find("tiny-te", folder=root) is None and not (root / "tiny-te").exists()
    names = [m["name"] for m in json.loads((root / "manifest.json").read_text())["models"]]
    assert "te2" in names and "tiny-te" not in names


def test_baselines_are_paired_on_the_validation_rows_and_shown_on_the_card(shipped_root, tiny_models, tmp_path):
    import csv
    import shutil

    from rnalm.packaging import Options, package

    root = tmp_path / "copy"
    shutil.copytree(shipped_root, root)
    te = tiny_models["te"]
    ours = json.loads((te / "metrics.json").read_text())["valid"]["spearman"]

    def baseline(name: str, spearman: float, drop_row: bool = False):
        b = tmp_path / name
        shutil.copytree(te, b)
        m = json.loads((b / "metrics.json").read_text())
        m["valid"]["spearman"] = spearman
        (b / "metrics.json").write_text(json.dumps(m))
        if drop_row:  # validated on other rows
            rows = list(csv.DictReader(open(b / "predictions.csv", newline="")))
            rows = [r for r in rows if r["split"] != "valid"] + [r for r in rows if r["split"] == "valid"][1:]
            with open(b / "predictions.csv", "w", newline="") as fh:
                w = csv.DictWriter(fh, fieldnames=list(rows[0]))
                w.writeheader()
                w.writerows(rows)
        return str(b)

    opts = dict(name="tiny-te", task="te", data_licence="x", backbone="tiny-bb", check_size=8, recompute_valid=False)
    entry = package(
        te,
        Options(
            **opts,
            baselines=(("onehot", baseline("lower", ours - 0.2)), ("onehot_bpp", baseline("higher", ours + 0.1))),
            notes=("Not better than onehot_bpp.",),
        ),
        root,
        log=lambda _m: None,
    )
    rows = entry.raw["baselines"]
    assert [(b["name"], b["beaten"]) for b in rows] == [("onehot", True), ("onehot_bpp", False)]
    assert rows[0]["value"] == pytest.approx(ours - 0.2) and rows[0]["metric"] == "spearman"
    assert entry.baselines == rows and f"onehot {ours - 0.2:.3f}" in entry.metric_text()  # rnalm models, demo
    card = entry.card.read_text()
    assert "## Baselines (same validation rows)" in card and "| onehot |" in card and "| no |" in card
    assert "## Notes\n\nNot better than onehot_bpp." in card
    with pytest.raises(shipped.ShippedModelError, match="validated on other rows"):
        package(
            te,
            Options(**opts, baselines=(("onehot", baseline("other", 0.0, drop_row=True)),)),
            root,
            log=lambda _m: None,
        )


# ---------------------------------------------------------------------- --previous: a baseline and a gate
def _better_and_worse(run, dest):
    """``run`` and a copy with its output layer negated (its correlations too), the better one first."""
    import shutil

    from safetensors.torch import load_file, save_file

    shutil.copytree(run, dest)
    state = load_file(str(dest / "model.safetensors"))
    out = {k for k, v in state.items() if v.ndim >= 1 and v.shape[0] == 1}  # the (1, hidden) weight and its bias
    assert len(out) == 2, sorted((k, tuple(v.shape)) for k, v in state.items())
    save_file({k: (-v if k in out else v) for k, v in state.items()}, str(dest / "model.safetensors"))
    metrics = json.loads((dest / "metrics.json").read_text())
    for k in ("spearman", "pearson"):
        metrics["valid"][k] = -metrics["valid"][k]
    (dest / "metrics.json").write_text(json.dumps(metrics))
    return (run, dest) if metrics["valid"]["spearman"] < 0 else (dest, run)


def _release(shipped_root, tmp_path, name: str):
    """A copy of the session's shipped folder, as an earlier release would hold it."""
    import shutil

    root = tmp_path / name
    shutil.copytree(shipped_root, root)
    return root


OPTS = dict(name="tiny-te", task="te", data_licence="x", backbone="tiny-bb", check_size=8)


def test_previous_shipped_model_beaten_is_listed_on_the_card_and_in_the_manifest(shipped_root, tiny_models, tmp_path):
    from rnalm.metrics import greater_is_better
    from rnalm.packaging import Options, package

    old = _release(shipped_root, tmp_path, "old")
    better, worse = _better_and_worse(tiny_models["te"], tmp_path / "negated")
    package(worse, Options(**OPTS, recompute_valid=False), old, log=lambda _m: None)
    root = _release(shipped_root, tmp_path, "new")
    entry = package(
        better,
        Options(**OPTS, baselines=(("onehot", str(worse)),), previous=str(old / "tiny-te")),
        root,
        log=lambda _m: None,
    )
    rows = entry.baselines
    assert [b["name"] for b in rows][0] == "onehot"  # the recipe's one-hot baseline stays first
    prev = rows[-1]
    date = shipped.get("tiny-te", folder=old).raw["packaged"]
    assert prev["name"] == f"previous shipped model (tiny-te, packaged {date})" and prev["beaten"] is True
    assert prev["metric"] == entry.metric["name"] == "spearman" and prev["n"] == entry.metric["n"]
    assert prev["value"] == pytest.approx(-prev["this_model"], abs=1e-6)  # the same rows, the output negated
    assert prev["this_model"] == pytest.approx(entry.metric["recomputed"])
    assert greater_is_better("spearman") and entry.metric["value"] > prev["value"]
    card = entry.card.read_text()
    assert f"| previous shipped model (tiny-te, packaged {date}) | `" in card
    assert f"| {prev['value']:.4f} | yes |" in card


def test_previous_shipped_model_not_beaten_refuses_and_keeps_the_old_entry(shipped_root, tiny_models, tmp_path):
    from rnalm.packaging import Options, main, package

    old = _release(shipped_root, tmp_path, "old")  # the same model: a tie does not beat it
    root = _release(shipped_root, tmp_path, "new")
    before = {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    with pytest.raises(shipped.ShippedModelError) as err:
        package(tiny_models["te"], Options(**OPTS, previous=str(old / "tiny-te")), root, log=lambda _m: None)
    msg = str(err.value)
    assert "does not beat the previous shipped model tiny-te" in msg and msg.count("spearman = ") == 2
    assert "Drop --previous only if you mean to ship it anyway" in msg
    assert {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()} == before
    # the same through the command line
    args = [str(tiny_models["te"]), "--name", "tiny-te", "--task", "te", "--data-licence", "x"]
    args += ["--backbone", "tiny-bb", "--check-size", "8", "--no-recompute-valid", "--root", str(root)]
    assert main(args + ["--previous", str(old / "tiny-te")]) == 2
    assert {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()} == before


def test_previous_must_be_a_shipped_task_model_folder(shipped_root, tiny_models, tmp_path):
    from rnalm.packaging import Options, package

    root = _release(shipped_root, tmp_path, "new")
    quiet = lambda _m: None  # noqa: E731
    cases = [
        (tmp_path / "none", "--previous .*none: no such directory"),
        (tiny_models["te"], "--previous .*/te: no .*manifest.json next to it; give a shipped model folder"),
        (root / "tiny-ires", "--previous .*tiny-ires: tiny-ires is the task model of task 'ires', not of 'te'"),
    ]
    (root / "stray").mkdir()
    cases.append((root / "stray", "--previous .*stray: not an entry of .*manifest.json"))
    for folder, match in cases:
        with pytest.raises(shipped.ShippedModelError, match=match):
            package(tiny_models["te"], Options(**OPTS, recompute_valid=False, previous=str(folder)), root, log=quiet)
    with pytest.raises(shipped.ShippedModelError, match="--previous applies to task models"):
        package(
            tiny_models["fold"],
            Options(
                name="tiny-fold",
                data_licence="x",
                backbone="tiny-bb",
                check_size=8,
                check_data=str(tiny_models["fold_check"]),
                previous=str(root / "tiny-fold"),
            ),
            root,
            log=quiet,
        )
