"""Interop: rnalm models as transformers ``EsmForMaskedLM`` directories and as ONNX files.

``rnalm export MODEL --to hf DIR`` / ``--to onnx FILE`` (:func:`export`): each export is built
beside its destination, loaded back with the target's own runtime (transformers, onnxruntime) and
compared with rnalm's forward on a padded batch before it is moved into place. transformers and
onnx / onnxruntime / onnxscript are optional extras (``rnalm[hf]``, ``rnalm[onnx]``), imported only
when an export runs; nothing else in rnalm imports them.
"""

from rnalm.export.errors import ExportError
from rnalm.export.result import Exported
from rnalm.export.targets import TARGETS, export

__all__ = ["ExportError", "Exported", "TARGETS", "export"]
