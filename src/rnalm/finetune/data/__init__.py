"""Labelled data for fine-tuning: generic readers, published layouts, records."""
from rnalm.finetune.data.loader_table import LOADERS, load_data
from rnalm.finetune.data.loaders import DataBundle
from rnalm.finetune.data.table import Records, read_labelled

__all__ = ["DataBundle", "LOADERS", "Records", "load_data", "read_labelled"]
