"""What an embedding output records about its run, and which model it was made with.

:func:`run_metadata` is the output's metadata (model, settings, batching). An output records
``weights_id``, the digest of the model's state (:func:`rnalm.io.digest.state_sha256`, the id a
fine-tuning run and a shipped model's manifest record too), ``model_id`` (the same value, checked
by ``--resume``) and ``weights_sha256``, the checkpoint file's sha256 when the model came from a
file. Outputs of earlier versions recorded as ``model_id`` the file's sha256 or a digest of
the float32 tensors; :func:`adopt_old_identity` recognises those, so such an output can still be
resumed with the model it was made with.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Callable, Optional

import torch

from rnalm.alphabet import Alphabet
from rnalm.embedding.batching import Preparer
from rnalm.embedding.options import EmbedOptions
from rnalm.io.digest import sha256_file
from rnalm.model import EncoderConfig
from rnalm.precision import Precision
from rnalm.version import __version__

#: Prefix of the tensor digest earlier versions recorded as ``model_id`` when no file sha256 was known.
OLD_TENSOR_ID = "state-sha256:"


def checkpoint_file(source: Optional[str]) -> Optional[Path]:
    """The file weights are read from when ``source`` names one on disk (a file, or a model folder's
    ``model.safetensors``/``pytorch_model.bin``), else None."""
    if not source:
        return None
    p = Path(source)
    if p.is_file():
        return p
    if p.is_dir():
        for fn in ("model.safetensors", "pytorch_model.bin"):
            if (p / fn).is_file():
                return p / fn
    return None


def weights_file_sha256(
    model: torch.nn.Module, source: Optional[str], hashed: Optional[tuple[Path, Callable[[], str]]] = None
) -> Optional[str]:
    """The sha256 of the checkpoint file the weights were read from, when known. ``hashed``: a file
    and the call giving its sha256, computed while the model loaded (used when it is that file)."""
    prov = getattr(model, "provenance", {}) or {}
    sha = prov.get("weights_sha256")
    if sha:
        return sha
    p = checkpoint_file(prov.get("source_path") or source)
    if p is None:
        return None
    if hashed is not None and hashed[0].resolve() == p.resolve():
        return hashed[1]()
    return sha256_file(p)


def old_model_id(model: torch.nn.Module, file_sha256: Optional[str]) -> str:
    """The ``model_id`` an earlier version recorded for ``model`` (call before casting it)."""
    if file_sha256:
        return file_sha256
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().float().cpu().contiguous().numpy().tobytes())
    return f"{OLD_TENSOR_ID}{h.hexdigest()}"


def adopt_old_identity(
    old: dict[str, Any], model: torch.nn.Module, file_sha256: Optional[str], weights_id: str
) -> dict[str, Any]:
    """``old`` metadata with ``model_id`` read as ``weights_id`` when it is an earlier version's id of
    this very model, so the resume check compares like with like; otherwise unchanged."""
    if not old or "weights_id" in old or old.get("model_id") is None:
        return old
    if old["model_id"] == old_model_id(model, file_sha256):
        return {**old, "model_id": weights_id}
    return old


def run_metadata(
    alphabet: Alphabet,
    cfg: EncoderConfig,
    identity: dict[str, Any],
    layers: list[int],
    pools: list[str],
    preparer: Preparer,
    opts: EmbedOptions,
    precision: Precision,
    batching: tuple[int, int],
    rank: int,
    world: int,
    input_path: Path,
) -> dict[str, Any]:
    """The metadata an output stores: ``identity`` holds ``model``, ``weights_sha256`` and ``weights_id``;
    ``batching`` is (tokens per batch, look-ahead)."""
    window = alphabet.max_length
    return {
        "format": "rnalm-embeddings",
        "format_version": 1,
        "storage": opts.output_format,
        "model": identity["model"],
        "weights_sha256": identity["weights_sha256"],
        "model_id": identity["weights_id"],
        "weights_id": identity["weights_id"],
        "rnalm_version": __version__,
        "alphabet": alphabet.name,
        "k_mer": alphabet.k_mer,
        "embed_dim": cfg.embed_dim,
        "num_layers": cfg.num_layers,
        "layers": layers,
        "pools": pools,
        "contacts": bool(opts.contacts),
        "attentions": bool(opts.attentions),
        "long": opts.long,
        "window": window,
        "overlap": preparer.overlap_for(window) if (window and opts.long == "window") else None,
        "dtype": precision.name,
        "dtype_mode": precision.mode,
        "dtype_reason": precision.reason,
        "unknown": opts.unknown,
        "tokens_per_batch": batching[0],
        "lookahead": batching[1],
        "rank": rank,
        "world_size": world,
        "input": str(input_path),
        "finished": False,
        "stored_dtype": "float32",
    }
