"""Hand-made 5' UTR features on sequences whose counts are known, and ViennaRNA's MFE."""

from __future__ import annotations

import pytest

from rnalm.runs.config import FeatureSettings
from rnalm.runs.feature_model import feature_matrix, feature_names, sequence_features


def feats(seq: str, **kw) -> dict:
    s = FeatureSettings(mfe=False, **kw)
    return dict(zip(feature_names(s), sequence_features(seq, s)))


def test_uaug_uorf_and_kozak_counts():
    # AUG at 0 (in frame with the CDS: 12 - 0 = 12 ≡ 0 mod 3) closed by UAA at 3;
    # AUG at 7 out of frame, no in-frame stop after it -> overlapping ORF.
    f = feats("AUGUAACAUGCC")
    assert f["length"] == 12 and f["n_uAUG"] == 2
    assert f["n_uAUG_inframe"] == 1 and f["n_uAUG_outframe"] == 1
    assert f["n_uORF"] == 1 and f["n_oORF"] == 1
    assert f["first_uAUG_from_end"] == pytest.approx(1.0)
    assert f["gc"] == pytest.approx(5 / 12)
    # Kozak context of the main start: last six nucleotides vs GCCRCC
    assert feats("UUUUGCCACC")["kozak_match"] == 6 and feats("UUUUGCCACC")["kozak_minus3_purine"] == 1
    assert feats("UUUUUUUUUU")["kozak_match"] == 0 and feats("AAA")["kozak_match"] == 1  # padded left, A at -3
    # strong context uAUG: purine at -3 and G at +4
    assert feats("GCCAUGGCC")["n_uAUG_strong_kozak"] == 1 and feats("GCCAUGACC")["n_uAUG_strong_kozak"] == 0
    # DNA letters read as RNA
    assert feats("ATGTAACATGCC") == f


def test_kmer_frequencies_and_mfe(tmp_path):
    f = feats("ACGUAC", kmer=2)
    assert f["kmer_AC"] == pytest.approx(2 / 5) and f["kmer_GU"] == pytest.approx(1 / 5)
    RNA = pytest.importorskip("RNA")
    seq = "GGGGAAACCCC"
    x = feature_matrix([seq, seq], FeatureSettings(mfe=True), tmp_path)
    names = feature_names(FeatureSettings(mfe=True))
    assert x[0, names.index("mfe")] == pytest.approx(RNA.fold(seq)[1])
    assert x[0, names.index("mfe_per_nt")] == pytest.approx(RNA.fold(seq)[1] / len(seq))
    cached = list(tmp_path.rglob("mfe.tsv"))
    assert len(cached) == 1 and len(cached[0].read_text().splitlines()) == 1  # computed once, cached on disk
    import rnalm.runs.feature_model as F

    calls = []
    real = RNA.fold
    try:
        RNA.fold = lambda s: calls.append(s) or real(s)
        again = F.mfe_values([seq, "ACGUACGU"], tmp_path)
    finally:
        RNA.fold = real
    assert calls == ["ACGUACGU"] and again[0] == pytest.approx(RNA.fold(seq)[1])


def test_feature_model_saved_without_pickle_and_foreign_types_refused(tmp_path):
    """The saved trees load through skops with only scikit-learn/NumPy types; anything else is refused."""
    import numpy as np
    import pytest
    import skops.io as sio

    from rnalm.runs.errors import RunDirError
    from rnalm.runs.feature_model import FeatureModel

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    fm = FeatureModel(FeatureSettings(), "regression", seed=0).fit(x, y)
    fm.save(tmp_path / "m.skops")
    back = FeatureModel.load(tmp_path / "m.skops")
    assert np.allclose(back.outputs(x), fm.outputs(x))
    import collections

    sio.dump({"x": collections.Counter("ab")}, tmp_path / "evil.skops")
    (tmp_path / "evil.json").write_text('{"task": "regression"}')
    with pytest.raises(RunDirError, match="refusing|cannot read"):
        FeatureModel.load(tmp_path / "evil.skops")
