"""Per-chatter statistics: definitions in METRICS.md, computed here."""
