"""What a pretraining run reports: metrics as JSON lines, info lines on stderr, optionally
TensorBoard (an optional dependency, imported only when asked for). Rank 0 only. The progress
bar is :class:`rnalm.io.progress.Progress`, drawn by the trainer."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rnalm.errors import RnalmError
from rnalm.io.atomic import atomic_write_text


class RunLog:
    """JSON-lines metrics (rank 0 only), plain info lines to stderr, optional TensorBoard."""

    def __init__(self, out: Path, main: bool, tensorboard: bool) -> None:
        self.main = main
        self.path = out / "metrics.jsonl"
        self.tb: Any = None
        if main:
            out.mkdir(parents=True, exist_ok=True)
            if tensorboard:
                try:
                    from torch.utils.tensorboard import SummaryWriter
                except ImportError as exc:
                    raise RnalmError("tensorboard=true needs the tensorboard package") from exc
                self.tb = SummaryWriter(str(out / "tensorboard"))

    def info(self, msg: str) -> None:
        if self.main:
            print(f"[rnalm pretrain] {msg}", file=sys.stderr, flush=True)

    def metrics(self, rec: dict[str, Any]) -> None:
        if not self.main:
            return
        with open(self.path, "a") as fh:
            fh.write(json.dumps(rec) + "\n")
        if self.tb is not None:
            for k, v in rec.items():
                if k != "step" and isinstance(v, (int, float)):
                    self.tb.add_scalar(k, v, rec["step"])

    def truncate_after(self, step: int) -> None:
        """Drop records a killed run logged after the checkpoint we resume from."""
        if not (self.main and self.path.is_file()):
            return
        keep = [ln for ln in self.path.read_text().splitlines() if ln and json.loads(ln).get("step", 0) <= step]
        atomic_write_text(self.path, "".join(k + "\n" for k in keep))

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()
