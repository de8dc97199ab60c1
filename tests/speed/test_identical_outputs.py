"""Float32 outputs of ``rnalm predict`` and ``rnalm fold`` stay byte-identical to the recorded ones."""

import json

import pytest
from tests.speed.golden import EXPECTED, RUNS, produce

from rnalm import shipped


@pytest.mark.parametrize("name,args", RUNS, ids=[r[0] for r in RUNS])
def test_float32_outputs_are_byte_identical(name, args, tmp_path, monkeypatch):
    monkeypatch.setenv(shipped.ENV_DIR, str(shipped.package_root()))
    expected = json.loads(EXPECTED.read_text())[name]
    assert produce(name, args, tmp_path, ["--dtype", "float32"]) == expected
