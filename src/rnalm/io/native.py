"""rnalm's native checkpoint: a directory with ``config.json`` and ``model.safetensors``.

``config.json`` describes everything needed to rebuild the model without guessing: the encoder
architecture, the alphabet (token order and input rules), provenance (which published file it
came from, converter, rnalm version) and the sha256 of the weights file, checked on load.
safetensors cannot hold code, so loading a native checkpoint is always safe.

Loading checks before it allocates: every field of ``config.json`` against :class:`NativeConfigFile`
(strict types and ranges), then the tensor shapes the encoder config implies against the shapes in
the safetensors header (read without the data), so a config that claims 2,000 layers next to a
small weights file is refused in milliseconds instead of allocating gigabytes.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, cast

import torch
from pydantic import Field, with_config
from safetensors.torch import save_file

from rnalm.alphabet import Alphabet
from rnalm.errors import CheckpointError
from rnalm.io.arrayfiles import read_safetensors, safetensors_shapes
from rnalm.io.digest import sha256_file
from rnalm.io.formats import CheckpointFormat, Converted, Probe, check_shapes_match
from rnalm.io.output_guard import OutputKind, swap_into_place
from rnalm.io.permissions import honour_umask
from rnalm.model.config import EncoderConfig
from rnalm.model.footprint import check_fits_in_memory, implied_size
from rnalm.schema import STRICT, validate_fields
from rnalm.version import __version__

FORMAT_NAME = "rnalm"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


@with_config(STRICT)
@dataclass
class NativeConfigFile:
    """The schema of ``config.json``; unknown keys are errors."""

    format: Literal["rnalm"]
    encoder: EncoderConfig
    alphabet: Alphabet
    format_version: Annotated[int, Field(ge=1, le=FORMAT_VERSION)] = FORMAT_VERSION
    provenance: dict[str, Any] = field(default_factory=dict)
    weights_sha256: Optional[Annotated[str, Field(pattern="^[0-9a-f]{64}$")]] = None


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
        cfg = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "encoder": cast(EncoderConfig, model.config).to_dict(),
            "alphabet": alphabet.with_max_length(None).to_dict(),
            "provenance": {"rnalm_version": __version__, **(provenance or {})},
            "weights_sha256": sha256_file(weights),
        }
        (tmp / CONFIG_FILE).write_text(json.dumps(cfg, indent=2) + "\n")
        honour_umask(tmp)
        swap_into_place(tmp, path, NATIVE_CHECKPOINT)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def _read_config_json(path: str | Path) -> tuple[Path, Any]:
    p = Path(path) / CONFIG_FILE
    try:
        cfg = json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{p}: cannot read rnalm config: {exc}") from exc
    if not isinstance(cfg, dict) or cfg.get("format") != FORMAT_NAME:
        found = cfg.get("format") if isinstance(cfg, dict) else type(cfg).__name__
        raise CheckpointError(f"{p}: not an rnalm config (format={found!r})")
    version = cfg.get("format_version", 0)
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise CheckpointError(f"{p}: format version {version} is newer than this rnalm supports")
    return p, cfg


def load_native_config(path: str | Path) -> NativeConfigFile:
    """``config.json`` of native checkpoint directory ``path``, every field checked."""
    p, cfg = _read_config_json(path)
    return validate_fields(NativeConfigFile, cfg, str(p), error=CheckpointError)


def read_native_config(path: str | Path) -> dict[str, Any]:
    """``config.json`` as JSON data, after the checks of :func:`load_native_config`."""
    p, cfg = _read_config_json(path)
    validate_fields(NativeConfigFile, cfg, str(p), error=CheckpointError)
    return cfg


def check_weights_fit_config(config: EncoderConfig, weights: Path, config_path: Path) -> tuple[int, int]:
    """Refuse weights whose tensors differ from those ``config`` implies, before anything is allocated.

    The totals are compared first (cheap for any config); the per-tensor comparison names the
    first tensors that differ with both shapes. Returns the :func:`implied_size` of ``config``.
    """
    shapes = safetensors_shapes(weights)
    if config.lm_head and config.tie_lm_head and "embed_tokens.weight" in shapes:
        shapes.setdefault("lm_head.weight", shapes["embed_tokens.weight"])  # tied: stored once
    stored = sum(int(torch.Size(s).numel()) for s in shapes.values())
    implied, nbytes = implied_size(config)
    context = f"{weights}: tensors do not match the encoder that {config_path} describes"
    if stored != implied:
        raise CheckpointError(
            f"{context}: the config implies {implied:,} values ({nbytes / 2**30:,.2f} GiB: {config.num_layers} "
            f"layers x {config.embed_dim} wide), the file holds {stored:,}; the config was edited or belongs "
            f"to other weights (convert the original checkpoint again with rnalm convert)"
        )
    check_shapes_match(config, shapes, context)
    return implied, nbytes


def is_native_checkpoint(path: Path) -> bool:
    """True for a directory whose ``config.json`` says ``format: rnalm`` (what :func:`save_native` writes)."""
    return (Path(path) / CONFIG_FILE).is_file() and bool(read_native_config(path))


#: ``rnalm convert`` outputs and every checkpoint :func:`save_native` writes.
NATIVE_CHECKPOINT = OutputKind(
    "checkpoint", "an rnalm native checkpoint (config.json with format 'rnalm')", is_native_checkpoint
)


def _sniff(probe: Probe) -> bool:
    cfg = probe.json_file(CONFIG_FILE)
    return cfg is not None and cfg.get("format") == FORMAT_NAME


def convert_native(probe: Probe, verify: bool = True) -> Converted:
    cfg = load_native_config(probe.path)
    config = cfg.encoder
    weights = probe.path / WEIGHTS_FILE
    if not weights.is_file():
        raise CheckpointError(f"{probe.path}: missing {WEIGHTS_FILE}")
    size = check_weights_fit_config(config, weights, probe.path / CONFIG_FILE)
    # the file's tensors and the model hold the weights at once while loading
    check_fits_in_memory(config, str(probe.path), copies=2, error=CheckpointError, size=size)
    if verify and cfg.weights_sha256:
        actual = sha256_file(weights)
        if actual != cfg.weights_sha256:
            raise CheckpointError(
                f"{weights}: sha256 {actual} does not match config.json ({cfg.weights_sha256}); "
                f"the file is corrupted or was replaced"
            )
    state = read_safetensors(weights)
    if config.lm_head and config.tie_lm_head and "lm_head.weight" not in state:
        state["lm_head.weight"] = state["embed_tokens.weight"]
    prov = dict(cfg.provenance)
    prov["weights_sha256"] = cfg.weights_sha256
    return Converted(config, cfg.alphabet, state, prov)


#: The native format, tried first (see :data:`rnalm.models.FORMATS`).
NATIVE_FORMAT = CheckpointFormat(
    FORMAT_NAME, "rnalm native directory (config.json with format 'rnalm' + model.safetensors)", _sniff, convert_native
)
