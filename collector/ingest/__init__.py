"""What agents and integrations send, stored exactly once: heartbeat batches of time
slices (``heartbeats``) and business events (``events``), each keeping the statistics
current in the same transaction."""
