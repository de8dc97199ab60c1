"""The application in-process (FastAPI's test client) with a worker in-process: quick checks of the API
and the page. The same against a real server process, and the slow checks, are in the other files."""

from __future__ import annotations

import io
import socket
import sqlite3
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rnalm.errors import RnalmError
from rnalm.serve.app import create_app
from rnalm.serve.config import Limits, ServeConfig, check_bind
from rnalm.serve.jobs import JobStore
from rnalm.serve.queue import job_task, make_huey
from rnalm.serve.structures import pairs
from rnalm.serve.supervisor import Supervisor
from rnalm.serve.worker import Worker

TWO = [{"id": "u1", "sequence": "GGGGAAACCCCAUGAAAUGC"}, {"id": "u2", "sequence": "ACGUACGUAGCUAGCUAGCUAGCAUG"}]


class App:
    def __init__(self, tmp: Path, **kw) -> None:
        self.config = ServeConfig(data_dir=tmp, **kw)
        (tmp / "jobs").mkdir(parents=True, exist_ok=True)
        self.store = JobStore(tmp / "jobs.sqlite")
        self.sent: list[str] = []
        self.client = TestClient(create_app(self.config, self.store, self.sent.append))
        if self.config.token:
            self.client.headers["Authorization"] = f"Bearer {self.config.token}"

    def run_queue(self) -> None:
        worker = Worker(self.config)
        while self.sent:
            worker.execute(self.sent.pop(0))


@pytest.fixture
def app(tmp_path):
    return App(tmp_path / "data")


def test_predict_job_runs_and_the_page_shows_it(app):
    r = app.client.post("/api/jobs", json={"kind": "predict", "task": "te", "sequences": TWO})
    assert r.status_code == 202 and r.json()["status"] == "queued"
    job_id = r.json()["id"]
    assert app.client.get(f"/api/jobs/{job_id}").json()["status"] == "queued"
    assert app.client.get(f"/api/jobs/{job_id}/result").status_code == 409
    app.run_queue()
    job = app.client.get(f"/api/jobs/{job_id}").json()
    assert job["status"] == "done" and job["progress"] == {"done": 2, "total": 2}, job["error"]
    csv = app.client.get(job["result_url"]).text
    assert csv.splitlines()[0] == "id,sequence,te_log,te_log_std,length,read,note" and csv.count("\n") == 3
    page = app.client.get(f"/jobs/{job_id}").text
    assert "te_log" in page and "u2" in page and "Download CSV" in page
    index = app.client.get("/").text
    assert job_id in index and "1000 sequences per job" in index


def test_fold_job_zips_structures_and_draws_arcs(app):
    r = app.client.post("/api/jobs", json={"kind": "fold", "model": "vienna", "sequences": TWO[:1]})
    job_id = r.json()["id"]
    app.run_queue()
    assert app.client.get(f"/api/jobs/{job_id}").json()["status"] == "done"
    zf = zipfile.ZipFile(io.BytesIO(app.client.get(f"/api/jobs/{job_id}/result").content))
    assert sorted(zf.namelist()) == ["summary.tsv", "u1.bpseq", "u1.ct", "u1.dbn"]
    page = app.client.get(f"/jobs/{job_id}").text
    assert "((((" in page and "<path d=" in page


def test_bad_input_is_refused_naming_the_record(app):
    dup = app.client.post("/api/jobs", json={"kind": "predict", "task": "te", "text": ">a\nACGU\n>a\nACGU\n"})
    assert dup.status_code == 422 and "'a'" in dup.json()["detail"]
    space = app.client.post(
        "/api/jobs", json={"kind": "predict", "task": "te", "sequences": [{"id": "a b", "sequence": "AC"}]}
    )
    assert space.status_code == 422 and "sequences[0].id" in space.json()["detail"]
    path = app.client.post("/api/jobs", json={"kind": "predict", "run": "/etc", "sequences": TWO})
    assert path.status_code == 422 and "run must be one of" in path.json()["detail"]
    extra = app.client.post("/api/jobs", json={"kind": "fold", "output": "/tmp/x", "sequences": TWO})
    assert extra.status_code == 422 and "does not take output" in extra.json()["detail"]
    r = app.client.post(
        "/api/jobs",
        json={"kind": "predict", "task": "te", "strict": True, "sequences": [{"id": "u1", "sequence": "GGGGAXACCC"}]},
    )
    app.run_queue()
    job = app.client.get(f"/api/jobs/{r.json()['id']}").json()
    assert job["status"] == "failed"
    assert (
        "record 'u1'" in job["error"] and "position 6" in job["error"] and str(app.config.data_dir) not in job["error"]
    )


def test_ids_are_escaped_on_the_page(app):
    r = app.client.post(
        "/api/jobs",
        json={
            "kind": "predict",
            "task": "te",
            "sequences": [{"id": "<script>alert(1)</script>", "sequence": "ACGUACGUAC"}],
        },
    )
    app.run_queue()
    page = app.client.get(f"/jobs/{r.json()['id']}").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_limits(tmp_path):
    app = App(tmp_path / "d", limits=Limits(upload_bytes=300, sequences=2, length=30))
    many = app.client.post(
        "/api/jobs", json={"kind": "predict", "task": "te", "sequences": TWO + [{"id": "u3", "sequence": "ACGU"}]}
    )
    assert many.status_code == 422 and "more than 2 sequences" in many.json()["detail"]
    long = app.client.post(
        "/api/jobs", json={"kind": "predict", "task": "te", "sequences": [{"id": "x", "sequence": "A" * 31}]}
    )
    assert long.status_code == 422 and "'x'" in long.json()["detail"] and "30 nt" in long.json()["detail"]
    big = app.client.post(
        "/api/jobs", files={"file": ("in.fasta", b">a\n" + b"A" * 400)}, data={"kind": "predict", "task": "te"}
    )
    assert big.status_code == 413
    assert app.sent == [] and not any((tmp_path / "d" / "jobs").iterdir())


def test_cancel_a_queued_job(app):
    job_id = app.client.post("/api/jobs", json={"kind": "predict", "task": "te", "sequences": TWO}).json()["id"]
    assert app.client.delete(f"/api/jobs/{job_id}").json()["status"] == "cancelled"
    app.run_queue()
    job = app.client.get(f"/api/jobs/{job_id}").json()
    assert job["status"] == "cancelled" and job["started"] is None
    assert app.client.delete(f"/api/jobs/{job_id}").status_code == 409
    assert app.client.get("/api/jobs/0123456789abcdef").status_code == 404
    assert app.client.get("/api/jobs/..%2F..%2Fetc/result").status_code == 404


def test_token(tmp_path):
    app = App(tmp_path / "d", token="s3cret")
    assert app.client.get("/api/models").status_code == 200
    bare = TestClient(app.client.app)
    assert bare.get("/api/models").status_code == 401
    assert bare.get("/api/models", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert bare.get("/", follow_redirects=False).headers["location"] == "/login"
    assert "That token" in bare.post("/login", data={"token": "nope"}).text
    bare.post("/login", data={"token": "s3cret"})
    assert "New job" in bare.get("/").text
    with pytest.raises(RnalmError, match="token"):
        check_bind("0.0.0.0", None)
    check_bind("0.0.0.0", "s3cret")
    check_bind("127.0.0.1", None)


def test_dead_workers_jobs_are_requeued_and_expired_folders_removed(app):
    job_id = app.client.post("/api/jobs", json={"kind": "predict", "task": "te", "sequences": TWO}).json()["id"]
    app.sent.clear()
    assert app.store.claim(job_id, "nohost:1") is not None
    sup = Supervisor(app.config, app.store, app.sent.append)
    sup.rescue()
    assert app.sent == []  # another host, heartbeat fresh
    with sqlite3.connect(app.store.path) as db:  # the worker's last heartbeat, long ago
        db.execute("UPDATE jobs SET heartbeat = 0 WHERE id = ?", (job_id,))
    sup.rescue()
    assert app.sent == [job_id] and app.store.get(job_id).status == "queued"
    app.run_queue()
    assert app.store.get(job_id).status == "done"
    again = app.client.post("/api/jobs", json={"kind": "predict", "task": "te", "sequences": TWO}).json()["id"]
    for attempt in range(3):
        assert app.store.claim(again, f"{socket.gethostname()}:999999999") is not None  # a pid that does not run
        sup.rescue()
    job = app.store.get(again)
    assert job.status == "failed" and "stopped 3 times" in job.error and job.attempts == 3
    other = app.config.data_dir / "jobs" / "not-ours"
    other.mkdir()
    assert sup.expire(now=10**10) == 2
    assert not (app.config.data_dir / "jobs" / job_id).exists() and other.exists()


def test_pairs_of_dot_brackets():
    assert pairs("((..))") == [(0, 5), (1, 4)]
    assert pairs("([)]") == [(0, 2), (1, 3)]


def test_registered_runs_by_name(tmp_path):
    from rnalm import shipped

    runs = {"my_te": str(shipped.task_entry("te").path), "my_fold": str(shipped.structure_entry().path)}
    app = App(tmp_path / "d", runs=runs)
    assert app.client.get("/api/models").json()["predict"]["runs"] == ["my_fold", "my_te"]
    pred = app.client.post("/api/jobs", json={"kind": "predict", "run": "my_te", "sequences": TWO}).json()["id"]
    fold = app.client.post("/api/jobs", json={"kind": "fold", "method": "my_fold", "sequences": TWO}).json()["id"]
    ref = app.client.post("/api/jobs", json={"kind": "predict", "task": "te", "sequences": TWO}).json()["id"]
    app.run_queue()
    got = {i: app.client.get(f"/api/jobs/{i}/result") for i in (pred, fold, ref)}
    assert all(r.status_code == 200 for r in got.values()), [app.store.get(i).error for i in got]
    rows = [line.split(",")[2] for line in got[pred].text.splitlines()[1:]]
    assert rows == [line.split(",")[2] for line in got[ref].text.splitlines()[1:]]  # the same model, by name
    assert "u2.ct" in zipfile.ZipFile(io.BytesIO(got[fold].content)).namelist()


def test_embed_job_lists_its_arrays(app):
    job_id = app.client.post("/api/jobs", json={"kind": "embed", "pool": "mean cls", "sequences": TWO}).json()["id"]
    app.run_queue()
    rows = app.client.get(f"/api/jobs/{job_id}/rows").json()["rows"]
    assert [r["id"] for r in rows] == ["u1", "u2"] and [r["length"] for r in rows] == [20, 26]
    assert "/cls (" in rows[0]["arrays"] and "/mean (" in rows[0]["arrays"]
    assert "u2" in app.client.get(f"/jobs/{job_id}").text


def test_a_queued_job_whose_message_was_lost_is_sent_again(tmp_path):
    app = App(tmp_path / "d")
    huey = make_huey(app.config)
    send = job_task(huey)
    job_id = app.client.post("/api/jobs", json={"kind": "predict", "task": "te", "sequences": TWO}).json()["id"]
    sup = Supervisor(app.config, app.store, send, pending=huey.pending_count)
    assert huey.pending_count() == 0 and app.store.get(job_id).status == "queued"  # its message is gone
    sup.resend()
    assert huey.pending_count() == 1
    sup.resend()
    assert huey.pending_count() == 1  # no more while one waits


def test_jobs_take_a_dtype_the_server_defaults_and_record_what_they_computed_in(tmp_path, monkeypatch):
    from rnalm import precision

    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"amx_bf16"}))  # auto means bfloat16
    app = App(tmp_path / "d", dtype="float32")  # rnalm serve --dtype float32
    ids = {
        "default": app.client.post("/api/jobs", json={"kind": "predict", "task": "te", "sequences": TWO}),
        "bf16": app.client.post("/api/jobs", json={"kind": "predict", "task": "te", "dtype": "bf16", "sequences": TWO}),
        "auto": app.client.post("/api/jobs", json={"kind": "fold", "dtype": "auto", "sequences": TWO}),
        "embed": app.client.post(
            "/api/jobs", json={"kind": "embed", "pool": "mean", "dtype": "bfloat16", "sequences": TWO}
        ),
    }
    ids = {k: r.json()["id"] for k, r in ids.items()}
    bad = app.client.post("/api/jobs", json={"kind": "embed", "dtype": "float16", "sequences": TWO})
    assert bad.status_code == 422 and "dtype must be one of auto, float32, bfloat16" in bad.json()["detail"]
    assert app.client.get("/api/models").json()["dtype"] == {
        "choices": ["auto", "float32", "bfloat16"],
        "default": "float32",
    }
    app.run_queue()
    jobs = {k: app.client.get(f"/api/jobs/{i}").json() for k, i in ids.items()}
    assert {k: j["options"]["dtype"] for k, j in jobs.items()} == {
        "default": "float32", "bf16": "bfloat16", "auto": "auto", "embed": "bfloat16"
    }  # fmt: skip
    assert {k: j["precision"] for k, j in jobs.items()} == {
        "default": "float32 (asked)",
        "bf16": "bfloat16 (asked)",
        "auto": "bfloat16 (auto: CPU has amx_bf16)",
        "embed": "bfloat16 autocast (asked)",
    }
    a = app.client.get(jobs["default"]["result_url"]).text.splitlines()
    b = app.client.get(jobs["bf16"]["result_url"]).text.splitlines()
    assert [r.split(",")[0] for r in a] == [r.split(",")[0] for r in b] and a != b  # the same rows, other rounding
    assert "computed in float32 (asked)" in app.client.get(f"/jobs/{ids['default']}").text
    assert "<option selected>float32</option>" in app.client.get("/").text


def test_an_older_job_table_gains_the_precision_column(tmp_path):
    path = tmp_path / "jobs.sqlite"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE jobs (id TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL, options TEXT NOT NULL, "
        "input TEXT NOT NULL, total INTEGER NOT NULL DEFAULT 0, done INTEGER NOT NULL DEFAULT 0, "
        "created REAL NOT NULL, started REAL, finished REAL, result TEXT, error TEXT, worker TEXT, heartbeat REAL, "
        "attempts INTEGER NOT NULL DEFAULT 0)"
    )
    db.execute(
        "INSERT INTO jobs (id, kind, status, options, input, created) VALUES ('a', 'predict', 'queued', '{}', 'in', 1)"
    )
    db.commit()
    db.close()
    store = JobStore(path)
    assert store.get("a").precision is None and store.get("a").public()["precision"] is None
    assert store.claim("a", "w") is not None and store.finish("a", "w", "predictions.csv", "float32 (asked)")
    assert store.get("a").precision == "float32 (asked)"
    JobStore(path)  # opening it again adds nothing


def test_serve_dtype_option_sets_the_default(monkeypatch, tmp_path):
    from rnalm.cli import build_parser
    from rnalm.serve import server

    seen = {}
    monkeypatch.setattr(server, "serve", lambda config, *a: seen.setdefault("config", config))
    args = build_parser().parse_args(["serve", "--data-dir", str(tmp_path), "--dtype", "bfloat16"])
    assert args.func(args) == 0 and seen["config"].dtype == "bfloat16"
    assert build_parser().parse_args(["serve"]).dtype == "auto"
