"""rnalm.numerics: the math libraries' mode is fixed by the CLI before the first matrix product, a
too-late call is reported, and RNALM_FAST_MATH / --fast-math opt out."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rnalm import numerics

if numerics.mkl_cbwr_mode() is None:  # the suite's own process: conftest has fixed the mode already
    pytest.skip("this torch has no oneMKL whose mode rnalm can read", allow_module_level=True)

PROBE = """
import json, sys, warnings
import torch
from rnalm import numerics
scenario = sys.argv[1]
if scenario == "late":
    a = torch.randn(32, 32); a @ a  # oneMKL is used before rnalm is asked
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    if scenario.startswith("cli"):
        from rnalm.cli import main
        main((["--fast-math"] if scenario == "cli-fast" else []) + ["models"])
        mode = numerics.current()
    else:
        mode = numerics.reproducible()
a = torch.randn(32, 32); a @ a
print(json.dumps({**mode.to_dict(), "after_matmul": numerics.mkl_cbwr_mode(),
                  "warnings": [str(w.message) for w in caught]}))
"""


SCENARIOS = {
    "cli": {},
    "cli-fast": {},
    "api-fast-env": {"RNALM_FAST_MATH": "1"},
    "api-own-setting": {"MKL_CBWR": "COMPATIBLE"},
    "late": {},
}


@pytest.fixture(scope="module")
def probes() -> dict[str, dict]:
    """PROBE's answer for each scenario, each in a fresh interpreter (started together: they are slow to
    import torch) whose environment sets none of the knobs unless the scenario does."""
    clean = {k: v for k, v in os.environ.items() if k not in ("MKL_CBWR", "MKL_DYNAMIC", numerics.FAST_MATH_ENV)}
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-c", PROBE, name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**clean, **env},
        )
        for name, env in SCENARIOS.items()
    }
    out = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=180)
        assert proc.returncode == 0, stderr[-2000:]
        out[name] = json.loads(stdout.strip().splitlines()[-1])
    return out


def test_cli_fixes_the_mode_before_any_matrix_product(probes):
    out = probes["cli"]
    assert out["mkl_cbwr"] == numerics.DEFAULT_CBWR and out["after_matmul"] == numerics.DEFAULT_CBWR
    assert out["reproducible"] and not out["warnings"]


def test_cli_fast_math_flag_and_environment_opt_out(probes):
    assert probes["cli-fast"]["after_matmul"] == "BRANCH_OFF" and probes["cli-fast"]["fast_math"]
    out = probes["api-fast-env"]
    assert out["fast_math"] and not out["reproducible"] and out["after_matmul"] == "BRANCH_OFF"


def test_a_users_own_setting_is_kept(probes):
    out = probes["api-own-setting"]
    assert out["mkl_cbwr"] == "COMPATIBLE" and out["reproducible"]


def test_too_late_is_reported_not_silently_ignored(probes):
    out = probes["late"]
    assert out["mkl_cbwr"] == "BRANCH_OFF" and not out["reproducible"]
    assert len(out["warnings"]) == 1 and "rnalm.numerics.reproducible()" in out["warnings"][0]
