"""protrna family (converter pending)."""
