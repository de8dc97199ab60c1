"""Model and device setup of an embedding run: load the model, record its identity, check the
options it constrains (layers, pools, contacts, windows), put it on the run's device in the weights
its arithmetic reads (:meth:`rnalm.precision.Precision.prepare`)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

import torch

from rnalm import shipped
from rnalm.alphabet import Alphabet
from rnalm.api import load
from rnalm.embedding.batching import Preparer, check_long_options
from rnalm.embedding.metadata import adopt_old_identity, checkpoint_file, weights_file_sha256
from rnalm.embedding.options import EmbedOptions, resolve_layers
from rnalm.errors import RnalmError, option
from rnalm.io.digest import sha256_file, state_sha256
from rnalm.model import EncoderConfig
from rnalm.precision import Precision


@dataclass
class EmbedModel:
    """A model ready to embed with: on its device and dtype, with what the run needs to know of it."""

    model: torch.nn.Module
    #: the model's encoder configuration (``model.config``)
    config: EncoderConfig
    alphabet: Alphabet
    #: ``model`` (the name or path given), ``weights_sha256`` (file) and ``weights_id`` (state digest)
    identity: dict[str, Any]
    layers: list[int]
    preparer: Preparer


def setup_model(
    model: Union[str, Path, torch.nn.Module],
    alphabet: Optional[Alphabet],
    opts: EmbedOptions,
    pools: list[str],
    device: torch.device,
    precision: Precision,
    old_meta: dict[str, Any],
) -> tuple[EmbedModel, dict[str, Any]]:
    """Load ``model`` (a name or path for :func:`rnalm.load`, or an encoder with its ``alphabet``).

    Returns the model and ``old_meta`` (an interrupted run's metadata) with an earlier version's
    model id read as this model's identity when it names the same weights (see :mod:`.metadata`).
    """
    owned = isinstance(model, (str, Path))  # loaded here, so its weights may be changed in place
    if isinstance(model, (str, Path)):
        model_name = str(model)
        with ThreadPoolExecutor(1, thread_name_prefix="rnalm-embed-sha256") as pool:
            # the file's sha256 is computed while the model loads (a hash and an unpickling, side by side)
            path = checkpoint_file(model_name)
            hashed = (path, pool.submit(sha256_file, path).result) if path is not None else None
            model, alphabet = load(model)
            file_sha = weights_file_sha256(model, model_name, hashed)
    else:
        if alphabet is None:
            raise TypeError("embed_file: pass the model's alphabet with an in-memory model")
        model_name = opts.model_name or type(model).__name__
        file_sha = weights_file_sha256(model, model_name)
    weights_id = state_sha256(model)  # before the cast: the identity of the weights as stored
    old_meta = adopt_old_identity(old_meta, model, file_sha, weights_id)
    identity = {"model": model_name, "weights_sha256": file_sha, "weights_id": weights_id}
    model = precision.prepare(model, device, cast_weights=owned)
    cfg: EncoderConfig = model.config  # type: ignore[assignment]  # every rnalm encoder has one
    if alphabet.max_length is None:  # an in-memory model's bare alphabet: the model's limit applies
        alphabet = alphabet.with_max_length(cfg.max_length)
    layers = resolve_layers(opts.layers, cfg.num_layers)
    if opts.contacts and getattr(model, "contact_head", None) is None:
        raise RnalmError(f"{option('contacts')}: this model has no contact head")
    if "cls" in pools and not alphabet.prepend_bos:
        raise RnalmError(f"{option('pool', 'cls')}: this model's inputs have no <cls> token")
    check_long_options(alphabet, opts.long, opts.window_overlap)
    preparer = Preparer(
        alphabet,
        opts.long,
        opts.window_overlap,
        opts.unknown,
        refuse_windows="attention maps are not defined across windows" if opts.attentions else None,
    )
    return EmbedModel(model, cfg, alphabet, identity, layers, preparer), old_meta


def attention_cost(em: EmbedModel, opts: EmbedOptions) -> int:
    """Bytes per query-key pair of the attention maps a batch keeps (0 when none are kept)."""
    cfg = em.config
    return cfg.num_layers * cfg.attention_heads * 4 if (opts.contacts or opts.attentions) else 0


def default_model() -> tuple[str, str]:
    """(reference, name) of the backbone shipped with rnalm: the model used when none is named."""
    entry = shipped.default_backbone()
    if entry is None:
        raise RnalmError(
            f"no {option('model')} given and no backbone is shipped with this installation (manifest "
            f"{shipped.root() / shipped.MANIFEST}); name one with {option('model')} (see `rnalm models`)"
        )
    return shipped.ref(entry.name), entry.name
