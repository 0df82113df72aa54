"""Series colours: every series its own colour while the palette lasts; unattributed and the
grouped "other innovations" always neutral (issue #14: INN-037 and Unattributed were both
yellow with 12 series on 8 colours)."""

from __future__ import annotations

from charts.theme import CATEGORY_COLORS, GREY, PALETTE, UNATTRIBUTED, color_for


def test_six_named_innovations_the_group_and_unattributed_are_eight_colours() -> None:
    names = [f"INN-00{i} Title" for i in range(1, 7)] + ["12 other innovations", "Unattributed"]
    scale = color_for(names, CATEGORY_COLORS).to_dict()
    colours = dict(zip(scale["domain"], scale["range"], strict=True))
    assert colours["Unattributed"] == UNATTRIBUTED
    assert colours["12 other innovations"] == GREY
    named = [colours[n] for n in names[:6]]
    assert len(set(named)) == 6 and GREY not in named and UNATTRIBUTED not in named
    assert set(named) <= set(PALETTE)


def test_categories_keep_their_own_colours() -> None:
    names = ["process effectiveness", "operational efficiency", "unattributed"]
    scale = color_for(names, CATEGORY_COLORS).to_dict()
    assert scale["range"] == [
        CATEGORY_COLORS["process effectiveness"],
        CATEGORY_COLORS["operational efficiency"],
        UNATTRIBUTED,
    ]
