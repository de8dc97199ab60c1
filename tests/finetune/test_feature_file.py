"""A feature run's model.skops is untrusted input: only the exact types rnalm writes are rebuilt.

The exploit this guards against: a Pipeline of FunctionTransformers (numpy.full_like -> numpy.max ->
numpy.testing's runstring) planted as a run's model file, which executed a string on
`rnalm predict` under a prefix allow-list.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rnalm.cli import main
from rnalm.finetune import finetune
from rnalm.runs.config import FeatureSettings
from rnalm.runs.errors import RunDirError
from rnalm.runs.feature_file import ALLOWED_NODES, schema_nodes
from rnalm.runs.feature_model import FeatureModel
from rnalm.runs.predict import Predictor

from .conftest import base_config

sio = pytest.importorskip("skops.io")


def exec_chain(marker: Path):
    """The issue's payload: predicting with it writes ``marker`` (a stand-in for any code)."""
    from numpy.testing._private.utils import runstring
    from sklearn.dummy import DummyRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    code = f"open({str(marker)!r}, 'w').write('ran')"
    return Pipeline(
        [
            ("fill", FunctionTransformer(np.full_like, kw_args={"fill_value": code, "dtype": "O"})),
            ("pick", FunctionTransformer(np.max)),
            ("run", FunctionTransformer(runstring, kw_args={"dict": {}})),
            ("out", DummyRegressor().fit(np.zeros((2, 1)), [0.0, 1.0])),
        ]
    )


def test_payload_runs_code_when_its_types_are_trusted(tmp_path):
    """The payload is real: trusting the types it lists (the old rule) runs its code."""
    marker = tmp_path / "ran-old-rule"
    sio.dump(exec_chain(marker), tmp_path / "evil.skops")
    types = sio.get_untrusted_types(file=tmp_path / "evil.skops")
    assert all(t.startswith(("numpy.", "sklearn.")) for t in types)  # what the old prefix rule let through
    with pytest.raises(Exception):
        sio.load(tmp_path / "evil.skops", trusted=types).predict(np.zeros((2, 3)))
    assert marker.read_text() == "ran"


def test_exec_chain_planted_in_a_run_is_refused_by_predict(tmp_path, regression_files, capsys):
    train, valid = regression_files
    cfg = base_config(tmp_path, train, valid, backbone={"name": "features", "features": {"max_iter": 10, "mfe": False}})
    run = finetune(cfg, log=lambda _m: None).run_dir
    model_file = run / "model.skops"
    (tmp_path / "new.fa").write_text(">a\nACGUACGU\n>b\nGGGGCCCC\n")
    assert (
        main(
            [
                "predict",
                "-q",
                "--run",
                str(run),
                "--input",
                str(tmp_path / "new.fa"),
                "--output",
                str(tmp_path / "good.csv"),
            ]
        )
        == 0
    )  # the genuine run predicts

    marker = tmp_path / "ran"
    sio.dump(exec_chain(marker), model_file)
    assert (
        main(
            [
                "predict",
                "-q",
                "--run",
                str(run),
                "--input",
                str(tmp_path / "new.fa"),
                "--output",
                str(tmp_path / "out.csv"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert str(model_file) in err and "numpy.testing._private.utils.runstring" in err and "Traceback" not in err
    with pytest.raises(RunDirError, match=f"{model_file}: refusing"):
        Predictor(run, log=lambda _m: None).predict(["ACGUACGU"])
    assert not marker.exists() and not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize(
    "task,labels",
    [
        ("regression", lambda r: r.normal(size=80)),
        ("classification", lambda r: r.integers(0, 2, 80)),
        ("classification", lambda r: r.integers(0, 4, 80)),
    ],
)
def test_models_rnalm_writes_hold_only_listed_types_and_round_trip(tmp_path, task, labels):
    import json
    import zipfile

    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 6))
    fm = FeatureModel(FeatureSettings(max_iter=15), task, seed=0).fit(x, labels(rng))
    fm.save(tmp_path / "m.skops")
    schema = json.loads(zipfile.ZipFile(tmp_path / "m.skops").read("schema.json"))
    assert set(schema_nodes(schema)) <= ALLOWED_NODES
    back = FeatureModel.load(tmp_path / "m.skops")
    assert type(back.model) is type(fm.model)
    n_classes = 4 if task == "classification" else 0
    assert np.array_equal(back.outputs(x, n_classes), fm.outputs(x, n_classes))


def test_wrong_root_or_unlisted_estimator_refused(tmp_path):
    from sklearn.dummy import DummyRegressor

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    FeatureModel(FeatureSettings(max_iter=5), "regression", seed=0).fit(x, y).save(tmp_path / "m.skops")
    (tmp_path / "m.json").write_text('{"task": "classification"}')  # header and trees disagree
    with pytest.raises(RunDirError, match="HistGradientBoostingRegressor, but a classification"):
        FeatureModel.load(tmp_path / "m.skops")
    sio.dump(DummyRegressor().fit(x, y), tmp_path / "d.skops")  # scikit-learn, but not what rnalm writes
    (tmp_path / "d.json").write_text('{"task": "regression"}')
    with pytest.raises(RunDirError, match="d.skops: refusing.*sklearn.dummy.DummyRegressor"):
        FeatureModel.load(tmp_path / "d.skops")
    (tmp_path / "d.json").write_text('{"task": "os.system"}')
    with pytest.raises(RunDirError, match=r"d.json: task 'os.system'"):
        FeatureModel.load(tmp_path / "d.skops")


def test_random_generator_naming_another_numpy_random_function_is_refused(tmp_path):
    """skops calls numpy.random.<name> to rebuild a Generator; only PCG64 (what rnalm writes) passes."""
    import zipfile

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    FeatureModel(FeatureSettings(max_iter=5), "regression", seed=0).fit(x, y).save(tmp_path / "m.skops")
    with zipfile.ZipFile(tmp_path / "m.skops") as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    schema = members["schema.json"].decode()
    assert schema.count('\\"PCG64\\"') == 1
    members["schema.json"] = schema.replace('\\"PCG64\\"', '\\"seed\\"').encode()
    with zipfile.ZipFile(tmp_path / "m.skops", "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    with pytest.raises(RunDirError, match=r"m.skops: refusing to load it: a random generator names numpy.random.seed"):
        FeatureModel.load(tmp_path / "m.skops")


def test_saved_trees_are_deflated_and_read_back_the_same(tmp_path):
    """Feature models are written deflated (the shipped weights' 30 MB budget), and the reader,
    which checks every compressed member's CRC, rebuilds the same estimator."""
    import zipfile

    from sklearn.ensemble import HistGradientBoostingRegressor

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(400, 12)), rng.normal(size=400)
    fitted = HistGradientBoostingRegressor(max_iter=50, random_state=0).fit(x, y)
    model = FeatureModel.__new__(FeatureModel)
    model.task, model.model = "regression", fitted
    path = tmp_path / "model.skops"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    assert infos and all(i.compress_type == zipfile.ZIP_DEFLATED for i in infos)
    assert path.stat().st_size < 0.6 * sum(i.file_size for i in infos)
    back = FeatureModel.load(path)
    np.testing.assert_array_equal(back.model.predict(x), fitted.predict(x))
