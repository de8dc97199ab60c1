"""Published checkpoints by name: a registry, a local cache, and a verified resumable downloader.

The package has one module per job: :mod:`.registry` (the table of published checkpoints),
:mod:`.cache` (the cache layout and the sha256 record), :mod:`.verify` (what a file must be to
enter or stay in the cache), :mod:`.downloader` (HTTP, and :func:`resolve`), :mod:`.torchhub`
(files fair-esm and rna-fm already downloaded into torch hub's cache) and :mod:`.listing` (rows of
``rnalm models``). This module is their public face.

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

A checkpoint that fair-esm or rna-fm already downloaded (into ``torch.hub.get_dir()/checkpoints``,
honouring ``$TORCH_HOME``) is used from there instead of being downloaded again, once it passes the
publisher's sha256 or, where none is published, the format probe and then the sha256 recorded at
that first use; a file there that fails is ignored with a warning and never touched.

``$RNALM_HUB_MIRROR`` points the downloader at a mirror instead of the publishers' URLs: file
``F`` of checkpoint ``C`` is fetched from ``$RNALM_HUB_MIRROR/C/F`` (``C`` is the canonical name
``rnalm models`` lists, ``F`` the registry's file name, URL-quoted), and the publishers' URLs are
not contacted. A mirror is checked exactly like the original (sizes, published and recorded
sha256s, format probe).
"""

from __future__ import annotations

from rnalm.hub.cache import (
    DEFAULT_HOME,
    ENV_HOME,
    FROM_PUBLISHER,
    RECORD_NAME,
    TORCH_HUB_RECORD_NAME,
    TRUST_ON_FIRST_USE,
    cache_home,
    cache_status,
    entry_dir,
    local_path,
    read_records,
    trust_state,
)
from rnalm.hub.downloader import ENV_MIRROR, ENV_OFFLINE, download, download_urls, fetch, manual_instructions, resolve
from rnalm.hub.listing import Listing, listings
from rnalm.hub.registry import FOLDER, REGISTRY, Checkpoint, RemoteFile, check_plain_name, get
from rnalm.hub.torchhub import IN_TORCH_HUB, torch_hub_dir, torch_hub_path, verified_torch_hub_path
from rnalm.hub.verify import CONTAINER_PROBES, probe_problem, verify_file

__all__ = [
    "CONTAINER_PROBES",
    "DEFAULT_HOME",
    "ENV_HOME",
    "ENV_MIRROR",
    "ENV_OFFLINE",
    "FOLDER",
    "FROM_PUBLISHER",
    "IN_TORCH_HUB",
    "RECORD_NAME",
    "REGISTRY",
    "TORCH_HUB_RECORD_NAME",
    "TRUST_ON_FIRST_USE",
    "Checkpoint",
    "Listing",
    "RemoteFile",
    "cache_home",
    "cache_status",
    "check_plain_name",
    "download",
    "download_urls",
    "entry_dir",
    "fetch",
    "get",
    "listings",
    "local_path",
    "manual_instructions",
    "probe_problem",
    "read_records",
    "resolve",
    "torch_hub_dir",
    "torch_hub_path",
    "trust_state",
    "verified_torch_hub_path",
    "verify_file",
]
