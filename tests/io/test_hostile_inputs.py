"""Hostile payloads in the other files rnalm reads: each is refused with an error naming the file,
and none runs code; compressed members are read with a size cap.

Readers checked: YAML configs (``yaml.safe_load``), ``.npy`` arrays (``allow_pickle=False``), HDF5
datasets (declared size capped; h5py never unpickles attributes), safetensors weights.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import torch

import rnalm
from rnalm.errors import CheckpointError, RnalmError
from rnalm.io.arrayfiles import ArrayFileError, read_npy
from rnalm.io.sizecap import InflationError

h5py = pytest.importorskip("h5py")


class RunsCode:
    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def test_yaml_python_tags_are_refused(tmp_path):
    from rnalm.runs.config_file import load_finetune_config

    marker = tmp_path / "ran"
    cfg = tmp_path / "evil.yaml"
    cfg.write_text(f"output_dir: !!python/object/apply:os.mkdir [{str(marker)!r}]\n")
    with pytest.raises(RnalmError, match=f"{cfg}: invalid YAML.*python/object/apply:os.mkdir"):
        load_finetune_config(cfg)
    assert not marker.exists()


def test_object_npy_is_refused_without_unpickling(tmp_path):
    marker = tmp_path / "ran"
    np.save(tmp_path / "evil.npy", np.array([RunsCode(marker)], dtype=object), allow_pickle=True)
    with pytest.raises(ArrayFileError, match="evil.npy: holds Python objects"):
        read_npy(tmp_path / "evil.npy")
    assert not marker.exists()
    (tmp_path / "cut.npy").write_bytes((tmp_path / "evil.npy").read_bytes()[:20])
    with pytest.raises(ArrayFileError, match="cut.npy: not a readable .npy array"):
        read_npy(tmp_path / "cut.npy")


def keras_file(path, shape, write: bool):
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([b"dense"])
        g = f.create_group("dense")
        g.attrs["weight_names"] = np.array([b"dense/kernel:0"])
        if write:
            g.create_dataset("dense/kernel:0", data=np.ones(shape, dtype=np.float32))
        else:  # declared only: HDF5 allocates nothing and reads fill values
            g.create_dataset("dense/kernel:0", shape=shape, dtype=np.float32, compression="gzip")
    return path


def test_hdf5_declaring_gigabytes_is_refused_before_reading(tmp_path):
    from rnalm.models.protrna.convert import read_keras_weights

    bomb = keras_file(tmp_path / "bomb.h5", (20000, 20000), write=False)  # 1.6 GB declared
    assert bomb.stat().st_size < 100_000
    t0 = time.perf_counter()
    with pytest.raises(InflationError, match=f"{bomb}: refused: its HDF5 datasets declare 1,600,000,000"):
        read_keras_weights(bomb)
    with pytest.raises(InflationError):
        rnalm.load(bomb)
    assert time.perf_counter() - t0 < 5
    ok = keras_file(tmp_path / "ok.h5", (30, 30), write=True)
    assert read_keras_weights(ok).weights["dense"][0][1].shape == (30, 30)


def test_hdf5_attributes_are_data_not_objects(tmp_path):
    """h5py has no unpickling path: a pickle stored in an attribute comes back as inert bytes."""
    import pickle

    marker = tmp_path / "ran"
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f.attrs["payload"] = np.void(pickle.dumps(RunsCode(marker)))
    with h5py.File(tmp_path / "a.h5", "r") as f:
        value = f.attrs["payload"]
    assert isinstance(value, np.void) and not marker.exists()


def test_pickle_planted_as_native_weights_is_named(tmp_path, tiny_rnafm):
    import json

    from rnalm.io.native import save_native

    model, alphabet = tiny_rnafm
    path = save_native(model, alphabet, tmp_path / "m")
    cfg = json.loads((path / "config.json").read_text())
    cfg.pop("weights_sha256", None)  # a hand-edited copy: no checksum to catch the swap first
    (path / "config.json").write_text(json.dumps(cfg))
    torch.save({"w": RunsCode(tmp_path / "ran")}, path / "model.safetensors")
    with pytest.raises(CheckpointError, match=f"{path / 'model.safetensors'}: not a readable safetensors file"):
        rnalm.load(path)
    assert not (tmp_path / "ran").exists()
