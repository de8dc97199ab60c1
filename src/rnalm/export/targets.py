"""The export targets, in one table, and :func:`export`, which loads a model and writes one."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Union

from rnalm.api import load, resolve
from rnalm.errors import option
from rnalm.export.errors import ExportError
from rnalm.export.hf import export_hf
from rnalm.export.hf_config import HF_FAMILIES
from rnalm.export.onnx_file import export_onnx
from rnalm.export.result import Exported

#: target name -> (what it writes, the writer); ``rnalm export --to`` offers these names
TARGETS: dict[str, tuple[str, Callable[..., Exported]]] = {
    "hf": (f"a transformers EsmForMaskedLM directory, for {HF_FAMILIES}", export_hf),
    "onnx": ("one ONNX file with dynamic batch and length, for any model", export_onnx),
}


def export(model: Union[str, Path], to: str, path: Union[str, Path], overwrite: bool = False) -> Exported:
    """Load ``model`` (anything :func:`rnalm.load` takes) and write it as target ``to`` at ``path``.

    An existing ``path`` is replaced only with ``overwrite`` and only if rnalm exported it.
    """
    if to not in TARGETS:
        raise ExportError(f"unknown export target {to!r}; {option('to')} takes one of: {', '.join(TARGETS)}")
    source = resolve(model)
    encoder, alphabet = load(source)
    writer = TARGETS[to][1]
    return writer(encoder, alphabet, Path(path), str(model), overwrite=overwrite, inputs=[str(source)])


__all__ = ["TARGETS", "export"]
