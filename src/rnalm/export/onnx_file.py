"""``rnalm export --to onnx``: any rnalm encoder as one ONNX file with dynamic batch and length.

The graph (:class:`~rnalm.export.onnx_graph.ServingEncoder`) takes ``tokens`` (int64, batch x
length, rnalm's token ids padded with ``<pad>``) and returns ``logits`` and ``last_hidden`` (the final
representation, after the last LayerNorm; rnalm's ``representations[num_layers]``). It is exported with
``torch.onnx.export``'s dynamo exporter, validated with ``onnx.checker``, and run by onnxruntime on a
padded batch of another size than the one it was traced with, compared with rnalm's forward, before
it is moved into place. ``metadata_props`` carry the provenance and the alphabet (token list and
special ids) so a server can tokenise without rnalm. Models whose weights pass protobuf's 2 GB limit
keep them in ``FILE.data`` beside the file. onnx, onnxruntime and onnxscript are an optional extra
(``rnalm[onnx]``), imported when an export runs.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

import torch

from rnalm.alphabet import Alphabet
from rnalm.export.errors import ExportError, missing_extra
from rnalm.export.onnx_graph import INPUT_NAME, LAST_HIDDEN, LOGITS, ServingEncoder, fresh_copy
from rnalm.export.outputs import ONNX_DATA, ONNX_FILE, claim, external_data_path, place_files, staged
from rnalm.export.probe import probe_tokens
from rnalm.export.provenance import PROVENANCE_KEY, provenance
from rnalm.export.result import Exported, file_bytes
from rnalm.io.permissions import honour_umask
from rnalm.model.encoder import RNAEncoder

#: metadata key holding the alphabet (tokens in id order, special tokens, input rules) as JSON
ALPHABET_KEY = "rnalm_alphabet"
#: the batch shape traced; the check runs another (see :data:`rnalm.export.probe.PROBE_LENGTHS`)
TRACE_LENGTHS = (9, 4, 7)


def _onnx() -> tuple[Any, Any]:
    try:
        import onnx
        import onnxruntime
        import onnxscript  # noqa: F401  (torch.onnx's exporter needs it)
    except ImportError as exc:
        raise missing_extra("ONNX", "onnx, onnxruntime and onnxscript", "onnx") from exc
    return onnx, onnxruntime


@contextmanager
def quiet() -> Iterator[None]:
    """The exporter without its progress lines and warnings: the command prints one summary line."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def trace(model: RNAEncoder, alphabet: Alphabet, note: dict[str, Any]) -> tuple[Any, list[str]]:
    """The ``torch.onnx`` program of ``model`` (dynamic batch and length) and its output names."""
    serving = ServingEncoder(fresh_copy(model)).eval()
    tokens = probe_tokens(alphabet, TRACE_LENGTHS, seed=1)
    length = torch.export.Dim("length", min=2, max=model.config.max_positions)
    with quiet(), torch.no_grad():
        program = torch.onnx.export(
            serving,
            (tokens,),
            input_names=[INPUT_NAME],
            output_names=serving.output_names,
            dynamic_shapes={"tokens": {0: torch.export.Dim("batch"), 1: length}},
            dynamo=True,
            verbose=False,
        )
    if program is None:  # only the legacy exporter returns nothing
        raise ExportError("torch.onnx.export returned no program: this torch has no dynamo ONNX exporter")
    program.model.metadata_props[PROVENANCE_KEY] = json.dumps(note)
    program.model.metadata_props[ALPHABET_KEY] = json.dumps(alphabet.with_max_length(model.config.max_length).to_dict())
    program.model.doc_string = (
        f"rnalm export of {note['source']}: tokens (int64, batch x length, padded with id "
        f"{alphabet.padding_idx}) -> {', '.join(serving.output_names)}"
    )
    return program, serving.output_names


def check_file(path: Path, model: RNAEncoder, alphabet: Alphabet, names: list[str]) -> float:
    """Validate ``path`` with ``onnx.checker`` and run it with onnxruntime on the probe batch.

    Returns the largest absolute difference from rnalm's logits and final representation.
    """
    onnx, ort = _onnx()
    onnx.checker.check_model(str(path), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    tokens = probe_tokens(alphabet)
    outputs = dict(zip(names, session.run(names, {INPUT_NAME: tokens.numpy()})))
    with torch.no_grad():
        mine = model(tokens.to(model.embed_tokens.weight.device))
    expected = {LOGITS: mine.get("logits"), LAST_HIDDEN: mine["last_hidden"]}
    return max((torch.from_numpy(outputs[n]) - expected[n].cpu()).abs().max().item() for n in names)


def export_onnx(
    model: RNAEncoder,
    alphabet: Alphabet,
    path: Path,
    source: str,
    overwrite: bool = False,
    inputs: Iterable[Optional[str]] = (),
    external_data: Optional[bool] = None,
) -> Exported:
    """Write ``model`` as an ONNX file at ``path`` (see the module docstring).

    ``external_data``: weights in ``path.data`` beside the file (None: only past protobuf's 2 GB).
    """
    start = time.perf_counter()
    _onnx()
    inputs = list(inputs)
    note = provenance(model, alphabet, source)
    claim(external_data_path(path), ONNX_DATA, overwrite, inputs)
    with staged(path, ONNX_FILE, overwrite, inputs) as stage:
        program, names = trace(model, alphabet, note)
        program.save(str(stage / path.name), external_data=external_data)
        diff = check_file(stage / path.name, model, alphabet, names)
        honour_umask(stage)
        size = file_bytes(stage)
        opset = program.model.opset_imports[""]
        paths = place_files(stage, path)
    return Exported(
        target="onnx",
        paths=tuple(paths),
        bytes=size,
        parameters=sum(p.numel() for p in model.parameters()),
        opset=opset,
        max_abs_diff=diff,
        notes=(),
        seconds=time.perf_counter() - start,
    )


__all__ = ["ALPHABET_KEY", "check_file", "export_onnx", "trace"]
