"""Published checkpoints by name: a registry, a local cache, and a verified resumable downloader.

Why this exists: every model family publishes its weights somewhere else (a university API, a
GitHub tree, Hugging Face, Dropbox, Meta's CDN), under file names that say little. rnalm keeps one
table of where each checkpoint lives (:data:`REGISTRY`), stores downloads under one cache folder
(``$RNALM_HOME``, default ``~/.cache/rnalm``; one sub-folder per checkpoint) and hands
:func:`rnalm.load` a local path through :func:`resolve`.

Downloads use only :mod:`urllib`: they resume a ``.part`` file with an HTTP ``Range`` request
(and start over cleanly when the server ignores it), retry transient failures a few times with
timeouts, check the size and sha256 when the authors published them (most did not -- the fields
are ``None`` then, never guessed), and move the finished file into place atomically. A file
that fails verification is kept as ``<name>.corrupt`` and reported with both hashes; nothing is
deleted silently. When the host cannot be reached the :class:`~rnalm.errors.DownloadError`
names the URL(s) and the exact path to put the file at by hand.
"""
from __future__ import annotations

import contextlib
import difflib
import hashlib
import http.client
import os
import re
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Union

from rnalm.errors import DownloadError

#: Environment variable naming the cache folder.
ENV_HOME = "RNALM_HOME"
#: Environment variable that forbids network access in :func:`resolve` when set to 1/true/yes.
ENV_OFFLINE = "RNALM_OFFLINE"
DEFAULT_HOME = "~/.cache/rnalm"

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


@dataclass(frozen=True)
class RemoteFile:
    """One published file: where to get it and, when the authors published them, its size and sha256.

    ``urls`` are mirrors of the *same* file, tried in order. ``size`` and ``sha256`` stay
    ``None`` unless the publisher states them; they are never filled in from our own download.
    """

    filename: str
    urls: tuple[str, ...]
    size: Optional[int] = None
    sha256: Optional[str] = None


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
        files=(RemoteFile(pkl, urls),), licence="GPL-3.0", homepage="https://github.com/a96123155/UTR-LM",
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
        files=(RemoteFile(f"{name}.pt", (f"{_FAIR_ESM}/models/{name}.pt",)),
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
        files=(RemoteFile("model.safetensors", (f"{_LAMAR_HF}/{folder}/model.safetensors",)),),
        licence="MIT", homepage="https://github.com/zhw-e8/LAMAR", target=FOLDER, aliases=aliases,
        notes=f"EsmForMaskedLM weights from folder {folder}/ of huggingface.co/zhw-e8/LAMAR (linked from the LAMAR "
              "README); upstream publishes no config.json: LAMAR's code builds the config in Python.",
    )


_ENTRIES: tuple[Checkpoint, ...] = (
    Checkpoint(
        name="rna-fm",
        description="RNA-FM: 12-layer, 640-wide ESM-1b-style encoder pre-trained on 23M non-coding RNAs (RNAcentral)",
        format="RNA-FM .pth",
        files=(RemoteFile("RNA-FM_pretrained.pth", (_CUHK + "RNA-FM_pretrained.pth",)),),
        licence="MIT", homepage="https://github.com/ml4bio/RNA-FM",
        citation="Chen et al. 2022, arXiv:2204.00300", aliases=("rna_fm_t12",), notes=_RNAFM_NOTES,
    ),
    Checkpoint(
        name="mrna-fm",
        description="mRNA-FM: RNA-FM's architecture pre-trained on coding sequences with codon (3-mer) tokens",
        format="RNA-FM .pth",
        files=(RemoteFile("mRNA-FM_pretrained.pth", (_CUHK + "file_mRNA-FM_pretrained.pth",)),),
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
        )),),
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


def _part_source(dest: Path) -> Path:
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


# --------------------------------------------------------------------------------------------
# Download
# --------------------------------------------------------------------------------------------


class _Transient(Exception):
    """A failure worth retrying on the same URL (resuming what is already on disk)."""


class _Permanent(Exception):
    """A failure that will not go away by retrying this URL (404, 403, ...)."""


_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


def _one_attempt(url: str, part: Path, timeout: float, quiet: bool, label: str) -> None:
    """Fetch ``url`` into ``part``, continuing from its current length; raise on any shortfall."""
    from tqdm import tqdm

    offset = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"User-Agent": _user_agent(), "Accept-Encoding": "identity"})
    if offset:
        req.add_header("Range", f"bytes={offset}-")
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 (URLs come from the registry)
    except urllib.error.HTTPError as exc:
        with contextlib.closing(exc):
            if exc.code == 416 and offset:
                # Nothing left to send: either our .part is the whole file, or it does not match it.
                total = (exc.headers.get("Content-Range") or "").rpartition("/")[2]
                if total.isdigit() and int(total) == offset:
                    return
                part.unlink()
                raise _Transient(f"server refused to resume at byte {offset}; restarting") from exc
            if exc.code in TRANSIENT_HTTP:
                raise _Transient(f"HTTP {exc.code} {exc.reason}") from exc
            raise _Permanent(f"HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise _Transient(str(reason) or type(exc).__name__) from exc

    with contextlib.closing(resp):
        length_header = resp.headers.get("Content-Length")
        length = int(length_header) if length_header and length_header.isdigit() else None
        if resp.status == 206:
            match = _CONTENT_RANGE.match(resp.headers.get("Content-Range") or "")
            if not match or int(match.group(1)) != offset:
                part.unlink(missing_ok=True)
                raise _Transient("server answered the resume request with a different byte range; restarting")
            total = int(match.group(3)) if match.group(3).isdigit() else None
            mode = "ab"
        else:  # 200: the server ignored Range (or none was sent) and sends the whole file
            offset, total, mode = 0, length, "wb"
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
        except (OSError, http.client.HTTPException) as exc:
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
    (b"<!doctype html", "a web page"),
    (b"<html", "a web page"),
)


def verify_file(path: Path, remote: RemoteFile, url: str = "") -> None:
    """Check size, sha256 (when published) and that the content is not a web page or LFS pointer.

    On failure the file is renamed ``*.corrupt`` and a :class:`DownloadError` gives both hashes.
    """
    with open(path, "rb") as fh:
        head = fh.read(512).lstrip().lower()
    size = path.stat().st_size
    problem = next((what for magic, what in _NOT_A_FILE if head.startswith(magic)), None)
    if problem is None and remote.size is not None and size != remote.size:
        problem = f"{size} bytes instead of the published {remote.size}"
    actual = _sha256(path) if (problem is not None or remote.sha256) else None
    if problem is None and remote.sha256 and actual != remote.sha256.lower():
        problem = "a sha256 mismatch"
    if problem is None:
        return
    kept = _keep_corrupt(path)
    raise DownloadError(
        f"{remote.filename}{' from ' + url if url else ''} failed verification: the server sent {problem} "
        f"(expected sha256 {remote.sha256 or 'unpublished'}, got {actual}, {size} bytes); "
        f"the bad file is kept at {kept}"
    )


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


def fetch(remote: RemoteFile, dest: Path, *, force: bool = False, quiet: bool = False,
          timeout: Optional[float] = None, retries: Optional[int] = None,
          backoff: Optional[float] = None) -> Path:
    """Download ``remote`` to ``dest``: resume, retry, verify, then rename into place atomically.

    An existing ``dest`` is returned untouched unless ``force``; with ``force`` the new copy
    replaces it only after it has been verified.
    """
    timeout = TIMEOUT_S if timeout is None else timeout
    retries = RETRIES if retries is None else retries
    backoff = BACKOFF_S if backoff is None else backoff
    if dest.is_file() and not force:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part, source = _part(dest), _part_source(dest)
    if force:
        part.unlink(missing_ok=True)
    failures: list[str] = []
    for url in remote.urls:
        # Resume only bytes that came from this same URL: mirrors need not serve identical files.
        if part.exists() and source.exists() and source.read_text().strip() != url:
            part.unlink()
        source.write_text(url)
        for attempt in range(retries + 1):
            try:
                _one_attempt(url, part, timeout, quiet, remote.filename)
            except _Permanent as exc:
                failures.append(f"{url} -> {exc}")
                break
            except _Transient as exc:
                if attempt == retries:
                    failures.append(f"{url} -> {exc} ({retries + 1} attempts)")
                    break
                time.sleep(backoff * 2 ** attempt)
                continue
            if not part.exists():  # 200 with an empty body
                part.touch()
            verify_file(part, remote, url)
            os.replace(part, dest)
            source.unlink(missing_ok=True)
            return dest
    if not part.exists():
        source.unlink(missing_ok=True)
    raise DownloadError(
        f"could not download {remote.filename}: {'; '.join(failures) or 'no URL registered'}. "
        f"If this machine is offline, fetch it elsewhere from {' or '.join(remote.urls)} and put it at {dest}"
    )


def download(entry: Union[Checkpoint, str], cache_dir: Union[str, Path, None] = None, *, force: bool = False,
             quiet: bool = False, verify: bool = False, timeout: Optional[float] = None,
             retries: Optional[int] = None, backoff: Optional[float] = None) -> Path:
    """Make every file of ``entry`` present in the cache and return :func:`local_path`.

    ``verify`` re-checks files that were already cached against the published size/sha256.
    """
    entry = get(entry) if isinstance(entry, str) else entry
    folder = entry_dir(entry, cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    with _lock(folder):
        for remote in entry.files:
            dest = folder / remote.filename
            if dest.is_file() and not force:
                if verify and (remote.size is not None or remote.sha256):
                    try:
                        verify_file(dest, remote)
                    except DownloadError as exc:
                        raise DownloadError(f"the cached copy of {entry.name} is bad: {exc}; run "
                                            f"`rnalm download {entry.name}` to fetch it again") from None
                continue
            fetch(remote, dest, force=force, quiet=quiet, timeout=timeout, retries=retries, backoff=backoff)
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

    Raises :class:`DownloadError` for unknown names, when ``$RNALM_OFFLINE`` is set (or
    ``download_missing`` is False) and the files are missing, and when the download fails.
    """
    try:
        entry = get(name)
    except DownloadError as exc:
        raise DownloadError(f"no such file or directory, and {exc}") from None
    if cache_status(entry, cache_dir) == "yes":
        return local_path(entry, cache_dir)
    if not download_missing or _offline():
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
            sha256="published" if entry.sha256_published else "not published",
            cached=cache_status(entry, cache_dir), licence=entry.licence, description=entry.description,
            location=str(local_path(entry, cache_dir)), urls=entry.urls, homepage=entry.homepage,
            citation=entry.citation or "", notes=entry.notes, aliases=entry.aliases,
        )
