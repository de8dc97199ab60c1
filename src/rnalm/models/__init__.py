"""One sub-package per published model family: alphabet, named configs, converter, model card.

This module holds the two tables the families fill, in plain view: :data:`FORMATS`, every checkpoint
format in the order formats are tried (each sniffer looks at content and is exclusive of the
others), and :data:`ALPHABETS`, every published alphabet by name. Adding a family means adding its
format and alphabet values here.
"""

from __future__ import annotations

from pathlib import Path

from rnalm.alphabet import Alphabet
from rnalm.errors import CheckpointError
from rnalm.io.formats import CheckpointFormat, Converted, Probe
from rnalm.io.native import NATIVE_FORMAT
from rnalm.models.esm2.alphabet import ESM2_ALPHABET
from rnalm.models.esm2.convert import ESM2_FORMAT
from rnalm.models.lamar.alphabet import LAMAR_ALPHABET
from rnalm.models.lamar.convert import HF_ESM_FORMAT
from rnalm.models.protrna.alphabet import PROTRNA_ALPHABET
from rnalm.models.protrna.convert import PROTRNA_FORMAT
from rnalm.models.rnafm.alphabet import MRNA_FM_ALPHABET, RNA_FM_ALPHABET
from rnalm.models.rnafm.convert import RNAFM_FORMAT
from rnalm.models.rnafm.ss_convert import SS_RESNET_FORMAT
from rnalm.models.utrlm.alphabet import UTRLM_ALPHABET
from rnalm.models.utrlm.convert import UTRLM_FORMAT

#: Every checkpoint format rnalm reads, by name, in the order :func:`detect_format` tries them.
FORMATS: dict[str, CheckpointFormat] = {
    fmt.name: fmt
    for fmt in (
        NATIVE_FORMAT,
        RNAFM_FORMAT,
        SS_RESNET_FORMAT,
        ESM2_FORMAT,
        UTRLM_FORMAT,
        HF_ESM_FORMAT,
        PROTRNA_FORMAT,
    )
}

#: Every published alphabet, by name.
ALPHABETS: dict[str, Alphabet] = {
    a.name: a
    for a in (
        RNA_FM_ALPHABET,
        MRNA_FM_ALPHABET,
        ESM2_ALPHABET,
        UTRLM_ALPHABET,
        LAMAR_ALPHABET,
        PROTRNA_ALPHABET,
    )
}


def detect_format(path: str | Path) -> tuple[CheckpointFormat, Probe]:
    """Identify a checkpoint by its content (never by its file name)."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file or directory")
    probe = Probe(path)
    if not probe.is_dir and path.stat().st_size == 0:
        raise CheckpointError(f"{path}: empty file, expected a model checkpoint")
    for fmt in FORMATS.values():
        if fmt.sniff(probe):
            return fmt, probe
    expected = "; ".join(f"{f.name}: {f.description}" for f in FORMATS.values())
    raise CheckpointError(f"{path}: not a checkpoint format rnalm knows. Expected one of: {expected}")


def convert_checkpoint(path: str | Path) -> tuple[CheckpointFormat, Converted]:
    """Detect ``path``'s format and convert it; a converter's surprise is a CheckpointError naming the format."""
    fmt, probe = detect_format(path)
    try:
        return fmt, fmt.convert(probe)
    except CheckpointError:
        raise
    except (KeyError, AttributeError, TypeError, ValueError) as exc:
        raise CheckpointError(
            f"{path}: looks like {fmt.name} ({fmt.description}) but its content is not as expected: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def alphabets() -> dict[str, Alphabet]:
    """Every published alphabet, by name (a copy of :data:`ALPHABETS`)."""
    return dict(ALPHABETS)


def get_alphabet(name: str) -> Alphabet:
    if name not in ALPHABETS:
        raise ValueError(f"unknown alphabet {name!r}; known: {sorted(ALPHABETS)}")
    return ALPHABETS[name]


__all__ = ["ALPHABETS", "FORMATS", "alphabets", "convert_checkpoint", "detect_format", "get_alphabet"]
