"""A colour means one thing: chatters keep theirs, every other series has its own."""

from __future__ import annotations

import colorsys

from collector.pages.colours import OTHERS, PALETTE, RATINGS, SERIES, UNATTRIBUTED, chatter_colour


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _distance(a: str, b: str) -> float:
    return float(sum((x - y) ** 2 for x, y in zip(_rgb(a), _rgb(b), strict=True)) ** 0.5)


def test_every_series_colour_means_one_thing_and_is_no_chatters() -> None:
    colours = [c.lower() for c in SERIES.values()]
    assert len(set(colours)) == len(colours)
    taken = {c.lower() for c in [*PALETTE, OTHERS, UNATTRIBUTED, *RATINGS]}
    assert taken.isdisjoint(colours)
    assert len(set(RATINGS)) == len(RATINGS)


def test_rating_colours_are_one_hue_and_no_chatters_or_series() -> None:
    ratings = RATINGS[:5]  # 1 to 5; the last is "no rating", a grey
    hues = [colorsys.rgb_to_hls(*(v / 255 for v in _rgb(c)))[0] * 360 for c in ratings]
    assert max(hues) - min(hues) < 3, hues
    lightness = [colorsys.rgb_to_hls(*(v / 255 for v in _rgb(c)))[1] for c in ratings]
    assert lightness == sorted(lightness, reverse=True)  # pale for 1, dark for 5
    chatters = {chatter_colour(i).lower() for i in range(1, 200)}
    assert chatters.isdisjoint(c.lower() for c in RATINGS)
    # Told apart, not just spelled differently, from every chatter of the palette and
    # every series colour shown beside the ratings.
    for rating in ratings:
        for other in [*PALETTE, *SERIES.values(), OTHERS, UNATTRIBUTED]:
            assert _distance(rating, other) > 25, (rating, other)


def test_chatter_colours_follow_the_id() -> None:
    assert chatter_colour(1) == PALETTE[0]
    assert chatter_colour(None) == UNATTRIBUTED
    assert chatter_colour(21) == chatter_colour(21) != chatter_colour(22)
