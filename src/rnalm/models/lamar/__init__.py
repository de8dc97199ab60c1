"""LAMAR (Hugging Face ``EsmForMaskedLM`` directories): the 10-token DNA alphabet and the converter.

The ``hf-esm`` checkpoint format (:data:`.convert.HF_ESM_FORMAT`, listed in
:data:`rnalm.models.FORMATS`) also reads other Hugging Face ESM directories whose vocabulary is
ESM-2's protein one. See ``card.md``.
"""

from rnalm.models.lamar.alphabet import LAMAR_ALPHABET, LAMAR_TOKENS

__all__ = ["LAMAR_ALPHABET", "LAMAR_TOKENS"]
