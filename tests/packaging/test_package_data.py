"""pyproject's package-data list is true: each pattern names files that exist, and every non-Python
file of the package (templates, model cards, shipped models) is named by one, so the wheel holds it."""

from __future__ import annotations

from pathlib import Path

import pytest

from rnalm import examples

tomllib = pytest.importorskip("tomllib")  # Python 3.11+
ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "rnalm"


def _patterns() -> list[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return data["tool"]["setuptools"]["package-data"]["rnalm"]


def _data_files() -> set[Path]:
    return {
        p
        for p in PACKAGE.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    }


#: what the packager writes for runs not shipped today: skops weights, the folds of a cross-validated run
PACKAGER_FORMAT = {"shipped/*/*.skops", "shipped/*/fold_*/*"}


def test_every_pattern_matches_a_file():
    empty = [
        pat for pat in _patterns() if pat not in PACKAGER_FORMAT and not any(p.is_file() for p in PACKAGE.glob(pat))
    ]
    assert not empty, f"package-data patterns matching nothing: {empty}"


def test_every_data_file_is_packaged():
    covered = {p for pat in _patterns() for p in PACKAGE.glob(pat) if p.is_file()}
    missing = sorted(str(p.relative_to(PACKAGE)) for p in _data_files() - covered)
    assert not missing, f"files the wheel would leave out: {missing}"
    assert PACKAGE / "report" / "templates" / "demo.html.j2" in covered


def test_examples_and_report_template_are_package_data():
    covered = {p.relative_to(PACKAGE).as_posix() for pat in _patterns() for p in PACKAGE.glob(pat) if p.is_file()}
    assert {"examples/example.fasta", "examples/README.md", "report/templates/demo.html.j2"} <= covered


def test_examples_are_found_through_the_installed_package():
    fasta = examples.path()
    assert fasta == PACKAGE / "examples" / "example.fasta" and fasta.read_text().startswith(">")
    assert not (ROOT / "examples").exists(), "one copy of the examples: the package's"
