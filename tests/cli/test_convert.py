"""`rnalm convert SRC DST`: an existing DST is an error unless --overwrite, which replaces only an rnalm checkpoint."""

from __future__ import annotations

import os
import stat

import pytest

from rnalm.cli import main
from rnalm.io.native import save_native
from rnalm.io.output_guard import OutputError


def test_existing_destination_needs_overwrite(tiny_rnafm, tmp_path, capsys, child_lock):
    model, alphabet = tiny_rnafm
    src = save_native(model, alphabet, tmp_path / "src")
    dst = tmp_path / "dst"
    assert main(["convert", str(src), str(dst)]) == 0
    before = (dst / "config.json").read_bytes()
    assert main(["convert", str(src), str(dst)]) == 2
    assert "dst: already exists; pass --overwrite to replace it" in capsys.readouterr().err
    assert main(["convert", str(src), str(dst), "--overwrite"]) == 0
    assert (dst / "config.json").read_bytes() == before and (dst / "model.safetensors").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dst", "src"]  # no staging, old copy or lock left
    assert main(["convert", str(src), str(src), "--overwrite"]) == 2
    assert "holds this command's input" in capsys.readouterr().err
    with child_lock(dst) as pid:
        assert main(["convert", str(src), str(dst), "--overwrite"]) == 2
        assert f"dst: process {pid} is writing this output" in capsys.readouterr().err


def test_overwrite_never_replaces_a_folder_rnalm_did_not_write(tiny_rnafm, tmp_path, capsys):
    model, alphabet = tiny_rnafm
    src = save_native(model, alphabet, tmp_path / "src")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("x")
    assert main(["convert", str(src), str(mine), "--overwrite"]) == 2
    assert "mine: exists and is not an rnalm native checkpoint" in capsys.readouterr().err
    with pytest.raises(OutputError, match="mine: exists and is not an rnalm native checkpoint"):
        save_native(model, alphabet, mine)  # the API refuses too
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["convert", str(src), str(empty)]) == 0 and (empty / "config.json").is_file()


def test_converted_checkpoint_honours_the_umask_and_quiet_prints_nothing(tiny_rnafm, tmp_path, capsys):
    model, alphabet = tiny_rnafm
    src = save_native(model, alphabet, tmp_path / "src")
    dst = tmp_path / "dst"
    old = os.umask(0o022)
    try:
        assert main(["convert", str(src), str(dst), "-q"]) == 0
    finally:
        os.umask(old)
    assert capsys.readouterr() == ("", "")
    assert stat.S_IMODE(dst.stat().st_mode) == 0o755
    files = [p for p in dst.rglob("*") if p.is_file()]
    assert files and {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o644}
