"""A command whose reader stops early (``rnalm models -v | head``) ends quietly: no traceback, and the
status a shell gives a pipeline writer whose reader went away (141), or 0 when all was written first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import rnalm

SRC = str(Path(rnalm.__file__).resolve().parents[1])
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p)}


def test_models_into_a_closed_pipe_ends_without_traceback():
    # the reader is gone before the command writes its first byte (importing rnalm takes longer)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rnalm", "models", "-v"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV
    )
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, err
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception ignored" not in err


def test_models_piped_into_head_prints_its_first_line_only():
    cmd = f"{sys.executable} -m rnalm models -v | head -1; exit ${{PIPESTATUS[0]}}"
    done = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, env=ENV, timeout=120)
    assert done.returncode in (0, 141), done.stderr
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr
    assert done.stdout.count("\n") == 1
