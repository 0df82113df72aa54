"""Event labels on the value curve do not collide and do not run off the right edge (seen on
the renewal pack's rendered pages: "New operations director, Kra…" ran into "Core system
upgrade", "Innovation day 2025" was cut at the edge)."""

from __future__ import annotations

import pandas as pd

from charts.story import _events_in_range


def _curve(start: str, end: str) -> pd.DataFrame:
    return pd.DataFrame({"month": pd.date_range(start, end, freq="MS")})


def test_close_neighbours_take_different_rows_and_far_ones_reuse_a_row() -> None:
    # 36 months over ~700 px: about 19 px a month; a 23-character label is ~178 px (9 months)
    curve = _curve("2023-01-01", "2025-12-01")
    events = pd.DataFrame(
        {
            "date": ["2023-03-01", "2023-05-01", "2024-06-01"],
            "title": ["New operations director", "Core system upgrade", "Peak season"],
        }
    )
    ev = _events_in_range(curve, events)
    assert ev["row"].tolist() == [0, 1, 0]  # 2 months apart collide; 15 months apart do not
    assert ev["side"].tolist() == ["left", "left", "left"]


def test_a_label_near_the_right_edge_ends_at_its_rule() -> None:
    curve = _curve("2023-01-01", "2025-12-01")
    events = pd.DataFrame({"date": ["2025-11-15"], "title": ["Innovation day 2025"]})
    ev = _events_in_range(curve, events)
    assert ev["side"].tolist() == ["right"]
