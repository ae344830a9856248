"""Payroll (issue 16): pay periods, pay rules and what each chatter earns."""
