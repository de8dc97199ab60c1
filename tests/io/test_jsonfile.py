"""rnalm's JSON writer: numpy scalars and paths serialise, the file appears whole, no temp file is left."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rnalm.io.jsonfile import write_json


def test_write_json_converts_numpy_and_paths_and_replaces_atomically(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text("old")
    write_json(path, {"auroc": np.float32(0.5), "n": np.int64(3), "run": Path("runs/x")})
    assert json.loads(path.read_text()) == {"auroc": 0.5, "n": 3, "run": "runs/x"}
    assert path.read_text().endswith("}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def test_write_json_refuses_unknown_objects_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "m.json"
    write_json(path, {"a": 1})
    with pytest.raises(TypeError, match="set is not JSON serialisable"):
        write_json(path, {"a": {1, 2}})
    assert json.loads(path.read_text()) == {"a": 1}
