"""A colour means one thing: chatters keep theirs, every other series has its own."""

from __future__ import annotations

from collector.pages.colours import OTHERS, PALETTE, RATINGS, SERIES, UNATTRIBUTED, chatter_colour


def test_every_series_colour_means_one_thing_and_is_no_chatters() -> None:
    colours = [c.lower() for c in SERIES.values()]
    assert len(set(colours)) == len(colours)
    taken = {c.lower() for c in [*PALETTE, OTHERS, UNATTRIBUTED, *RATINGS]}
    assert taken.isdisjoint(colours)
    assert len(set(RATINGS)) == len(RATINGS)


def test_chatter_colours_follow_the_id() -> None:
    assert chatter_colour(1) == PALETTE[0]
    assert chatter_colour(None) == UNATTRIBUTED
    assert chatter_colour(21) == chatter_colour(21) != chatter_colour(22)
