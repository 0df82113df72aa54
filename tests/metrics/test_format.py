"""metrics.format: Babel formatting in the account's currency and locale."""

from __future__ import annotations

import numpy as np

from metrics import format as fmt


def test_money_compact_and_whole() -> None:
    assert fmt.money(1_234_567, "USD", "en_US") == "$1.2M"
    assert fmt.money(1_234_567, "USD", "en_US", compact=False) == "$1,234,567"
    assert fmt.money(950, "EUR", "de_DE") == "950\xa0€"  # the locale puts the symbol after
    # German has no short form below a million: grouped whole euros, not "500000 €".
    assert fmt.money(500_000, "EUR", "de_DE") == "500.000\xa0€"
    assert fmt.money(2_500_000, "EUR", "de_DE") == "2,5\xa0Mio.\xa0€"
    assert fmt.money(9_999.6, "USD") == "$10,000"  # below the compact threshold: whole units
    assert fmt.money(-25_000, "USD") == "\u2212$25K"


def test_missing_values_print_a_dash() -> None:
    for value in (None, float("nan"), np.float64("nan"), np.float32("nan")):
        assert fmt.money(value, "USD") == "—"  # type: ignore[arg-type]  # on purpose: missing values that callers pass despite the annotation
        assert fmt.pct(value) == "—"  # type: ignore[arg-type]  # on purpose: missing values that callers pass despite the annotation
        assert fmt.number(value) == "—"  # type: ignore[arg-type]  # on purpose: missing values that callers pass despite the annotation


def test_pct_and_number() -> None:
    assert fmt.pct(-0.197) == "−19.7%"
    assert fmt.pct(0.05) == "+5.0%"
    assert fmt.pct(0.0) == "±0.0%"
    assert fmt.pct(0.197, signed=False) == "19.7%"
    assert fmt.pct(0.197, "de_DE", signed=False) == "19,7%"  # the decimal sign is local
    assert fmt.number(1234.567, "en_US", 1) == "1,234.6"
    assert fmt.number(1234.567, "de_DE", 0) == "1.235"


def test_kpi_value_by_unit() -> None:
    assert fmt.kpi_value(4.12, "USD", "USD", "en_US") == "$4.12"
    assert fmt.kpi_value(3.456, "%", "USD") == "3.46 %"
    assert fmt.kpi_value(312.4, "seconds", "USD") == "312 s"
    assert fmt.kpi_value(80.25, "score", "USD") == "80.2"  # bankers' rounding, no unit
    assert fmt.kpi_value(12.0, "FTE", "USD") == "12.0 FTE"


def test_one_precision_per_magnitude_in_compact_money() -> None:
    """Figures side by side read alike: thousands whole, millions with one decimal, a zero
    kept ("$5.0M beat the goal of $4.0M", never "$5M … $1.4M")."""
    assert fmt.money(5_000_000, "USD") == "$5.0M"
    assert fmt.money(1_400_000, "USD") == "$1.4M"
    assert fmt.money(450_000, "USD") == "$450K"
    assert fmt.money(570_600, "USD") == "$571K"
    assert fmt.money(999_600, "USD") == "$1.0M"  # rounds into millions, not "$999.6K"
    assert fmt.money(2_000_000_000, "USD") == "$2.0B"
    assert fmt.money(-5_000_000, "USD") == "\u2212$5.0M"
    assert fmt.money(3_000_000, "EUR", "de_DE") == "3,0\xa0Mio.\xa0€"  # the local decimal sign


def test_one_pluraliser_for_every_count() -> None:
    assert fmt.plural(1, "prototype") == "prototype"
    assert [fmt.plural(n, "prototype") for n in (0, 2, 17)] == ["prototypes"] * 3
    assert fmt.plural(1, "innovation is", "innovations are") == "innovation is"
    assert fmt.plural(3, "innovation is", "innovations are") == "innovations are"
    assert fmt.counted(1, "unit go-live") == "1 unit go-live"
    assert fmt.counted(1204, "row") == "1,204 rows"
    assert fmt.counted(1204, "row", locale="de_DE") == "1.204 rows"


def test_no_count_is_pluralised_by_hand_outside_the_pluraliser() -> None:
    """Every layer that prints counts takes the word from ``plural``/``counted`` ("1
    prototypes" came from a hand-rolled rule that missed one case). Left out: data_loaders
    (above metrics in the layering; its messages pluralise correctly) and metrics/impact.py
    (the estimator's, whose two hand-rolled plurals are correct; to move on its next edit)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    hand = re.compile(r"""\{\s*['"]s\b[^'"\n]{0,12}['"] if """)  # {'s' if n != 1 …}
    files = [root / "cli.py", root / "app.py"]
    for layer in ("metrics", "story", "ui", "pages", "reports", "services", "charts"):
        files += sorted((root / layer).rglob("*.py"))
    found = [
        f"{p.relative_to(root)}:{i}"
        for p in files
        if p.name != "impact.py"
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1)
        if hand.search(line)
    ]
    assert not found, found
