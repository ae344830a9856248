"""Alerts: rules an admin sets, evaluated on a schedule by one process at a time; each
alert is recorded (opened, acknowledged, resolved) and delivered once by webhook and
e-mail."""
