"""End-to-end fine-tuning runs on tiny data: each mode, k-fold CV, early stopping, resume, predict."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from safetensors.torch import load_file

from rnalm.finetune import finetune
from rnalm.runs.errors import DataError, RunDirError
from rnalm.runs.prediction_table import predict_run_file

from .conftest import base_config, gc_label, write_csv


def read_csv(path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def quiet(_msg: str) -> None:
    pass


def assert_predict_reproduces(run_dir, tmp_path, valid_csv, column="prediction"):
    out = tmp_path / "pred.csv"
    predict_run_file(run_dir, valid_csv, out)
    got = [float(r[column]) for r in read_csv(out)]
    want = [float(r[column]) for r in read_csv(run_dir / "predictions.csv") if r["split"] == "valid"]
    assert got == pytest.approx(want, rel=1e-4, abs=1e-5)


def test_onehot_cnn_run_directory_layout(tmp_path, regression_files):
    train, valid = regression_files
    cfg = base_config(
        tmp_path,
        train,
        valid,
        plots=True,
        head={"type": "cnn", "pool": "flatten", "filters": 8, "dense": 8, "conv_layers": 2},
    )
    res = finetune(cfg, log=quiet)
    run = res.run_dir
    for name in (
        "config.yaml",
        "run_info.json",
        "label_state.json",
        "model.safetensors",
        "trainer_state.json",
        "metrics.json",
        "predictions.csv",
        "scatter_valid.png",
        "learning_curves.png",
    ):
        assert (run / name).is_file(), name
    best = json.loads((run / "trainer_state.json").read_text())["best_model_checkpoint"]
    assert {p.name for p in run.glob("checkpoint-*")} == {"checkpoint-6", best.rsplit("/", 1)[-1]}  # last + best
    m = json.loads((run / "metrics.json").read_text())
    assert set(m["valid"]) >= {"mse", "rmse", "mae", "r2", "pearson", "spearman"}
    assert m["metric"] == "spearman" and m["n_train"] == 48 and m["n_valid"] == 12
    # trainer_state.json is Hugging Face's layout: transformers reads it back.
    from transformers.trainer_callback import TrainerState

    st = TrainerState.load_from_json(str(run / "trainer_state.json"))
    assert st.global_step == 6 and st.num_train_epochs == 2 and st.max_steps == 6
    assert [e["step"] for e in st.log_history if "loss" in e] == [2, 4, 6]
    assert [e["epoch"] for e in st.log_history if "eval_loss" in e] == [1.0, 2.0]
    assert st.best_metric == max(e["eval_spearman"] for e in st.log_history if "eval_spearman" in e)
    assert m["valid"]["spearman"] == pytest.approx(st.best_metric)  # the best weights were the ones evaluated
    # flatten head: max_len resolved from the data and saved in the resolved config
    assert "max_len: 29" in (run / "config.yaml").read_text()
    assert_predict_reproduces(run, tmp_path, valid)


def test_frozen_lm_mlp_reuses_the_embedding_cache(tmp_path, regression_files, tiny_lm_dir):
    train, valid = regression_files
    logs: list[str] = []
    cfg = base_config(tmp_path, train, valid, backbone={"name": str(tiny_lm_dir)}, head={"type": "mlp"})
    res = finetune(cfg, log=logs.append)
    assert any("60 computed, 0 from cache" in m for m in logs)
    logs.clear()
    cfg2 = base_config(
        tmp_path,
        train,
        valid,
        output_dir=str(tmp_path / "run2"),
        backbone={"name": str(tiny_lm_dir)},
        head={"type": "lamar"},
    )
    finetune(cfg2, log=logs.append)
    assert any("0 computed, 60 from cache" in m for m in logs)
    state = load_file(str(res.run_dir / "model.safetensors"))
    assert all(k.startswith("head.") for k in state)  # a frozen backbone is referenced, not copied
    info = json.loads((res.run_dir / "run_info.json").read_text())
    assert info["backbone"]["sha256"] and info["backbone"]["layer"] == 2
    assert_predict_reproduces(res.run_dir, tmp_path, valid)


def test_full_finetuning_saves_and_restores_the_backbone(tmp_path, regression_files, tiny_lm_dir):
    train, valid = regression_files
    cfg = base_config(
        tmp_path,
        train,
        valid,
        backbone={"name": str(tiny_lm_dir), "mode": "full"},
        head={"type": "mlp", "pooling": "mean"},
        train={"backbone_lr": 1e-3},
    )
    res = finetune(cfg, log=quiet)
    state = load_file(str(res.run_dir / "model.safetensors"))
    base = load_file(str(tiny_lm_dir / "model.safetensors"))
    key = "backbone.encoder.layers.0.self_attn.q_proj.weight"
    assert key in state and not np.allclose(state[key].numpy(), base[key[len("backbone.encoder.") :]].numpy())
    assert_predict_reproduces(res.run_dir, tmp_path, valid)


def test_lora_trains_only_adapters(tmp_path, regression_files, tiny_lm_dir):
    pytest.importorskip("peft")
    train, valid = regression_files
    cfg = base_config(
        tmp_path,
        train,
        valid,
        backbone={"name": str(tiny_lm_dir), "mode": "lora", "lora": {"r": 2, "alpha": 4}},
        head={"type": "mlp"},
    )
    res = finetune(cfg, log=quiet)
    state = load_file(str(res.run_dir / "model.safetensors"))
    bb = [k for k in state if k.startswith("backbone.")]
    assert bb and all("lora_" in k for k in bb)
    assert {k.split(".")[-4] for k in bb} == {"q_proj", "k_proj", "v_proj", "out_proj"}
    assert any(state[k].abs().sum() > 0 for k in bb if "lora_B" in k)  # adapters moved away from zero init
    assert_predict_reproduces(res.run_dir, tmp_path, valid)


def test_kfold_classification_with_resnet_head(tmp_path, classification_file):
    cfg = base_config(
        tmp_path,
        classification_file,
        task="classification",
        plots=True,
        head={"type": "resnet1d", "channels": 8, "blocks": 2},
        cv={"folds": 3},
    )
    res = finetune(cfg, log=quiet)
    m = res.metrics["cv"]
    assert m["stratified"] and len(m["per_fold"]) == 3 and m["folds"] == 3
    assert set(m["mean_std"]) >= {"accuracy", "f1", "auroc", "auprc"}
    assert m["mean_std"]["auroc"]["n_folds"] == 3
    assert res.metrics["metric"] == "auroc"
    rows = read_csv(res.run_dir / "predictions.csv")
    assert len(rows) == 60 and len({r["id"] for r in rows}) == 60 and {r["fold"] for r in rows} == {"0", "1", "2"}
    for i in range(3):
        for name in ("model.safetensors", "roc_pr_test.png", "roc_pr_valid.png", "learning_curves.png"):
            assert (res.run_dir / f"fold_{i}" / name).is_file()
    assert (res.run_dir / "folds_auroc.png").is_file()
    # Predicting with a CV run averages the fold models' class probabilities.
    predict_run_file(res.run_dir, classification_file, tmp_path / "p.csv")
    out = read_csv(tmp_path / "p.csv")
    # a 0/1 label named "label": one "probability" column (of class 1), then length, read, note
    assert len(out) == 60 and list(out[0])[-4:] == ["probability", "length", "read", "note"]
    assert all(0 <= float(r["probability"]) <= 1 for r in out)


def test_early_stopping_on_a_flat_metric(tmp_path, regression_files):
    train, valid = regression_files
    cfg = base_config(
        tmp_path,
        train,
        valid,
        head={"type": "cnn", "pool": "mean", "filters": 4, "dense": 4},
        train={"epochs": 10, "patience": 2, "lr": 1e-12, "metric": "mse"},
    )
    res = finetune(cfg, log=quiet)
    assert res.metrics["stopped_early"] and res.metrics["global_step"] == 3 * 3  # 1 best + 2 patience epochs
    st = json.loads((res.run_dir / "trainer_state.json").read_text())
    assert st["stateful_callbacks"]["TrainerControl"]["args"]["should_training_stop"]
    assert st["best_global_step"] == 3


def test_best_epoch_weights_are_the_ones_saved(tmp_path, regression_files):
    train, valid = regression_files
    cfg = base_config(
        tmp_path,
        train,
        valid,
        head={"type": "cnn", "pool": "mean", "filters": 8, "dense": 8},
        train={"epochs": 6, "patience": 0, "lr": 3e-2, "metric": "mse"},
    )
    res = finetune(cfg, log=quiet)
    st = json.loads((res.run_dir / "trainer_state.json").read_text())
    evals = [e["eval_mse"] for e in st["log_history"] if "eval_mse" in e]
    assert len(evals) == 6 and st["best_metric"] == min(evals)
    assert res.metrics["valid"]["mse"] == pytest.approx(min(evals), rel=1e-6)
    assert_predict_reproduces(res.run_dir, tmp_path, valid)


class Interrupt:
    def __init__(self, after: int) -> None:
        self.after = after

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch == self.after:
            raise KeyboardInterrupt


def test_resume_gives_the_uninterrupted_result(tmp_path, regression_files):
    train, valid = regression_files
    kw = dict(
        head={"type": "cnn", "pool": "mean", "filters": 8, "dense": 8, "dropout": 0.3},
        train={"epochs": 4, "patience": 0},
    )
    full = finetune(base_config(tmp_path, train, valid, output_dir=str(tmp_path / "a"), **kw), log=quiet)
    cfg = base_config(tmp_path, train, valid, output_dir=str(tmp_path / "b"), **kw)
    with pytest.raises(KeyboardInterrupt):
        finetune(cfg, callbacks=[Interrupt(2)], log=quiet)
    assert not (tmp_path / "b" / "metrics.json").exists()
    with pytest.raises(RunDirError, match="resume"):
        finetune(cfg, log=quiet)
    resumed = finetune(tmp_path / "b", resume=True, log=quiet)
    a = load_file(str(full.run_dir / "model.safetensors"))
    b = load_file(str(resumed.run_dir / "model.safetensors"))
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
    ha = json.loads((full.run_dir / "trainer_state.json").read_text())["log_history"]
    hb = json.loads((resumed.run_dir / "trainer_state.json").read_text())["log_history"]

    def strip(h):
        return [{k: v for k, v in e.items() if "runtime" not in k and "per_second" not in k} for e in h[:-1]]

    assert strip(ha) == strip(hb)


def test_standardised_labels_come_back_in_label_units(tmp_path, regression_files):
    train, valid = regression_files
    cfg = base_config(
        tmp_path,
        train,
        valid,
        head={"type": "cnn", "pool": "mean", "filters": 8, "dense": 8},
        data={"standardize": True},
        train={"epochs": 3},
    )
    res = finetune(cfg, log=quiet)
    st = json.loads((res.run_dir / "label_state.json").read_text())
    labels = [float(r["label"]) for r in read_csv(train)]
    assert (
        st["standardize"]
        and st["mean"] == pytest.approx(np.mean(labels))
        and st["std"] == pytest.approx(np.std(labels))
    )
    rows = read_csv(res.run_dir / "predictions.csv")
    assert [float(r["label"]) for r in rows] == pytest.approx([float(r["label"]) for r in read_csv(valid)], abs=1e-4)
    assert_predict_reproduces(res.run_dir, tmp_path, valid)


def test_feature_baseline(tmp_path, regression_files):
    train, valid = regression_files
    cfg = base_config(tmp_path, train, valid, backbone={"name": "features", "features": {"max_iter": 30}})
    res = finetune(cfg, log=quiet)
    assert res.metrics["valid"]["spearman"] > 0.5  # GC content is one of the features
    assert (res.run_dir / "model.skops").is_file()
    assert_predict_reproduces(res.run_dir, tmp_path, valid)


def test_bad_inputs_fail_before_training(tmp_path, regression_files, tiny_lm_dir):
    train, valid = regression_files
    bad = write_csv(tmp_path / "bad.csv", [("ACGU", 1.0), ("ACXU", 2.0)])
    with pytest.raises(DataError, match=r"bad\.csv:3: .*invalid character 'X' at position 3"):
        finetune(base_config(tmp_path, bad, valid, head={"type": "cnn", "pool": "mean"}), log=quiet)
    long = write_csv(tmp_path / "long.csv", [("A" * 80, 1.0), ("C" * 10, 2.0)])
    cfg = base_config(tmp_path, long, valid, output_dir=str(tmp_path / "r2"), backbone={"name": str(tiny_lm_dir)})
    with pytest.raises(DataError, match="longer than the 62 nt"):
        finetune(cfg, log=quiet)
    cfg["data"]["truncate"] = "keep_3prime"
    res = finetune(cfg, log=quiet)
    assert res.metrics["n_train"] == 2
    unseen = write_csv(tmp_path / "v.csv", [("ACGU", "c")])
    cls = write_csv(tmp_path / "c.csv", [("ACGU", "a"), ("GGCC", "b")])
    with pytest.raises(DataError, match="class 'c' does not occur in the training data"):
        finetune(
            base_config(
                tmp_path,
                cls,
                unseen,
                output_dir=str(tmp_path / "r3"),
                task="classification",
                head={"type": "cnn", "pool": "mean"},
            ),
            log=quiet,
        )


def test_existing_run_directory_is_protected(tmp_path, regression_files):
    train, valid = regression_files
    cfg = base_config(
        tmp_path, train, valid, head={"type": "cnn", "pool": "mean", "filters": 4, "dense": 4}, train={"epochs": 1}
    )
    finetune(cfg, log=quiet)
    with pytest.raises(RunDirError, match="already exists"):
        finetune(cfg, log=quiet)
    cfg["overwrite"] = True
    finetune(cfg, log=quiet)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("x")
    cfg["output_dir"] = str(tmp_path / "other")
    with pytest.raises(RunDirError, match="not a run directory"):
        finetune(cfg, log=quiet)
    assert (tmp_path / "other" / "keep.txt").exists()


def test_grouped_cv_with_subsets(tmp_path):
    """Sample 2019 SNV layout: variants share a fold with their wild type; metrics per subset."""
    rng = np.random.default_rng(3)
    lines = [",utr,hrl,id,mother,info4"]
    k = 0
    for g in range(12):
        wt = "".join(rng.choice(list("ACGU"), 20))
        for v in range(3):
            seq = wt if v == 0 else wt[:v] + ("A" if wt[v] != "A" else "C") + wt[v + 1 :]
            lines.append(f"{k},{seq},{gc_label(seq):.3f},id{k},{wt},{'normal' if v == 0 else 'variant'}")
            k += 1
    (tmp_path / "snv.csv").write_text("\n".join(lines) + "\n")
    cfg = base_config(
        tmp_path,
        tmp_path / "snv.csv",
        data={"loader": "sample2019_snv", "standardize": True},
        head={"type": "cnn", "pool": "flatten", "filters": 4, "dense": 4},
        cv={"folds": 4},
    )
    res = finetune(cfg, log=quiet)
    cv = res.metrics["cv"]
    assert cv["grouped"] and set(cv["mean_std_by_subset"]) == {"normal", "variant"}
    rows = read_csv(res.run_dir / "predictions.csv")
    fold_of_id = {r["id"]: r["fold"] for r in rows}
    mother = {line.split(",")[3]: line.split(",")[4] for line in lines[1:]}
    folds_per_mother: dict = {}
    for rid, fold in fold_of_id.items():
        folds_per_mother.setdefault(mother[rid], set()).add(fold)
    assert len(fold_of_id) == 36 and all(len(f) == 1 for f in folds_per_mother.values())
