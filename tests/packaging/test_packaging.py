"""The packager's pieces on their own: float16 storage, the seeded check-subset draw, the command line."""

from __future__ import annotations

import pytest

from rnalm.packaging.checkset import number_duplicate_ids, sample
from rnalm.packaging.cli import build_parser


def test_float16_storage_is_byte_for_byte_reproducible(tmp_path):
    import torch
    from safetensors.torch import load_file, save_file

    from rnalm.io.native import sha256_file
    from rnalm.packaging.files import store_float16

    torch.manual_seed(0)
    state = {"w": torch.randn(8, 4), "b": torch.randn(4), "step": torch.tensor([3])}
    sums = set()
    for i in range(8):  # two metadata keys came out in either order about half the time
        p = tmp_path / f"m{i}.safetensors"
        save_file(state, str(p), metadata={"format": "rnalm-finetune"})
        store_float16(p)
        sums.add(sha256_file(p))
    assert len(sums) == 1
    back = load_file(str(p))
    assert back["w"].dtype == torch.float16 and back["step"].dtype == torch.int64
    assert torch.allclose(back["w"].float(), state["w"], atol=1e-2)


def test_check_subset_draw_is_seeded_sorted_and_covers_every_class():
    assert sample(5, 10, 0) == [0, 1, 2, 3, 4]
    a = sample(100, 8, 3)
    assert a == sample(100, 8, 3) and a == sorted(a) and len(set(a)) == 8
    strata = ["x"] * 95 + ["y"] * 5
    assert any(strata[i] == "y" for i in sample(100, 4, 0, strata))


def test_duplicate_ids_are_numbered():
    rows = [{"id": "a"}, {"id": "b"}, {"id": "a"}, {"id": "a"}]
    number_duplicate_ids(rows)
    assert [r["id"] for r in rows] == ["a", "b", "a_2", "a_3"]


def test_command_line_names_the_module_and_requires_a_name(capsys):
    parser = build_parser()
    assert parser.prog == "python -m rnalm.packaging"
    with pytest.raises(SystemExit):
        parser.parse_args(["run"])
    assert "--name" in capsys.readouterr().err
