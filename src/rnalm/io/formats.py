"""Checkpoint formats: what a (sniff, convert) pair is, and the helpers converters share.

Each format module defines one :class:`CheckpointFormat` value; the table of all of them, in the
order they are tried, is :data:`rnalm.models.FORMATS`, and detection by content is
:func:`rnalm.models.detect_format`. ``sniff`` looks at a :class:`Probe` (cheap facts about the
path, computed once and shared) and says whether the file is its format; ``convert`` turns it into
a :class:`Converted` -- config, alphabet and a state dict in rnalm's parameter names -- which
:func:`rnalm.load` then loads *strictly*. Format quirks live only in the converters.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Optional

import torch

from rnalm.alphabet import Alphabet
from rnalm.errors import CheckpointError
from rnalm.io.safe_torch import safe_torch_load
from rnalm.model.config import EncoderConfig
from rnalm.model.footprint import tensor_shapes

ZIP_MAGIC = b"PK\x03\x04"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
#: Legacy (pre-1.6) torch.save files start with a pickled magic number after protocol byte 0x80.
PICKLE_PROTO = b"\x80"


@dataclass
class Converted:
    """What a converter hands to :func:`rnalm.load`."""

    config: EncoderConfig
    alphabet: Alphabet
    state_dict: dict[str, torch.Tensor]
    provenance: dict[str, Any] = field(default_factory=dict)


class Probe:
    """Lazily computed facts about a checkpoint path, shared by all sniffers."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @cached_property
    def is_dir(self) -> bool:
        return self.path.is_dir()

    @cached_property
    def head(self) -> bytes:
        if self.is_dir:
            return b""
        with open(self.path, "rb") as fh:
            return fh.read(16)

    @property
    def is_torch_file(self) -> bool:
        return self.head.startswith(ZIP_MAGIC) or self.head.startswith(PICKLE_PROTO)

    @property
    def is_hdf5(self) -> bool:
        return self.head.startswith(HDF5_MAGIC)

    @cached_property
    def safetensors_metadata(self) -> Optional[dict[str, str]]:
        """The ``__metadata__`` of a safetensors file, or None if the file is not safetensors."""
        if self.is_dir or len(self.head) < 9:
            return None
        (n,) = struct.unpack("<Q", self.head[:8])
        if self.head[8:9] != b"{" or n > 100_000_000:
            return None
        with open(self.path, "rb") as fh:
            fh.seek(8)
            try:
                header = json.loads(fh.read(n))
            except (ValueError, UnicodeDecodeError):
                return None
        return header.get("__metadata__", {}) or {}

    @cached_property
    def torch_obj(self) -> Any:
        """The safely unpickled content of a torch checkpoint (loaded once)."""
        return safe_torch_load(self.path)

    def json_file(self, name: str) -> Optional[dict]:
        p = self.path / name
        if not (self.is_dir and p.is_file()):
            return None
        try:
            return json.loads(p.read_text())
        except ValueError as exc:
            raise CheckpointError(f"{p}: invalid JSON: {exc}") from exc


@dataclass(frozen=True)
class CheckpointFormat:
    """A checkpoint format: its name, a line describing the files, its content sniffer and its converter."""

    name: str
    description: str
    sniff: Callable[[Probe], bool]
    convert: Callable[[Probe], Converted]


def strip_prefix(state: dict[str, Any], prefixes: tuple[str, ...]) -> dict[str, Any]:
    """Remove the first matching prefix from every key (``module.`` from DDP, fairseq's ``encoder.``)."""
    out = {}
    for k, v in state.items():
        for p in prefixes:
            if k.startswith(p):
                k = k[len(p) :]
                break
        out[k] = v
    return out


def check_rotary_inv_freq(state: dict[str, torch.Tensor], suffix: str, head_dim: int) -> dict[str, torch.Tensor]:
    """Drop stored rotary ``inv_freq`` buffers after checking they are the standard ones."""
    expected = 1.0 / (10000 ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    out = {}
    for k, v in state.items():
        if k.endswith(suffix):
            if v.shape != expected.shape or not torch.allclose(v.float(), expected, rtol=1e-5, atol=1e-7):
                raise CheckpointError(f"rotary buffer {k} differs from the standard base-10000 frequencies")
            continue
        out[k] = v
    return out


def check_state_matches(config: EncoderConfig, state: dict[str, torch.Tensor], context: str) -> None:
    """Strict key and shape check of a converted state dict against ``config``'s architecture.

    Run by converters before any model is built, so a mismatch is a :class:`CheckpointError` in
    checkpoint terms (``context`` says what the file claimed to be) rather than a bare RuntimeError.
    """
    check_shapes_match(config, {k: tuple(v.shape) for k, v in state.items()}, context)


def check_shapes_match(config: EncoderConfig, shapes: dict[str, tuple[int, ...]], context: str) -> None:
    """:func:`check_state_matches` on tensor shapes alone (e.g. from a safetensors header)."""
    expected = tensor_shapes(config)
    missing = sorted(set(expected) - set(shapes))
    unexpected = sorted(set(shapes) - set(expected))
    wrong = sorted(
        f"{k}: {tuple(shapes[k])} != {expected[k]}"
        for k in set(expected) & set(shapes)
        if tuple(shapes[k]) != expected[k]
    )
    parts = [
        f"{what} {items[:8]}{' ...' if len(items) > 8 else ''}"
        for what, items in (
            ("shape mismatches (file != config)", wrong),
            ("missing tensors", missing),
            ("unexpected tensors", unexpected),
        )
        if items
    ]
    if parts:
        raise CheckpointError(
            f"{context} ({config.num_layers} layers, {config.embed_dim} wide, {config.attention_heads} heads, "
            f"ffn {config.ffn_embed_dim}, {config.max_positions} positions): " + "; ".join(parts)
        )
