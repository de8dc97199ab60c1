"""``rnalm download`` and ``rnalm models`` through rnalm.cli.main, against a local HTTP server."""

from __future__ import annotations

import functools
import hashlib
import io
import json
import socket
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch

from rnalm import hub
from rnalm.cli import main
from rnalm.hub import downloader


def _torch_file() -> bytes:
    """A small real torch file (a contact-regression-like head), so the download's format probe passes."""
    buf = io.BytesIO()
    torch.save({"regression.weight": torch.randn(1, 25_000, generator=torch.Generator().manual_seed(0))}, buf)
    return buf.getvalue()


PAYLOAD = _torch_file()


@pytest.fixture
def served(tmp_path):
    """A plain file server on 127.0.0.1 for tmp_path/www; yields (url_of, request_paths)."""
    root = tmp_path / "www"
    root.mkdir()
    (root / "w.bin").write_bytes(PAYLOAD)
    requests: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        timeout = 10

        def log_message(self, fmt, *args):
            requests.append(self.path)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    watchdog = threading.Timer(60, httpd.shutdown)  # never outlive a hung test
    watchdog.daemon = True
    thread.start()
    watchdog.start()
    try:
        yield (lambda path: f"http://127.0.0.1:{httpd.server_address[1]}{path}"), requests
    finally:
        watchdog.cancel()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    monkeypatch.setattr(downloader, "BACKOFF_S", 0.0)
    monkeypatch.setattr(downloader, "TIMEOUT_S", 5.0)
    monkeypatch.delenv(hub.ENV_OFFLINE, raising=False)
    monkeypatch.setenv(hub.ENV_HOME, str(tmp_path / "home"))


def register(monkeypatch, name: str, url: str, sha256=None) -> hub.Checkpoint:
    entry = hub.Checkpoint(
        name=name,
        description="a test checkpoint",
        format="test .bin",
        licence="MIT",
        homepage="https://example.org",
        files=(hub.RemoteFile("w.bin", (url,), None, sha256),),
    )
    monkeypatch.setitem(hub.REGISTRY, name, entry)
    return entry


def test_download_prints_the_cached_path(monkeypatch, served, tmp_path, capsys):
    url_of, requests = served
    register(monkeypatch, "tiny", url_of("/w.bin"), hashlib.sha256(PAYLOAD).hexdigest())
    assert main(["download", "tiny", "--cache-dir", str(tmp_path / "c"), "--quiet"]) == 0
    out, err = capsys.readouterr()
    target = tmp_path / "c" / "tiny" / "w.bin"
    assert out.strip() == str(target) and err == ""
    assert target.read_bytes() == PAYLOAD and requests == ["/w.bin"]

    assert main(["download", "tiny", "--cache-dir", str(tmp_path / "c")]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == str(target) and "already cached" in err and "verified" in err
    assert requests == ["/w.bin"]

    assert main(["download", "tiny", "--cache-dir", str(tmp_path / "c"), "--force", "-q"]) == 0
    assert requests == ["/w.bin", "/w.bin"]


def test_download_uses_rnalm_home_by_default(monkeypatch, served, tmp_path, capsys):
    url_of, _ = served
    register(monkeypatch, "tiny", url_of("/w.bin"))
    assert main(["download", "tiny", "-q"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "home" / "tiny" / "w.bin")


def test_unknown_name_is_a_one_line_error(capsys):
    assert main(["download", "rna-fn"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a registered checkpoint" in err and "rna-fm" in err


def test_unreachable_server_exits_2_with_url_and_target(monkeypatch, tmp_path, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/w.bin"
    register(monkeypatch, "tiny", url)
    assert main(["download", "tiny", "--cache-dir", str(tmp_path / "c"), "-q"]) == 2
    err = capsys.readouterr().err
    assert url in err and str(tmp_path / "c" / "tiny" / "w.bin") in err and err.count("\n") == 1


def table_row(out: str, name: str) -> list[str]:
    return next(line.split() for line in out.splitlines() if line.split()[:1] == [name])


def header_line(out: str) -> list[str]:
    """The downloadable table's header (the shipped models' table, if any, comes first)."""
    return next(line.split() for line in out.splitlines() if line.split()[:2] == ["NAME", "FORMAT"])


def test_models_lists_every_registered_checkpoint_and_cache_state(monkeypatch, served, tmp_path, capsys):
    url_of, _ = served
    register(monkeypatch, "tiny", url_of("/w.bin"))
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert header_line(out) == ["NAME", "FORMAT", "SIZE", "SHA256", "CACHED", "LICENCE"]
    for name in hub.REGISTRY:
        assert table_row(out, name)
    assert table_row(out, "tiny")[-2:] == ["no", "MIT"]
    assert "not published" in out and "unpublished" in out

    assert main(["download", "tiny", "-q"]) == 0
    capsys.readouterr()
    assert main(["models"]) == 0
    assert table_row(capsys.readouterr().out, "tiny")[-2:] == ["yes", "MIT"]


def test_models_json_and_verbose(monkeypatch, served, capsys):
    url_of, _ = served
    register(monkeypatch, "tiny", url_of("/w.bin"))
    assert main(["models", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(hub.REGISTRY) <= set(rows)
    assert rows["rna-fm"]["urls"] == list(hub.REGISTRY["rna-fm"].urls)
    assert rows["rna-fm"]["sha256"] == "not published" and rows["rna-fm"]["size"] is None
    assert rows["tiny"]["cached"] == "no"

    assert main(["models", "-v"]) == 0
    out = capsys.readouterr().out
    assert url_of("/w.bin") in out and "https://github.com/ml4bio/RNA-FM" in out


def shipped_demo(cache_dir):
    """A stand-in for another model source (e.g. weights shipped inside the package)."""
    yield hub.Listing(
        name="shipped-demo",
        source="shipped",
        format="rnalm",
        size=10,
        sha256="n/a",
        cached="shipped",
        licence="MIT",
        description="bundled",
        location="/pkg/weights",
    )


def test_models_takes_rows_from_every_source(monkeypatch, capsys):
    from rnalm.cli import models

    monkeypatch.setattr(models, "SOURCES", (*models.SOURCES, shipped_demo))
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    # shipped rows get their own table (kind, task, size, validation metric, licence), before the downloadable one
    assert out.index("shipped-demo") < out.index("rna-fm")
    assert table_row(out, "shipped-demo")[-1] == "MIT" and table_row(out, "rna-fm")


def test_download_refuses_a_cached_file_that_fails_its_recorded_sha256(monkeypatch, served, tmp_path, capsys):
    url_of, requests = served
    register(monkeypatch, "tiny", url_of("/w.bin"))
    assert main(["download", "tiny"]) == 0
    assert "sha256 recorded for later checks (trust on first use" in capsys.readouterr().err
    assert main(["download", "tiny"]) == 0
    assert "already cached (sha256 verified against the one recorded at its first download" in capsys.readouterr().err
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert table_row(out, "tiny")[-3:] == ["trust-on-first-use", "yes", "MIT"] and "'trust-on-first-use' =" in out

    cached = tmp_path / "home" / "tiny" / "w.bin"
    cached.write_bytes(PAYLOAD[:-1] + b"!")
    assert main(["download", "tiny"]) == 2
    err = capsys.readouterr().err
    assert "already cached" not in err and err.count("\n") == 1
    assert str(cached) in err and hashlib.sha256(PAYLOAD).hexdigest() in err and "`rnalm download tiny`" in err
    assert main(["download", "tiny", "-q"]) == 0 and cached.read_bytes() == PAYLOAD
    assert requests == ["/w.bin", "/w.bin"]


def test_models_says_publisher_for_checkpoints_with_a_published_sha256(monkeypatch, served, capsys):
    url_of, _ = served
    register(monkeypatch, "tiny", url_of("/w.bin"), hashlib.sha256(PAYLOAD).hexdigest())
    assert main(["download", "tiny", "-q"]) == 0
    assert main(["models"]) == 0
    assert table_row(capsys.readouterr().out, "tiny")[-3:] == ["publisher", "yes", "MIT"]
