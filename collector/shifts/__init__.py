"""Schedules: shifts per chatter and creator, their exceptions, required coverage.

``occurrences`` turns the stored rules into concrete UTC intervals (DST-correct: a shift
keeps its local wall times); it is the one place that does so.  ``queries`` loads them.
The changes made by people, with their rules and audit entries: ``fields`` (how values
are written: "22:00", "mon-fri", a zone), ``manage`` (shifts and exceptions),
``clashes`` (no chatter works two shifts at once), ``coverage`` (coverage rules),
``roster`` (the all-or-nothing CSV import), ``listing`` (what the API, pages and command
line show).
"""
