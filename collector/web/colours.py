"""One colour per chatter, the same in every table and chart on every page.

Hues step by the golden angle from the chatter's id, so chatters added one after
another get colours far apart on the wheel; the id never changes, so neither does
the colour.
"""

from __future__ import annotations

GOLDEN_ANGLE = 137.508
OTHERS = "hsl(220, 9%, 70%)"  # the pie's "everyone else" slice
UNATTRIBUTED = "hsl(0, 0%, 45%)"


def chatter_colour(chatter_id: int | None) -> str:
    if chatter_id is None:
        return UNATTRIBUTED
    hue = (chatter_id * GOLDEN_ANGLE) % 360
    # Alternate lightness too, so two hues that happen to be near still differ.
    light = 42 if chatter_id % 2 else 55
    return f"hsl({hue:.0f}, 65%, {light}%)"
