"""One colour per chatter, the same in every table and chart on every page; and one
colour per other meaning (PPV sales, active time, video calls...), never a chatter's.

The colour follows the chatter's id, which never changes.  The first twenty ids
take twenty colours chosen to be told apart (after Tableau 20, with no greys:
grey means others or unattributed); later ids step around the wheel by the
golden angle.
"""

from __future__ import annotations

PALETTE = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#2f4b7c",
    "#a0cbe8", "#ffbe7d", "#8cd17d", "#b6992d", "#86bcb6",
    "#d37295", "#fabfd2", "#d4a6c8", "#17becf", "#bcbd22",
]  # fmt: skip
GOLDEN_ANGLE = 137.508
OTHERS = "#c9ced6"  # the pie's "other chatters" slice
UNATTRIBUTED = "#6b6b6b"


def chatter_colour(chatter_id: int | None) -> str:
    if chatter_id is None:
        return UNATTRIBUTED
    if 1 <= chatter_id <= len(PALETTE):
        return PALETTE[chatter_id - 1]
    hue = (chatter_id * GOLDEN_ANGLE) % 360
    return f"hsl({hue:.0f}, 55%, {45 if chatter_id % 2 else 60}%)"


# The other series the charts draw, one colour each: no two meanings share a colour, and
# none is a chatter's (tests/collector/pages/test_colours.py), so a colour on a page
# always means one thing.  They are darker or paler than the chatters' mid tones, so a
# series is not read as a chatter either.  Charts get these through their page's data.
SERIES = {
    # chatter stats and a chatter's page
    "ppv": "#0b4f6c",
    "tips": "#5c3d7a",
    "active": "#1f2a44",
    "inactive": "#8a94a6",
    "paused": "#d5dae2",
    # conversations
    "agent": "#1c3f8c",
    "visitor": "#8c2d19",
    "conversations": "#17233c",
    "text": "#264653",
    "video_call": "#6d597a",
    "ctr": "#2d6a4f",
    "rating": "#9c6644",
}
# Ratings 1 to 5, then "no rating": one hue (indigo, which no chatter of the palette and
# no series has), pale for 1 to dark for 5, so a rating is never read as the chatter
# shown beside it (red, orange, yellow and green are chatters' colours).
RATINGS = ["#c6beef", "#9485e0", "#624bd2", "#402bab", "#2b1d72", "#b3bac6"]
