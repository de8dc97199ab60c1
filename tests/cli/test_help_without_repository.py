"""Help and errors make sense to someone who installed rnalm with pip and has no clone of its
repository: no folder relative to the repository is a default, and recipes/ is said to live there."""

from __future__ import annotations

import pytest

from rnalm.cli import build_parser, main


def _help(command: str, capsys) -> str:
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    return capsys.readouterr().out


def test_corpus_needs_a_data_folder_and_names_the_files_it_reads(capsys):
    text = _help("corpus", capsys)
    assert "shared/data" not in text and "--data DIR" in text and "utr5_te_hek/train.csv" in text
    with pytest.raises(SystemExit):
        build_parser().parse_args(["corpus", "--output", "c.fa"])
    assert "the following arguments are required: --data" in capsys.readouterr().err


def test_corpus_stops_before_writing_on_a_folder_without_datasets(tmp_path, capsys):
    out = tmp_path / "c.fa"
    assert main(["corpus", "--data", str(tmp_path), "--output", str(out)]) == 2
    assert f"--data {tmp_path}: none of the dataset files is there" in capsys.readouterr().err
    assert not out.exists()


def test_finetune_help_says_where_the_recipes_are(capsys):
    text = " ".join(_help("finetune", capsys).split())
    assert "recipes/ folder of rnalm's source repository" in text and "not installed" in text
