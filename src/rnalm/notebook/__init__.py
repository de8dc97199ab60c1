"""rnalm from a notebook: sequences or DataFrames in, DataFrames and arrays out.

The command-line tools read and write files; these functions take what a notebook holds -- a list of
sequences, ``(id, sequence)`` pairs, a dict, a pandas Series or DataFrame, or a file path
(:func:`rnalm.notebook.inputs.as_records`) -- and return pandas DataFrames (predictions, structures)
or numpy arrays (embeddings), in input order, with the input's own columns kept.
"""
