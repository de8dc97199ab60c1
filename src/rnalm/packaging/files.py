"""Small file helpers of the packager: JSON reading, listing a folder, display paths, float16 storage
(of a run's weights, or of a native backbone folder with its config's weights sha256)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save

from rnalm.io.atomic import atomic_write_bytes
from rnalm.io.digest import sha256_file
from rnalm.io.jsonfile import write_json
from rnalm.io.native import CONFIG_FILE, FORMAT_NAME, WEIGHTS_FILE


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def all_files(folder: Path) -> list[str]:
    """Every file under ``folder``, relative to it, sorted."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def display_path(p: Path) -> str:
    """Relative to the working directory when inside it (the manifest should not record a home folder)."""
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p.resolve())


#: the safetensors metadata of a fine-tuning run's weights (a native backbone keeps its own format name)
RUN_WEIGHTS_FORMAT = "rnalm-finetune"


def store_float16(path: Path, format_name: str = RUN_WEIGHTS_FORMAT) -> None:
    """Rewrite a safetensors file with its floating-point tensors in half precision."""
    state = load_file(str(path))
    state = {k: (v.to(torch.float16) if v.is_floating_point() else v).contiguous() for k, v in state.items()}
    # one metadata key: safetensors writes metadata from a hash map, so two keys can come out in
    # either order and the same weights would get another sha256 each time they are packaged
    atomic_write_bytes(path, save(state, metadata={"format": format_name}))


def store_native_float16(folder: Path) -> None:
    """Rewrite a native folder's weights in float16 and its ``config.json`` weights sha256 to match."""
    store_float16(folder / WEIGHTS_FILE, FORMAT_NAME)
    cfg = read_json(folder / CONFIG_FILE)
    cfg["weights_sha256"] = sha256_file(folder / WEIGHTS_FILE)
    write_json(folder / CONFIG_FILE, cfg)


__all__ = ["RUN_WEIGHTS_FORMAT", "all_files", "display_path", "read_json", "store_float16", "store_native_float16"]
