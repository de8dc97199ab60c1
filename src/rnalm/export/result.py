"""What an export wrote, and the one line the command prints about it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional


def file_bytes(path: Path) -> int:
    """Size of a file, or of every file under a directory."""
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def human_bytes(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Exported:
    """One finished export: its files, size, the model's size, and how closely it reproduces rnalm."""

    target: str
    paths: tuple[Path, ...]
    bytes: int
    parameters: int
    #: the ONNX opset (None for a Hugging Face directory)
    opset: Optional[int]
    #: largest absolute difference from rnalm's logits / final representation on the probe batch
    max_abs_diff: float
    #: what the exported model does differently from rnalm's (written into the README / metadata too)
    notes: tuple[str, ...]
    seconds: float

    def summary(self) -> str:
        what = ", ".join(str(p) for p in self.paths)
        opset = f", opset {self.opset}" if self.opset is not None else ""
        return (
            f"{what}: {human_bytes(self.bytes)}, {self.parameters / 1e6:.2f}M parameters{opset}; "
            f"reproduces rnalm's outputs to {self.max_abs_diff:.1e} (max abs difference on a padded batch); "
            f"{self.seconds:.1f} s"
        )


__all__ = ["Exported", "file_bytes", "human_bytes"]
