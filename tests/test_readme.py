"""README.md's Python examples run as they are, as fair-esm's README examples do.

Every fenced block whose info string starts with ``python`` is executed, in README order, in one
namespace (a later block may use what an earlier one defined), on what a plain install has: the
shipped models, no network (``$RNALM_OFFLINE``), empty caches, a temporary working directory. A block
that needs what a plain install lacks (published weights) is fenced as ``python no-run`` and skipped.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from rnalm import hub, shipped

README = Path(__file__).resolve().parents[1] / "README.md"
NO_RUN = "no-run"
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*(.*)$")


def python_blocks(text: str) -> list[tuple[int, str, bool]]:
    """``(first code line's 1-based number, code, runs)`` for each fenced block whose info string starts
    with ``python``; ``runs`` is False for ``python no-run``."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        fence, info = opening.group(2), opening.group(3).split()
        body, i = [], i + 1
        start = i + 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1
        if info and info[0] == "python":
            blocks.append((start, textwrap.dedent("\n".join(body)), NO_RUN not in info[1:]))
    return blocks


def test_block_finder_takes_python_blocks_and_honours_no_run():
    text = "\n".join(
        ["```bash", "rnalm models", "```", "```python", "x = 1", "```", "  ```python no-run", "  y = 2", "  ```"]
    )
    assert python_blocks(text) == [(5, "x = 1", True), (8, "y = 2", False)]


def test_readme_python_blocks_run_in_order_in_one_namespace(monkeypatch, tmp_path):
    monkeypatch.delenv(shipped.ENV_DIR, raising=False)  # the models installed with the package
    monkeypatch.setenv(hub.ENV_HOME, str(tmp_path / "rnalm-cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv(hub.ENV_OFFLINE, "1")
    monkeypatch.chdir(tmp_path)
    found = python_blocks(README.read_text(encoding="utf-8"))
    for line, code, _ in found:  # every block is valid Python, the ones not run included
        compile(code, f"README.md (python block at line {line})", "exec")
    blocks = [(line, code) for line, code, runs in found if runs]
    assert len(blocks) >= 2, "README.md has no runnable python block"
    namespace: dict = {"__name__": "__readme__"}
    for line, code in blocks:
        # Padding puts the code at its README line numbers, so a traceback points into README.md.
        compiled = compile("\n" * (line - 1) + code, str(README), "exec")
        try:
            exec(compiled, namespace)  # noqa: S102 (the README's own examples)
        except Exception as exc:
            pytest.fail(f"README.md: the python block at line {line} raised {type(exc).__name__}: {exc}")
