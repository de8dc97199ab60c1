"""``rnalm export --to hf``: an rnalm encoder as a transformers ``EsmForMaskedLM`` directory.

The directory holds what ``EsmForMaskedLM.from_pretrained`` and ``EsmTokenizer.from_pretrained``
read (``config.json``, ``model.safetensors``, ``vocab.txt``, the tokenizer's config and special
tokens) and a README.md. Before it is moved into place it is loaded back with transformers
(strictly: no missing or unexpected tensors) and compared with rnalm's model on a padded batch.
transformers is an optional dependency (``rnalm[hf]``), imported when an export runs.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

import torch

from rnalm.alphabet import Alphabet
from rnalm.export.errors import ExportError, missing_extra
from rnalm.export.hf_card import hf_readme
from rnalm.export.hf_config import check_hf_exportable, esm_config_fields, hf_notes
from rnalm.export.hf_tokenizer import VOCAB_FILE, special_tokens, tokenisation_notes, vocab_text
from rnalm.export.hf_weights import hf_state
from rnalm.export.outputs import HF_DIRECTORY, place_directory, staged
from rnalm.export.probe import probe_tokens
from rnalm.export.provenance import PROVENANCE_KEY, provenance
from rnalm.export.result import Exported, file_bytes
from rnalm.io.permissions import honour_umask
from rnalm.model.encoder import RNAEncoder

README_FILE = "README.md"


def _transformers() -> Any:
    try:
        import transformers
    except ImportError as exc:
        raise missing_extra("Hugging Face", "transformers", "hf") from exc
    return transformers


@contextmanager
def quiet(tf: Any) -> Iterator[None]:
    """transformers without its progress bars and warnings: the command prints one summary line."""
    logging = tf.utils.logging
    bars, level = logging.is_progress_bar_enabled(), logging.get_verbosity()
    logging.disable_progress_bar()
    logging.set_verbosity_error()
    try:
        yield
    finally:
        logging.set_verbosity(level)
        if bars:
            logging.enable_progress_bar()


def build_hf_model(model: RNAEncoder, alphabet: Alphabet, note: dict[str, Any]) -> Any:
    """An ``EsmForMaskedLM`` holding ``model``'s weights, its config carrying the provenance ``note``."""
    tf = _transformers()
    config = tf.EsmConfig(**esm_config_fields(model.config, alphabet), **{PROVENANCE_KEY: note})
    hf = tf.EsmForMaskedLM(config).eval()
    target = hf.state_dict()
    buffers = {name for name, _ in hf.named_buffers()}
    hf.load_state_dict(hf_state(target, buffers, model.state_dict()), strict=True)
    return hf


def write_tokenizer(directory: Path, alphabet: Alphabet, max_positions: int) -> None:
    tf = _transformers()
    vocab = directory / VOCAB_FILE
    vocab.write_text(vocab_text(alphabet), encoding="utf-8")
    tokenizer = tf.EsmTokenizer(str(vocab), model_max_length=max_positions, **special_tokens(alphabet))
    tokenizer.save_pretrained(str(directory))


def token_texts(alphabet: Alphabet, tokens: torch.Tensor) -> list[str]:
    """The probe batch as text: each row's tokens between ``<cls>`` and ``<eos>``, pads dropped."""
    rows = []
    for row in tokens.tolist():
        body = [t for t in row if t != alphabet.padding_idx][1:-1]
        rows.append("".join(alphabet.tokens[t] for t in body))
    return rows


def check_directory(directory: Path, model: RNAEncoder, alphabet: Alphabet) -> tuple[float, list[str]]:
    """Load ``directory`` with transformers; the largest difference from rnalm's outputs, and notes.

    Loading must be strict (no missing, unexpected or mismatched tensors); the tokenizer is
    checked to give rnalm's ids for the probe batch's letters.
    """
    tf = _transformers()
    hf, info = tf.EsmForMaskedLM.from_pretrained(str(directory), output_loading_info=True)
    problems = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    if problems:
        raise ExportError(f"{directory}: transformers does not load the export strictly: {problems}")
    tokens = probe_tokens(alphabet)
    mask = tokens.ne(alphabet.padding_idx).long()
    with torch.no_grad():
        mine = {
            k: v.cpu() for k, v in model(tokens.to(model.embed_tokens.weight.device)).items() if k != "representations"
        }
        theirs = hf.eval()(input_ids=tokens, attention_mask=mask)
        hidden = hf.esm(input_ids=tokens, attention_mask=mask).last_hidden_state
    diff = max((theirs.logits - mine["logits"]).abs().max().item(), (hidden - mine["last_hidden"]).abs().max().item())
    notes = []
    tokenizer = tf.EsmTokenizer.from_pretrained(str(directory))
    ids = tokenizer(token_texts(alphabet, tokens), padding=True, return_tensors="pt")["input_ids"]
    if not torch.equal(ids, tokens):
        notes.append("EsmTokenizer does not give rnalm's token ids for this vocabulary: tokenise with rnalm")
    return diff, notes


def export_hf(
    model: RNAEncoder,
    alphabet: Alphabet,
    path: Path,
    source: str,
    overwrite: bool = False,
    inputs: Iterable[Optional[str]] = (),
) -> Exported:
    """Write ``model`` as an ``EsmForMaskedLM`` directory at ``path`` (see the module docstring)."""
    start = time.perf_counter()
    check_hf_exportable(model.config, source)
    tf = _transformers()
    note = provenance(model, alphabet, source)
    differences = hf_notes(model.config)
    with staged(path, HF_DIRECTORY, overwrite, inputs) as stage, quiet(tf):
        hf = build_hf_model(model, alphabet, note)
        hf.save_pretrained(str(stage))
        write_tokenizer(stage, alphabet, model.config.max_positions)
        diff, tokenizer_notes = check_directory(stage, model, alphabet)
        readme = hf_readme(path.name, alphabet, note, tokenisation_notes(alphabet) + tokenizer_notes, differences, diff)
        (stage / README_FILE).write_text(readme, encoding="utf-8")
        honour_umask(stage)  # transformers writes the weights through a 0600 temporary file
        size = file_bytes(stage)
        place_directory(stage, path)
    return Exported(
        target="hf",
        paths=(path,),
        bytes=size,
        parameters=hf.num_parameters(),
        opset=None,
        max_abs_diff=diff,
        notes=tuple(differences + tokenizer_notes),
        seconds=time.perf_counter() - start,
    )


__all__ = ["build_hf_model", "check_directory", "export_hf", "write_tokenizer"]
