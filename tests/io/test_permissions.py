import os
import stat

import numpy as np

from rnalm.io.atomic import atomic_write_text
from rnalm.io.npycache import save_cached_npy
from rnalm.io.permissions import current_umask, honour_umask


def _mode(p):
    return stat.S_IMODE(os.stat(p).st_mode)


def test_umask_is_read_without_changing_it():
    old = os.umask(0o027)
    try:
        assert current_umask() == 0o027
        assert current_umask() == 0o027
    finally:
        os.umask(old)


def test_atomic_writes_honour_the_umask_not_mkstemp_0600(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.dbn", "x")
        save_cached_npy(tmp_path / "c.npy", np.zeros(2))
        assert _mode(tmp_path / "a.dbn") == 0o644
        assert _mode(tmp_path / "c.npy") == 0o644
    finally:
        os.umask(old)


def test_honour_umask_walks_a_folder(tmp_path):
    d = tmp_path / "d"
    (d / "sub").mkdir(parents=True)
    (d / "sub" / "f").write_text("x")
    os.chmod(d, 0o700)
    os.chmod(d / "sub" / "f", 0o600)
    old = os.umask(0o002)
    try:
        honour_umask(d)
    finally:
        os.umask(old)
    assert _mode(d) == 0o775 and _mode(d / "sub") == 0o775 and _mode(d / "sub" / "f") == 0o664
