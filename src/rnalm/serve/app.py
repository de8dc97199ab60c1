"""The FastAPI application: the JSON API under ``/api`` (OpenAPI page at ``/docs``) and the page.

Handlers only read and write the job table and the job folders; work happens in workers
(:mod:`.worker`). With a token, every API call needs ``Authorization: Bearer TOKEN`` and the page
a login (a cookie holding the token).
"""

from __future__ import annotations

import csv
import hmac
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any, Callable, Optional

import h5py
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from rnalm.serve import inputs, options
from rnalm.serve.config import ServeConfig
from rnalm.serve.jobs import CANCELLED, DONE, FINISHED, Job, JobStore, new_id, valid_id
from rnalm.serve.structures import arcs
from rnalm.serve.supervisor import MARKER
from rnalm.version import __version__

HERE = Path(__file__).parent
COOKIE = "rnalm_token"
MEDIA = {".csv": "text/csv", ".zip": "application/zip", ".h5": "application/x-hdf5"}
#: rows of a result shown on the page (the download has them all)
SHOWN_ROWS = 500


def create_app(config: ServeConfig, store: JobStore, send: Callable[[str], None]) -> FastAPI:
    """The application over ``store``; ``send(job_id)`` puts a job on the queue."""
    app = FastAPI(title="rnalm", version=__version__, description="Predictions, structures and embeddings as jobs")
    templates = Jinja2Templates(directory=str(HERE / "templates"))  # autoescape on for .html
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    jobs_dir = config.data_dir / "jobs"

    def allowed(request: Request) -> bool:
        if not config.token:
            return True
        header = request.headers.get("authorization", "")
        given = header[7:] if header.lower().startswith("bearer ") else request.cookies.get(COOKIE, "")
        return hmac.compare_digest(given.encode(), config.token.encode())

    @app.middleware("http")
    async def guard(request: Request, call_next):
        path = request.url.path
        if allowed(request) or path.startswith("/static/") or path == "/login":
            return await call_next(request)
        if path.startswith("/api/") or path in ("/docs", "/openapi.json", "/redoc"):
            return JSONResponse({"detail": "this server needs a token: send 'Authorization: Bearer TOKEN'"}, 401)
        return RedirectResponse("/login", 303)

    def job_or_404(job_id: str) -> Job:
        job = store.get(job_id) if valid_id(job_id) else None
        if job is None:
            raise HTTPException(
                404, f"no job {job_id!r} on this server (finished jobs expire after {config.keep_hours:g} hours)"
            )
        return job

    def submit(kind: str, given: dict[str, Any], text: str, filename: Optional[str]) -> dict:
        try:
            opts = options.check(kind, given, config)
            name = inputs.input_name(filename, opts.get("input_format"))
        except inputs.InputError as exc:
            raise HTTPException(422, str(exc)) from None
        job_id = new_id()
        folder = jobs_dir / job_id
        folder.mkdir(parents=True)
        (folder / MARKER).write_text("a job folder of rnalm serve: removed when the job expires\n")
        (folder / name).write_text(text, encoding="utf-8")
        try:
            total = inputs.check(folder / name, config.limits, opts.get("id_column"), opts.get("seq_column"))
        except inputs.InputError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise HTTPException(422, str(exc)) from None
        store.create(job_id, kind, opts, name, total)
        send(job_id)
        return {"id": job_id, "status": "queued"}

    async def body(request: Request) -> bytes:
        data = b""
        async for chunk in request.stream():
            data += chunk
            if len(data) > config.limits.upload_bytes + 65536:
                break
        return data

    def too_big(n: int) -> None:
        if n > config.limits.upload_bytes:
            raise HTTPException(
                413,
                f"the input is {n} bytes, over this server's limit of "
                f"{config.limits.upload_bytes} bytes: split it into several jobs",
            )

    @app.post("/api/jobs", status_code=202)
    async def create_job(request: Request) -> dict:
        """Queue a job: JSON ``{"kind", "sequences": [{"id", "sequence"}] or "text", options...}``, or a
        multipart form with ``kind``, a ``file`` (FASTA/CSV/TSV) or ``text``, and options as fields."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > config.limits.upload_bytes + 65536:  # refused before it is read
            too_big(int(declared))
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("multipart/form-data"):
            form = await request.form(max_part_size=config.limits.upload_bytes + 1)
            given: dict[str, Any] = {}
            for key in set(form.keys()) - {"kind", "file", "text"}:
                values = [v for v in form.getlist(key) if isinstance(v, str)]
                given[key] = values if len(values) > 1 else (values[0] if values else None)
            upload, filename = form.get("file"), None
            if upload is not None and not isinstance(upload, str) and upload.filename:
                raw = await upload.read(config.limits.upload_bytes + 1)
                too_big(len(raw))
                filename = upload.filename
            else:
                raw = str(form.get("text") or "").encode()
                too_big(len(raw))
            kind = str(form.get("kind") or "")
        else:
            raw_body = await body(request)
            too_big(len(raw_body))
            try:
                doc = json.loads(raw_body)
                assert isinstance(doc, dict)
            except (ValueError, AssertionError):
                raise HTTPException(422, "the body must be a JSON object (or a multipart form)") from None
            kind = str(doc.pop("kind", ""))
            seqs, text = doc.pop("sequences", None), doc.pop("text", None)
            given, filename = doc, None
            try:
                if seqs is not None:
                    if not isinstance(seqs, list):
                        raise inputs.InputError('sequences must be a list of {"id", "sequence"}')
                    raw = inputs.fasta_text(seqs).encode()
                    given["input_format"] = "fasta"
                else:
                    raw = str(text or "").encode()
            except inputs.InputError as exc:
                raise HTTPException(422, str(exc)) from None
        if not raw.strip():
            raise HTTPException(422, 'no sequences given: paste or upload FASTA, CSV or TSV, or send "sequences"')
        try:
            text_in = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise HTTPException(
                422, f"the input is not UTF-8 text (byte {exc.start}): upload FASTA, CSV or TSV"
            ) from None
        return await run_in_threadpool(submit, kind, given, text_in, filename)  # disk and SQLite off the event loop

    @app.get("/api/jobs")
    def list_jobs() -> dict:
        return {"jobs": [j.public() for j in store.recent()], "counts": store.counts()}

    @app.get("/api/jobs/{job_id}")
    def get_job(job_id: str) -> dict:
        return job_or_404(job_id).public()

    @app.get("/api/jobs/{job_id}/result")
    def get_result(job_id: str) -> Response:
        job = job_or_404(job_id)
        if job.status != DONE or not job.result:
            raise HTTPException(409, f"job {job_id} is {job.status}; its result is there once it is done")
        path = jobs_dir / job.id / Path(job.result).name
        return FileResponse(
            path,
            media_type=MEDIA.get(path.suffix, "application/octet-stream"),
            filename=f"{job.kind}-{job.id}{path.suffix}",
        )

    @app.get("/api/jobs/{job_id}/rows")
    def get_rows(job_id: str) -> dict:
        """The result as a table (predict: the CSV; fold: the summary with arcs); embed: none."""
        return {"rows": result_rows(job_or_404(job_id))}

    @app.delete("/api/jobs/{job_id}")
    def cancel_job(job_id: str) -> dict:
        job = job_or_404(job_id)
        if not store.cancel(job.id):
            raise HTTPException(409, f"job {job_id} is already {job_or_404(job_id).status}")
        return {"id": job.id, "status": CANCELLED}

    @app.get("/api/models")
    def models() -> dict:
        return options.offered(config)

    def result_rows(job: Job) -> list[dict]:
        if job.status != DONE or not job.result:
            return []
        path = jobs_dir / job.id / Path(job.result).name
        if job.kind == "embed":
            return embedded(path) if path.suffix == ".h5" else []
        if job.kind == "predict":
            with open(path, newline="", encoding="utf-8") as fh:
                return [row for _, row in zip(range(SHOWN_ROWS), csv.DictReader(fh))]
        with zipfile.ZipFile(path) as zf:
            lines = zf.read("summary.tsv").decode().splitlines()
        rows: list[dict[str, Any]] = [
            dict(zip(lines[0].split("\t"), line.split("\t"))) for line in lines[1 : SHOWN_ROWS + 1]
        ]
        for row in rows:
            row["arcs"] = arcs(row.get("structure", ""))
        return rows

    def embedded(path: Path) -> list[dict]:
        """One row per record of an HDF5 result: id, length and each stored array's shape."""
        rows = []
        with h5py.File(path, "r") as h5:
            for rid in list(h5)[:SHOWN_ROWS]:
                group = h5[rid]
                arrays: list[str] = []
                group.visititems(
                    lambda name, obj: arrays.append(f"{name} {obj.shape}") if hasattr(obj, "shape") else None
                )
                rows.append(
                    {
                        "index": int(group.attrs.get("index", -1)),
                        "id": str(group.attrs.get("id", rid)),
                        "length": int(group.attrs.get("length", 0)),
                        "arrays": "; ".join(arrays),
                    }
                )
        return sorted(rows, key=lambda r: r["index"])

    # ------------------------------------------------------------------ the page
    def page(request: Request, name: str, **context: Any) -> HTMLResponse:
        context.update(
            limits=config.limits, menu=options.offered(config), version=__version__, token=bool(config.token)
        )
        return templates.TemplateResponse(request, name, context)

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        return page(request, "index.html", jobs=store.recent(), counts=store.counts())

    @app.get("/jobs/{job_id}", response_class=HTMLResponse)
    def job_page(request: Request, job_id: str) -> HTMLResponse:
        job = job_or_404(job_id)
        rows = result_rows(job)
        columns = [c for c in rows[0] if c != "arcs"] if rows else []
        return page(request, "job.html", job=job, rows=rows, columns=columns, finished=job.status in FINISHED)

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> HTMLResponse:
        return page(request, "login.html", failed=False)

    @app.post("/login")
    async def login(request: Request) -> Response:
        form = await request.form()
        given = str(form.get("token") or "")
        if config.token and hmac.compare_digest(given.encode(), config.token.encode()):
            response = RedirectResponse("/", 303)
            response.set_cookie(COOKIE, given, httponly=True, samesite="strict")
            return response
        return page(request, "login.html", failed=True)

    return app
