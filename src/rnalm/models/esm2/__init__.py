"""esm2 family (converter pending)."""
