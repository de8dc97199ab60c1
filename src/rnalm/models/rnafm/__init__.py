"""RNA-FM (ncRNA, nucleotide tokens) and mRNA-FM (coding sequences, codon tokens).

The ``rna-fm`` checkpoint format (:data:`.convert.RNAFM_FORMAT`, listed in
:data:`rnalm.models.FORMATS`) makes ``rnalm.load("RNA-FM_pretrained.pth")`` work for both published
files; the model card is ``card.md`` next to this file.

RNA-FM's secondary-structure model (``RNA-FM-ResNet_PDB-All.pth``) is not an encoder checkpoint:
:func:`load_ss_resnet` reads it (:mod:`.ss_resnet`, :mod:`.ss_convert`) and
:func:`ss_resnet_probabilities` makes it a sequences -> ``L x L`` probability model (:mod:`.ss_predict`).
"""

from rnalm.models.rnafm.alphabet import MRNA_FM_ALPHABET, RNA_FM_ALPHABET
from rnalm.models.rnafm.convert import FORMAT_NAME, convert_rnafm
from rnalm.models.rnafm.ss_convert import load_ss_resnet
from rnalm.models.rnafm.ss_predict import SSResNetProbabilities, ss_resnet_probabilities
from rnalm.models.rnafm.ss_resnet import SSResNet

__all__ = [
    "RNA_FM_ALPHABET",
    "MRNA_FM_ALPHABET",
    "FORMAT_NAME",
    "convert_rnafm",
    "SSResNet",
    "SSResNetProbabilities",
    "load_ss_resnet",
    "ss_resnet_probabilities",
]
