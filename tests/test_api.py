"""rnalm.api.resolve: a path, a shipped backbone name or a registered checkpoint name to a local path."""

from __future__ import annotations

import pytest
import torch

from rnalm import hub, shipped
from rnalm.api import load, resolve
from rnalm.errors import DownloadError


@pytest.fixture(autouse=True)
def empty_torch_hub(monkeypatch, tmp_path):
    """torch hub's cache is empty: only what a test puts in the rnalm cache is found."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))


def test_an_existing_path_is_returned_as_it_is(tiny_lm_dir):
    assert resolve(tiny_lm_dir) == tiny_lm_dir
    assert resolve(str(tiny_lm_dir)) == tiny_lm_dir


@pytest.mark.parametrize("ref", ["utrlm-mini", "shipped:utrlm-mini"])
def test_a_shipped_backbone_name_gives_its_folder(ref):
    with shipped.using_root(shipped.package_root()):
        assert resolve(ref) == shipped.get("utrlm-mini", "backbone").path


def test_a_shipped_backbone_whose_weights_changed_is_refused(tmp_path):
    root = shipped.package_root()
    entry = shipped.get("utrlm-mini", "backbone", root)
    copy = tmp_path / "shipped"
    (copy / entry.dir).mkdir(parents=True)
    (copy / shipped.MANIFEST).write_bytes((root / shipped.MANIFEST).read_bytes())
    for name in entry.files:
        (copy / entry.dir / name).write_bytes((entry.path / name).read_bytes())
    (copy / entry.dir / "config.json").write_text("{}")
    with shipped.using_root(copy), pytest.raises(shipped.ShippedModelError, match="does not match the sha256"):
        resolve("utrlm-mini")


def test_an_unknown_name_is_neither_path_nor_registered(tmp_path, monkeypatch):
    monkeypatch.setenv(hub.ENV_HOME, str(tmp_path))
    with pytest.raises(DownloadError, match="no such file or directory, and 'no-such-model' is not a registered"):
        resolve("no-such-model")


def test_a_registered_name_not_cached_offline_names_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv(hub.ENV_HOME, str(tmp_path))
    monkeypatch.setenv(hub.ENV_OFFLINE, "1")
    with pytest.raises(DownloadError, match=r"rna-fm is not in the cache and \$RNALM_OFFLINE is set"):
        resolve("rna-fm")


def test_load_places_the_model_on_the_device_asked_for_and_auto_picks_a_gpu_when_there_is_one():
    with shipped.using_root(shipped.package_root()):
        auto, _ = load("utrlm-mini", device="auto")
        cpu, _ = load("utrlm-mini", device=torch.device("cpu"), eval_mode=False)
        default, _ = load("utrlm-mini")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert next(auto.parameters()).device.type == expected
    assert next(cpu.parameters()).device.type == "cpu" and cpu.training
    assert next(default.parameters()).device.type == "cpu" and not default.training
