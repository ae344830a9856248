"""Live presence: each running agent's latest state (active, idle, paused), kept per device
in the database so that every collector process agrees; offline is silence."""
