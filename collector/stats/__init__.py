"""Per-chatter statistics (definitions in METRICS.md): the reference computation
(``metrics``), facts and rollups kept on every ingest (``facts``, ``rollups``), their
rebuild from raw rows (``rebuild``), reads over the rollups (``queries``), the reports the
API and pages share (``reports``, ``present``, ``tables``) and local-day periods
(``periods``)."""
