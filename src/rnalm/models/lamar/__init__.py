"""lamar family (converter pending)."""
