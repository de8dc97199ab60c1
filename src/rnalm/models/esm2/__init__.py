"""ESM-2 (fair-esm) protein models: the 33-token alphabet and the ``.pt`` converter.

rnalm supports ESM-2 because ProtRNA starts from it; the ``esm2`` checkpoint format is
:data:`.convert.ESM2_FORMAT`, listed in :data:`rnalm.models.FORMATS`.
"""

from rnalm.models.esm2.alphabet import ESM2_ALPHABET, ESM2_TOKENS

__all__ = ["ESM2_ALPHABET", "ESM2_TOKENS"]
