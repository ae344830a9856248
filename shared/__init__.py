"""ChatterTrack wire protocol, shared by the agent and the collector.

Keep this package light: the agent imports it on every chatter's computer,
so it depends on msgspec and the standard library only.
"""

PROTOCOL_VERSION = 1
