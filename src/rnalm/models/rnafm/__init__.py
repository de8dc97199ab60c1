"""RNA-FM (ncRNA, nucleotide tokens) and mRNA-FM (coding sequences, codon tokens).

The ``rna-fm`` checkpoint format (:data:`.convert.RNAFM_FORMAT`, listed in
:data:`rnalm.models.FORMATS`) makes ``rnalm.load("RNA-FM_pretrained.pth")`` work for both published
files; the model card is ``card.md`` next to this file.
"""

from rnalm.models.rnafm.alphabet import MRNA_FM_ALPHABET, RNA_FM_ALPHABET
from rnalm.models.rnafm.convert import FORMAT_NAME, convert_rnafm

__all__ = ["RNA_FM_ALPHABET", "MRNA_FM_ALPHABET", "FORMAT_NAME", "convert_rnafm"]
