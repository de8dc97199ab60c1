"""The published checkpoints rnalm fetches by name: one table, :data:`REGISTRY`, in plain view.

Every model family publishes its weights somewhere else (a university API, a GitHub tree, Hugging
Face, Dropbox, Meta's CDN), under file names that say little; each :class:`Checkpoint` here says
where its files live, what they must open as, their licence and where the URLs come from.
Nothing in this module touches the network or the disk.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from rnalm.errors import DownloadError


def check_plain_name(name: str, what: str) -> str:
    """``name`` if it is a plain file name that stays inside its folder, else a DownloadError.

    Names starting with a dot are refused too: the cache keeps its own bookkeeping under such names.
    """
    bad = (
        not name
        or name.startswith(".")
        or "/" in name
        or "\\" in name
        or "\0" in name
        or os.path.isabs(name)
        or Path(name).name != name
    )
    if bad:
        raise DownloadError(
            f"{what} {name!r} is not a plain file name (no path separators, no leading dot, "
            "not absolute): registry names must stay inside their cache folder"
        )
    return name


@dataclass(frozen=True)
class RemoteFile:
    """One published file: where to get it, what it must open as, and its published size and sha256.

    ``urls`` are mirrors of the *same* file, tried in order. ``size`` and ``sha256`` stay
    ``None`` unless the publisher states them; they are never filled in from our own download.
    ``probe`` is what the finished download must open as before it enters the cache: the name of
    a checkpoint format of :mod:`rnalm.io.formats` (``"rna-fm"``, ``"esm2"``, ...) or of a
    container in :data:`rnalm.hub.verify.CONTAINER_PROBES`. ``filename`` must be a plain name (checked here).
    ``torch_hub_name`` is the name the authors' own package saves the file under in torch hub's
    cache (``torch.hub.get_dir()/checkpoints``) when it fetches it with
    ``torch.hub.load_state_dict_from_url``: fair-esm and rna-fm do, so a copy they downloaded is
    used instead of a second download (:mod:`rnalm.hub.torchhub`). ``None``: that package does not
    use torch hub.
    """

    filename: str
    urls: tuple[str, ...]
    size: Optional[int] = None
    sha256: Optional[str] = None
    probe: str = "torch"
    torch_hub_name: Optional[str] = None

    def __post_init__(self) -> None:
        check_plain_name(self.filename, "registry file name")
        if self.torch_hub_name is not None:
            check_plain_name(self.torch_hub_name, "torch hub file name")


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
        return None if any(s is None for s in sizes) else sum(s for s in sizes if s is not None)

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
_RNAFM_NOTES = (
    "A dict with fairseq 'args' (argparse.Namespace) and 'model'; URL from rna-fm's fm/pretrained.py; "
    "the authors also share the file in a Google Drive "
    "folder linked from the RNA-FM README (not scriptable; download it in a browser). A copy rna-fm "
    "downloaded into torch hub's cache is used from there."
)


def _utrlm(name: str, pkl: str, description: str) -> Checkpoint:
    # Pinned commit first (reproducible bytes), the moving branch as fallback.
    urls = tuple(
        f"https://raw.githubusercontent.com/a96123155/UTR-LM/{ref}/Model/Pretrained/{pkl}"
        for ref in (_UTRLM_COMMIT, "main")
    )
    return Checkpoint(
        name=name,
        description=description,
        format="UTR-LM .pkl",
        files=(RemoteFile(pkl, urls, probe="utr-lm"),),
        licence="GPL-3.0",
        homepage="https://github.com/a96123155/UTR-LM",
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
        files=(
            RemoteFile(f"{name}.pt", (f"{_FAIR_ESM}/models/{name}.pt",), probe="esm2", torch_hub_name=f"{name}.pt"),
            RemoteFile(
                f"{name}-contact-regression.pt",
                (f"{_FAIR_ESM}/regression/{name}-contact-regression.pt",),
                torch_hub_name=f"{name}-contact-regression.pt",
            ),
        ),
        licence="MIT",
        homepage="https://github.com/facebookresearch/esm",
        citation="Lin et al. 2022, bioRxiv doi:10.1101/2022.07.20.500902 (Science 2023)",
        notes="URLs as in fair-esm's esm/pretrained.py; the regression file sits next to the model as "
        "fair-esm's load_model_and_alphabet_local expects. Files fair-esm downloaded into torch hub's "
        "cache are used from there.",
    )


def _lamar(name: str, folder: str, context: int, aliases: tuple[str, ...] = ()) -> Checkpoint:
    return Checkpoint(
        name=name,
        description=f"LAMAR ({context // 1024}k context): 12-layer, 768-wide ESM-2-style (rotary) RNA model "
        f"pre-trained on ~15M genome and transcriptome sequences of 225 mammals and 1569 viruses, "
        f"up to {context} tokens",
        format="HF ESM safetensors",
        files=(RemoteFile("model.safetensors", (f"{_LAMAR_HF}/{folder}/model.safetensors",), probe="safetensors"),),
        licence="MIT",
        homepage="https://github.com/zhw-e8/LAMAR",
        target=FOLDER,
        aliases=aliases,
        notes=f"EsmForMaskedLM weights from folder {folder}/ of huggingface.co/zhw-e8/LAMAR (linked from the LAMAR "
        "README); upstream publishes no config.json: LAMAR's code builds the config in Python.",
    )


_ENTRIES: tuple[Checkpoint, ...] = (
    Checkpoint(
        name="rna-fm",
        description="RNA-FM: 12-layer, 640-wide ESM-1b-style encoder pre-trained on 23M non-coding RNAs (RNAcentral)",
        format="RNA-FM .pth",
        files=(
            RemoteFile(
                "RNA-FM_pretrained.pth",
                (_CUHK + "RNA-FM_pretrained.pth",),
                probe="rna-fm",
                torch_hub_name="RNA-FM_pretrained.pth",
            ),
        ),
        licence="MIT",
        homepage="https://github.com/ml4bio/RNA-FM",
        citation="Chen et al. 2022, arXiv:2204.00300",
        aliases=("rna_fm_t12",),
        notes=_RNAFM_NOTES,
    ),
    Checkpoint(
        name="mrna-fm",
        description="mRNA-FM: RNA-FM's architecture pre-trained on coding sequences with codon (3-mer) tokens",
        format="RNA-FM .pth",
        files=(
            RemoteFile(
                "mRNA-FM_pretrained.pth",
                (_CUHK + "file_mRNA-FM_pretrained.pth",),
                probe="rna-fm",
                torch_hub_name="file_mRNA-FM_pretrained.pth",
            ),
        ),
        licence="MIT",
        homepage="https://github.com/ml4bio/RNA-FM",
        citation="Chen et al. 2022, arXiv:2204.00300 (mRNA-FM: RNA-FM repository, 2024 release)",
        aliases=("mrna_fm_t12",),
        notes=_RNAFM_NOTES,
    ),
    Checkpoint(
        name="rna-fm-ss-resnet",
        description="RNA-FM SS-ResNet: RNA-FM backbone + ResNet pair head for secondary structure, trained on "
        "PDB (a structure model for `rnalm fold --model rna-fm-ss-resnet`, not an encoder for rnalm.load)",
        format="RNA-FM SS-ResNet .pth",
        files=(
            RemoteFile(
                "RNA-FM-ResNet_PDB-All.pth",
                (_CUHK + "RNA-FM-ResNet_PDB-All.pth",),
                probe="rna-fm-ss-resnet",
                torch_hub_name="RNA-FM-ResNet_PDB-All.pth",
            ),
        ),
        licence="MIT",
        homepage="https://github.com/ml4bio/RNA-FM",
        citation="Chen et al. 2022, arXiv:2204.00300",
        aliases=("RNA-FM-ResNet_PDB-All", "rna-fm-ss"),
        notes="State dict of fm.downstream's Baseline (RNA-FM backbone + pc-resnet_1_sym_first:r-ss pair "
        "predictor); URL from rna-fm's fm/downstream/__init__.py (build_rnafm_resnet). Loaded by "
        "rnalm.models.rnafm.load_ss_resnet; records up to 1,022 nt.",
    ),
    _utrlm(
        "utr-lm-mrl",
        "ESM2SISS_FS4.1_fiveSpeciesCao_6layers_16heads_128embedsize_4096batchToks_lr1e-05_"
        "supervisedweight1.0_structureweight1.0_MLMLossMin_epoch93.pkl",
        "UTR-LM (6 layers, 128 wide) pre-trained on 5' UTRs of five species + synthetic libraries with "
        "MLM, MFE and secondary-structure objectives; the checkpoint the authors fine-tune for MRL",
    ),
    _utrlm(
        "utr-lm-te-el",
        "ESM2SI_3.1_fiveSpeciesCao_6layers_16heads_128embedsize_4096batchToks_MLMLossMin.pkl",
        "UTR-LM (6 layers, 128 wide) pre-trained on 5' UTRs of five species + synthetic libraries with "
        "MLM and MFE objectives; the checkpoint the authors fine-tune for TE and EL",
    ),
    _utrlm(
        "utr-lm-mlm",
        "ESM2_1.4_five_species_TrainLossMin_6layers_16heads_128embedsize_4096batchToks.pkl",
        "UTR-LM (6 layers, 128 wide) pre-trained on 5' UTRs of five species with MLM only",
    ),
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
        files=(
            RemoteFile(
                "ProtRNA_pretrained.h5",
                (
                    "https://www.dropbox.com/scl/fi/lttcohy9ix1rbsynci72h/ProtRNA_pretrained.h5"
                    "?rlkey=6t37r3tbb1p9j75nqejumcqqx&st=74eku09q&dl=1",
                    "https://zenodo.org/records/13888473/files/ProtRNA_pretrained.h5",
                ),
                probe="protrna-h5",
            ),
        ),
        licence="MIT",
        homepage="https://github.com/roxie-zhang/ProtRNA",
        notes="Dropbox URL from ProtRNA's protrna/pretrained.py and README; the Zenodo record is the "
        "one an earlier README linked.",
    ),
    Checkpoint(
        name="protrna-ss-head",
        description="ProtRNA's RotaFormer secondary-structure head, trained on bpRNA TR0 "
        "(a task head on the protrna backbone's last layer, not an encoder: rnalm.load does not take it)",
        format="ProtRNA Keras .h5 (SSPredictionModel)",
        files=(
            RemoteFile(
                "ssHead_RF_bprna.h5",
                ("https://zenodo.org/records/13888473/files/ssHead_RF_bprna.h5",),
                probe="protrna-ss-head",
            ),
        ),
        licence="MIT",
        homepage="https://github.com/roxie-zhang/ProtRNA",
        aliases=("ssHead_RF_bprna",),
        notes="URL from ProtRNA's README and pretrained.py (load_pretrained_model); licence of the repository "
        "(the Zenodo record states its own). Load with rnalm.models.protrna.load_ss_head; needs the protrna "
        "backbone.",
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
        raise DownloadError(
            f"{name!r} is not a registered checkpoint name{hint} "
            f"(registered: {', '.join(REGISTRY)}; see `rnalm models`)"
        )
    return REGISTRY[key]
