"""Load: 20 concurrent clients submit 5 small predict jobs each to one server. Every job completes,
none is lost or run twice, each result holds its own input's ids; throughput and submit latency are
printed (BENCHMARKS.md quotes them). RNALM_SERVE_LOAD_WORKERS sets the worker processes (default 2)."""

from __future__ import annotations

import os
import statistics
import threading
import time

import pytest

from rnalm import shipped

from .helpers import FINISHED, Server, records

pytestmark = pytest.mark.slow
CLIENTS, JOBS_EACH = 20, 5


def test_twenty_clients_five_jobs_each(tmp_path, monkeypatch):
    monkeypatch.delenv(shipped.ENV_DIR, raising=False)
    workers = os.environ.get("RNALM_SERVE_LOAD_WORKERS", "2")
    srv = Server(tmp_path / "data", "--workers", workers).start()
    submitted: list[tuple[str, list[str], float]] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client(k: int) -> None:
        with srv.client() as c:
            for j in range(JOBS_EACH):
                recs = records(4, 50, f"c{k}j{j}_")
                t = time.perf_counter()
                r = c.post(
                    "/api/jobs",
                    json={"kind": "predict", "task": "te", "sequences": [{"id": i, "sequence": s} for i, s in recs]},
                )
                dt = time.perf_counter() - t
                with lock:
                    if r.status_code == 202:
                        submitted.append((r.json()["id"], [i for i, _ in recs], dt))
                    else:
                        errors.append(r.text)

    try:
        start = time.perf_counter()
        threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with srv.client() as c:
            deadline = time.time() + 600
            while time.time() < deadline:
                jobs = c.get("/api/jobs").json()["jobs"]
                if len(jobs) >= len(submitted) and all(j["status"] in FINISHED for j in jobs):
                    break
                time.sleep(0.25)
            elapsed = time.perf_counter() - start
            assert not errors, errors[:3]
            assert len(submitted) == CLIENTS * JOBS_EACH == len({s[0] for s in submitted}) == len(jobs)
            assert {j["id"] for j in jobs} == {s[0] for s in submitted}
            assert all(j["status"] == "done" and j["attempts"] == 1 for j in jobs), [
                j for j in jobs if j["status"] != "done"
            ][:3]
            for job_id, ids, _ in submitted:
                lines = c.get(f"/api/jobs/{job_id}/result").text.splitlines()
                assert [line.split(",")[0] for line in lines[1:]] == ids
    finally:
        srv.stop()
    lat = sorted(s[2] for s in submitted)
    p50, p95 = statistics.median(lat), lat[int(0.95 * (len(lat) - 1))]
    print(
        f"\nload: {CLIENTS} clients x {JOBS_EACH} jobs (4 x 50 nt, predict te), {workers} workers: "
        f"{len(submitted)} jobs in {elapsed:.1f} s = {len(submitted) / elapsed:.2f} jobs/s; "
        f"submit latency p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms; os.cpu_count() {os.cpu_count()}"
    )
