"""Demo data for ``make run``: a small agency with activity and sales (``agency``) and
website chat traffic (``conversations``)."""
