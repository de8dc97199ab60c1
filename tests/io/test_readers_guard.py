"""Every reader in src/ that could run code goes through its safe entry point.

A source scan, so a new reader added later that bypasses them fails here: torch.load only in
rnalm.io.safe_torch, numpy.load only with allow_pickle=False, YAML only through safe_load, skops
only in rnalm.runs.feature_file, and safetensors' load_file only where its errors are wrapped.
"""

from __future__ import annotations

import re
from pathlib import Path

import rnalm

SRC = Path(rnalm.__file__).parent


def calls(pattern: str) -> dict[str, list[str]]:
    rx = re.compile(pattern)
    found: dict[str, list[str]] = {}
    for p in sorted(SRC.rglob("*.py")):
        for line in p.read_text(encoding="utf-8").splitlines():
            if rx.search(line) and not line.lstrip().startswith(("#", "``", "*")):
                found.setdefault(str(p.relative_to(SRC)), []).append(line.strip())
    return found


def test_torch_load_only_in_safe_torch():
    assert set(calls(r"\btorch\.load\(")) == {"io/safe_torch.py"}


def test_numpy_load_never_unpickles():
    loads = calls(r"\b(np|numpy)\.load\(")
    assert loads and all("allow_pickle=False" in line for lines in loads.values() for line in lines), loads


def test_yaml_only_safe_loader():
    assert calls(r"yaml\.(load|unsafe_load|full_load|load_all)\(|Loader=|\b(Unsafe|Full)Loader\b") == {}
    assert calls(r"\.safe_load\(")  # the scan sees the loaders that are there


def test_skops_only_in_the_feature_file_reader():
    assert set(calls(r"import skops|\bsio\.(load|loads)\(")) == {"runs/feature_file.py"}


def test_safetensors_load_file_only_where_errors_are_wrapped():
    # arrayfiles: the reader everything uses; lamar: wraps SafetensorError itself; the packager
    # (a maintainer tool) reads the run it is packaging.
    assert set(calls(r"\bload_file\(")) == {"io/arrayfiles.py", "models/lamar/convert.py", "packaging/files.py"}
