"""Labelled data for fine-tuning: generic readers, published layouts, records."""
from rnalm.finetune.data.loaders import LOADERS, DataBundle, load_data, register_loader
from rnalm.finetune.data.table import Records, read_labelled

__all__ = ["DataBundle", "LOADERS", "Records", "load_data", "read_labelled", "register_loader"]
