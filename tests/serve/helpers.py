"""A real ``rnalm serve`` process on 127.0.0.1 and a free port, for the tests that need one."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import httpx

SRC = str(Path(__file__).resolve().parents[2] / "src")
FINISHED = ("done", "failed", "cancelled")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = SRC + os.pathsep + e.get("PYTHONPATH", "")
    e.setdefault("OMP_NUM_THREADS", "1")
    return e


class Server:
    """``rnalm serve --data-dir DIR`` as a subprocess; :meth:`kill` is ``kill -9``, :meth:`start` (re)starts it."""

    def __init__(self, data_dir: Path, *args: str, token: Optional[str] = None, port: Optional[int] = None) -> None:
        self.data_dir, self.args, self.token = data_dir, list(args), token
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: Optional[subprocess.Popen] = None
        self.log = data_dir.parent / f"serve-{self.port}.log"

    def start(self, timeout: float = 60) -> "Server":
        cmd = [sys.executable, "-m", "rnalm", "serve", "--data-dir", str(self.data_dir), "--port", str(self.port)]
        cmd += self.args + (["--token", self.token] if self.token else [])
        self.proc = subprocess.Popen(cmd, env=env(), stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if httpx.get(self.url + "/static/style.css", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"rnalm serve did not answer in {timeout}s: {self.log.read_text()}")

    def client(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def workers(self) -> list[int]:
        """The worker processes this server started (children of its process)."""
        assert self.proc is not None
        out = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                out.append(int(stat.parent.name))
        return out

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait(client: httpx.Client, job_id: str, timeout: float = 120) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in FINISHED:
            return job
        time.sleep(0.2)
    raise TimeoutError(f"job {job_id} did not finish in {timeout}s: {job}")


def fasta(records: list[tuple[str, str]]) -> str:
    return "".join(f">{rid}\n{seq}\n" for rid, seq in records)


def records(n: int, length: int = 40, prefix: str = "r") -> list[tuple[str, str]]:
    """``n`` distinct sequences, the same every call."""
    out = []
    for i in range(n):
        x, seq = i * 2654435761 % 2**32, []
        for _ in range(length):
            x = (x * 1103515245 + 12345) % 2**31
            seq.append("ACGU"[x >> 29])
        out.append((f"{prefix}{i}", "".join(seq)))
    return out


def cli_predict_te(src: Path, out: Optional[Path] = None) -> bytes:
    """What ``rnalm predict --task te`` writes for ``src``, run as a process in the server's environment
    (thread count included: the last digit of a printed float can depend on it) and at the default
    ``--dtype`` (auto), which is also a job's default."""
    cmd = [sys.executable, "-m", "rnalm", "predict", "--task", "te", "-i", str(src), "-q"]
    done = subprocess.run(
        cmd + (["-o", str(out)] if out else []), env=env(), capture_output=True, check=True, timeout=300
    )
    return out.read_bytes() if out else done.stdout
