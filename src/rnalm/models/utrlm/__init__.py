"""UTR-LM (5' UTR language model, an ESM-2 on DNA letters): alphabet and the ``.pkl`` converter.

The ``utr-lm`` checkpoint format is :data:`.convert.UTRLM_FORMAT`, listed in :data:`rnalm.models.FORMATS`.
"""

from rnalm.models.utrlm.alphabet import UTRLM_ALPHABET, UTRLM_TOKENS

__all__ = ["UTRLM_ALPHABET", "UTRLM_TOKENS"]
