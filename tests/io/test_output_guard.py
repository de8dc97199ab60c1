"""rnalm.io.output_guard: recognition, claims, the one-writer lock and the atomic swap."""

from __future__ import annotations

import json

import pytest

from rnalm.io.output_guard import (
    MARKER_FILE,
    NEW,
    REPLACE,
    RESUME,
    OutputError,
    OutputKind,
    OutputLockedError,
    claim_output,
    lock_path,
    output_lock,
    read_marker,
    remove_stale_staging,
    staging_path,
    swap_into_place,
    write_marker,
)

KIND = OutputKind("test", "an rnalm test output", lambda p: (p / "made_by_rnalm.txt").is_file())


def make_output(path):
    path.mkdir()
    write_marker(path, KIND)
    (path / "data.txt").write_text("old\n")
    return path


def test_claims(tmp_path):
    out = tmp_path / "out"
    assert claim_output(out, KIND) == NEW
    assert claim_output(out, KIND, resume=True) == NEW  # nothing to resume: start
    out.mkdir()
    assert claim_output(out, KIND) == NEW  # an empty folder is as good as none
    with pytest.raises(OutputError, match="out: exists and is not an rnalm test output; cannot resume"):
        claim_output(out, KIND, resume=True)
    (out / "notes.txt").write_text("x")
    with pytest.raises(OutputError, match="out: already exists; pass --overwrite to replace it"):
        claim_output(out, KIND)
    with pytest.raises(OutputError, match="already exists; pass --resume to complete it or --overwrite"):
        claim_output(out, KIND, resume_option="--resume")
    with pytest.raises(OutputError, match="out: exists and is not an rnalm test output .*replaces only rnalm's own"):
        claim_output(out, KIND, overwrite=True, overwrite_option="--overwrite")
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "made_by_rnalm.txt").write_text("")  # an older version's output: recognised by content
    assert claim_output(legacy, KIND, overwrite=True) == REPLACE
    assert claim_output(legacy, KIND, resume=True) == RESUME
    marked = make_output(tmp_path / "marked")
    assert claim_output(marked, KIND, overwrite=True) == REPLACE
    (marked / "in.fa").write_text(">a\nACGU\n")
    with pytest.raises(OutputError, match="marked: holds this command's input .*in.fa"):
        claim_output(marked, KIND, overwrite=True, inputs=[marked / "in.fa"])
    with pytest.raises(OutputError, match="holds this command's input"):
        claim_output(marked, KIND, overwrite=True, inputs=[marked])
    other = OutputKind("other", "an rnalm other output")
    with pytest.raises(OutputError, match="not an rnalm other output"):
        claim_output(marked, other, overwrite=True)  # same marker file, another kind


def test_marker(tmp_path):
    d = make_output(tmp_path / "d")
    assert json.loads((d / MARKER_FILE).read_text())["rnalm_output"] == "test" and read_marker(d) == "test"
    (d / MARKER_FILE).write_text("[1, 2")
    assert read_marker(d) is None and read_marker(tmp_path / "none") is None


def test_lock_is_exclusive_and_leaves_nothing(tmp_path):
    out = tmp_path / "out.h5"
    with output_lock(out) as lock:
        assert lock == lock_path(out) and lock.read_text().strip().isdigit()
        with pytest.raises(OutputLockedError, match=r"out.h5: process \d+ is writing this output"):
            with output_lock(out):
                pass
    assert list(tmp_path.iterdir()) == []
    with output_lock(out):
        pass


def test_lock_held_by_another_process(tmp_path, child_lock):
    out = tmp_path / "out"
    with child_lock(out) as pid:
        with pytest.raises(OutputLockedError, match=f"out: process {pid} is writing this output .*choose another"):
            with output_lock(out):
                pass
    with output_lock(out):
        pass


def test_swap_replaces_only_after_completion_and_only_rnalm_output(tmp_path):
    out = make_output(tmp_path / "out")
    staged = staging_path(out)
    make_output(staged)
    (staged / "data.txt").write_text("new\n")
    swap_into_place(staged, out, KIND)
    assert (out / "data.txt").read_text() == "new\n" and sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("x")
    staged = make_output(staging_path(mine))
    with pytest.raises(OutputError, match="mine: exists and is not an rnalm test output; refusing"):
        swap_into_place(staged, mine, KIND)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"] and staged.is_dir()
    swap_into_place(make_output(tmp_path / "new"), tmp_path / "fresh", KIND)  # nothing there: a plain rename
    assert (tmp_path / "fresh" / "data.txt").is_file()


def test_stale_staging_is_removed_only_if_rnalm_made_it(tmp_path):
    out = tmp_path / "out"
    ours = make_output(tmp_path / ".out.rnalm-new-123")
    theirs = tmp_path / ".out.rnalm-new-456"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("x")
    assert remove_stale_staging(out, KIND) == [ours]
    assert not ours.exists() and theirs.is_dir()
