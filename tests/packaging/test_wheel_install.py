"""README's Quick start is what a new user gets: the wheel, installed with a plain ``pip install`` (no
extras) into a clean virtual environment, runs every command of the Quick start block verbatim from a
directory outside the repository, offline, and each writes its output.

The slow test needs the package registry (pip installs torch 2.13.0 and rnalm's dependencies, from
pip's cache when they are there); the quick one checks the block's commands against the CLI parser.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnalm.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
TORCH = "torch==2.13.0"  # the Makefile's pin


def quick_start() -> str:
    """The bash block of README's "## Quick start" section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("\n## Quick start\n") :]
    found = re.search(r"```bash\n(.*?)```", section, re.S)
    assert found, "README's Quick start has no bash block"
    return found.group(1)


def commands(script: str) -> list[list[str]]:
    """The ``rnalm`` command lines of ``script`` (heredoc bodies and comments left out), split as bash would."""
    out, heredoc_end = [], None
    for line in script.splitlines():
        if heredoc_end is not None:
            heredoc_end = None if line.strip() == heredoc_end else heredoc_end
            continue
        opener = re.search(r"<<-?\s*'?(\w+)'?", line)
        if opener:
            heredoc_end = opener.group(1)
        words = shlex.split(line, comments=True)
        if words[:1] == ["rnalm"]:
            out.append(words[1:])
    return out


def outputs(argv: list[str]) -> list[str]:
    """What a command line names as its output (``-o`` / ``--output``)."""
    return [argv[i + 1] for i, word in enumerate(argv[:-1]) if word in ("-o", "--output")]


def test_quick_start_commands_parse_with_the_options_the_cli_has():
    cmds = commands(quick_start())
    tasks = ("te", "halflife", "ires", "family", "mrl")
    wanted = {"models", "demo", "fold", "embed"} | {f"predict --task {t}" for t in tasks}
    said = {argv[0] if argv[0] != "predict" else " ".join(argv[:3]) for argv in cmds}
    assert wanted <= said, f"README's Quick start lacks {sorted(wanted - said)}"
    parser = build_parser()
    for argv in cmds:
        parser.parse_args(argv)  # SystemExit (usage error) on an option the command does not have
        if argv[0] not in ("models",):
            assert outputs(argv), f"rnalm {' '.join(argv)}: name its output, so the wheel test can check it"


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert done.returncode == 0, f"{' '.join(cmd)} -> {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    return done


def _wheel(tmp: Path) -> Path:
    """The wheel, built from a copy of the sources (a build leaves build/ and *.egg-info behind)."""
    src = tmp / "source"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "src", src / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    _run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", str(tmp / "wheels")])
    (wheel,) = (tmp / "wheels").glob("rnalm-*.whl")
    return wheel


def _clean_env(**extra: str) -> dict[str, str]:
    """This environment without what points Python or rnalm at the repository or the test set-up."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "RNALM_", "VIRTUAL_ENV"))}
    return {**env, **extra}


@pytest.mark.slow
def test_wheel_in_a_clean_venv_runs_the_quick_start_offline(tmp_path):
    t0 = time.time()
    wheel = _wheel(tmp_path)
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])  # no system site-packages: only what pip installs
    # --no-compile: no .pyc for torch & co. at install time (Python compiles what it imports): minutes saved
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-compile"]
    _run(pip + [TORCH], env=_clean_env())
    _run(pip + [str(wheel)], env=_clean_env())  # plain: no extras
    installed = time.time()

    work = tmp_path / "elsewhere"  # outside the repository, nothing in it
    work.mkdir()
    script = "\n".join(line for line in quick_start().splitlines() if not line.lstrip().startswith("pip install"))
    nowhere = "http://127.0.0.1:9"  # a download attempt fails at once: the commands must not need one
    offline = {k: nowhere for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY")}
    env = _clean_env(
        PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", RNALM_HOME=str(tmp_path / "cache"), **offline
    )
    env = {k: v for k, v in env.items() if k.lower() != "no_proxy"}
    done = _run(["bash", "-euo", "pipefail", "-c", script], cwd=work, env=env, timeout=1800)
    assert "Traceback" not in done.stderr
    assert "Shipped with rnalm (installed" in done.stdout  # rnalm models: the models inside the wheel
    for argv in commands(script):
        for out in outputs(argv):
            path = work / out
            assert path.exists(), f"rnalm {' '.join(argv)} wrote no {out}"
            assert path.stat().st_size > 0 if path.is_file() else any(path.iterdir()), f"{out} is empty"
    assert (work / "demo_out" / "report.html").is_file()
    # the server's dependencies are ordinary ones: `rnalm serve` starts from the same plain install
    served = _run([str(venv / "bin" / "rnalm"), "serve", "--help"], cwd=work, env=env)
    assert "--data-dir" in served.stdout and "Traceback" not in served.stderr
    assert len((work / "te.csv").read_text().splitlines()) == 1 + 2  # header + the two 5' UTRs
    print(f"wheel built and installed in {installed - t0:.0f} s; Quick start ran in {time.time() - installed:.0f} s")
