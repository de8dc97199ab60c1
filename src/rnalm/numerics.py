"""The math libraries' numerical mode: the same run on the same machine gives the same bits.

PyTorch's CPU wheels do their float32 matrix products in oneMKL. Left to itself, oneMKL picks its
kernels and splits work between threads at run time, and the choice can change from one process
to the next (it was seen to alternate between two Spearman values over four identical fine-tuning
runs), so the rounding, and with it a trained model, differs between identical runs.
oneMKL's *conditional numerical reproducibility* (CNR) fixes the code path; turning its dynamic
thread count off (``MKL_DYNAMIC=FALSE``) stops it from using fewer threads than asked for. With a
fixed thread count, results are then bitwise identical run to run on one machine.

oneMKL reads ``MKL_CBWR`` once, at its first call; a process that has already done a matrix product
can no longer change the mode. Hence :func:`reproducible` is called first thing by the ``rnalm``
command (:func:`rnalm.cli.main`) and by the API entry points that train or embed; a library user
who computes with torch before calling rnalm calls ``rnalm.numerics.reproducible()`` (or exports
``MKL_CBWR=AUTO``) before that first computation. ``RNALM_FAST_MATH=1`` (or ``rnalm --fast-math``)
leaves the libraries in their default, fastest mode; its speed gain is measured by
``benchmarks/numerics_cost.py`` (BENCHMARKS.md). A ``MKL_CBWR`` already in the environment is the
user's choice and is kept.
"""

from __future__ import annotations

import ctypes
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import torch

#: Environment variable that opts out of the reproducible mode (any of 1/true/yes/on).
FAST_MATH_ENV = "RNALM_FAST_MATH"
#: The CNR branch rnalm asks for: the best code path this CPU supports, fixed for the process.
DEFAULT_CBWR = "AUTO"
#: Settings made in the environment unless the user has set them already (child processes inherit them).
REPRODUCIBLE_ENV = {"MKL_CBWR": DEFAULT_CBWR, "MKL_DYNAMIC": "FALSE"}

#: oneMKL's named CNR branches (mkl_cbwr_get's return values, without the STRICT bit).
CBWR_BRANCHES = {
    0: "OFF",
    1: "BRANCH_OFF",
    2: "AUTO",
    3: "COMPATIBLE",
    4: "SSE2",
    6: "SSSE3",
    7: "SSE4_1",
    8: "SSE4_2",
    9: "AVX",
    10: "AVX2",
    11: "AVX512_MIC",
    12: "AVX512",
    13: "AVX512_MIC_E1",
    14: "AVX512_E1",
}
_CBWR_ALL = -1  # MKL_CBWR_ALL: the whole setting, branch and STRICT bit
_CBWR_STRICT = 0x10000


@dataclass(frozen=True)
class NumericsMode:
    """What :func:`reproducible` found: whether the opt-out was taken and oneMKL's active branch."""

    fast_math: bool
    mkl_cbwr: Optional[str]  # None: this torch has no oneMKL rnalm can query (nothing to fix)

    @property
    def reproducible(self) -> bool:
        return not self.fast_math and self.mkl_cbwr not in ("OFF", "BRANCH_OFF")

    def to_dict(self) -> dict:
        return {"fast_math": self.fast_math, "mkl_cbwr": self.mkl_cbwr, "reproducible": self.reproducible}


def fast_math_requested() -> bool:
    """True when ``RNALM_FAST_MATH`` asks for the libraries' default (faster, run-dependent) mode."""
    return os.environ.get(FAST_MATH_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _mkl_function(*symbols: str) -> Optional[Callable[[int], int]]:
    """The first of ``symbols`` (an ``int f(int)`` of oneMKL) linked into torch's CPU library, or None."""
    if not torch.backends.mkl.is_available():
        return None
    lib_dir = Path(torch.__file__).parent / "lib"
    for lib_name in ("libtorch_cpu.so", "libtorch_cpu.dylib", "torch_cpu.dll"):
        if not (lib_dir / lib_name).exists():
            continue
        try:
            lib = ctypes.CDLL(str(lib_dir / lib_name))
        except OSError:
            return None
        for symbol in symbols:
            fn = getattr(lib, symbol, None)
            if fn is not None:
                fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
                return fn
    return None


def mkl_cbwr_mode() -> Optional[str]:
    """oneMKL's active CNR setting as its name (``"AUTO"``, ``"AVX2,STRICT"``, ``"BRANCH_OFF"`` = none),
    or None when torch has no oneMKL to ask. The first query fixes the mode, as a first BLAS call would."""
    getter = _mkl_function("mkl_cbwr_get", "mkl_serv_cbwr_get")
    if getter is None:
        return None
    value = int(getter(_CBWR_ALL))
    if value < 0:
        return None
    name = CBWR_BRANCHES.get(value & ~_CBWR_STRICT, str(value & ~_CBWR_STRICT))
    return name + (",STRICT" if value & _CBWR_STRICT else "")


def current() -> NumericsMode:
    """The mode this process computes in now (recorded in a fine-tuning run's ``run_info.json``)."""
    return NumericsMode(fast_math=fast_math_requested(), mkl_cbwr=mkl_cbwr_mode())


def reproducible(fast_math: bool = False, warn: bool = True) -> NumericsMode:
    """Ask the math libraries for run-to-run identical results, unless the caller or ``RNALM_FAST_MATH`` opts out.

    Sets ``MKL_CBWR=AUTO`` and ``MKL_DYNAMIC=FALSE`` where the environment does not already set
    them (``torch.set_num_threads`` switches oneMKL's dynamic thread count off in this process),
    then reads back the mode oneMKL actually uses. If oneMKL was already
    used by this process without CNR (a matrix product before this call), the mode can no longer
    change; with ``warn`` that is reported as a :class:`RuntimeWarning` naming the remedy.
    ``fast_math=True`` (``rnalm --fast-math``) sets ``RNALM_FAST_MATH=1``, so that later calls in
    this process and child processes keep the opt-out. Calling it again is harmless.
    """
    if fast_math:
        os.environ[FAST_MATH_ENV] = "1"
    if fast_math_requested():
        return NumericsMode(fast_math=True, mkl_cbwr=mkl_cbwr_mode())
    for name, value in REPRODUCIBLE_ENV.items():
        os.environ.setdefault(name, value)
    # oneMKL read MKL_DYNAMIC when torch loaded; torch.set_num_threads switches the dynamic count off
    torch.set_num_threads(torch.get_num_threads())
    mode = NumericsMode(fast_math=False, mkl_cbwr=mkl_cbwr_mode())
    if warn and not mode.reproducible:
        warnings.warn(
            "oneMKL was used by this process before rnalm could fix its numerical mode, so results may "
            "differ between identical runs in their last bits; call rnalm.numerics.reproducible() "
            "before the first torch computation, or export MKL_CBWR=AUTO (set RNALM_FAST_MATH=1 to "
            "silence this and keep the faster default)",
            RuntimeWarning,
            stacklevel=2,
        )
    return mode
