"""The output folder of ``rnalm pretrain``: what rnalm writes there, and when it may be reused.

A pretraining output holds ``config.yaml``, ``checkpoints/``, ``final/``, ``metrics.jsonl``,
``final_metrics.json``, ``tensorboard/`` (all from the run) and ``labels.sqlite`` (the ViennaRNA
label cache, keyed by the sequence's sha256, so valid for any run). Writing into an existing,
non-empty output is an error unless ``--resume`` (continue it) or ``--overwrite`` (start over):
an old run's later checkpoints would otherwise be picked up by a later ``--resume``, and its
``metrics.jsonl`` would be appended to. ``--overwrite`` accepts only an rnalm pretraining output
and removes exactly the run files listed in :data:`RUN_FILES`; the label cache and any file
rnalm did not write stay.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

from rnalm.errors import RnalmError, option
from rnalm.io.native import read_native_config
from rnalm.io.output_guard import REPLACE, OutputKind, claim_output, exists, remove_path, write_marker

#: Everything a pretraining run writes into its output, except the reusable label cache.
RUN_FILES = (
    "config.yaml",
    "checkpoints",
    "final",
    "final.old",
    "metrics.jsonl",
    "metrics.tmp",  # left by versions before rnalm.io.atomic; removed with the rest of an old run
    "final_metrics.json",
    "tensorboard",
)


def is_pretrain_output(path: Path) -> bool:
    """An output of an rnalm version before the marker: checkpoints, a final model or metrics of a run."""
    if any((path / "checkpoints").glob("step-*/state.pt")):
        return True
    if (path / "final" / "config.json").is_file():
        return bool(read_native_config(path / "final"))
    return (path / "metrics.jsonl").is_file() and (path / "final_metrics.json").is_file()


PRETRAIN_OUTPUT = OutputKind("pretrain", "an rnalm pretraining output", is_pretrain_output)


def claim_pretrain_output(out: Path, resume: bool, overwrite: bool, inputs: Iterable[Optional[str]]) -> str:
    """Check ``out`` for this run (see the module docstring), clear an overwritten run, mark the folder.

    Call under the output's lock (:func:`rnalm.io.output_guard.output_lock`), on the main rank only.
    """
    if resume and overwrite:
        raise RnalmError(f"{option('resume')} and {option('overwrite')} exclude each other")
    action = claim_output(
        out, PRETRAIN_OUTPUT, overwrite, resume, inputs, option("overwrite"), resume_option=option("resume")
    )
    if action == REPLACE:
        for name in RUN_FILES:
            if exists(out / name):
                remove_path(out / name)
    out.mkdir(parents=True, exist_ok=True)
    write_marker(out, PRETRAIN_OUTPUT)
    return action


__all__ = ["PRETRAIN_OUTPUT", "RUN_FILES", "claim_pretrain_output", "is_pretrain_output"]
