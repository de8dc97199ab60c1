"""``--to onnx``: onnxruntime reproduces rnalm's logits and final representation for every family.

Each family's small random model is exported once (traced on a batch of 3 rows), then run by
onnxruntime on padded batches of other sizes and lengths (1 x 23 tokens, 5 rows up to 41 tokens)
and compared with rnalm's forward: max abs difference <= 1e-4.
"""

from __future__ import annotations

import json
import os
import stat

import pytest
import torch

from rnalm.alphabet import Alphabet
from rnalm.export.onnx_file import ALPHABET_KEY, export_onnx
from rnalm.export.onnx_graph import LAST_HIDDEN, LOGITS
from rnalm.export.provenance import PROVENANCE_KEY
from rnalm.model import RNAEncoder
from rnalm.version import __version__

from .conftest import FAMILIES, family_model

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

TOL = 1e-4


def random_batch(alphabet: Alphabet, lengths: list[int], seed: int) -> torch.Tensor:
    """Random letters of the given lengths (in tokens), padded, with a ``<mask>`` in the first row."""
    g = torch.Generator().manual_seed(seed)
    letters = torch.tensor(alphabet.letter_indices)
    rows = [letters[torch.randint(len(letters), (n,), generator=g)].tolist() for n in lengths]
    rows[0][0] = alphabet.mask_idx
    return alphabet.get_batch_converter().pad(rows)


#: letter lengths per row: neither the batch size nor the length is the traced batch's (3 rows, 9 letters)
BATCHES = [[21], [37, 5, 12, 1, 30]]


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def exported(request, tmp_path_factory) -> tuple[str, RNAEncoder, Alphabet, object]:
    family = request.param
    model, alphabet = family_model(family, seed=1)
    path = tmp_path_factory.mktemp("onnx") / f"{family}.onnx"
    done = export_onnx(model, alphabet, path, family)
    return family, model, alphabet, done


def test_onnxruntime_reproduces_each_family_on_padded_batches_of_other_shapes(exported):
    family, model, alphabet, done = exported
    path = done.paths[0]
    onnx.checker.check_model(str(path), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["tokens"]
    assert [o.name for o in session.get_outputs()] == [LOGITS, LAST_HIDDEN]
    for seed, lengths in enumerate(BATCHES):
        tokens = random_batch(alphabet, lengths, seed)
        logits, last = session.run(None, {"tokens": tokens.numpy()})
        with torch.no_grad():
            mine = model(tokens, repr_layers=[model.num_layers])
        assert (torch.from_numpy(logits) - mine["logits"]).abs().max().item() <= TOL
        assert (torch.from_numpy(last) - mine["representations"][model.num_layers]).abs().max().item() <= TOL
    assert done.max_abs_diff <= TOL


def test_axes_are_dynamic_and_metadata_names_source_and_alphabet(exported):
    family, model, alphabet, done = exported
    proto = onnx.load(str(done.paths[0]), load_external_data=False)
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param for d in dims] == ["batch", "length"] and proto.graph.input[0].type.tensor_type.elem_type == 7
    meta = {p.key: p.value for p in proto.metadata_props}
    note = json.loads(meta[PROVENANCE_KEY])
    assert note["source"] == family and note["rnalm_version"] == __version__
    assert json.loads(meta[ALPHABET_KEY])["tokens"] == list(alphabet.tokens)
    assert done.opset == {o.domain: o.version for o in proto.opset_import}[""]


def test_a_model_without_lm_head_exports_its_final_representation(tmp_path):
    model, alphabet = family_model("rna-fm")
    model.config.lm_head = False
    model.lm_head = None
    done = export_onnx(model, alphabet, tmp_path / "m.onnx", "rna-fm")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == [LAST_HIDDEN]
    assert done.max_abs_diff <= TOL


@pytest.mark.slow  # the path of models over 2 GB (external weights), exported and reloaded: about 17 s
def test_external_weights_sit_beside_the_file_and_honour_the_umask(tmp_path):
    model, alphabet = family_model("lamar")
    path = tmp_path / "lamar.onnx"
    old = os.umask(0o027)
    try:
        done = export_onnx(model, alphabet, path, "lamar", external_data=True)
    finally:
        os.umask(old)
    data = tmp_path / "lamar.onnx.data"
    assert done.paths == (path, data)
    locations = {
        e.value for t in onnx.load(str(path), load_external_data=False).graph.initializer for e in t.external_data
    }
    assert data.name in locations
    assert {stat.S_IMODE(p.stat().st_mode) for p in (path, data)} == {0o640}
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    tokens = random_batch(alphabet, [17, 3], 0)
    with torch.no_grad():
        expected = model(tokens)["logits"]
    assert (torch.from_numpy(session.run(["logits"], {"tokens": tokens.numpy()})[0]) - expected).abs().max() <= TOL
    # a later single-file export in its place removes the external weights it no longer uses
    export_onnx(model, alphabet, path, "lamar", overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lamar.onnx"]
