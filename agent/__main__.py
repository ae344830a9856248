"""``python -m agent``: the same as ``chatter-agent`` (Windows runs it with pythonw)."""

from agent.cli import main

main()
