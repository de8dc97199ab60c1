"""UTR-LM (5' UTR language model, an ESM-2 on DNA letters): alphabet and the ``.pkl`` converter.

Importing this package registers the ``utr-lm`` checkpoint format.
"""
from rnalm.models.utrlm import convert  # noqa: F401  (registers the format)
from rnalm.models.utrlm.alphabet import UTRLM_ALPHABET, UTRLM_TOKENS

__all__ = ["UTRLM_ALPHABET", "UTRLM_TOKENS"]
