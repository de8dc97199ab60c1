"""rnalm.hub against a real HTTP server on 127.0.0.1: resume, retries, verification, offline errors.

The server is started by the tests (``http.server`` in a daemon thread), supports ``Range`` and
``If-Range`` (ETag + Last-Modified), logs every request with the bytes it actually sent, and can
be told to ignore ``Range`` or ``If-Range``, to send no validator, to fail with 503, to cut a
transfer short (with or without ``Content-Length``, or as a chunked body), to send another
``Content-Type`` or to redirect; a watchdog stops it after a minute whatever happens.
The payloads are real torch files, so the format probe passes for them.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import hashlib
import io
import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

import rnalm
from rnalm import hub
from rnalm.errors import DownloadError
from rnalm.hub import downloader
from rnalm.models import FORMATS


def torch_bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def regression_file(seed: int, n: int = 75_000) -> bytes:
    """A torch file like fair-esm's contact-regression heads (~300 KB for the default n)."""
    return torch_bytes({"regression.weight": torch.randn(1, n, generator=torch.Generator().manual_seed(seed))})


PAYLOAD = regression_file(0)
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _State:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.log: list[dict] = []
        self.ignore_range = False
        self.ignore_if_range = False
        self.send_validators = True
        self.misaligned = False  # answer a Range request with a 206 for the whole file
        self.mode: dict[str, str] = {}  # path -> "no-length" (body ends at close) or "chunked"
        self.content_type: dict[str, str] = {}
        self.redirects: dict[str, str] = {}  # path -> path to send a 302 to
        self.fail_next: dict[str, int] = {}  # path -> number of 503 answers still to give
        self.cut_next: dict[str, int] = {}  # path -> send only this many body bytes, once


def etag_of(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:16] + '"'


class _Handler(BaseHTTPRequestHandler):
    timeout = 10  # a stuck client cannot hold a server thread for long
    protocol_version = "HTTP/1.1"  # chunked bodies need it

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        state: _State = self.server.state  # type: ignore[attr-defined]
        rng, if_range = self.headers.get("Range"), self.headers.get("If-Range")
        entry = {"path": self.path, "range": rng, "if_range": if_range, "status": None, "sent": 0}
        state.log.append(entry)
        if self.path in state.redirects:
            entry["status"] = 302
            self.send_response(302)
            self.send_header("Location", state.redirects[self.path])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = state.files.get(self.path)
        if data is None or state.fail_next.get(self.path, 0) > 0:
            if data is not None:
                state.fail_next[self.path] -= 1
            entry["status"] = 404 if data is None else 503
            self.send_error(entry["status"])
            return
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", rng or "")
        same_version = if_range is None or if_range == etag_of(data) or state.ignore_if_range
        if match and not state.ignore_range and same_version:
            start = int(match.group(1))
            if start >= len(data):
                entry["status"] = 416
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if state.misaligned:
                start = 0
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            entry["status"] = 206
        else:
            self.send_response(200)
            entry["status"] = 200
        body = data[start:]
        mode = state.mode.get(self.path)
        if mode == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        elif mode == "no-length":
            self.send_header("Connection", "close")
        else:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", state.content_type.get(self.path, "application/octet-stream"))
        if state.send_validators:
            self.send_header("ETag", etag_of(data))
            self.send_header("Last-Modified", "Mon, 30 Nov 2026 12:00:00 GMT")
        self.end_headers()
        cut = state.cut_next.pop(self.path, None)
        sent = body if cut is None else body[:cut]
        if mode == "chunked":
            self.wfile.write(b"%x\r\n%s\r\n" % (len(sent), sent) + (b"0\r\n\r\n" if cut is None else b""))
        else:
            self.wfile.write(sent)
        self.wfile.flush()
        entry["sent"] = len(sent)
        self.close_connection = True

    def log_message(self, *args) -> None:  # keep test output clean
        pass


class Server:
    def __init__(self) -> None:
        self.state = _State()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.state = self.state  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.watchdog = threading.Timer(60, self.httpd.shutdown)
        self.watchdog.daemon = True

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def serve(self, path: str, data: bytes) -> str:
        self.state.files[path] = data
        return self.url(path)

    @property
    def log(self) -> list[dict]:
        return self.state.log

    def __enter__(self) -> "Server":
        self.thread.start()
        self.watchdog.start()
        return self

    def __exit__(self, *exc) -> None:
        self.watchdog.cancel()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server():
    with Server() as srv:
        yield srv


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """Fast retries, no offline flag, and a cache in tmp_path unless a test says otherwise."""
    monkeypatch.setattr(downloader, "BACKOFF_S", 0.0)
    monkeypatch.setattr(downloader, "TIMEOUT_S", 5.0)
    monkeypatch.delenv(hub.ENV_OFFLINE, raising=False)
    monkeypatch.setenv(hub.ENV_HOME, str(tmp_path / "home"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # torch hub's cache: empty unless a test fills it


def single(name: str, url_or_urls, filename: str = "weights.bin", sha256=None, size=None, **kw) -> hub.Checkpoint:
    urls = (url_or_urls,) if isinstance(url_or_urls, str) else tuple(url_or_urls)
    return hub.Checkpoint(
        name=name,
        description="test",
        format="test",
        licence="MIT",
        homepage="https://example.org",
        files=(hub.RemoteFile(filename, urls, size, sha256),),
        **kw,
    )


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".part", ".url", ".corrupt", ".part.json")))


def sidecar(folder: Path, url: str, data: bytes, filename: str = "weights.bin") -> None:
    """What a first, interrupted download of ``data`` from ``url`` leaves next to its ``.part``."""
    (folder / (filename + ".part.json")).write_text(
        json.dumps({"url": url, "etag": etag_of(data), "last_modified": None, "size": len(data)})
    )


def test_download_places_verified_file(server, tmp_path):
    entry = single("t", server.serve("/w.bin", PAYLOAD), sha256=PAYLOAD_SHA, size=len(PAYLOAD))
    path = hub.download(entry, tmp_path / "c", quiet=True)
    assert path == tmp_path / "c" / "t" / "weights.bin"
    assert path.read_bytes() == PAYLOAD
    assert leftovers(path.parent) == []
    assert [(e["range"], e["status"], e["sent"]) for e in server.log] == [(None, 200, len(PAYLOAD))]
    # Cached: a second call makes no request.
    assert hub.download(entry, tmp_path / "c", quiet=True) == path
    assert len(server.log) == 1


def test_progress_bar_goes_to_stderr_and_quiet_silences_it(server, tmp_path, capsys):
    entry = single("t", server.serve("/w.bin", PAYLOAD))
    hub.download(entry, tmp_path / "a")
    out, err = capsys.readouterr()
    assert out == "" and "weights.bin" in err
    hub.download(entry, tmp_path / "b", quiet=True)
    assert capsys.readouterr() == ("", "")


def test_resume_requests_only_the_remainder(server, tmp_path):
    url = server.serve("/w.bin", PAYLOAD)
    entry = single("t", url, sha256=PAYLOAD_SHA)
    folder = tmp_path / "c" / "t"
    folder.mkdir(parents=True)
    k = 123_456
    (folder / "weights.bin.part").write_bytes(PAYLOAD[:k])
    sidecar(folder, url, PAYLOAD)
    path = hub.download(entry, tmp_path / "c", quiet=True)
    assert path.read_bytes() == PAYLOAD
    assert [(e["range"], e["status"], e["sent"]) for e in server.log] == [(f"bytes={k}-", 206, len(PAYLOAD) - k)]
    assert leftovers(folder) == []


def test_complete_part_is_accepted_after_416(server, tmp_path):
    url = server.serve("/w.bin", PAYLOAD)
    entry = single("t", url, sha256=PAYLOAD_SHA)
    folder = tmp_path / "c" / "t"
    folder.mkdir(parents=True)
    (folder / "weights.bin.part").write_bytes(PAYLOAD)
    sidecar(folder, url, PAYLOAD)
    assert hub.download(entry, tmp_path / "c", quiet=True).read_bytes() == PAYLOAD
    assert [e["status"] for e in server.log] == [416]


def test_server_ignoring_range_restarts_cleanly(server, tmp_path):
    server.state.ignore_range = True
    url = server.serve("/w.bin", PAYLOAD)
    entry = single("t", url, sha256=PAYLOAD_SHA)
    folder = tmp_path / "c" / "t"
    folder.mkdir(parents=True)
    (folder / "weights.bin.part").write_bytes(b"\xff" * 100_000)  # not a prefix: appending would corrupt
    sidecar(folder, url, PAYLOAD)
    path = hub.download(entry, tmp_path / "c", quiet=True)
    assert path.read_bytes() == PAYLOAD
    assert [(e["range"], e["status"], e["sent"]) for e in server.log] == [("bytes=100000-", 200, len(PAYLOAD))]


def test_cut_transfer_is_resumed_on_retry(server, tmp_path):
    url = server.serve("/w.bin", PAYLOAD)
    server.state.cut_next["/w.bin"] = 50_000
    path = hub.download(single("t", url, sha256=PAYLOAD_SHA), tmp_path / "c", quiet=True)
    assert path.read_bytes() == PAYLOAD
    assert [(e["range"], e["status"], e["sent"]) for e in server.log] == [
        (None, 200, 50_000),
        ("bytes=50000-", 206, len(PAYLOAD) - 50_000),
    ]


def test_transient_errors_are_retried_a_limited_number_of_times(server, tmp_path):
    url = server.serve("/w.bin", PAYLOAD)
    server.state.fail_next["/w.bin"] = 2
    assert hub.download(single("t", url), tmp_path / "c", quiet=True, retries=2).read_bytes() == PAYLOAD
    assert [e["status"] for e in server.log] == [503, 503, 200]

    server.state.fail_next["/w.bin"] = 5
    with pytest.raises(DownloadError, match=r"503.*\(3 attempts\)"):
        hub.download(single("u", url), tmp_path / "c", quiet=True, retries=2)
    assert [e["status"] for e in server.log[3:]] == [503, 503, 503]


def test_missing_file_falls_through_to_the_next_mirror(server, tmp_path):
    entry = single("t", (server.url("/gone.bin"), server.serve("/w.bin", PAYLOAD)), sha256=PAYLOAD_SHA)
    assert hub.download(entry, tmp_path / "c", quiet=True).read_bytes() == PAYLOAD
    assert [(e["path"], e["status"]) for e in server.log] == [("/gone.bin", 404), ("/w.bin", 200)]


def test_partial_from_another_mirror_is_not_resumed(server, tmp_path):
    entry = single("t", server.serve("/w.bin", PAYLOAD), sha256=PAYLOAD_SHA)
    folder = tmp_path / "c" / "t"
    folder.mkdir(parents=True)
    (folder / "weights.bin.part").write_bytes(PAYLOAD[:1000])
    (folder / "weights.bin.part.url").write_text("https://mirror.example/other.bin")
    assert hub.download(entry, tmp_path / "c", quiet=True).read_bytes() == PAYLOAD
    assert [e["range"] for e in server.log] == [None]


def test_sha256_mismatch_keeps_corrupt_file_and_reports_both_hashes(server, tmp_path):
    wrong = "0" * 64
    entry = single("t", server.serve("/w.bin", PAYLOAD), sha256=wrong)
    with pytest.raises(DownloadError) as info:
        hub.download(entry, tmp_path / "c", quiet=True)
    msg = str(info.value)
    assert wrong in msg and PAYLOAD_SHA in msg
    folder = tmp_path / "c" / "t"
    assert not (folder / "weights.bin").exists()
    assert (folder / "weights.bin.corrupt").read_bytes() == PAYLOAD
    assert str(folder / "weights.bin.corrupt") in msg
    # A second failure does not overwrite the first corrupt copy.
    with pytest.raises(DownloadError):
        hub.download(entry, tmp_path / "c", quiet=True)
    assert (folder / "weights.bin.corrupt").exists() and (folder / "weights.bin.corrupt.1").exists()


def test_published_size_mismatch_is_an_error(server, tmp_path):
    entry = single("t", server.serve("/w.bin", PAYLOAD), size=len(PAYLOAD) + 1)
    with pytest.raises(DownloadError, match=f"{len(PAYLOAD)} bytes instead of the published {len(PAYLOAD) + 1}"):
        hub.download(entry, tmp_path / "c", quiet=True)
    assert (tmp_path / "c" / "t" / "weights.bin.corrupt").exists()


@pytest.mark.parametrize(
    "body, what",
    [
        (b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 5\n", "Git LFS pointer"),
        (b"\n<!DOCTYPE html><html><body>Sign in to download</body></html>", "web page"),
    ],
)
def test_pages_and_lfs_pointers_are_not_accepted_as_weights(server, tmp_path, body, what):
    with pytest.raises(DownloadError, match=what):
        hub.download(single("t", server.serve("/w.bin", body)), tmp_path / "c", quiet=True)
    assert (tmp_path / "c" / "t" / "weights.bin.corrupt").read_bytes() == body


def test_force_replaces_the_cached_file_only_after_verification(server, tmp_path):
    url = server.serve("/w.bin", PAYLOAD)
    folder = tmp_path / "c" / "t"
    folder.mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"old")
    with pytest.raises(DownloadError):
        hub.download(single("t", url, sha256="1" * 64), tmp_path / "c", quiet=True, force=True)
    assert (folder / "weights.bin").read_bytes() == b"old"
    hub.download(single("t", url, sha256=PAYLOAD_SHA), tmp_path / "c", quiet=True, force=True)
    assert (folder / "weights.bin").read_bytes() == PAYLOAD


def test_verify_flags_a_bad_cached_file(tmp_path):
    # Every use re-checks a cached file: no call trusts it unchecked.
    folder = tmp_path / "c" / "t"
    folder.mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"tampered")
    entry = single("t", "http://127.0.0.1:9/unused", sha256=PAYLOAD_SHA)
    with pytest.raises(DownloadError, match="cached copy of t is bad"):
        hub.download(entry, tmp_path / "c", quiet=True)
    assert (folder / "weights.bin.corrupt").read_bytes() == b"tampered"
    assert hub.cache_status(entry, tmp_path / "c") == "no"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_host_names_url_and_target_path(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/RNA-FM_pretrained.pth"
    entry = single("t", url, filename="RNA-FM_pretrained.pth")
    with pytest.raises(DownloadError) as info:
        hub.download(entry, tmp_path / "c", quiet=True, retries=1)
    msg = str(info.value)
    assert url in msg
    assert str(tmp_path / "c" / "t" / "RNA-FM_pretrained.pth") in msg
    assert "(2 attempts)" in msg and "\n" not in msg
    assert leftovers(tmp_path / "c" / "t") == []


def test_rnalm_home_and_cache_dir(monkeypatch, tmp_path, server):
    monkeypatch.setitem(hub.REGISTRY, "t", single("t", server.serve("/w.bin", PAYLOAD)))
    monkeypatch.setenv(hub.ENV_HOME, str(tmp_path / "rh"))
    assert hub.cache_home() == tmp_path / "rh"
    assert hub.resolve("t", quiet=True) == tmp_path / "rh" / "t" / "weights.bin"
    assert hub.cache_home(tmp_path / "explicit") == tmp_path / "explicit"
    monkeypatch.delenv(hub.ENV_HOME)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert hub.cache_home() == tmp_path / "user" / ".cache" / "rnalm"


def test_offline_flag_blocks_network_and_explains(monkeypatch, server, tmp_path):
    url = server.serve("/w.bin", PAYLOAD)
    monkeypatch.setitem(hub.REGISTRY, "t", single("t", url))
    monkeypatch.setenv(hub.ENV_OFFLINE, "1")
    with pytest.raises(DownloadError) as info:
        hub.resolve("t")
    assert url in str(info.value) and str(tmp_path / "home" / "t" / "weights.bin") in str(info.value)
    assert server.log == []
    with pytest.raises(DownloadError):
        rnalm.load("t")


def test_unknown_names_get_suggestions():
    with pytest.raises(DownloadError, match="did you mean rna-fm"):
        hub.resolve("rna-fn")
    with pytest.raises(DownloadError, match="no such file or directory"):
        rnalm.load("/nonexistent/model.pt")


def test_names_are_case_insensitive_with_aliases():
    assert hub.get("RNA-FM").name == "rna-fm"
    assert hub.get("rna_fm_t12").name == "rna-fm"
    assert hub.get("mrna_fm_t12").name == "mrna-fm"
    assert hub.get("lamar").name == "lamar-4k"
    assert hub.get("ESM2_T6_8M_UR50D").name == "esm2_t6_8M_UR50D"


def test_multi_file_entries_share_one_folder(monkeypatch, server, tmp_path):
    model, regression = regression_file(1, 100), regression_file(2, 10)
    esm = hub.Checkpoint(
        name="esm-like",
        description="test",
        format="test",
        licence="MIT",
        homepage="https://example.org",
        files=(
            hub.RemoteFile("m.pt", (server.serve("/m.pt", model),)),
            hub.RemoteFile("m-contact-regression.pt", (server.serve("/r.pt", regression),)),
        ),
    )
    monkeypatch.setitem(hub.REGISTRY, esm.name, esm)
    monkeypatch.setitem(hub.REGISTRY, "hf-like", dataclasses.replace(esm, name="hf-like", target=hub.FOLDER))
    assert hub.cache_status(esm) == "no"
    path = hub.resolve("esm-like", quiet=True)
    assert path == tmp_path / "home" / "esm-like" / "m.pt" and path.read_bytes() == model
    assert (path.parent / "m-contact-regression.pt").read_bytes() == regression
    assert hub.cache_status(esm) == "yes"
    (path.parent / "m-contact-regression.pt").unlink()
    assert hub.cache_status(esm) == "partial"
    assert hub.resolve("hf-like", quiet=True) == tmp_path / "home" / "hf-like"


def test_registry_entries_are_well_formed():
    seen: set[str] = set()
    for key, entry in hub.REGISTRY.items():
        assert key == entry.name
        names = {entry.name.lower(), *(a.lower() for a in entry.aliases)}
        assert not names & seen, f"{entry.name}: name or alias used twice"
        seen |= names
        assert entry.files and entry.description and entry.format and entry.licence
        assert entry.homepage.startswith("https://")
        filenames = [f.filename for f in entry.files]
        assert len(set(filenames)) == len(filenames) and all("/" not in f for f in filenames)
        assert entry.target in (None, hub.FOLDER, *filenames)
        for f in entry.files:
            assert f.urls and all(u.startswith("https://") for u in f.urls), f.urls
            assert f.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", f.sha256)
            assert f.size is None or f.size > 0
    for name in ("esm2_t6_8M_UR50D", "esm2_t12_35M_UR50D", "esm2_t30_150M_UR50D", "esm2_t33_650M_UR50D"):
        model, regression = hub.REGISTRY[name].files  # fair-esm finds the regression next to the model
        assert regression.filename == Path(model.filename).stem + "-contact-regression.pt"
        assert model.urls == (f"https://dl.fbaipublicfiles.com/fair-esm/models/{name}.pt",)
    assert {"rna-fm", "mrna-fm", "utr-lm-mrl", "utr-lm-te-el", "lamar-4k", "protrna"} <= set(hub.REGISTRY)


def test_listing_rows_report_cache_state_and_published_checksums(monkeypatch, server, tmp_path):
    monkeypatch.setitem(
        hub.REGISTRY, "t", single("t", server.serve("/w.bin", PAYLOAD), sha256=PAYLOAD_SHA, size=len(PAYLOAD))
    )
    rows = {r.name: r for r in hub.listings()}
    assert rows["t"].cached == "no" and rows["t"].sha256 == "published" and rows["t"].size == len(PAYLOAD)
    assert rows["rna-fm"].sha256 == "not published" and rows["rna-fm"].size is None
    hub.resolve("t", quiet=True)
    assert {r.name: r for r in hub.listings()}["t"].cached == "yes"


def write_tiny_rnafm(path: Path) -> dict:
    """A 2-layer RNA-FM checkpoint in the published layout, built with rna-fm's own code."""
    fm = pytest.importorskip("fm")
    torch.manual_seed(0)
    alphabet = fm.Alphabet.from_architecture("roberta_large", theme="rna")
    args = argparse.Namespace(
        arch="roberta_large", layers=2, embed_dim=32, ffn_embed_dim=64, attention_heads=4, max_positions=64
    )
    model = fm.BioBertModel(args, alphabet)
    state = {
        "encoder.sentence_encoder." + k: v for k, v in model.state_dict().items() if not k.startswith("contact_head.")
    }
    data = {"args": args, "model": state}
    torch.save(data, path)
    return data


@pytest.mark.filterwarnings("ignore:Regression weights not found")
def test_rnalm_load_by_name_downloads_through_resolve(monkeypatch, server, tmp_path):
    fm = pytest.importorskip("fm")
    src = tmp_path / "tiny.pth"
    data = write_tiny_rnafm(src)
    url = server.serve("/api/download?filename=RNA-FM_pretrained.pth", src.read_bytes())
    entry = hub.REGISTRY["rna-fm"]
    remote = dataclasses.replace(entry.files[0], urls=(url,), sha256=hashlib.sha256(src.read_bytes()).hexdigest())
    monkeypatch.setitem(hub.REGISTRY, "rna-fm", dataclasses.replace(entry, files=(remote,)))

    model, alphabet = rnalm.load("rna-fm")
    cached = tmp_path / "home" / "rna-fm" / "RNA-FM_pretrained.pth"
    assert cached.read_bytes() == src.read_bytes()
    assert model.provenance["source_path"] == str(cached)
    assert len(server.log) == 1
    rnalm.load("rna_fm_t12")  # second load: from the cache, no request
    assert len(server.log) == 1

    # Same numbers as rna-fm's own loader on the same file.
    ref, ref_alphabet = fm.pretrained.load_model_and_alphabet_core("rna-fm", copy.deepcopy(data), None, theme="rna")
    ref.eval()
    seqs = [("a", "GGGUGCGAUCAUACCAGCACUAAUGCCC"), ("b", "ACGUACGU")]
    _, _, tokens = alphabet.get_batch_converter()(seqs)
    _, _, ref_tokens = ref_alphabet.get_batch_converter()(seqs)
    assert torch.equal(tokens, ref_tokens)
    with torch.no_grad():
        out, expected = model(tokens, repr_layers=[2]), ref(ref_tokens, repr_layers=[2])
    assert (out["representations"][2] - expected["representations"][2]).abs().max() <= 1e-4
    assert (out["logits"] - expected["logits"]).abs().max() <= 1e-4


# --------------------------------------------------------------------------------------------
# A file is cached only once complete and verified
# --------------------------------------------------------------------------------------------


def cached_names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_short_body_without_content_length_is_caught_by_the_format_probe(server, tmp_path):
    # No Content-Length, no chunks: the end of the body is wherever the connection closes, so the
    # length cannot be checked; the format probe is what refuses the truncated file.
    url = server.serve("/w.bin", PAYLOAD)
    server.state.mode["/w.bin"] = "no-length"
    server.state.cut_next["/w.bin"] = len(PAYLOAD) // 2
    with pytest.raises(DownloadError, match=r"does not open as torch.*truncated or corrupted") as info:
        hub.download(single("t", url), tmp_path / "c", quiet=True)
    assert url in str(info.value)
    folder = tmp_path / "c" / "t"
    assert not (folder / "weights.bin").exists() and not (folder / hub.RECORD_NAME).exists()
    assert (folder / "weights.bin.corrupt").read_bytes() == PAYLOAD[: len(PAYLOAD) // 2]
    # The whole body without Content-Length passes (the probe is the only check then).
    assert hub.download(single("t", url), tmp_path / "c", quiet=True).read_bytes() == PAYLOAD


def test_short_body_with_content_length_is_never_cached(server, tmp_path):
    url = server.serve("/w.bin", PAYLOAD)
    server.state.cut_next["/w.bin"] = 1000
    with pytest.raises(DownloadError, match=f"transfer stopped after 1000 of {len(PAYLOAD)} bytes"):
        hub.download(single("t", url), tmp_path / "c", quiet=True, retries=0)
    folder = tmp_path / "c" / "t"
    assert "weights.bin" not in cached_names(folder) and hub.cache_status(single("t", url), tmp_path / "c") == "partial"


def test_chunked_body_ended_early_is_retried_not_cached(server, tmp_path):
    url = server.serve("/w.bin", PAYLOAD)
    server.state.mode["/w.bin"] = "chunked"
    server.state.cut_next["/w.bin"] = 70_000  # the chunk announces 70,000 bytes, then no terminating chunk
    with pytest.raises(DownloadError, match="transfer interrupted"):
        hub.download(single("t", url), tmp_path / "c", quiet=True, retries=0)
    assert "weights.bin" not in cached_names(tmp_path / "c" / "t")
    server.state.cut_next["/w.bin"] = 70_000
    assert hub.download(single("t", url), tmp_path / "c", quiet=True, retries=1).read_bytes() == PAYLOAD
    assert [e["status"] for e in server.log] == [200, 200, 200]


def interrupted(server, tmp_path, data: bytes, k: int) -> tuple[hub.Checkpoint, Path]:
    """A first download of ``data`` from /w.bin cut after ``k`` bytes: leaves .part + validator."""
    url = server.serve("/w.bin", data)
    server.state.cut_next["/w.bin"] = k
    entry = single("t", url)
    with pytest.raises(DownloadError):
        hub.download(entry, tmp_path / "c", quiet=True, retries=0)
    folder = tmp_path / "c" / "t"
    assert (folder / "weights.bin.part").stat().st_size == k
    assert json.loads((folder / "weights.bin.part.json").read_text())["etag"] == etag_of(data)
    return entry, folder


@pytest.mark.parametrize("server_ignores_if_range", [False, True])
def test_resume_against_a_changed_file_never_splices(server, tmp_path, server_ignores_if_range):
    k = 100_000
    entry, folder = interrupted(server, tmp_path, PAYLOAD, k)
    changed = regression_file(7)  # same size, other bytes, other ETag
    assert len(changed) == len(PAYLOAD) and changed[:k] != PAYLOAD[:k]
    server.state.files["/w.bin"] = changed
    server.state.ignore_if_range = server_ignores_if_range
    del server.log[:]
    path = hub.download(entry, tmp_path / "c", quiet=True, retries=0)
    assert path.read_bytes() == changed
    requests = [(e["range"], e["if_range"], e["status"]) for e in server.log]
    if server_ignores_if_range:  # the 206 carries the new ETag: refused, whole file fetched again
        assert requests == [(f"bytes={k}-", etag_of(PAYLOAD), 206), (None, None, 200)]
    else:
        assert requests == [(f"bytes={k}-", etag_of(PAYLOAD), 200)]
    assert leftovers(folder) == []


def test_resume_of_the_same_file_sends_if_range(server, tmp_path):
    entry, folder = interrupted(server, tmp_path, PAYLOAD, 100_000)
    del server.log[:]
    assert hub.download(entry, tmp_path / "c", quiet=True).read_bytes() == PAYLOAD
    assert [(e["range"], e["if_range"], e["status"]) for e in server.log] == [("bytes=100000-", etag_of(PAYLOAD), 206)]


def test_no_validator_means_no_resume(server, tmp_path):
    server.state.send_validators = False
    url = server.serve("/w.bin", PAYLOAD)
    server.state.cut_next["/w.bin"] = 100_000
    assert hub.download(single("t", url), tmp_path / "c", quiet=True, retries=1).read_bytes() == PAYLOAD
    assert [(e["range"], e["status"]) for e in server.log] == [(None, 200), (None, 200)]


def test_part_longer_than_the_file_starts_over(server, tmp_path):
    entry, folder = interrupted(server, tmp_path, PAYLOAD, 100_000)
    (folder / "weights.bin.part").write_bytes(PAYLOAD[:100_000] + b"\0" * (len(PAYLOAD) + 10 - 100_000))
    del server.log[:]
    assert hub.download(entry, tmp_path / "c", quiet=True, retries=0).read_bytes() == PAYLOAD
    assert [(e["range"], e["status"]) for e in server.log] == [(f"bytes={len(PAYLOAD) + 10}-", 416), (None, 200)]


def test_partial_answer_for_another_range_is_not_spliced(server, tmp_path):
    entry, folder = interrupted(server, tmp_path, PAYLOAD, 100_000)
    server.state.misaligned = True  # answers any Range with "206 bytes 0-..." (the whole file)
    del server.log[:]
    assert hub.download(entry, tmp_path / "c", quiet=True, retries=0).read_bytes() == PAYLOAD
    assert [(e["range"], e["status"]) for e in server.log] == [("bytes=100000-", 206), (None, 200)]


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("text/html; charset=utf-8", b"<!DOCTYPE html><html><body>Quota exceeded</body></html>"),
        ("text/plain", b"Error: file temporarily unavailable"),
        ("application/json", b'{"error": "not found"}'),
    ],
)
def test_text_answers_are_refused_with_the_url(server, tmp_path, content_type, body):
    url = server.serve("/w.bin", body)
    server.state.content_type["/w.bin"] = content_type
    with pytest.raises(DownloadError) as info:
        hub.download(single("t", url), tmp_path / "c", quiet=True)
    msg = str(info.value)
    assert url in msg and content_type.split(";")[0] in msg and body.decode()[:20] in msg
    assert cached_names(tmp_path / "c" / "t") == [".lock"]
    assert len(server.log) == 1  # not worth retrying


def test_html_body_sent_as_binary_is_refused_too(server, tmp_path):
    url = server.serve("/w.bin", b"  <html><head><title>Sign in</title></head></html>")
    with pytest.raises(DownloadError, match="web page") as info:
        hub.download(single("t", url), tmp_path / "c", quiet=True)
    assert url in str(info.value) and "weights.bin" not in cached_names(tmp_path / "c" / "t")


def test_format_probe_of_the_registry_entry_must_pass(server, tmp_path):
    # A valid torch file, but not the RNA-FM checkpoint the entry promises.
    url = server.serve("/w.bin", PAYLOAD)
    entry = dataclasses.replace(single("t", url), files=(hub.RemoteFile("weights.bin", (url,), probe="rna-fm"),))
    with pytest.raises(DownloadError, match="does not open as rna-fm"):
        hub.download(entry, tmp_path / "c", quiet=True)
    assert "weights.bin" not in cached_names(tmp_path / "c" / "t")


def test_safetensors_probe_refuses_a_truncated_file(server, tmp_path):
    from safetensors.torch import save

    data = save({"w": torch.zeros(1000)})
    for body, ok in ((data, True), (data[:-100], False)):
        url = server.serve(f"/{ok}.safetensors", body)
        entry = dataclasses.replace(
            single(f"s{ok}", url), files=(hub.RemoteFile("model.safetensors", (url,), probe="safetensors"),)
        )
        server.state.mode[f"/{ok}.safetensors"] = "no-length"
        if ok:
            assert hub.download(entry, tmp_path / "c", quiet=True).read_bytes() == body
        else:
            with pytest.raises(DownloadError, match="does not open as safetensors"):
                hub.download(entry, tmp_path / "c", quiet=True)


def test_mirror_replaces_registry_urls_and_follows_redirects(monkeypatch, server, tmp_path):
    origin = f"http://127.0.0.1:{closed_port()}/origin/weights.bin"  # never contacted
    entry = single("t", origin)
    server.state.redirects["/mirror/t/weights.bin"] = "/blobs/0042"
    server.serve("/blobs/0042", PAYLOAD)
    monkeypatch.setenv(hub.ENV_MIRROR, server.url("/mirror/"))
    assert hub.download_urls(entry, entry.files[0]) == (server.url("/mirror/t/weights.bin"),)
    assert hub.download(entry, tmp_path / "c", quiet=True).read_bytes() == PAYLOAD
    assert [(e["path"], e["status"]) for e in server.log] == [("/mirror/t/weights.bin", 302), ("/blobs/0042", 200)]
    record = hub.read_records(tmp_path / "c" / "t")["weights.bin"]
    assert record["url"] == server.url("/mirror/t/weights.bin") and record["sha256"] == PAYLOAD_SHA
    # Names are URL-quoted; a missing file on the mirror names the mirror URL.
    spaced = single("t2", origin, filename="my weights.bin")
    assert hub.download_urls(spaced, spaced.files[0]) == (server.url("/mirror/t2/my%20weights.bin"),)
    with pytest.raises(DownloadError, match=re.escape(server.url("/mirror/t2/my%20weights.bin")) + " -> HTTP 404"):
        hub.download(spaced, tmp_path / "c", quiet=True)


@pytest.mark.parametrize(
    "name",
    ["../escape.bin", "..", ".", "", "/etc/passwd", "a/b.bin", "a\\b.bin", ".lock", hub.RECORD_NAME, "nul\0.bin"],
)
def test_registry_file_names_cannot_leave_the_cache_folder(name):
    with pytest.raises(DownloadError, match="not a plain file name"):
        hub.RemoteFile(name, ("https://example.org/x",))
    with pytest.raises(DownloadError, match="not a plain file name"):
        single(name, "https://example.org/x", filename="ok.bin")


def test_first_download_is_recorded_and_checked_on_every_use(monkeypatch, server, tmp_path):
    url = server.serve("/w.bin", PAYLOAD)
    monkeypatch.setitem(hub.REGISTRY, "t", single("t", url))
    path = hub.resolve("t", quiet=True)
    folder = path.parent
    record = hub.read_records(folder)["weights.bin"]
    assert record["sha256"] == PAYLOAD_SHA and record["source"] == hub.TRUST_ON_FIRST_USE and record["url"] == url
    assert hub.trust_state(hub.REGISTRY["t"]) == hub.TRUST_ON_FIRST_USE
    assert hub.resolve("t") == path and len(server.log) == 1

    tampered = bytearray(PAYLOAD)
    tampered[5000] ^= 1
    path.write_bytes(bytes(tampered))
    bad_sha = hashlib.sha256(tampered).hexdigest()
    with pytest.raises(DownloadError) as info:
        hub.resolve("t")
    msg = str(info.value)
    assert str(path) in msg and bad_sha in msg and PAYLOAD_SHA in msg and "`rnalm download t`" in msg
    assert (folder / "weights.bin.corrupt").read_bytes() == bytes(tampered)
    # Fetching again gives the recorded file back.
    assert hub.download("t", quiet=True).read_bytes() == PAYLOAD


def test_a_changed_file_on_the_server_is_refused_until_force(monkeypatch, server, tmp_path):
    url = server.serve("/w.bin", PAYLOAD)
    monkeypatch.setitem(hub.REGISTRY, "t", single("t", url))
    path = hub.resolve("t", quiet=True)
    path.unlink()
    changed = regression_file(3)
    server.state.files["/w.bin"] = changed
    with pytest.raises(DownloadError, match=f"recorded {PAYLOAD_SHA}.*rnalm download t --force"):
        hub.resolve("t", quiet=True)
    assert not path.exists()
    assert hub.download("t", quiet=True, force=True).read_bytes() == changed
    assert hub.read_records(path.parent)["weights.bin"]["sha256"] == hashlib.sha256(changed).hexdigest()


def test_publisher_hash_is_the_reference_and_listed_as_such(monkeypatch, server, tmp_path):
    url = server.serve("/w.bin", PAYLOAD)
    monkeypatch.setitem(hub.REGISTRY, "t", single("t", url, sha256=PAYLOAD_SHA))
    hub.resolve("t", quiet=True)
    assert hub.read_records(tmp_path / "home" / "t")["weights.bin"]["source"] == hub.FROM_PUBLISHER
    assert {r.name: r for r in hub.listings()}["t"].sha256 == hub.FROM_PUBLISHER


def test_a_file_placed_by_hand_is_probed_then_trusted(monkeypatch, tmp_path):
    entry = single("t", f"http://127.0.0.1:{closed_port()}/w.bin")
    monkeypatch.setitem(hub.REGISTRY, "t", entry)
    folder = tmp_path / "home" / "t"
    folder.mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"<html>not weights</html>")
    assert hub.trust_state(entry) == "not recorded yet"
    with pytest.raises(DownloadError, match="never verified by rnalm.*does not open as torch.*--force"):
        hub.resolve("t")
    assert (folder / "weights.bin").exists()  # not ours: left where it is
    (folder / "weights.bin").write_bytes(PAYLOAD)
    assert hub.resolve("t") == folder / "weights.bin"
    assert hub.read_records(folder)["weights.bin"]["sha256"] == PAYLOAD_SHA
    assert hub.trust_state(entry) == hub.TRUST_ON_FIRST_USE


def test_every_registry_file_names_a_probe_rnalm_has():
    known = set(hub.CONTAINER_PROBES) | set(FORMATS)
    for entry in hub.REGISTRY.values():
        for f in entry.files:
            assert f.probe in known, (entry.name, f.filename, f.probe)
    assert hub.REGISTRY["rna-fm"].files[0].probe == "rna-fm"
    assert [f.probe for f in hub.REGISTRY["esm2_t6_8M_UR50D"].files] == ["esm2", "torch"]


# ---------------------------------------------------------------- files fair-esm / rna-fm put in torch hub's cache


def torch_hub_checkpoints(tmp_path: Path) -> Path:
    """torch hub's checkpoints folder under the test's $TORCH_HOME (the ``isolated`` fixture sets it)."""
    folder = tmp_path / "torch" / "hub" / "checkpoints"
    assert hub.torch_hub_dir() == folder  # $TORCH_HOME is honoured
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_tiny_esm2(path: Path, seed: int = 0) -> "torch.nn.Module":
    """A 2-layer ESM-2 in fair-esm's published layout, with its contact regression beside it."""
    esm = pytest.importorskip("esm")
    torch.manual_seed(seed)
    model = esm.model.esm2.ESM2(
        num_layers=2, embed_dim=32, attention_heads=4, alphabet=esm.data.Alphabet.from_architecture("ESM-1b")
    ).eval()
    main, reg = {}, {}
    for k, v in model.state_dict().items():
        if k.startswith("contact_head."):
            reg[k] = v.clone()
        else:
            main[("encoder." if k.startswith("lm_head.") else "encoder.sentence_encoder.") + k] = v.clone()
    args = argparse.Namespace(
        arch="esm2", encoder_layers=2, encoder_embed_dim=32, encoder_ffn_embed_dim=128, encoder_attention_heads=4,
        token_dropout=True, dropout=0.0, attention_dropout=0.0,
    )  # fmt: skip
    torch.save({"args": None, "cfg": {"model": args, "task": {"_name": "masked_lm"}}, "model": main}, path)
    torch.save({"model": reg}, path.with_name(path.stem + "-contact-regression.pt"))
    return model


def no_download(monkeypatch) -> None:
    """Offline, and any attempt to fetch a file fails the test."""
    monkeypatch.setenv(hub.ENV_OFFLINE, "1")

    def refuse(*args, **kwargs):
        raise AssertionError("the downloader was called")

    monkeypatch.setattr(downloader, "fetch", refuse)


@pytest.mark.filterwarnings("ignore:Regression weights not found")
def test_rna_fm_downloaded_by_rna_fm_into_torch_hub_is_used_without_a_download(monkeypatch, tmp_path):
    no_download(monkeypatch)
    hub_file = torch_hub_checkpoints(tmp_path) / "RNA-FM_pretrained.pth"
    write_tiny_rnafm(hub_file)
    before = hub_file.read_bytes()

    row = {r.name: r for r in hub.listings()}["rna-fm"]
    assert (row.cached, row.location, row.sha256) == (hub.IN_TORCH_HUB, str(hub_file), "not recorded yet")

    model, _ = rnalm.load("rna-fm")
    assert model.provenance["source_path"] == str(hub_file)
    assert model.num_layers == 2
    record = hub.read_records(tmp_path / "home" / "rna-fm", hub.TORCH_HUB_RECORD_NAME)[str(hub_file)]
    assert record["sha256"] == hashlib.sha256(before).hexdigest()
    assert record["source"] == hub.TRUST_ON_FIRST_USE
    assert not (tmp_path / "home" / "rna-fm" / "RNA-FM_pretrained.pth").exists()  # no second copy
    assert hub_file.read_bytes() == before
    assert {r.name: r for r in hub.listings()}["rna-fm"].sha256 == hub.TRUST_ON_FIRST_USE
    assert hub.resolve("rna_fm_t12") == hub_file  # second use: re-hashed against the record


def test_mrna_fm_is_found_under_the_name_rna_fm_downloads_it_as(monkeypatch, tmp_path):
    no_download(monkeypatch)
    hub_file = torch_hub_checkpoints(tmp_path) / "file_mRNA-FM_pretrained.pth"
    write_tiny_rnafm(hub_file)
    assert hub.resolve("mrna-fm") == hub_file


def test_esm2_downloaded_by_fair_esm_into_torch_hub_loads_with_its_contact_regression(monkeypatch, tmp_path):
    no_download(monkeypatch)
    hub_file = torch_hub_checkpoints(tmp_path) / "esm2_t6_8M_UR50D.pt"
    reference = write_tiny_esm2(hub_file)
    model, alphabet = rnalm.load("esm2_t6_8M_UR50D")
    assert model.provenance["source_path"] == str(hub_file)
    _, _, tokens = alphabet.get_batch_converter()([("p", "MKTAYIAKQRQISFVKSHFSRQ")])
    with torch.no_grad():
        ours, theirs = model(tokens, return_contacts=True), reference(tokens, return_contacts=True)
    assert (ours["contacts"] - theirs["contacts"]).abs().max() <= 1e-4
    records = hub.read_records(tmp_path / "home" / "esm2_t6_8M_UR50D", hub.TORCH_HUB_RECORD_NAME)
    assert sorted(Path(k).name for k in records) == ["esm2_t6_8M_UR50D-contact-regression.pt", "esm2_t6_8M_UR50D.pt"]


def test_esm2_in_torch_hub_without_its_regression_file_is_not_taken_from_there(monkeypatch, tmp_path):
    no_download(monkeypatch)
    hub_file = torch_hub_checkpoints(tmp_path) / "esm2_t6_8M_UR50D.pt"
    write_tiny_esm2(hub_file)
    hub_file.with_name("esm2_t6_8M_UR50D-contact-regression.pt").unlink()
    assert {r.name: r for r in hub.listings()}["esm2_t6_8M_UR50D"].cached == "no"
    with pytest.raises(DownloadError, match=r"\$RNALM_OFFLINE is set.*or into torch hub's cache: .*checkpoints"):
        hub.resolve("esm2_t6_8M_UR50D")


def test_a_corrupted_file_in_torch_hub_is_refused_with_a_warning_and_left_in_place(monkeypatch, tmp_path):
    no_download(monkeypatch)
    hub_file = torch_hub_checkpoints(tmp_path) / "RNA-FM_pretrained.pth"
    write_tiny_rnafm(hub_file)
    damaged = hub_file.read_bytes()[: hub_file.stat().st_size // 2]
    hub_file.write_bytes(damaged)
    with (
        pytest.warns(
            UserWarning, match=re.escape(str(hub_file)) + r" \(torch hub's cache, for rna-fm\) does not open"
        ) as warned,
        pytest.raises(DownloadError, match=r"rna-fm is not in the cache and \$RNALM_OFFLINE is set"),
    ):
        rnalm.load("rna-fm")
    assert warned[0].filename == __file__  # the warning points at the user's call, not into rnalm
    assert hub_file.read_bytes() == damaged  # not renamed, not deleted
    assert sorted(p.name for p in hub_file.parent.iterdir()) == ["RNA-FM_pretrained.pth"]
    assert not hub.read_records(tmp_path / "home" / "rna-fm", hub.TORCH_HUB_RECORD_NAME)


def test_a_torch_hub_file_that_changed_since_rnalm_first_used_it_is_refused(monkeypatch, tmp_path):
    no_download(monkeypatch)
    hub_file = torch_hub_checkpoints(tmp_path) / "RNA-FM_pretrained.pth"
    write_tiny_rnafm(hub_file)
    assert hub.resolve("rna-fm") == hub_file
    data = torch.load(hub_file, weights_only=False)
    next(iter(data["model"].values())).add_(1.0)  # still a valid RNA-FM checkpoint, other weights
    torch.save(data, hub_file)
    with (
        pytest.warns(UserWarning, match="recorded when rnalm first used it .*trust on first use"),
        pytest.raises(DownloadError, match="not in the cache"),
    ):
        hub.resolve("rna-fm")
    assert hub_file.exists()


def test_a_torch_hub_file_failing_the_published_sha256_is_skipped_and_the_download_proceeds(
    monkeypatch, server, tmp_path
):
    good = tmp_path / "good.pth"
    write_tiny_rnafm(good)
    url = server.serve("/RNA-FM_pretrained.pth", good.read_bytes())
    entry = hub.REGISTRY["rna-fm"]
    remote = dataclasses.replace(entry.files[0], urls=(url,), sha256=hashlib.sha256(good.read_bytes()).hexdigest())
    monkeypatch.setitem(hub.REGISTRY, "rna-fm", dataclasses.replace(entry, files=(remote,)))
    hub_file = torch_hub_checkpoints(tmp_path) / "RNA-FM_pretrained.pth"
    hub_file.write_bytes(PAYLOAD)  # a torch file, but not the published one
    with pytest.warns(UserWarning, match="not the publisher's"):
        path = hub.resolve("rna-fm", quiet=True)
    assert path == tmp_path / "home" / "rna-fm" / "RNA-FM_pretrained.pth"
    assert path.read_bytes() == good.read_bytes() and len(server.log) == 1
    assert hub_file.read_bytes() == PAYLOAD

    # With the published file in torch hub's cache instead, rnalm's own cache still comes first.
    hub_file.write_bytes(good.read_bytes())
    assert hub.resolve("rna-fm") == path


def test_a_torch_hub_file_matching_the_published_sha256_is_recorded_as_the_publishers(monkeypatch, tmp_path):
    no_download(monkeypatch)
    hub_file = torch_hub_checkpoints(tmp_path) / "RNA-FM_pretrained.pth"
    write_tiny_rnafm(hub_file)
    entry = hub.REGISTRY["rna-fm"]
    remote = dataclasses.replace(entry.files[0], sha256=hashlib.sha256(hub_file.read_bytes()).hexdigest())
    monkeypatch.setitem(hub.REGISTRY, "rna-fm", dataclasses.replace(entry, files=(remote,)))
    assert hub.resolve("rna-fm") == hub_file
    records = hub.read_records(tmp_path / "home" / "rna-fm", hub.TORCH_HUB_RECORD_NAME)
    assert records[str(hub_file)]["source"] == hub.FROM_PUBLISHER
    assert {r.name: r for r in hub.listings()}["rna-fm"].sha256 == hub.FROM_PUBLISHER


def test_torch_hub_names_follow_the_downloads_of_fair_esm_and_rna_fm():
    """The names torch.hub.load_state_dict_from_url gives: rna-fm passes file_name=..., fair-esm uses the URL's."""
    assert hub.REGISTRY["rna-fm"].files[0].torch_hub_name == "RNA-FM_pretrained.pth"
    assert hub.REGISTRY["mrna-fm"].files[0].torch_hub_name == "file_mRNA-FM_pretrained.pth"
    for entry in hub.REGISTRY.values():
        for f in entry.files:
            if entry.name.startswith("esm2_"):
                assert f.torch_hub_name == f.urls[0].rsplit("/", 1)[1]
    assert all(f.torch_hub_name is None for f in hub.REGISTRY["lamar-4k"].files + hub.REGISTRY["protrna"].files)
