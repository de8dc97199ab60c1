"""The arithmetic of an embedding run: ``--dtype`` resolved to weights on the device and the context
the forward passes run in.

``auto`` follows :func:`rnalm.precision.resolve`: bfloat16 where the device computes it natively,
float32 elsewhere. bfloat16 runs under autocast (:meth:`rnalm.precision.Precision.autocast`): the
matrix products are bf16 while layer norms, the residual stream and the softmax of explicit
attention maps stay float32. A model the run loaded itself gets its Linear layers' weights stored
in bf16 once, before the first batch: autocast would round them the same way on every call (same
numbers), so this only saves the per-call casts; a model passed in memory is left as it is.
float16 (GPU only) casts the whole model, as no autocast policy is offered for it here.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, ContextManager, Optional

import torch

from rnalm.errors import RnalmError, option
from rnalm.precision import ALIASES, resolve

#: what ``--dtype`` takes; ``fp32``/``bf16``/``fp16`` are accepted spellings
DTYPE_CHOICES = ("auto", "float32", "bfloat16", "float16")
#: how each type is computed: ``autocast`` (bf16 products, fp32 norms) or ``cast`` (the whole model)
MODES = {"float32": "float32", "bfloat16": "autocast", "float16": "cast"}


@dataclass(frozen=True)
class Compute:
    """The type a run computes in (``float32``, ``bfloat16``, ``float16``), how, and why."""

    name: str
    reason: str
    device_type: str = "cpu"

    @property
    def dtype(self) -> torch.dtype:
        return {"bfloat16": torch.bfloat16, "float16": torch.float16}.get(self.name, torch.float32)

    @property
    def mode(self) -> str:
        return MODES[self.name]

    def prepare(self, model: torch.nn.Module, device: torch.device, owned: bool = True) -> torch.nn.Module:
        """``model`` on ``device`` in eval mode with the weights this mode reads; Linear weights are
        pre-cast for autocast only when the run ``owned`` the model (loaded it itself)."""
        model = model.to(device=device, dtype=torch.float32 if self.mode != "cast" else self.dtype).eval()
        if self.mode == "autocast" and owned:
            for module in model.modules():
                if isinstance(module, torch.nn.Linear):
                    module.to(self.dtype)
        return model

    def context(self) -> ContextManager:
        """What each forward pass runs in: autocast for bfloat16, nothing otherwise."""
        if self.mode != "autocast":
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def summary(self) -> str:
        """``bfloat16 autocast (auto: CPU has amx_bf16/avx512_bf16)``: for the closing line."""
        how = " autocast" if self.mode == "autocast" else ""
        return f"{self.name}{how} ({self.reason})"

    def to_dict(self) -> dict[str, Any]:
        """The output metadata's ``dtype``, ``dtype_mode`` and ``dtype_reason``."""
        return {"dtype": self.name, "dtype_mode": self.mode, "dtype_reason": self.reason}


def resolve_compute(choice: Optional[str], device: torch.device, previous: Optional[str] = None) -> Compute:
    """``--dtype`` on ``device``: ``auto`` (None) and ``float32``/``bfloat16`` as
    :func:`rnalm.precision.resolve` decides; ``float16`` on a GPU only. ``previous`` (the dtype an
    interrupted run recorded) is what ``auto`` means on ``--resume``, so a resumed output is
    computed in one type throughout."""
    name = (choice or "auto").lower()
    name = {**ALIASES, "fp16": "float16"}.get(name, name)
    if name not in DTYPE_CHOICES:
        raise RnalmError(f"{option('dtype')}: must be one of {', '.join(DTYPE_CHOICES)}; got {choice!r}")
    if name == "auto" and previous in MODES:
        return Compute(str(previous), "auto: as the interrupted run", device.type)
    if name == "float16":
        if device.type == "cpu":
            raise RnalmError(f"{option('dtype', 'float16')} needs a GPU; on CPU use float32 (or bfloat16)")
        return Compute(name, "asked", device.type)
    p = resolve(name, device)
    return Compute(p.name, p.reason, p.device_type)
