"""torch checkpoints: refusals name the file and a safe next step; zip bombs are refused before inflation.

Two faults this guards against: the refusal once repeated torch's advice to switch the restriction off, and a 1 MB
deflate bomb inside a .pt was inflated to 1 GB before being refused.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

from rnalm.errors import CheckpointError
from rnalm.io.safe_torch import safe_torch_load
from rnalm.io.sizecap import INFLATION_FLOOR_BYTES, InflationError

BOMB_MIB = 200
SRC = str(Path(__file__).resolve().parents[2] / "src")


class RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


@pytest.mark.parametrize("legacy", [False, True])
def test_unsafe_pickle_refusal_names_file_and_safe_steps_without_torch_advice(tmp_path, legacy):
    marker, path = tmp_path / "ran", tmp_path / "evil.pt"
    if legacy:
        path.write_bytes(pickle.dumps({"x": RunsCode(marker)}, protocol=2))
    else:
        torch.save({"x": RunsCode(marker)}, path)
    with pytest.raises(CheckpointError) as info:
        safe_torch_load(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: refused to unpickle: it refers to ") and ".mkdir," in msg
    assert "rnalm convert" in msg and "trusted copy" in msg
    assert "weights_only=False" not in msg and "weights_only" not in msg and "likely succeed" not in msg
    assert info.value.__cause__ is None and info.value.__suppress_context__  # torch's text is not chained either
    assert not marker.exists()


def write_bomb(path: Path, inflated_mib: int) -> Path:
    """A real torch.save zip whose tensor storage member is ``inflated_mib`` MiB of deflated zeros
    (streamed in 1 MiB chunks: a few hundred KB on disk, little memory to build)."""
    plain = path.with_name("plain.pt")
    torch.save({"t": torch.ones(1000)}, plain)
    chunk = bytes(2**20)
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(path, "w") as zout:
        for info in zin.infolist():
            if info.filename.endswith("/data/0"):
                member = zipfile.ZipInfo(info.filename)
                member.compress_type = zipfile.ZIP_DEFLATED
                with zout.open(member, "w") as fh:
                    for _ in range(inflated_mib):
                        fh.write(chunk)
            else:
                zout.writestr(info, zin.read(info.filename))
    plain.unlink()
    return path


def lie_about_size(src: Path, dst: Path, declared: int) -> Path:
    """Copy ``src`` with the storage member's uncompressed size (local and central headers) set
    to ``declared``: a small header over a huge stream."""
    data = bytearray(src.read_bytes())
    with zipfile.ZipFile(src) as zf:
        info = next(i for i in zf.infolist() if i.filename.endswith("/data/0"))
        pos = zf.start_dir
    struct.pack_into("<I", data, info.header_offset + 22, declared)
    while data[pos : pos + 4] == b"PK\x01\x02":
        n, e, c = struct.unpack_from("<HHH", data, pos + 28)
        if data[pos + 46 : pos + 46 + n].decode() == info.filename:
            struct.pack_into("<I", data, pos + 24, declared)
        pos += 46 + n + e + c
    dst.write_bytes(bytes(data))
    return dst


#: Loads each path in a fresh process and reports its peak-RSS growth (MiB) and seconds per load. On
#: Linux the peak is reset before each load (``5 > /proc/self/clear_refs``) and read as VmHWM.
PROBE = """
import json, resource, sys, time
import torch
from rnalm.io.safe_torch import safe_torch_load

def status(key):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(key + ":"))

def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return status("VmRSS"), lambda: status("VmHWM")
    except OSError:
        def peak_rss() -> int:
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak_rss(), peak_rss

out = []
for how, path in zip(sys.argv[1::2], sys.argv[2::2]):
    before, peak = reset_peak()
    t0 = time.perf_counter()
    try:
        safe_torch_load(path) if how == "rnalm" else torch.load(path, weights_only=True)
        error = None
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    out.append({"how": how, "error": error, "rss_mib": (peak() - before) / 1024, "seconds": time.perf_counter() - t0})
print(json.dumps(out))
"""


def probe(*loads: tuple[str, Path]) -> list[dict]:
    args = [str(x) for pair in loads for x in pair]
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "OMP_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    return write_bomb(tmp_path_factory.mktemp("bomb") / "bomb.pt", BOMB_MIB)


def test_deflate_bomb_refused_before_inflation(bomb):
    assert bomb.stat().st_size < 1_000_000 and BOMB_MIB * 2**20 > INFLATION_FLOOR_BYTES
    with pytest.raises(InflationError, match=f"{bomb}: refused: its zip members declare 209,715"):
        safe_torch_load(bomb)
    ours, plain = probe(("rnalm", bomb), ("torch", bomb))
    assert ours["error"].startswith("InflationError") and ours["rss_mib"] < 20 and ours["seconds"] < 1
    # control: PyTorch alone inflates the whole member before it notices anything
    assert plain["error"] is not None and plain["rss_mib"] > 0.75 * BOMB_MIB


def test_lying_header_refused_and_never_inflated_past_its_declared_size(bomb, tmp_path):
    liar = lie_about_size(bomb, tmp_path / "liar.pt", declared=4000)
    with pytest.raises(InflationError, match=r"liar.pt: refused: zip member '.*/data/0' does not inflate"):
        safe_torch_load(liar)
    ours, plain = probe(("rnalm", liar), ("torch", liar))
    assert ours["rss_mib"] < 20 and ours["error"].startswith("InflationError")
    # PyTorch alone reads only the declared 4000 bytes (no bomb), and takes them as data: no CRC check
    assert plain["rss_mib"] < 20 and plain["error"] is None


def test_ordinary_checkpoints_pass_the_cap(tmp_path):
    torch.save({"w": torch.randn(300, 300)}, tmp_path / "ok.pt")
    assert safe_torch_load(tmp_path / "ok.pt")["w"].shape == (300, 300)
