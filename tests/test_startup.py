"""Start-up pays only for what is used: ``import rnalm`` loads neither torch nor pandas, the parser of
every command loads no scikit-learn, matplotlib or scipy.stats, and ``rnalm predict`` imports only its
own command's libraries. Each check runs in a fresh interpreter, since this test process has long
since imported everything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import rnalm
import rnalm.cli

SRC = Path(rnalm.__file__).resolve().parents[1]
#: what only ``rnalm map`` (scikit-learn, scipy.stats) and figures (matplotlib) need
ANALYSIS = ("sklearn", "matplotlib", "scipy.stats")


def loaded_after(code: str, *watched: str) -> list[str]:
    """Which of ``watched`` are in ``sys.modules`` once ``code`` has run in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {list(watched)!r} if m in sys.modules]))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_rnalm_loads_no_torch_pandas_or_analysis_library():
    assert loaded_after("import rnalm", "torch", "pandas", *ANALYSIS) == []


def test_reading_predict_loads_no_analysis_library():
    assert loaded_after("import rnalm; rnalm.predict; rnalm.load; rnalm.embed", *ANALYSIS) == []


def test_the_full_parser_loads_no_analysis_library():
    assert loaded_after("import rnalm.cli; rnalm.cli.build_parser()", *ANALYSIS) == []


def test_rnalm_predict_loads_only_what_predict_needs(tmp_path, monkeypatch):
    from rnalm import shipped

    monkeypatch.setenv(shipped.ENV_DIR, str(shipped.package_root()))  # the package's own te model
    inputs, out = tmp_path / "in.csv", tmp_path / "out.csv"
    inputs.write_text("seq\nACGUACGUAAGGAUGCC\nGGGACAUUUGCUUCUGACACAACUGUGUUCACUAGC\n")
    argv = ["predict", "--task", "te", "-i", str(inputs), "-o", str(out), "-q", "--dtype", "float32"]
    code = f"import rnalm.cli; assert rnalm.cli.main({argv!r}) == 0"
    assert loaded_after(code, "pandas", *ANALYSIS) == []
    assert len(out.read_text().splitlines()) == 3


def test_each_public_name_resolves_to_the_object_its_module_defines():
    from rnalm import api, model, pretrained
    from rnalm.notebook import design, embed, fold, map, predict

    assert all(getattr(rnalm, name) is not None for name in rnalm.__all__)
    assert rnalm.predict is predict.predict and rnalm.map is map.map and rnalm.fold is fold.fold
    assert rnalm.embed is embed.embed and rnalm.design_scan is design.design_scan and rnalm.load is api.load
    assert rnalm.RNAEncoder is model.RNAEncoder and rnalm.pretrained is pretrained
    assert set(rnalm.__all__) <= set(dir(rnalm))


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'predcit'"):
        rnalm.predcit  # noqa: B018
    assert not hasattr(rnalm, "predcit")


def test_a_named_command_registers_only_its_module():
    def commands(parser):
        action = next(a for a in parser._actions if a.dest == "command")
        return set(action.choices)

    assert commands(rnalm.cli.build_parser("predict")) == {"predict"}
    assert commands(rnalm.cli.build_parser("worker")) == {"serve", "worker"}
    assert commands(rnalm.cli.build_parser("embed-merge")) == {"embed", "embed-merge"}
    everything = commands(rnalm.cli.build_parser())
    assert commands(rnalm.cli.build_parser("predcit")) == everything
    assert set(rnalm.cli.COMMANDS) | set(rnalm.cli.REGISTERED_BY) == everything


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["--fast-math", "predict", "-i", "x"], "predict"),
        (["fold"], "fold"),
        (["predict", "--help"], "predict"),
        (["-h", "predict"], None),
        (["--version"], None),
        ([], None),
    ],
)
def test_the_command_is_the_first_word_that_is_not_an_option(argv, command):
    assert rnalm.cli.command_of(argv) == command


def test_a_misspelt_command_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        rnalm.cli.main(["predcit"])
    err = capsys.readouterr().err
    assert "invalid choice: 'predcit'" in err and "'predict'" in err and "'map'" in err
