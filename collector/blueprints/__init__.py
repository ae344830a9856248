"""One blueprint per surface of the collector."""
