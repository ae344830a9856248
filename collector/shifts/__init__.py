"""Schedules: shifts per chatter and creator, their exceptions, required coverage.

``occurrences`` turns the stored rules into concrete UTC intervals (DST-correct: a shift
keeps its local wall times); it is the one place that does so.
"""
