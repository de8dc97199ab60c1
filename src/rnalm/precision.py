"""Which floating-point type a model computes in: ``--dtype auto`` picks bfloat16 where the device
does it fast and float32 elsewhere.

Why detect instead of assume: machines of one kind change CPU between generations. A CPU with AMX
or AVX512-BF16 runs bf16 matrix products several times faster than fp32 (about 3.8x measured on
one); a CPU without them emulates bf16 and is slower than fp32. CUDA GPUs with bf16 support
(compute capability 8.0 and later) are fast in bf16 too. Anything else gets float32.

bfloat16 here means autocast (:meth:`Precision.autocast`): matrix products and convolutions in
bf16, while softmax, layer norm, reductions and losses stay in float32, as ``torch.autocast``
decides per operation. Weights stay in float32, except that a model prepared for inference
(:meth:`Precision.prepare`) may hold its Linear weights in bf16: autocast would round them the same
way on every call. float16 is offered only where a caller asks for it (``float16=True``: embedding
on a GPU) and casts the whole model (mode ``cast``): no autocast policy is offered for it here.
"""

from __future__ import annotations

import contextlib
import platform
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import ContextManager, Optional

import torch

from rnalm.errors import RnalmError, option

#: what ``--dtype`` takes (``fp32``/``bf16`` are accepted spellings of the last two)
CHOICES = ("auto", "float32", "bfloat16")
#: :data:`CHOICES` and float16, for a caller that offers it (a GPU only: ``resolve(..., float16=True)``)
WITH_FLOAT16 = (*CHOICES, "float16")
#: accepted spellings: ``fp16`` only where float16 is offered
ALIASES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}
#: how each type is computed: plain float32, ``autocast`` (bf16 products, fp32 norms), ``cast`` (the whole model)
MODES = {"float32": "float32", "bfloat16": "autocast", "float16": "cast"}
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


def matmul_peak(
    dtype: torch.dtype = torch.float32, device: "str | torch.device" = "cpu", n: int = 1024, reps: int = 10
) -> float:
    """FLOP/s of the best of ``reps`` ``n``^3 matrix products in ``dtype`` on ``device``: the peak a
    benchmark reports its rows as fractions of, measured in the same run because shared machines
    and CPUs of one kind differ (AMX makes bf16 several times fp32's rate; a busy core halves both)."""
    dev = torch.device(device)

    def product() -> None:
        a @ b
        if dev.type == "cuda":
            torch.cuda.synchronize()

    a = torch.randn(n, n, device=dev).to(dtype)
    b = torch.randn(n, n, device=dev).to(dtype)
    for _ in range(3):
        product()
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        product()
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best


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
    """The type a run computes in (``name``: ``float32``, ``bfloat16``, or ``float16`` where offered),
    and why it was chosen."""

    name: str
    reason: str
    device_type: str = "cpu"

    @property
    def dtype(self) -> torch.dtype:
        return {"bfloat16": torch.bfloat16, "float16": torch.float16}.get(self.name, torch.float32)

    @property
    def is_bf16(self) -> bool:
        return self.name == "bfloat16"

    @property
    def mode(self) -> str:
        """How the type is computed: ``float32``, ``autocast`` (bfloat16) or ``cast`` (float16)."""
        return MODES[self.name]

    def autocast(self) -> ContextManager:
        """The context model calls run in: bf16 autocast, or nothing (float32, or a float16 model cast whole)."""
        if self.mode != "autocast":
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def prepare(self, model: torch.nn.Module, device: torch.device, cast_weights: bool = True) -> torch.nn.Module:
        """``model`` for inference in this type: on ``device``, in eval mode, float32 (float16 casts it
        whole). For autocast, ``cast_weights`` stores the Linear layers' weights in bf16 once, which
        only saves the per-call casts (autocast rounds them the same way each call): pass False for a
        model the caller keeps using in float32, as this changes the module in place."""
        model = model.to(device=device, dtype=self.dtype if self.mode == "cast" else torch.float32).eval()
        if self.mode == "autocast" and cast_weights:
            for module in model.modules():
                if isinstance(module, torch.nn.Linear):
                    module.to(self.dtype)
        return model

    def summary(self, mode: bool = False) -> str:
        """``bfloat16 (auto: CPU has amx_bf16/avx512_bf16)``: for a command's closing line and metadata;
        with ``mode``, how it is computed too (``bfloat16 autocast (...)``)."""
        how = " autocast" if mode and self.mode == "autocast" else ""
        return f"{self.name}{how} ({self.reason})"

    def to_dict(self) -> dict:
        return {"dtype": self.name, "reason": self.reason}


def resolve(
    choice: str | None,
    device: torch.device | str,
    setting: str = "dtype",
    *,
    float16: bool = False,
    previous: Optional[str] = None,
) -> Precision:
    """``auto`` (or None): bfloat16 where :func:`fast_bf16` says the device has it, else float32;
    ``float32`` always; ``bfloat16`` wherever asked (slow on a CPU without bf16 units, so the
    reason says so); ``float16`` where the caller offers it (``float16=True``), on a GPU only.
    ``previous`` (the type an interrupted run recorded) is what ``auto`` means when resuming, so
    one output is computed in one type. ``setting`` names the option in errors."""
    dev = torch.device(device)
    choices = WITH_FLOAT16 if float16 else CHOICES
    name = ALIASES.get((choice or "auto").lower(), (choice or "auto").lower())
    if name not in choices:
        raise RnalmError(f"{option(setting, choice)}: must be one of {', '.join(choices)}")
    if name == "auto" and previous in choices and previous != "auto":
        return Precision(str(previous), "auto: as the interrupted run", dev.type)
    if name == "float16":
        if dev.type == "cpu":
            raise RnalmError(f"{option(setting, choice)} needs a GPU; on CPU use float32 (or bfloat16)")
        return Precision(name, "asked", dev.type)
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
    "MODES",
    "REPORTED_CPU_FLAGS",
    "WITH_FLOAT16",
    "Precision",
    "cpu_flags",
    "cpu_model",
    "cpu_report",
    "fast_bf16",
    "matmul_peak",
    "resolve",
]
