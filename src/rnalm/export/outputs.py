"""Where an export is written: what ``--overwrite`` may replace, and the staged folder it is built in.

An export is built in a folder beside its destination (:func:`~rnalm.io.output_guard.staging_path`)
made with a plain ``mkdir``, so the folder and every file written into it get the modes the umask
allows (no 0600 / 0700 temporary files), and is moved into place only when complete. An existing
destination is replaced only under ``--overwrite`` and only if rnalm exported it: an HF directory
whose ``config.json`` carries the provenance note, an ONNX file whose metadata does.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Optional

from rnalm.errors import option
from rnalm.export.provenance import PROVENANCE_KEY
from rnalm.io.output_guard import (
    OutputKind,
    claim_output,
    exists,
    output_lock,
    remove_path,
    remove_stale_staging,
    staging_path,
    swap_into_place,
)

#: the suffix of an ONNX file's external weights, beside it (models over the protobuf size limit)
EXTERNAL_DATA_SUFFIX = ".data"


def _is_hf_export(path: Path) -> bool:
    cfg = json.loads((path / "config.json").read_text(encoding="utf-8"))
    return isinstance(cfg, dict) and isinstance(cfg.get(PROVENANCE_KEY), dict)


def _is_onnx_export(path: Path) -> bool:
    try:
        import onnx
    except ImportError:
        return False
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:  # protobuf's DecodeError and friends: not an ONNX file
        return False
    return any(p.key == PROVENANCE_KEY for p in model.metadata_props)


def _is_onnx_data(path: Path) -> bool:
    return path.name.endswith(EXTERNAL_DATA_SUFFIX) and _is_onnx_export(
        path.with_name(path.name[: -len(EXTERNAL_DATA_SUFFIX)])
    )


HF_DIRECTORY = OutputKind(
    "hf-export", f"a Hugging Face directory rnalm exported (config.json with '{PROVENANCE_KEY}')", _is_hf_export
)
ONNX_FILE = OutputKind("onnx-export", f"an ONNX file rnalm exported (metadata '{PROVENANCE_KEY}')", _is_onnx_export)
ONNX_DATA = OutputKind("onnx-export-data", "the external weights of an ONNX file rnalm exported", _is_onnx_data)


def external_data_path(path: Path) -> Path:
    return path.with_name(path.name + EXTERNAL_DATA_SUFFIX)


def claim(path: Path, kind: OutputKind, overwrite: bool, inputs: Iterable[Optional[str]]) -> None:
    """Refuse ``path`` unless it is new, or rnalm's own export of ``kind`` and ``overwrite`` is set."""
    claim_output(path, kind, overwrite, inputs=inputs, overwrite_option=option("overwrite"))


@contextmanager
def staged(path: Path, kind: OutputKind, overwrite: bool, inputs: Iterable[Optional[str]]) -> Iterator[Path]:
    """A fresh folder beside ``path`` for the ``with`` block to build the output in, under ``path``'s lock.

    The block leaves its result in the folder (a directory export: the folder itself; a file
    export: files named as their destinations); :func:`swap_into_place` and :func:`place_files`
    move it. The folder is removed whatever happens.
    """
    inputs = list(inputs)
    claim(path, kind, overwrite, inputs)
    path.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(path):
        claim(path, kind, overwrite, inputs)  # again: another process may have written it meanwhile
        remove_stale_staging(path, kind)
        stage = staging_path(path)
        if exists(stage):
            remove_path(stage)
        os.mkdir(stage)
        try:
            yield stage
        finally:
            if exists(stage):
                remove_path(stage)


def place_directory(stage: Path, path: Path) -> Path:
    """Move the complete staged directory to ``path`` (an old export there is removed afterwards)."""
    return swap_into_place(stage, path, HF_DIRECTORY)


def place_files(stage: Path, path: Path) -> list[Path]:
    """Move the staged ONNX file (and its external weights, first, when there are any) to ``path``."""
    data, old_data = stage / external_data_path(path).name, external_data_path(path)
    external = data.exists()
    placed = [swap_into_place(data, old_data, ONNX_DATA)] if external else []
    placed.insert(0, swap_into_place(stage / path.name, path, ONNX_FILE))
    if not external and exists(old_data) and ONNX_DATA.owns(old_data):
        remove_path(old_data)  # the external weights of an earlier export, which this one does not use
    return placed


__all__ = [
    "EXTERNAL_DATA_SUFFIX",
    "HF_DIRECTORY",
    "ONNX_DATA",
    "ONNX_FILE",
    "claim",
    "external_data_path",
    "place_directory",
    "place_files",
    "staged",
]
