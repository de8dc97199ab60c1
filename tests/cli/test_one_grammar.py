"""One grammar for every command that reads sequences: the same options, the same ids for the same
input, file names made the same way, errors that name only options of the command that printed them,
and outputs whose modes follow the umask."""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import stat
from pathlib import Path

import pytest

from rnalm import shipped
from rnalm.cli import build_parser, main
from rnalm.embedding import read_matrix

#: commands that read sequences, and the shared options each must have
SEQUENCE_COMMANDS = ("predict", "fold", "embed")
SHARED = ("-i", "--input", "-o", "--output", "--input-format", "--seq-column", "--id-column", "--unknown",
          "--overwrite", "--device", "-q", "--quiet", "--progress")  # fmt: skip


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _options(command: str) -> set[str]:
    return {s for a in _subparsers()[command]._actions for s in a.option_strings}


@pytest.fixture(autouse=True)
def _shipped_models(monkeypatch):
    monkeypatch.setenv(shipped.ENV_DIR, str(shipped.package_root()))


@pytest.mark.parametrize("command", SEQUENCE_COMMANDS)
def test_every_sequence_command_takes_the_shared_options(command):
    missing = [o for o in SHARED if o not in _options(command)]
    assert not missing, f"rnalm {command} lacks {missing}"


def test_the_demo_reads_and_writes_with_the_same_options():
    # the demo runs every shipped model on CPU and reports letters a model lacks per record
    wanted = set(SHARED) - {"--unknown", "--device"}
    assert wanted <= _options("demo"), sorted(wanted - _options("demo"))


def test_format_means_one_thing_or_nothing():
    # --format was the input format in predict and the output format in embed
    for command in _subparsers():
        assert "--format" not in _options(command), command
    assert "--input-format" in _options("predict") and "--input-format" in _options("embed")


def _mentioned_options(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", text))


def _run(capsys, argv):
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def _lamar_csv(tmp_path: Path) -> Path:
    p = tmp_path / "halflife.csv"
    p.write_text("seq,label\nGGGGAAAACCCCAUGCAUGC,-0.4621123499222085\nGCGCUUCGGCGCAUGAUG,0.1\n")
    return p


def test_a_seq_label_csv_gets_the_same_row_ids_in_predict_fold_and_embed(tmp_path, capsys):
    src = _lamar_csv(tmp_path)
    rc, out, _ = _run(capsys, ["predict", "--task", "halflife", "-i", str(src), "-q"])
    assert rc == 0
    predicted = [r["id"] for r in csv.DictReader(io.StringIO(out))]
    rc, out, _ = _run(capsys, ["fold", "-i", str(src), "--model" if "--model" in _options("fold") else "--method",
                               "vienna", "-q"])  # fmt: skip
    assert rc == 0
    folded = [r["id"] for r in csv.DictReader(io.StringIO(out), delimiter="\t")]
    rc, _, _ = _run(capsys, ["embed", "-i", str(src), "-o", str(tmp_path / "emb.h5"), "-q"])
    assert rc == 0
    embedded, _ = read_matrix(tmp_path / "emb.h5")
    assert predicted == folded == list(embedded) == ["halflife_1", "halflife_2"]  # never the label


@pytest.mark.parametrize(
    "command, extra",
    [("predict", ["--task", "te"]), ("fold", []), ("embed", [])],
)
def test_errors_name_only_options_of_the_command_that_prints_them(command, extra, tmp_path, capsys):
    no_seq = tmp_path / "t.csv"
    no_seq.write_text("name,value\na,1\n")
    bad_letter = tmp_path / "bad.fa"
    bad_letter.write_text(">bad\nACGU*ACGU\n")
    seen = []
    for src, more in ((no_seq, []), (bad_letter, ["--strict"] if "--strict" in _options(command) else [])):
        out = tmp_path / f"{command}-{src.stem}.out"
        rc, _, err = _run(capsys, [command, *extra, "-i", str(src), "-o", str(out), "-q", *more])
        if rc == 0:
            continue
        seen.append(err)
        unknown = _mentioned_options(err) - _options(command)
        assert not unknown, f"rnalm {command} printed {sorted(unknown)}, which it does not have:\n{err}"
    assert seen, f"rnalm {command} accepted every bad input"
    assert any("--seq-column" in e for e in seen)


def _modes(path: Path) -> set[int]:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if not p.name.startswith(".")]
    return {stat.S_IMODE(os.stat(p).st_mode) for p in files}


def test_outputs_follow_the_umask_in_every_command(tmp_path, capsys):
    fa = tmp_path / "in.fa"
    fa.write_text(">u1\nGGGGAAAACCCCAUGCAUGC\n>u2\nGCGCUUCGGCGCAUGAUG\n")
    old = os.umask(0o022)
    try:
        runs = {
            "predict": ["predict", "--task", "te", "-i", str(fa), "-o", str(tmp_path / "te.csv")],
            "fold": ["fold", "-i", str(fa), "-o", str(tmp_path / "fold"), "--files", "ct,bpseq,dbn,npy"],
            "embed": ["embed", "-i", str(fa), "-o", str(tmp_path / "emb.h5")],
            "convert": ["convert", str(shipped.package_root() / "utrlm-mini"), str(tmp_path / "native")],
            "demo": ["demo", "-i", str(fa), "-o", str(tmp_path / "demo"), "--no-vienna"],
        }
        for name, argv in runs.items():
            assert main([*argv, "-q"] if name in SEQUENCE_COMMANDS else argv) == 0, name
            out = Path(argv[argv.index("-o") + 1]) if "-o" in argv else tmp_path / "native"
            modes = _modes(out)
            assert modes and modes <= {0o644, 0o755}, f"{name}: {sorted(oct(m) for m in modes)}"
    finally:
        os.umask(old)
        capsys.readouterr()
