"""Which floating-point type a model computes in: ``--dtype auto`` picks bfloat16 where the device
does it fast and float32 elsewhere.

Why detect instead of assume: machines of one kind change CPU between generations. A CPU with AMX
or AVX512-BF16 runs bf16 matrix products several times faster than fp32 (about 3.8x measured on
one); a CPU without them emulates bf16 and is slower than fp32. CUDA GPUs with bf16 support
(compute capability 8.0 and later) are fast in bf16 too. Anything else gets float32.

bfloat16 here means autocast (:meth:`Precision.autocast`): matrix products and convolutions in
bf16, while softmax, layer norm, reductions and losses stay in float32, as ``torch.autocast``
decides per operation. Weights stay in float32.
"""

from __future__ import annotations

import contextlib
import platform
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import ContextManager

import torch

from rnalm.errors import RnalmError, option

#: what ``--dtype`` takes (``fp32``/``bf16`` are accepted spellings of the last two)
CHOICES = ("auto", "float32", "bfloat16")
ALIASES = {"fp32": "float32", "bf16": "bfloat16"}
#: CPU flags (``/proc/cpuinfo``) that mean native bf16 arithmetic
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
#: flags printed with every benchmark, so a figure names the hardware it was measured on
REPORTED_CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags as the kernel lists them (empty where there is no ``/proc/cpuinfo``)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what :mod:`platform` says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_report() -> str:
    """One line for benchmark output: the CPU model and which of :data:`REPORTED_CPU_FLAGS` it has."""
    flags = cpu_flags()
    have = [f for f in REPORTED_CPU_FLAGS if f in flags]
    missing = [f for f in REPORTED_CPU_FLAGS if f not in flags]
    return f"CPU: {cpu_model()}; flags: {' '.join(have) or 'none of interest'}; lacks: {' '.join(missing) or '-'}"


def fast_bf16(device: torch.device) -> tuple[bool, str]:
    """Whether ``device`` computes bf16 natively, and the evidence in words."""
    if device.type == "cuda":
        ok = bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
        name = torch.cuda.get_device_name(device) if torch.cuda.is_available() else "no CUDA device"
        return ok, f"{name} {'supports' if ok else 'lacks'} bf16"
    if device.type == "cpu":
        have = [f for f in BF16_CPU_FLAGS if f in cpu_flags()]
        if have:
            return True, f"CPU has {'/'.join(have)}"
        return False, f"CPU lacks {' and '.join(BF16_CPU_FLAGS)}"
    return False, f"{device.type}: bf16 speed not known"


@dataclass(frozen=True)
class Precision:
    """The type a run computes in (``name``: ``float32`` or ``bfloat16``), and why it was chosen."""

    name: str
    reason: str
    device_type: str = "cpu"

    @property
    def dtype(self) -> torch.dtype:
        return torch.bfloat16 if self.name == "bfloat16" else torch.float32

    @property
    def is_bf16(self) -> bool:
        return self.name == "bfloat16"

    def autocast(self) -> ContextManager:
        """The context model calls run in: bf16 autocast, or nothing for float32."""
        if not self.is_bf16:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=torch.bfloat16)

    def summary(self) -> str:
        """``bfloat16 (auto: CPU has amx_bf16/avx512_bf16)``: for a command's closing line and metadata."""
        return f"{self.name} ({self.reason})"

    def to_dict(self) -> dict:
        return {"dtype": self.name, "reason": self.reason}


def resolve(choice: str | None, device: torch.device | str, setting: str = "dtype") -> Precision:
    """``auto`` (or None): bfloat16 where :func:`fast_bf16` says the device has it, else float32;
    ``float32`` always; ``bfloat16`` wherever asked (slow on a CPU without bf16 units, so the
    reason says so). ``setting`` names the option in errors."""
    dev = torch.device(device)
    name = ALIASES.get((choice or "auto").lower(), (choice or "auto").lower())
    if name not in CHOICES:
        raise RnalmError(f"{option(setting, choice)}: must be one of {', '.join(CHOICES)}")
    ok, why = fast_bf16(dev)
    if name == "auto":
        return Precision("bfloat16" if ok else "float32", f"auto: {why}", dev.type)
    if name == "bfloat16":
        return Precision(name, "asked" + ("" if ok else f"; slow here: {why}"), dev.type)
    return Precision(name, "asked", dev.type)


__all__ = [
    "ALIASES",
    "BF16_CPU_FLAGS",
    "CHOICES",
    "REPORTED_CPU_FLAGS",
    "Precision",
    "cpu_flags",
    "cpu_model",
    "cpu_report",
    "fast_bf16",
    "resolve",
]
