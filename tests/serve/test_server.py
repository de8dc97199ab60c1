"""The API of a real ``rnalm serve`` process (with one worker process): each job kind, bad input,
cancellation, limits, the token."""

from __future__ import annotations

import io
import subprocess
import sys
import time
import zipfile

import h5py
import numpy as np
import pytest

from rnalm import shipped

from .helpers import Server, cli_predict_te, env, fasta, records, wait

TWO = [("u1", "GGGGAAACCCCAUGAAAUGC"), ("u2", "ACGUACGUAGCUAGCUAGCUAGCAUG")]


pytestmark = pytest.mark.slow  # a server process starts in seconds; the in-process checks are in test_app.py


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(shipped.ENV_DIR, raising=False)  # the models installed with the package
        srv = Server(tmp_path_factory.mktemp("serve") / "data", "--workers", "1", "--max-sequences", "50").start()
        yield srv
        srv.stop()


def as_json(recs):
    return [{"id": i, "sequence": s} for i, s in recs]


def test_each_kind(server, tmp_path):
    with server.client() as c:
        ids = {
            "predict": c.post("/api/jobs", json={"kind": "predict", "task": "te", "sequences": as_json(TWO)}),
            "fold": c.post(
                "/api/jobs",
                files={"file": ("two.fasta", fasta(TWO).encode())},
                data={"kind": "fold", "method": "vienna", "files": "ct,dbn"},
            ),
            "embed": c.post("/api/jobs", json={"kind": "embed", "pool": ["mean", "cls"], "sequences": as_json(TWO)}),
        }
        assert all(r.status_code == 202 for r in ids.values()), [r.text for r in ids.values()]
        jobs = {k: wait(c, r.json()["id"]) for k, r in ids.items()}
        assert all(j["status"] == "done" for j in jobs.values()), jobs
        got = {k: c.get(j["result_url"]).content for k, j in jobs.items()}
        models = c.get("/api/models").json()
    assert "te" in models["predict"]["tasks"] and "vienna" in models["fold"]["methods"]
    src = tmp_path / "two.fasta"
    src.write_text(fasta(TWO))
    assert got["predict"] == cli_predict_te(src)
    names = sorted(zipfile.ZipFile(io.BytesIO(got["fold"])).namelist())
    assert names == ["summary.tsv", "u1.ct", "u1.dbn", "u2.ct", "u2.dbn"]
    (tmp_path / "e.h5").write_bytes(got["embed"])
    with h5py.File(tmp_path / "e.h5") as h5:
        assert sorted(h5) == ["u1", "u2"]
        layer = [k for k in h5["u1"] if k.startswith("layer_")][0]
        assert np.isfinite(h5["u1"][layer]["mean"][()]).all() and "cls" in h5["u1"][layer]


def test_bad_input_names_record_and_position(server):
    with server.client() as c:
        r = c.post(
            "/api/jobs",
            json={
                "kind": "fold",
                "method": "vienna",
                "strict": True,
                "sequences": [{"id": "ok", "sequence": "GGGAAACCC"}, {"id": "bad", "sequence": "GGGA7ACCC"}],
            },
        )
        job = wait(c, r.json()["id"])
        assert job["status"] == "failed" and "'bad'" in job["error"] and "5" in job["error"], job
        r = c.post(
            "/api/jobs",
            files={"file": ("x.csv", b"id,sequence\na,ACGU\na,GGCC\n")},
            data={"kind": "predict", "task": "te"},
        )
        assert r.status_code == 422 and "'a'" in r.json()["detail"] and "line 3" in r.json()["detail"], r.text


def test_cancel_running_and_queued(server):
    slow = records(40, 1500, "long")
    with server.client() as c:
        first = c.post("/api/jobs", json={"kind": "fold", "method": "vienna", "sequences": as_json(slow)}).json()["id"]
        second = c.post("/api/jobs", json={"kind": "predict", "task": "te", "sequences": as_json(TWO)}).json()["id"]
        deadline = time.time() + 60
        while c.get(f"/api/jobs/{first}").json()["progress"]["done"] < 1 and time.time() < deadline:
            time.sleep(0.1)
        assert c.get(f"/api/jobs/{second}").json()["status"] == "queued"
        assert c.delete(f"/api/jobs/{second}").json()["status"] == "cancelled"
        assert c.delete(f"/api/jobs/{first}").json()["status"] == "cancelled"
        after = c.post("/api/jobs", json={"kind": "predict", "task": "te", "sequences": as_json(TWO)}).json()["id"]
        assert wait(c, after, 60)["status"] == "done"  # the worker left the cancelled job and moved on
        one, two = c.get(f"/api/jobs/{first}").json(), c.get(f"/api/jobs/{second}").json()
        assert one["status"] == "cancelled" and one["progress"]["done"] < 40
        assert two["status"] == "cancelled" and two["started"] is None
        assert c.get(f"/api/jobs/{first}/result").status_code == 409


def test_limits(server):
    with server.client() as c:
        r = c.post("/api/jobs", json={"kind": "predict", "task": "te", "sequences": as_json(records(51))})
        assert r.status_code == 422 and "more than 50 sequences" in r.json()["detail"]
        r = c.post(
            "/api/jobs",
            files={"file": ("big.fasta", b">a\n" + b"A" * 6_000_000)},
            data={"kind": "predict", "task": "te"},
        )
        assert r.status_code == 413 and "5000000" in r.json()["detail"]


def test_token_and_bind(tmp_path):
    srv = Server(tmp_path / "data", "--workers", "0", token="s3cret").start()
    try:
        with srv.client() as c:
            assert c.get("/api/models").status_code == 200
        import httpx

        assert httpx.get(srv.url + "/api/jobs").status_code == 401
        assert httpx.get(srv.url + "/api/jobs", headers={"Authorization": "Bearer s3cre"}).status_code == 401
        assert httpx.get(srv.url + "/", follow_redirects=False).status_code == 303
    finally:
        srv.stop()
    e = env()
    e.pop("RNALM_SERVE_TOKEN", None)
    out = subprocess.run(
        [sys.executable, "-m", "rnalm", "serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path / "d2")],
        env=e,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "token" in out.stderr
