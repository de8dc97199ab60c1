"""Published checkpoints by name: a registry, a local cache, and a verified resumable downloader.

Why this exists: every model family publishes its weights somewhere else (a university API, a
GitHub tree, Hugging Face, Dropbox, Meta's CDN), under file names that say little. rnalm keeps one
table of where each checkpoint lives (:data:`REGISTRY`), stores downloads under one cache folder
(``$RNALM_HOME``, default ``~/.cache/rnalm``; one sub-folder per checkpoint) and hands
:func:`rnalm.load` a local path through :func:`resolve`.

Downloads use only :mod:`urllib` and a file enters the cache only once it is complete and
verified, in this order:

* **complete**: the body must have the length the server announced (``Content-Length``, or the
  total of a ``206``'s ``Content-Range``) and, when the authors published one, the registry's
  size; a chunked transfer that ends early fails (``http.client.IncompleteRead``). A server that
  sends neither a length nor chunks and just closes the connection cannot be checked for length:
  then the format probe below is the only completeness check.
* **resumed only with a validator**: the ``ETag`` (strong) or ``Last-Modified`` of the first
  response is stored next to the ``.part`` (``<file>.part.json``) and a resume sends ``Range``
  with ``If-Range``. A ``200`` answer, a ``206`` whose validator or ``Content-Range`` start
  differs from what was asked, or a ``.part`` without a validator starts over from byte zero:
  bytes of two versions of a file are never spliced.
* **not a web page**: a ``text/*``, ``application/json`` or XML ``Content-Type``, or a body that
  starts like HTML or a Git LFS pointer, is refused with the URL in the error.
* **the published size and sha256**, when the authors state them (most do not: the fields are
  ``None`` then, never guessed).
* **the format probe** of the registry entry (:attr:`RemoteFile.probe`): the finished file is
  opened with rnalm's own content-based format detection (:mod:`rnalm.io.formats`) or, for files
  that are not whole checkpoints, with the safe reader of their container (torch, safetensors).
* **trust on first use**: the sha256 of the first verified download is recorded in the
  checkpoint's cache folder (:data:`RECORD_NAME`, written atomically) and every later use
  (:func:`resolve`, :func:`download`, ``rnalm download``) re-hashes the file and compares. Where
  the publisher states a sha256, that one is the reference instead; ``rnalm models`` says which.

A file that fails verification is kept as ``<name>.corrupt`` and reported with both hashes;
nothing is deleted silently. Transient failures are retried a few times with timeouts. When the
host cannot be reached the :class:`~rnalm.errors.DownloadError` names the URL(s) and the exact path
to put the file at by hand.

``$RNALM_HUB_MIRROR`` points the downloader at a mirror instead of the publishers' URLs: file
``F`` of checkpoint ``C`` is fetched from ``$RNALM_HUB_MIRROR/C/F`` (``C`` is the canonical name
``rnalm models`` lists, ``F`` the registry's file name, URL-quoted), and the publishers' URLs are
not contacted. A mirror is checked exactly like the original (sizes, published and recorded
sha256s, format probe).
"""
from __future__ import annotations

import contextlib
import difflib
import hashlib
import http.client
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator, Optional, Union

from safetensors import SafetensorError, safe_open
from tqdm import tqdm

from rnalm.errors import DownloadError, RnalmError
from rnalm.io.formats import Probe, detect_format
from rnalm.io.jsonfile import write_json

#: Environment variable naming the cache folder.
ENV_HOME = "RNALM_HOME"
#: Environment variable that forbids network access in :func:`resolve` when set to 1/true/yes.
ENV_OFFLINE = "RNALM_OFFLINE"
DEFAULT_HOME = "~/.cache/rnalm"
#: Environment variable naming a mirror: file F of checkpoint C is fetched from ``$RNALM_HUB_MIRROR/C/F``.
ENV_MIRROR = "RNALM_HUB_MIRROR"
#: Per-checkpoint file (inside its cache folder) holding the sha256 of each verified file.
RECORD_NAME = ".rnalm-sha256.json"
#: ``source`` values in the record: whose sha256 a cached file is checked against.
FROM_PUBLISHER = "publisher"
TRUST_ON_FIRST_USE = "trust-on-first-use"

#: Seconds to wait for a connection or for the next block of data.
TIMEOUT_S = 30.0
#: Extra attempts per URL after a transient failure (connection refused, timeout, 5xx, cut-off transfer).
RETRIES = 2
#: First pause between attempts; doubles after each failure.
BACKOFF_S = 1.0
CHUNK_BYTES = 1 << 20
#: HTTP statuses worth retrying; every other 4xx means "this URL will not work".
TRANSIENT_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504})


def _user_agent() -> str:
    from rnalm import __version__

    return f"rnalm/{__version__} (Python urllib)"


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------


def _probe_torch(probe: Probe) -> bool:
    # torch_obj unpickles with rnalm's allow-list and raises CheckpointError for truncated files.
    return probe.is_torch_file and probe.torch_obj is not None


def _probe_safetensors(probe: Probe) -> bool:
    if probe.safetensors_metadata is None:
        return False
    try:  # the reader checks that the data the header declares is all there
        with safe_open(str(probe.path), framework="pt"):
            return True
    except SafetensorError:
        return False


#: Probes for published files that are not whole checkpoints (a regression head, a task model,
#: a weights file whose config is built in code): their container must open with rnalm's safe reader.
CONTAINER_PROBES: dict[str, Callable[[Probe], bool]] = {
    "torch": _probe_torch,
    "safetensors": _probe_safetensors,
}


def check_plain_name(name: str, what: str) -> str:
    """``name`` if it is a plain file name that stays inside its folder, else a DownloadError.

    Names starting with a dot are refused too: the cache keeps its own bookkeeping under such names.
    """
    bad = (not name or name.startswith(".") or "/" in name or "\\" in name or "\0" in name
           or os.path.isabs(name) or Path(name).name != name)
    if bad:
        raise DownloadError(f"{what} {name!r} is not a plain file name (no path separators, no leading dot, "
                            "not absolute): registry names must stay inside their cache folder")
    return name


@dataclass(frozen=True)
class RemoteFile:
    """One published file: where to get it, what it must open as, and its published size and sha256.

    ``urls`` are mirrors of the *same* file, tried in order. ``size`` and ``sha256`` stay
    ``None`` unless the publisher states them; they are never filled in from our own download.
    ``probe`` is what the finished download must open as before it enters the cache: the name of
    a checkpoint format of :mod:`rnalm.io.formats` (``"rna-fm"``, ``"esm2"``, ...) or of a
    container in :data:`CONTAINER_PROBES`. ``filename`` must be a plain name (checked here).
    """

    filename: str
    urls: tuple[str, ...]
    size: Optional[int] = None
    sha256: Optional[str] = None
    probe: str = "torch"

    def __post_init__(self) -> None:
        check_plain_name(self.filename, "registry file name")


#: ``Checkpoint.target`` value meaning "hand rnalm.load the whole folder" (Hugging Face layouts).
FOLDER = "."


@dataclass(frozen=True)
class Checkpoint:
    """A registered checkpoint: its files (all downloaded into one cache folder) and its metadata.

    ``target`` is the file inside the folder that :func:`rnalm.load` receives (``None``: the
    first file; :data:`FOLDER`: the folder itself). ``format`` describes the published layout;
    ``notes`` records where the URLs come from and anything a user should know before loading.
    """

    name: str
    description: str
    format: str
    files: tuple[RemoteFile, ...]
    licence: str
    homepage: str
    citation: Optional[str] = None
    target: Optional[str] = None
    aliases: tuple[str, ...] = ()
    notes: str = ""

    def __post_init__(self) -> None:
        check_plain_name(self.name, "checkpoint name")
        if self.target not in (None, FOLDER, *(f.filename for f in self.files)):
            raise DownloadError(f"checkpoint {self.name}: target {self.target!r} is none of its files")

    @property
    def size(self) -> Optional[int]:
        """Total published size in bytes, or None when any file's size is unpublished."""
        sizes = [f.size for f in self.files]
        return None if any(s is None for s in sizes) else sum(sizes)  # type: ignore[misc]

    @property
    def sha256_published(self) -> bool:
        return all(f.sha256 for f in self.files)

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(u for f in self.files for u in f.urls)


_CUHK = "https://proj.cse.cuhk.edu.hk/rnafm/api/download?filename="
_UTRLM_COMMIT = "b77b589bf182eb9de6a1a5024fa09d44294d94fc"
_FAIR_ESM = "https://dl.fbaipublicfiles.com/fair-esm"
_LAMAR_HF = "https://huggingface.co/zhw-e8/LAMAR/resolve/main"
_RNAFM_NOTES = ("A dict with fairseq 'args' (argparse.Namespace) and 'model'; URL from rna-fm's fm/pretrained.py; the authors also share the file in a Google Drive "
                "folder linked from the RNA-FM README (not scriptable; download it in a browser).")


def _utrlm(name: str, pkl: str, description: str) -> Checkpoint:
    # Pinned commit first (reproducible bytes), the moving branch as fallback.
    urls = tuple(f"https://raw.githubusercontent.com/a96123155/UTR-LM/{ref}/Model/Pretrained/{pkl}"
                 for ref in (_UTRLM_COMMIT, "main"))
    return Checkpoint(
        name=name, description=description, format="UTR-LM .pkl",
        files=(RemoteFile(pkl, urls, probe="utr-lm"),), licence="GPL-3.0", homepage="https://github.com/a96123155/UTR-LM",
        citation="Chu et al. 2024, Nature Machine Intelligence, doi:10.1038/s42256-024-00823-9",
        notes=f"A fair-esm ESM2 state dict with DDP's 'module.' prefix, kept in the authors' GitHub repository "
              f"under Model/Pretrained/ (pinned commit {_UTRLM_COMMIT[:10]}, then the main branch).",
    )


def _esm2(name: str, layers: int, width: int, params: str) -> Checkpoint:
    return Checkpoint(
        name=name,
        description=f"ESM-2 protein language model, {layers} layers, {width} wide, {params} parameters "
                    "(UniRef50 2021_04); the starting point of ProtRNA's transfer",
        format="fair-esm .pt + regression",
        files=(RemoteFile(f"{name}.pt", (f"{_FAIR_ESM}/models/{name}.pt",), probe="esm2"),
               RemoteFile(f"{name}-contact-regression.pt", (f"{_FAIR_ESM}/regression/{name}-contact-regression.pt",))),
        licence="MIT", homepage="https://github.com/facebookresearch/esm",
        citation="Lin et al. 2022, bioRxiv doi:10.1101/2022.07.20.500902 (Science 2023)",
        notes="URLs as in fair-esm's esm/pretrained.py; the regression file sits next to the model as "
              "fair-esm's load_model_and_alphabet_local expects.",
    )


def _lamar(name: str, folder: str, context: int, aliases: tuple[str, ...] = ()) -> Checkpoint:
    return Checkpoint(
        name=name,
        description=f"LAMAR ({context // 1024}k context): 12-layer, 768-wide ESM-2-style (rotary) RNA model "
                    f"pre-trained on ~15M genome and transcriptome sequences of 225 mammals and 1569 viruses, "
                    f"up to {context} tokens",
        format="HF ESM safetensors",
        files=(RemoteFile("model.safetensors", (f"{_LAMAR_HF}/{folder}/model.safetensors",), probe="safetensors"),),
        licence="MIT", homepage="https://github.com/zhw-e8/LAMAR", target=FOLDER, aliases=aliases,
        notes=f"EsmForMaskedLM weights from folder {folder}/ of huggingface.co/zhw-e8/LAMAR (linked from the LAMAR "
              "README); upstream publishes no config.json: LAMAR's code builds the config in Python.",
    )


_ENTRIES: tuple[Checkpoint, ...] = (
    Checkpoint(
        name="rna-fm",
        description="RNA-FM: 12-layer, 640-wide ESM-1b-style encoder pre-trained on 23M non-coding RNAs (RNAcentral)",
        format="RNA-FM .pth",
        files=(RemoteFile("RNA-FM_pretrained.pth", (_CUHK + "RNA-FM_pretrained.pth",), probe="rna-fm"),),
        licence="MIT", homepage="https://github.com/ml4bio/RNA-FM",
        citation="Chen et al. 2022, arXiv:2204.00300", aliases=("rna_fm_t12",), notes=_RNAFM_NOTES,
    ),
    Checkpoint(
        name="mrna-fm",
        description="mRNA-FM: RNA-FM's architecture pre-trained on coding sequences with codon (3-mer) tokens",
        format="RNA-FM .pth",
        files=(RemoteFile("mRNA-FM_pretrained.pth", (_CUHK + "file_mRNA-FM_pretrained.pth",), probe="rna-fm"),),
        licence="MIT", homepage="https://github.com/ml4bio/RNA-FM",
        citation="Chen et al. 2022, arXiv:2204.00300 (mRNA-FM: RNA-FM repository, 2024 release)",
        aliases=("mrna_fm_t12",), notes=_RNAFM_NOTES,
    ),
    Checkpoint(
        name="rna-fm-ss-resnet",
        description="RNA-FM backbone + ResNet pair head for secondary structure, trained on PDB "
                    "(a task model, not an encoder: rnalm.load does not take it)",
        format="RNA-FM task .pth",
        files=(RemoteFile("RNA-FM-ResNet_PDB-All.pth", (_CUHK + "RNA-FM-ResNet_PDB-All.pth",)),),
        licence="MIT", homepage="https://github.com/ml4bio/RNA-FM",
        citation="Chen et al. 2022, arXiv:2204.00300",
        notes="State dict of fm.downstream's Baseline (RNA-FM backbone + ResNet pair predictor); URL from rna-fm's "
              "fm/downstream/__init__.py (build_rnafm_resnet).",
    ),
    _utrlm("utr-lm-mrl",
           "ESM2SISS_FS4.1_fiveSpeciesCao_6layers_16heads_128embedsize_4096batchToks_lr1e-05_"
           "supervisedweight1.0_structureweight1.0_MLMLossMin_epoch93.pkl",
           "UTR-LM (6 layers, 128 wide) pre-trained on 5' UTRs of five species + synthetic libraries with "
           "MLM, MFE and secondary-structure objectives; the checkpoint the authors fine-tune for MRL"),
    _utrlm("utr-lm-te-el",
           "ESM2SI_3.1_fiveSpeciesCao_6layers_16heads_128embedsize_4096batchToks_MLMLossMin.pkl",
           "UTR-LM (6 layers, 128 wide) pre-trained on 5' UTRs of five species + synthetic libraries with "
           "MLM and MFE objectives; the checkpoint the authors fine-tune for TE and EL"),
    _utrlm("utr-lm-mlm",
           "ESM2_1.4_five_species_TrainLossMin_6layers_16heads_128embedsize_4096batchToks.pkl",
           "UTR-LM (6 layers, 128 wide) pre-trained on 5' UTRs of five species with MLM only"),
    _lamar("lamar-4k", "mammalian80D_4096len1mer1sw_80M", 4096, aliases=("lamar",)),
    _lamar("lamar-2k", "mammalian80D_2048len1mer1sw_80M", 2048),
    _esm2("esm2_t6_8M_UR50D", 6, 320, "8M"),
    _esm2("esm2_t12_35M_UR50D", 12, 480, "35M"),
    _esm2("esm2_t30_150M_UR50D", 30, 640, "150M"),
    _esm2("esm2_t33_650M_UR50D", 33, 1280, "650M"),
    Checkpoint(
        name="protrna",
        description="ProtRNA: ESM-2 650M (33 layers, 1280 wide) transferred to RNA by cross-modality training",
        format="ProtRNA Keras .h5",
        files=(RemoteFile("ProtRNA_pretrained.h5", (
            "https://www.dropbox.com/scl/fi/lttcohy9ix1rbsynci72h/ProtRNA_pretrained.h5"
            "?rlkey=6t37r3tbb1p9j75nqejumcqqx&st=74eku09q&dl=1",
            "https://zenodo.org/records/13888473/files/ProtRNA_pretrained.h5",
        ), probe="protrna-h5"),),
        licence="MIT", homepage="https://github.com/roxie-zhang/ProtRNA",
        notes="Dropbox URL from ProtRNA's protrna/pretrained.py and README; the Zenodo record is the "
              "one an earlier README linked.",
    ),
)

#: Registered checkpoints by canonical name.
REGISTRY: dict[str, Checkpoint] = {c.name: c for c in _ENTRIES}


def _lookup_table() -> dict[str, str]:
    table = {}
    for key, entry in REGISTRY.items():
        for alias in (key, entry.name, *entry.aliases):
            table[alias.lower()] = key
    return table


def get(name: str) -> Checkpoint:
    """The registered checkpoint called ``name`` (case-insensitive; aliases such as ``rna_fm_t12`` work)."""
    key = _lookup_table().get(name.strip().lower())
    if key is None:
        close = difflib.get_close_matches(name.lower(), list(_lookup_table()), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise DownloadError(f"{name!r} is not a registered checkpoint name{hint} "
                            f"(registered: {', '.join(REGISTRY)}; see `rnalm models`)")
    return REGISTRY[key]


# --------------------------------------------------------------------------------------------
# Cache layout
# --------------------------------------------------------------------------------------------


def cache_home(cache_dir: Union[str, Path, None] = None) -> Path:
    """The cache folder: ``cache_dir`` if given, else ``$RNALM_HOME``, else ``~/.cache/rnalm``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    return Path(os.environ.get(ENV_HOME) or DEFAULT_HOME).expanduser()


def entry_dir(entry: Checkpoint, cache_dir: Union[str, Path, None] = None) -> Path:
    return cache_home(cache_dir) / entry.name


def local_path(entry: Checkpoint, cache_dir: Union[str, Path, None] = None) -> Path:
    """Where the file (or folder) that :func:`rnalm.load` receives lives once downloaded."""
    folder = entry_dir(entry, cache_dir)
    if entry.target == FOLDER:
        return folder
    return folder / (entry.target or entry.files[0].filename)


def _part(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def _part_meta(dest: Path) -> Path:
    """The ``.part``'s sidecar: the URL it came from and the validator (ETag / Last-Modified) of its first response."""
    return dest.with_name(dest.name + ".part.json")


def _legacy_part_source(dest: Path) -> Path:
    """Where rnalm before validators noted a ``.part``'s URL (no validator: such a ``.part`` is not resumed)."""
    return dest.with_name(dest.name + ".part.url")


def cache_status(entry: Checkpoint, cache_dir: Union[str, Path, None] = None) -> str:
    """``"yes"`` (every file present), ``"partial"`` (some files or a ``.part``) or ``"no"``."""
    folder = entry_dir(entry, cache_dir)
    present = [(folder / f.filename).is_file() for f in entry.files]
    if all(present):
        return "yes"
    if any(present) or any(_part(folder / f.filename).exists() for f in entry.files):
        return "partial"
    return "no"


def _offline() -> bool:
    return os.environ.get(ENV_OFFLINE, "").strip().lower() in {"1", "true", "yes", "on"}


def download_urls(entry: Checkpoint, remote: RemoteFile) -> tuple[str, ...]:
    """The URLs to try for ``remote``: ``$RNALM_HUB_MIRROR/<checkpoint>/<file>`` when a mirror is set, else the registry's."""
    mirror = os.environ.get(ENV_MIRROR, "").strip()
    if not mirror:
        return remote.urls
    return (f"{mirror.rstrip('/')}/{urllib.parse.quote(entry.name)}/{urllib.parse.quote(remote.filename)}",)


# --------------------------------------------------------------------------------------------
# The sha256 record (trust on first use)
# --------------------------------------------------------------------------------------------


def read_records(folder: Path) -> dict[str, dict]:
    """``{file name: {"sha256", "size", "source", "url", "recorded"}}`` from a checkpoint folder's record."""
    path = folder / RECORD_NAME
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        data = exc
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict) or not all(isinstance(v, dict) and isinstance(v.get("sha256"), str)
                                              for v in files.values()):
        raise DownloadError(f"{path}: not a sha256 record rnalm can read; move it away to record the cached files "
                            f"again on their next use (trust on first use starts over)")
    return files


def _store_record(folder: Path, filename: str, record: dict) -> None:
    records = read_records(folder)
    records[filename] = record
    write_json(folder / RECORD_NAME, {"format": 1, "files": records})


def _new_record(path: Path, digest: str, source: str, url: Optional[str]) -> dict:
    return {"sha256": digest, "size": path.stat().st_size, "source": source, "url": url,
            "recorded": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def trust_state(entry: Checkpoint, cache_dir: Union[str, Path, None] = None) -> str:
    """What the cached files of ``entry`` are checked against on use.

    ``"publisher"`` (every file has the authors' sha256), ``"trust-on-first-use"`` (sha256s recorded
    at the first download), ``"not recorded yet"`` (files put in the cache by hand or by an older
    rnalm: recorded on their next use); for a checkpoint not fully cached, whether a sha256 is
    ``"published"`` or ``"not published"``.
    """
    if cache_status(entry, cache_dir) != "yes":
        return "published" if entry.sha256_published else "not published"
    records = read_records(entry_dir(entry, cache_dir))
    sources = {(records.get(f.filename) or {}).get("source") for f in entry.files}
    if None in sources:
        return "not recorded yet"
    return FROM_PUBLISHER if sources == {FROM_PUBLISHER} else TRUST_ON_FIRST_USE


# --------------------------------------------------------------------------------------------
# Download
# --------------------------------------------------------------------------------------------


class _Transient(Exception):
    """A failure worth retrying on the same URL (resuming what is already on disk)."""


class _Permanent(Exception):
    """A failure that will not go away by retrying this URL (404, 403, a web page instead of the file, ...)."""


class _Restart(Exception):
    """The ``.part`` belongs to another version of the file (or cannot be resumed): it was removed; fetch from zero."""


_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
#: Media types that are never a checkpoint: error pages, sign-in pages, JSON error objects.
_TEXT_MEDIA = frozenset({"application/json", "application/problem+json", "application/xml",
                         "application/xhtml+xml"})


def _validator(headers) -> dict:
    """The response's validator: a strong ETag (If-Range allows no weak one) and/or Last-Modified."""
    etag = headers.get("ETag")
    return {"etag": etag if etag and not etag.startswith("W/") else None,
            "last_modified": headers.get("Last-Modified")}


def _start_over(part: Path, meta: Path) -> None:
    part.unlink(missing_ok=True)
    meta.unlink(missing_ok=True)


def _resumable(part: Path, meta: Path, url: str) -> Optional[dict]:
    """The sidecar of a ``.part`` that may be resumed from ``url``; otherwise both are removed and None returned."""
    info = None
    if part.is_file() and meta.is_file():
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            info = json.loads(meta.read_text(encoding="utf-8"))
    if isinstance(info, dict) and info.get("url") == url and (info.get("etag") or info.get("last_modified")):
        return info
    _start_over(part, meta)
    return None


def _same_version(info: dict, headers) -> bool:
    """Whether a 206 answer comes from the version of the file the ``.part`` holds (the server may ignore If-Range)."""
    if info.get("etag"):
        return headers.get("ETag") == info["etag"]
    return headers.get("Last-Modified") == info["last_modified"]


def _refuse_text(resp, url: str) -> None:
    media = (resp.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if media.startswith("text/") or media in _TEXT_MEDIA:
        snippet = " ".join(resp.read(160).decode("utf-8", "replace").split())
        raise _Permanent(f"the server sent {media} (an error or sign-in page?), not the file: {snippet!r}")


def _one_attempt(url: str, part: Path, meta: Path, timeout: float, quiet: bool, label: str) -> None:
    """Fetch ``url`` into ``part``, continuing it only when its validator still matches; raise on any shortfall."""
    info = _resumable(part, meta, url)
    offset = part.stat().st_size if info else 0
    req = urllib.request.Request(url, headers={"User-Agent": _user_agent(), "Accept-Encoding": "identity"})
    if offset:
        req.add_header("Range", f"bytes={offset}-")
        req.add_header("If-Range", info["etag"] or info["last_modified"])  # type: ignore[index]
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 (URLs come from the registry or the mirror)
    except urllib.error.HTTPError as exc:
        with contextlib.closing(exc):
            if exc.code == 416 and offset:
                # Nothing left to send: either our .part is the whole file, or it does not match it.
                total = (exc.headers.get("Content-Range") or "").rpartition("/")[2]
                if total.isdigit() and int(total) == offset and info.get("size") in (None, offset):  # type: ignore[union-attr]
                    return
                _start_over(part, meta)
                raise _Restart(f"server refused to resume at byte {offset}") from exc
            if exc.code in TRANSIENT_HTTP:
                raise _Transient(f"HTTP {exc.code} {exc.reason}") from exc
            raise _Permanent(f"HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise _Transient(str(reason) or type(exc).__name__) from exc

    with contextlib.closing(resp):
        _refuse_text(resp, url)
        length_header = resp.headers.get("Content-Length")
        length = int(length_header) if length_header and length_header.isdigit() else None
        if resp.status == 206:
            if not offset:
                raise _Transient("server answered a plain request with a partial response (206)")
            match = _CONTENT_RANGE.match(resp.headers.get("Content-Range") or "")
            total = int(match.group(3)) if match and match.group(3).isdigit() else None
            if (not match or int(match.group(1)) != offset or not _same_version(info, resp.headers)  # type: ignore[arg-type]
                    or total is None or info.get("size") not in (None, total)):  # type: ignore[union-attr]
                _start_over(part, meta)
                raise _Restart("the server's partial answer is not the rest of the file on disk "
                               "(another version, or another byte range)")
            mode = "ab"
        else:  # 200: the first request, or the server's answer that the file changed (If-Range) or that it ignores Range
            offset, total, mode = 0, length, "wb"
            write_json(meta, {"url": url, **_validator(resp.headers), "size": length})
        written = offset
        try:
            with open(part, mode) as fh, tqdm(total=total, initial=offset, unit="B", unit_scale=True,
                                              unit_divisor=1024, desc=label, file=sys.stderr,
                                              disable=quiet, leave=False) as bar:
                while True:
                    chunk = resp.read(CHUNK_BYTES)
                    if not chunk:
                        break
                    fh.write(chunk)
                    written += len(chunk)
                    bar.update(len(chunk))
                fh.flush()
                os.fsync(fh.fileno())
        except (OSError, http.client.HTTPException) as exc:  # IncompleteRead: a chunked body that ended early
            raise _Transient(f"transfer interrupted after {written} bytes: {exc or type(exc).__name__}") from exc
    if total is not None and written != total:
        raise _Transient(f"transfer stopped after {written} of {total} bytes")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK_BYTES), b""):
            h.update(block)
    return h.hexdigest()


def _keep_corrupt(path: Path) -> Path:
    """Rename a file that failed verification to ``*.corrupt`` (never overwriting an older one)."""
    base = path.name[:-len(".part")] if path.name.endswith(".part") else path.name
    target = path.with_name(base + ".corrupt")
    n = 1
    while target.exists():
        target = path.with_name(f"{base}.corrupt.{n}")
        n += 1
    os.replace(path, target)
    return target


_NOT_A_FILE = (
    (b"version https://git-lfs.github.com/spec/", "a Git LFS pointer"),
    (b"<!doctype", "a web page"),
    (b"<html", "a web page"),
    (b"<head", "a web page"),
    (b"<?xml", "an XML document"),
)


def verify_file(path: Path, remote: RemoteFile, url: str = "") -> str:
    """Check size and sha256 (when published) and that the content is not a web page or LFS pointer.

    Returns the file's sha256. On failure the file is renamed ``*.corrupt`` and a
    :class:`DownloadError` gives both hashes.
    """
    with open(path, "rb") as fh:
        head = fh.read(512).lstrip().lower()
    size = path.stat().st_size
    actual = _sha256(path)
    problem = next((what for magic, what in _NOT_A_FILE if head.startswith(magic)), None)
    if problem is None and remote.size is not None and size != remote.size:
        problem = f"{size} bytes instead of the published {remote.size}"
    if problem is None and remote.sha256 and actual != remote.sha256.lower():
        problem = "a sha256 mismatch"
    if problem is None:
        return actual
    kept = _keep_corrupt(path)
    raise DownloadError(
        f"{remote.filename}{' from ' + url if url else ''} failed verification: the server sent {problem} "
        f"(expected sha256 {remote.sha256 or 'unpublished'}, got {actual}, {size} bytes); "
        f"the bad file is kept at {kept}"
    )


def probe_problem(path: Path, probe: str) -> Optional[str]:
    """Why ``path`` does not open as ``probe`` (a format of :mod:`rnalm.io.formats` or a container), or None."""
    try:
        if probe in CONTAINER_PROBES:
            return None if CONTAINER_PROBES[probe](Probe(path)) else f"no {probe} content found"
        fmt, _ = detect_format(path)
    except RnalmError as exc:
        return str(exc)
    return None if fmt.name == probe else f"it is a {fmt.name} checkpoint, not {probe}"


def _verify_download(part: Path, remote: RemoteFile, url: str, recorded: Optional[dict], checkpoint: str) -> str:
    """All checks of a finished ``.part`` before it enters the cache; returns its sha256."""
    digest = verify_file(part, remote, url)
    problem = probe_problem(part, remote.probe)
    if problem is None and recorded and not remote.sha256 and recorded["sha256"] != digest:
        problem = (f"a file that differs from the copy first downloaded on {recorded.get('recorded')} "
                   f"(sha256 {digest}, recorded {recorded['sha256']}; trust on first use). If the publisher "
                   f"changed it on purpose, `rnalm download {checkpoint} --force` trusts the new file")
    elif problem is not None:
        problem = f"a file that does not open as {remote.probe}: {problem}"
    if problem is None:
        return digest
    kept = _keep_corrupt(part)
    raise DownloadError(f"{remote.filename}{' from ' + url if url else ''} failed verification: the server sent "
                        f"{problem}; the bad file is kept at {kept}")


def _check_cached(checkpoint: str, remote: RemoteFile, dest: Path, records: dict[str, dict]) -> Optional[dict]:
    """Re-hash a cached file against the publisher's or the recorded sha256 (rename it ``*.corrupt`` on a
    mismatch); return a record to store when there is none yet or the publisher's hash now applies."""
    recorded = records.get(remote.filename)
    digest = _sha256(dest)
    if remote.sha256:
        reference, whose = remote.sha256.lower(), "the publisher's sha256"
    elif recorded:
        reference = recorded["sha256"]
        whose = f"the sha256 recorded at its first download on {recorded.get('recorded')} (trust on first use)"
    else:  # put there by hand or by an older rnalm: it must open as what it claims to be, then it is trusted
        problem = probe_problem(dest, remote.probe)
        if problem is not None:
            raise DownloadError(f"{dest} (cached for {checkpoint}, never verified by rnalm) does not open as "
                                f"{remote.probe}: {problem}; move it away or run `rnalm download {checkpoint} --force`")
        return _new_record(dest, digest, TRUST_ON_FIRST_USE, None)
    if digest != reference:
        kept = _keep_corrupt(dest)
        raise DownloadError(f"the cached copy of {checkpoint} is bad: {dest} has sha256 {digest}, not {whose} "
                            f"{reference}; the file is kept at {kept}; run `rnalm download {checkpoint}` to fetch it again")
    if remote.sha256 and (recorded or {}).get("source") != FROM_PUBLISHER:
        return _new_record(dest, digest, FROM_PUBLISHER, (recorded or {}).get("url"))
    return None


@contextlib.contextmanager
def _lock(folder: Path) -> Iterator[None]:
    """Serialise downloads into one cache folder across processes (POSIX; a no-op elsewhere)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(folder / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def fetch(remote: RemoteFile, dest: Path, *, urls: Optional[tuple[str, ...]] = None, force: bool = False,
          quiet: bool = False, timeout: Optional[float] = None, retries: Optional[int] = None,
          backoff: Optional[float] = None) -> Path:
    """Download ``remote`` to ``dest`` (from ``urls``, default the registry's): resume, retry, verify, record
    its sha256 in the folder's record, then rename into place atomically.

    An existing ``dest`` is returned untouched unless ``force``; with ``force`` the new copy
    replaces it only after it has been verified, and its sha256 replaces the recorded one.
    Without ``force`` a file that has a recorded sha256 must match it.
    """
    timeout = TIMEOUT_S if timeout is None else timeout
    retries = RETRIES if retries is None else retries
    backoff = BACKOFF_S if backoff is None else backoff
    urls = remote.urls if urls is None else urls
    if dest.is_file() and not force:
        return dest
    folder = dest.parent
    folder.mkdir(parents=True, exist_ok=True)
    part, meta = _part(dest), _part_meta(dest)
    _legacy_part_source(dest).unlink(missing_ok=True)
    if force:
        _start_over(part, meta)
    recorded = None if force else read_records(folder).get(remote.filename)
    failures: list[str] = []
    for url in urls:
        for attempt in range(retries + 1):
            try:
                try:
                    _one_attempt(url, part, meta, timeout, quiet, remote.filename)
                except _Restart:  # the .part is gone: fetch the whole file (at most once, no Range is sent now)
                    _one_attempt(url, part, meta, timeout, quiet, remote.filename)
            except _Permanent as exc:
                failures.append(f"{url} -> {exc}")
                break
            except (_Transient, _Restart) as exc:
                if attempt == retries:
                    failures.append(f"{url} -> {exc} ({retries + 1} attempts)")
                    break
                time.sleep(backoff * 2 ** attempt)
                continue
            if not part.exists():  # 200 with an empty body
                part.touch()
            digest = _verify_download(part, remote, url, recorded, folder.name)
            os.replace(part, dest)
            meta.unlink(missing_ok=True)
            _store_record(folder, remote.filename,
                          _new_record(dest, digest, FROM_PUBLISHER if remote.sha256 else TRUST_ON_FIRST_USE, url))
            return dest
    if not part.exists():
        meta.unlink(missing_ok=True)
    raise DownloadError(
        f"could not download {remote.filename}: {'; '.join(failures) or 'no URL registered'}. "
        f"If this machine is offline, fetch it elsewhere from {' or '.join(remote.urls)} and put it at {dest}"
    )


def download(entry: Union[Checkpoint, str], cache_dir: Union[str, Path, None] = None, *, force: bool = False,
             quiet: bool = False, timeout: Optional[float] = None, retries: Optional[int] = None,
             backoff: Optional[float] = None) -> Path:
    """Make every file of ``entry`` present and verified in the cache and return :func:`local_path`.

    Files already cached are re-hashed and compared with the publisher's sha256 or the one
    recorded at their first download (a mismatch is a :class:`DownloadError`); ``force``
    downloads again and re-records.
    """
    entry = get(entry) if isinstance(entry, str) else entry
    folder = entry_dir(entry, cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    with _lock(folder):
        for remote in entry.files:
            dest = folder / remote.filename
            if dest.is_file() and not force:
                record = _check_cached(entry.name, remote, dest, read_records(folder))
                if record is not None:
                    _store_record(folder, remote.filename, record)
                continue
            fetch(remote, dest, urls=download_urls(entry, remote), force=force, quiet=quiet, timeout=timeout,
                  retries=retries, backoff=backoff)
    return local_path(entry, cache_dir)


def manual_instructions(entry: Checkpoint, cache_dir: Union[str, Path, None] = None) -> str:
    """One line saying which URL(s) to fetch by hand and exactly where each file goes."""
    folder = entry_dir(entry, cache_dir)
    parts = [f"{' or '.join(f.urls)} -> {folder / f.filename}" for f in entry.files
             if not (folder / f.filename).is_file()]
    return "download " + "; ".join(parts)


def resolve(name: str, cache_dir: Union[str, Path, None] = None, *, download_missing: bool = True,
            quiet: bool = False) -> Path:
    """The local path of registered checkpoint ``name``, downloading it first if it is not cached.

    Cached files are checked against their sha256 (published or recorded) on every call.
    Raises :class:`DownloadError` for unknown names, when ``$RNALM_OFFLINE`` is set (or
    ``download_missing`` is False) and the files are missing, when the download fails and when a
    cached file no longer matches its sha256.
    """
    try:
        entry = get(name)
    except DownloadError as exc:
        raise DownloadError(f"no such file or directory, and {exc}") from None
    if cache_status(entry, cache_dir) != "yes" and (not download_missing or _offline()):
        why = f"${ENV_OFFLINE} is set" if _offline() else "downloads are disabled"
        raise DownloadError(f"{entry.name} is not in the cache and {why}: {manual_instructions(entry, cache_dir)}")
    return download(entry, cache_dir, quiet=quiet)


# --------------------------------------------------------------------------------------------
# Listing (consumed by `rnalm models`)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    """One row of ``rnalm models``; any model source (registry, shipped weights, ...) yields these."""

    name: str
    source: str
    format: str
    size: Optional[int]
    sha256: str
    cached: str
    licence: str
    description: str
    location: str
    urls: tuple[str, ...] = ()
    homepage: str = ""
    citation: str = ""
    notes: str = ""
    aliases: tuple[str, ...] = ()
    #: shipped models only: backbone | task | structure, the task alias, the card's validation metric.
    kind: str = ""
    task: str = ""
    metric: str = ""


def listings(cache_dir: Union[str, Path, None] = None) -> Iterator[Listing]:
    """Rows for every registered (downloadable) checkpoint."""
    for entry in REGISTRY.values():
        yield Listing(
            name=entry.name, source="download", format=entry.format, size=entry.size,
            sha256=trust_state(entry, cache_dir),
            cached=cache_status(entry, cache_dir), licence=entry.licence, description=entry.description,
            location=str(local_path(entry, cache_dir)), urls=entry.urls, homepage=entry.homepage,
            citation=entry.citation or "", notes=entry.notes, aliases=entry.aliases,
        )
