"""rnalm's one atomic writer: whole files or none, private temporary names, the umask's permissions."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

import rnalm.io.atomic as atomic
from rnalm.io.atomic import atomic_write_text, atomic_write_with
from rnalm.io.npycache import load_cached_npy, save_cached_npy


def test_a_file_planted_under_a_fixed_temporary_name_is_left_alone(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("theirs")
    target = tmp_path / "out" / "a.json"
    target.parent.mkdir()
    for name in ("a.json.tmp", ".a.json.tmp"):
        (target.parent / name).symlink_to(victim)
    atomic_write_text(target, "ours\n")
    assert target.read_text() == "ours\n" and not target.is_symlink()
    assert victim.read_text() == "theirs"
    assert sorted(p.name for p in target.parent.iterdir()) == [".a.json.tmp", "a.json", "a.json.tmp"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "a.txt"
    atomic_write_text(target, "old")

    def fail(fh):
        fh.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write_with(target, fail)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_the_written_file_gets_the_umask_permissions_not_mkstemps(tmp_path):
    old = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_cache_entries_skip_fsync_and_read_back(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: calls.append(fd))
    save_cached_npy(tmp_path / "c" / "x.npy", np.arange(3))
    assert calls == []
    np.testing.assert_array_equal(load_cached_npy(tmp_path / "c" / "x.npy"), np.arange(3))
    atomic_write_text(tmp_path / "y.txt", "y")
    assert len(calls) == 1
