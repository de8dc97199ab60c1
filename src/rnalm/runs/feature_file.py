"""The feature baseline's saved trees (``model.skops`` + ``model.json``), read without running code.

Run directories are shared between colleagues and downloaded from papers, so a ``model.skops`` is
untrusted input. skops rebuilds objects from a JSON schema: functions, methods and arbitrary classes
can all be named there (a ``Pipeline`` of ``FunctionTransformer``\\ s calling ``numpy.full_like``,
``numpy.max`` and ``numpy.testing``'s ``runstring`` executes a string on ``predict``). Trusting
"any scikit-learn or NumPy type" is therefore not safe.

What is safe: :data:`ALLOWED_NODES` lists, exactly, the (skops loader, module, class) triples of
every node in the files rnalm writes for ``HistGradientBoostingRegressor`` (regression) and
``HistGradientBoostingClassifier`` (binary and multi-class classification), collected with
scikit-learn 1.9 / skops 0.16 from fitted models of both tasks. The whole schema is checked
against it before skops constructs anything, the root must be the estimator class of the task
named in ``model.json``, and the loaded object must be exactly that class. The one name skops
resolves from a plain string, a ``Generator``'s bit generator, must be ``PCG64``. Nothing callable
beyond those classes (and the ``str`` type) can be named, so no function or method from the file runs.

Why skops with an exact list rather than a new tree format: old feature runs stay readable
unchanged, and predictions keep coming from scikit-learn's own predictor rather than a
re-implementation that would have to be proven equal to it. A run written by another
scikit-learn version whose trees hold a type not listed here is refused with the type named; it
is retrained with ``rnalm finetune``.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any, Iterator

from rnalm.io.atomic import atomic_write_bytes, atomic_write_text
from rnalm.io.sizecap import check_zip_inflation
from rnalm.runs.errors import RunDirError

_HGB = "sklearn.ensemble._hist_gradient_boosting"

#: Every (skops loader, module, class) a feature model written by rnalm contains.
ALLOWED_NODES: frozenset[tuple[str, str, str]] = frozenset(
    {
        ("DictNode", "builtins", "dict"),
        ("JsonNode", "builtins", "str"),
        ("ListNode", "builtins", "list"),
        ("TupleNode", "builtins", "tuple"),
        ("TypeNode", "builtins", "str"),
        ("NdArrayNode", "numpy", "ndarray"),
        ("NdArrayNode", "numpy", "uint64"),
        ("RandomGeneratorNode", "numpy.random._generator", "Generator"),
        ("LossNode", "sklearn._loss._loss", "CyHalfSquaredError"),
        ("LossNode", "sklearn._loss._loss", "CyHalfBinomialLoss"),
        ("LossNode", "sklearn._loss._loss", "CyHalfMultinomialLoss"),
        ("ObjectNode", "sklearn._loss.link", "IdentityLink"),
        ("ObjectNode", "sklearn._loss.link", "LogitLink"),
        ("ObjectNode", "sklearn._loss.link", "MultinomialLogit"),
        ("ObjectNode", "sklearn._loss.link", "Interval"),
        ("ObjectNode", "sklearn._loss.loss", "HalfSquaredError"),
        ("ObjectNode", "sklearn._loss.loss", "HalfBinomialLoss"),
        ("ObjectNode", "sklearn._loss.loss", "HalfMultinomialLoss"),
        ("ObjectNode", f"{_HGB}.binning", "_BinMapper"),
        ("ObjectNode", f"{_HGB}.predictor", "TreePredictor"),
        ("ObjectNode", f"{_HGB}.gradient_boosting", "HistGradientBoostingRegressor"),
        ("ObjectNode", f"{_HGB}.gradient_boosting", "HistGradientBoostingClassifier"),
        ("ObjectNode", "sklearn.preprocessing._label", "LabelEncoder"),
    }
)

#: The estimator at the root of the file, per task in ``model.json``.
ROOT_BY_TASK: dict[str, tuple[str, str]] = {
    "regression": (f"{_HGB}.gradient_boosting", "HistGradientBoostingRegressor"),
    "classification": (f"{_HGB}.gradient_boosting", "HistGradientBoostingClassifier"),
}

#: Bit generators a saved ``numpy.random.Generator`` may name. skops calls ``numpy.random.<name>``
#: for it, and only skops >= 0.16 puts that name through its own trust review.
ALLOWED_BIT_GENERATORS = frozenset({"PCG64"})

SCHEMA_MEMBER = "schema.json"


def _skops() -> Any:
    try:
        import skops.io as sio
    except ImportError as exc:
        raise RunDirError(
            "saving or loading feature models needs skops, a dependency of rnalm missing from this installation: "
            "reinstall rnalm (pip install --force-reinstall rnalm)"
        ) from exc
    return sio


def header_path(path: Path) -> Path:
    """The small JSON header (``{"task": ...}``) saved next to the trees."""
    return path.with_suffix(".json")


#: Members of the skops archive are deflated: the trees' arrays and the JSON schema shrink about
#: 3x (the shipped MRL model 2.25 -> 0.69 MB), which the 30 MB budget of shipped weights needs;
#: the reader checks every compressed member's CRC before loading (:mod:`rnalm.io.sizecap`).
COMPRESSION = zipfile.ZIP_DEFLATED
COMPRESSLEVEL = 9


def write_feature_model(model: Any, task: str, path: Path) -> None:
    """Write the fitted estimator with skops (no pickle), deflated, and its task header, each atomically."""
    buf = io.BytesIO()
    _skops().dump(model, buf, compression=COMPRESSION, compresslevel=COMPRESSLEVEL)
    atomic_write_bytes(path, buf.getvalue())
    atomic_write_text(header_path(path), json.dumps({"task": task}) + "\n")


def schema_nodes(schema: Any) -> Iterator[tuple[str, str, str]]:
    """Every (loader, module, class) node in a skops schema (anything skops would construct)."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "__loader__" in node:
                yield (str(node["__loader__"]), str(node.get("__module__")), str(node.get("__class__")))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def bit_generator_names(schema: Any) -> Iterator[str]:
    """The bit generator each ``RandomGeneratorNode`` names (``"?"`` where the layout is unexpected)."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("__loader__") == "RandomGeneratorNode":
                try:
                    yield json.loads(node["content"]["bit_generator"]["content"]["bit_generator"]["content"])
                except (KeyError, TypeError, ValueError):
                    yield "?"
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def read_task(path: Path) -> str:
    head = header_path(path)
    try:
        task = json.loads(head.read_text())["task"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise RunDirError(f"{head}: cannot read the feature model's header: {exc}") from exc
    if task not in ROOT_BY_TASK:
        raise RunDirError(f"{head}: task {task!r} is not one of {sorted(ROOT_BY_TASK)}")
    return task


def check_schema(path: Path, data: bytes, task: str) -> None:
    """Refuse a file naming anything outside :data:`ALLOWED_NODES` or rooted elsewhere than the
    task's estimator, before skops constructs a single object."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            schema = json.loads(zf.read(SCHEMA_MEMBER))
    except (zipfile.BadZipFile, KeyError, ValueError, RecursionError) as exc:
        raise RunDirError(f"{path}: not a feature model rnalm wrote (no readable {SCHEMA_MEMBER}): {exc}") from exc
    if not isinstance(schema, dict):
        raise RunDirError(f"{path}: not a feature model rnalm wrote ({SCHEMA_MEMBER} is not an object)")
    foreign = sorted(
        {f"{m}.{c} ({loader})" for loader, m, c in schema_nodes(schema)}
        - {f"{m}.{c} ({loader})" for loader, m, c in ALLOWED_NODES}
    )
    if foreign:
        raise RunDirError(
            f"{path}: refusing to load it: it names {len(foreign)} type(s) or function(s) that rnalm's feature "
            f"models never "
            f"contain: {', '.join(foreign[:6])}{' ...' if len(foreign) > 6 else ''}. Nothing was loaded. If the "
            f"run is yours, retrain it with `rnalm finetune`; otherwise do not use it."
        )
    generators = set(map(str, bit_generator_names(schema))) - ALLOWED_BIT_GENERATORS
    if generators:
        raise RunDirError(
            f"{path}: refusing to load it: a random generator names numpy.random."
            f"{sorted(generators)[0]}, not one of {sorted(ALLOWED_BIT_GENERATORS)}. Nothing was loaded."
        )
    root = (str(schema.get("__module__")), str(schema.get("__class__")))
    if root != ROOT_BY_TASK[task]:
        raise RunDirError(
            f"{path}: refusing to load it: the saved object is {'.'.join(root)}, but a {task} feature "
            "model is "
            f"{'.'.join(ROOT_BY_TASK[task])}. Nothing was loaded."
        )


def read_feature_model(path: Path) -> tuple[Any, str]:
    """The estimator and task of a saved feature model; :class:`RunDirError` naming ``path`` for
    anything rnalm did not write. The file is read once, so what is checked is what is loaded."""
    path = Path(path)
    sio = _skops()
    task = read_task(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RunDirError(f"{path}: cannot read the feature model: {exc}") from exc
    check_zip_inflation(path, data)
    check_schema(path, data, task)
    allowed_names = {f"{m}.{c}" for _, m, c in ALLOWED_NODES}
    try:
        untrusted = sio.get_untrusted_types(data=data)
        if not set(untrusted) <= allowed_names:  # the schema check above already refused these
            raise RunDirError(f"{path}: refused types {sorted(set(untrusted) - allowed_names)}")
        model = sio.loads(data, trusted=untrusted)
    except RunDirError:
        raise
    except Exception as exc:  # skops raises several types for damaged files
        raise RunDirError(f"{path}: cannot read the feature model: {exc}") from exc
    cls = type(model)
    if (cls.__module__, cls.__qualname__) != ROOT_BY_TASK[task]:
        raise RunDirError(
            f"{path}: refusing it: loaded a {cls.__module__}.{cls.__qualname__}, expected "
            f"{'.'.join(ROOT_BY_TASK[task])}"
        )
    return model, task


__all__ = [
    "ALLOWED_NODES",
    "ROOT_BY_TASK",
    "check_schema",
    "header_path",
    "read_feature_model",
    "schema_nodes",
    "write_feature_model",
]
