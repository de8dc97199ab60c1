"""rnalm.embed: sequences in, an N x D array out, equal to what `rnalm embed` stores."""

from __future__ import annotations

import doctest
import random

import numpy as np
import pandas as pd
import pytest

import rnalm
from rnalm import shipped
from rnalm.cli import main
from rnalm.embedding import read_matrix, read_per_token
from rnalm.notebook import embed as embed_module


@pytest.fixture(autouse=True)
def real_shipped_models(monkeypatch):
    """The models shipped in the package: rnalm.embed's default is its backbone, utrlm-mini."""
    monkeypatch.delenv(shipped.ENV_DIR)


def sequences(n: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    lengths = [rng.randint(5, 120) for _ in range(n - 1)] + [1500]  # the last one needs windows
    return [(f"s{n - i}", "".join(rng.choice("ACGU") for _ in range(k))) for i, k in enumerate(lengths)]


def test_embed_equals_the_vectors_the_command_stores(tmp_path):
    records = sequences(9)
    fasta = tmp_path / "in.fa"
    fasta.write_text("".join(f">{rid}\n{seq}\n" for rid, seq in records))
    out = tmp_path / "out.h5"
    assert main(["embed", "-i", str(fasta), "-o", str(out), "--pool", "mean", "per-token", "-q"]) == 0
    ids, stored = read_matrix(out)
    X = rnalm.embed(fasta, progress=False)
    assert ids == [rid for rid, _ in records]
    assert X.shape == (9, 128) and X.dtype == np.float32
    assert np.abs(X - stored).max() <= 1e-6
    # the same sequences given as (id, sequence) pairs, and per-token rows
    assert np.abs(rnalm.embed(records, progress=False) - stored).max() <= 1e-6
    rows = rnalm.embed(records, pool="per-token", progress=False)
    _, stored_rows = read_per_token(out)
    assert [r.shape for r in rows] == [(len(s), 128) for _, s in records]
    assert max(np.abs(a - b).max() for a, b in zip(rows, stored_rows)) <= 1e-6


def test_embed_takes_a_dataframe_and_other_layers_and_pools():
    df = pd.DataFrame({"utr": ["GGGACAUUUGCUUCUGACAC", "AUGGC", "CCAUGGA"], "te": [1.0, 2.0, 3.0]})
    X = rnalm.embed(df, seq_column="utr", progress=False, dtype="float32")
    assert X.shape == (3, 128)
    single = rnalm.embed(["AUGGC"], progress=False, dtype="float32")
    np.testing.assert_allclose(single[0], X[1], atol=1e-5)  # another batch, same vector up to float32 rounding
    assert rnalm.embed(df, seq_column="utr", layer=0, pool="cls", progress=False).shape == (3, 128)
    assert not np.allclose(rnalm.embed(df, seq_column="utr", layer=-2, progress=False), X)


def test_embed_errors_name_its_own_keywords():
    with pytest.raises(rnalm.RnalmError, match="layer=: 9 is out of range"):
        rnalm.embed(["ACGU"], layer=9, progress=False)
    with pytest.raises(rnalm.RnalmError, match="batch_tokens= must be positive"):
        rnalm.embed(["ACGU"], batch_tokens=0, progress=False)
    with pytest.raises(rnalm.RnalmError, match="unknown='mask'"):
        rnalm.embed(["ACGUZ"], progress=False)
    with pytest.raises(rnalm.RnalmError, match="pool=: 'max'"):
        rnalm.embed(["ACGU"], pool="max", progress=False)


def test_the_docstring_example_runs_offline():
    result = doctest.testmod(embed_module)
    assert result.attempted >= 3 and result.failed == 0
