"""CSV downloads as a reader gets them (ui.components.export_csv): a header line naming the
view, cents, ratios as shown, no internal ids (expected text written by hand)."""

from __future__ import annotations

import pandas as pd

from ui.components import export_csv


def test_cents_percentages_header_and_no_ids() -> None:
    frame = pd.DataFrame(
        {
            "innovation_id": [7, 8],
            "code": ["INN-007", "INN-008"],
            "measured": [1240484.9218747448, -12.006],
            "realisation": [0.8555, None],
            "units": [3, 4],
        }
    )
    text = export_csv(frame, header="Acme · all units · data to 31 Oct 2026").decode("utf-8")
    assert text.splitlines() == [
        "# Acme · all units · data to 31 Oct 2026",
        "code,measured,realisation,units",
        "INN-007,1240484.92,85.6%,3",
        "INN-008,-12.01,,4",
    ]
