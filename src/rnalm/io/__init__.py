"""Reading and writing checkpoints: safe unpickling, rnalm's native format, format detection."""
