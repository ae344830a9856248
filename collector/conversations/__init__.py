"""Conversation analytics, the website chat widget's requests, conversations, sales and
NPS, in the same shape as ``collector.stats``: ``metrics`` (the reference), ``facts`` and
``rollups`` (kept on ingest by ``ingest``), ``rebuild``, ``queries``, ``reports``, and
``rows`` (raw rows for the reference)."""
