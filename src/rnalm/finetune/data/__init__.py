"""Labelled data for fine-tuning: the published layouts (:mod:`~rnalm.finetune.data.loaders`), the table
of loaders and :func:`~rnalm.finetune.data.loader_table.load_data` (:mod:`~rnalm.finetune.data.loader_table`),
homology groups (:mod:`~rnalm.finetune.data.homology`). The records they return are :mod:`rnalm.runs.table`'s."""
