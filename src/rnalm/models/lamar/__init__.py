"""LAMAR (Hugging Face ``EsmForMaskedLM`` directories): the 10-token DNA alphabet and the converter.

Importing this package registers the ``hf-esm`` checkpoint format, which also reads other
Hugging Face ESM directories whose vocabulary is ESM-2's protein one. See ``card.md``.
"""
from rnalm.models.lamar import convert  # noqa: F401  (registers the format)
from rnalm.models.lamar.alphabet import LAMAR_ALPHABET, LAMAR_TOKENS

__all__ = ["LAMAR_ALPHABET", "LAMAR_TOKENS"]
