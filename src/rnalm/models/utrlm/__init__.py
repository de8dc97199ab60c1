"""utrlm family (converter pending)."""
