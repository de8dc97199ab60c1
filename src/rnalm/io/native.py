"""rnalm's native checkpoint: a directory with ``config.json`` and ``model.safetensors``.

``config.json`` describes everything needed to rebuild the model without guessing: the encoder
architecture, the alphabet (token order and input rules), provenance (which published file it
came from, converter, rnalm version) and the sha256 of the weights file, checked on load.
safetensors cannot hold code, so loading a native checkpoint is always safe.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, Optional

import torch
from safetensors.torch import load_file, save_file

from rnalm.alphabet import Alphabet
from rnalm.errors import CheckpointError
from rnalm.io.formats import Converted, Probe, register_format
from rnalm.io.output_guard import OutputKind, swap_into_place
from rnalm.model.config import EncoderConfig

FORMAT_NAME = "rnalm"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _untied_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """State dict without aliases of the same storage (tied LM head), contiguous for safetensors."""
    seen: set[tuple[int, tuple[int, ...]]] = set()
    out = {}
    for k, v in model.state_dict().items():
        key = (v.data_ptr(), tuple(v.shape))
        if v.numel() and key in seen:
            continue
        seen.add(key)
        out[k] = v.detach().contiguous().cpu()
    return out


def save_native(
    model: torch.nn.Module,
    alphabet: Alphabet,
    path: str | Path,
    provenance: Optional[dict[str, Any]] = None,
    extra: Optional[dict[str, Any]] = None,
) -> Path:
    """Write ``model`` (an :class:`~rnalm.model.RNAEncoder`) atomically to directory ``path``.

    The checkpoint is built beside ``path`` and swapped in; an existing ``path`` is replaced
    only if it is an rnalm native checkpoint (or an empty directory), never anything else.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        weights = tmp / WEIGHTS_FILE
        save_file(_untied_state(model), str(weights), metadata={"format": FORMAT_NAME})
        from rnalm import __version__

        cfg = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "encoder": model.config.to_dict(),
            "alphabet": alphabet.with_max_length(None).to_dict(),
            "provenance": {"rnalm_version": __version__, **(provenance or {})},
            "weights_sha256": sha256_file(weights),
        }
        if extra:
            cfg.update(extra)
        (tmp / CONFIG_FILE).write_text(json.dumps(cfg, indent=2) + "\n")
        swap_into_place(tmp, path, NATIVE_CHECKPOINT)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def read_native_config(path: str | Path) -> dict[str, Any]:
    p = Path(path) / CONFIG_FILE
    try:
        cfg = json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{p}: cannot read rnalm config: {exc}") from exc
    if cfg.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{p}: not an rnalm config (format={cfg.get('format')!r})")
    if cfg.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{p}: format version {cfg['format_version']} is newer than this rnalm supports")
    return cfg


def is_native_checkpoint(path: Path) -> bool:
    """True for a directory whose ``config.json`` says ``format: rnalm`` (what :func:`save_native` writes)."""
    return (Path(path) / CONFIG_FILE).is_file() and bool(read_native_config(path))


#: ``rnalm convert`` outputs and every checkpoint :func:`save_native` writes.
NATIVE_CHECKPOINT = OutputKind("checkpoint", "an rnalm native checkpoint (config.json with format 'rnalm')",
                               is_native_checkpoint)


def _sniff(probe: Probe) -> bool:
    cfg = probe.json_file(CONFIG_FILE)
    return bool(cfg) and cfg.get("format") == FORMAT_NAME


@register_format("rnalm", "rnalm native directory (config.json with format 'rnalm' + model.safetensors)", _sniff)
def convert_native(probe: Probe, verify: bool = True) -> Converted:
    cfg = read_native_config(probe.path)
    weights = probe.path / WEIGHTS_FILE
    if not weights.is_file():
        raise CheckpointError(f"{probe.path}: missing {WEIGHTS_FILE}")
    if verify and cfg.get("weights_sha256"):
        actual = sha256_file(weights)
        if actual != cfg["weights_sha256"]:
            raise CheckpointError(
                f"{weights}: sha256 {actual} does not match config.json ({cfg['weights_sha256']}); "
                f"the file is corrupted or was replaced"
            )
    try:
        state = load_file(str(weights))
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"{weights}: unreadable safetensors file: {exc}") from exc
    config = EncoderConfig.from_dict(cfg["encoder"])
    if config.lm_head and config.tie_lm_head and "lm_head.weight" not in state:
        state["lm_head.weight"] = state["embed_tokens.weight"]
    prov = dict(cfg.get("provenance", {}))
    prov["weights_sha256"] = cfg.get("weights_sha256")
    return Converted(config, Alphabet.from_dict(cfg["alphabet"]), state, prov)
