"""Attendance and coverage: scheduled shifts against the time chatters were online,
active and paused (METRICS.md, "Attendance" and "Coverage")."""
