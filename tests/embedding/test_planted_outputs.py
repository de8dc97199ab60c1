"""Files planted in an embedding output are refused by the reader with their name; no code runs."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from rnalm.embedding import EmbedOptions, embed_file, open_embeddings
from rnalm.errors import CheckpointError
from rnalm.io.arrayfiles import ArrayFileError

from .helpers import write_fasta


class RunsCode:
    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def test_object_npy_and_pickle_pt_planted_in_outputs_are_named(tmp_path, tiny_rnafm):
    model, alphabet = tiny_rnafm
    inp = write_fasta(tmp_path / "in.fa", [("s1", "ACGUA"), ("s2", "GG")])
    marker = tmp_path / "ran"
    npy, pt = tmp_path / "npy", tmp_path / "pt"
    for out, storage in ((npy, "npy"), (pt, "pt")):
        embed_file(
            model, inp, out, EmbedOptions(output_format=storage, pools=["mean"], progress=False), alphabet=alphabet
        )
    planted = npy / "mean_representations" / "s1.npy"
    np.save(planted, np.array([RunsCode(marker)], dtype=object), allow_pickle=True)
    with open_embeddings(npy) as emb:
        assert emb["s2"]["layer_2/mean"].shape == (32,)
        with pytest.raises(ArrayFileError, match=f"{planted}: holds Python objects"):
            emb["s1"]
    torch.save({"label": RunsCode(marker)}, pt / "s1.pt")
    with open_embeddings(pt) as emb:
        with pytest.raises(CheckpointError, match=f"{pt / 's1.pt'}: refused to unpickle"):
            emb["s1"]
    assert not marker.exists()
