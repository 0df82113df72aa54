"""metrics.narrative: beats hold raw figures and their source; render formats them with Babel
for the account's currency and locale — sentences checked exactly in en_US and de_DE."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest

from metrics import contract as c
from metrics import narrative as n
from metrics import pipeline as p
from metrics.filters import Filters

NB = "\xa0"  # Babel separates amount and symbol with a no-break space in de_DE


def _move(unit: str) -> dict[str, object]:
    # cost per transaction 4.12 → 3.31: change −0.81, −0.81 / 4.12 = −19.66 % → "−19.7%"
    return {
        "key": "cost",
        "label": "Cost per transaction",
        "unit_of_measure": unit,
        "then": 4.12,
        "now": 3.31,
        "change": 3.31 - 4.12,
        "pct_change": (3.31 - 4.12) / 4.12,
    }


def test_issue_example_in_en_us() -> None:
    beat = n.since_baseline_beat("Q1 2024", 38, move=_move("USD"), worth=2_412_345.0)
    assert beat.figures["live"].value == 38 and beat.figures["worth"].value == 2_412_345.0
    assert n.render_beat(beat, "USD", "en_US") == (
        "Since the baseline (Q1 2024), 38 innovations went live; cost per transaction fell "
        "from $4.12 to $3.31 (−19.7%), worth $2.4M so far."
    )


def test_same_beat_in_de_de_with_euro() -> None:
    beat = n.since_baseline_beat("Q1 2024", 38, move=_move("EUR"), worth=2_412_345.0)
    assert n.render_beat(beat, "EUR", "de_DE") == (
        f"Since the baseline (Q1 2024), 38 innovations went live; cost per transaction fell "
        f"from 4,12{NB}€ to 3,31{NB}€ (−19,7%), worth 2,4{NB}Mio.{NB}€ so far."
    )


def test_markdown_sets_strong_figures_in_bold() -> None:
    beat = n.since_baseline_beat("Q1 2024", 38, units_selected=True)
    assert n.render_beat(beat, "USD", "en_US", markdown=True) == (
        "Since the baseline (Q1 2024), **38** innovations went live in the selected units."
    )


def test_value_beat_months_follow_the_locale() -> None:
    beat = n.value_beat(6_512_000.0, 3_290_000.0, dt.date(2026, 10, 1))
    assert n.render([beat], "USD", "en_US") == [
        "Together with everything else that changed, the operation has delivered $6.5M of "
        "measured value by October 2026 — $3.3M a year at today's run-rate."
    ]
    assert n.render([beat], "EUR", "de_DE") == [
        f"Together with everything else that changed, the operation has delivered "
        f"6,5{NB}Mio.{NB}€ of measured value by Oktober 2026 — 3,3{NB}Mio.{NB}€ a year at "
        f"today's run-rate."
    ]


def test_gain_share_beats_outperformance_and_shortfall() -> None:
    years = c.contract_years(dt.date(2023, 1, 1), dt.date(2025, 12, 31))
    savings = pd.Series(
        [3e6, 2e6, 1.2e6], index=pd.to_datetime(["2023-06-01", "2023-12-01", "2024-03-01"])
    )
    g = c.gain_share(savings, years, goal=4e6, gain_share_pct=40.0)
    # Year 1: S = 5M ≥ G = 4M by 1M; client 0.6·4M = 2.4M; provider 5M − 2.4M = 2.6M
    assert n.render_beat(n.gain_share_beat(g.iloc[:1], 40.0), "USD", "en_US") == (
        "Year 1 (Jan 2023 – Dec 2023): measured savings of $5.0M beat the agreed goal of $4.0M "
        "by $1.0M. The client is guaranteed 60 % of the goal, $2.4M; the provider keeps the "
        "rest, $2.6M: its 40 % of the goal plus the $1.0M by which savings beat it."
    )
    # Year 2 (to March): S = 1.2M, short of 4M by 2.8M; provider 1.2M − 2.4M = −1.2M
    assert n.render_beat(n.gain_share_beat(g, 40.0), "EUR", "de_DE") == (
        f"Year 2 (Jan. 2024 – Dez. 2024, to März 2024): measured savings of 1,2{NB}Mio.{NB}€ "
        f"fall short of the agreed goal of 4,0{NB}Mio.{NB}€ by 2,8{NB}Mio.{NB}€. The client is "
        f"still guaranteed 60 % of the goal, 2,4{NB}Mio.{NB}€; the provider absorbs the "
        f"shortfall: its share is the savings minus that, \u22121,2{NB}Mio.{NB}€. Pro rata "
        f"for the 3 of 12 months so far the goal is 1,0{NB}Mio.{NB}€: ahead by 200.000{NB}€."
    )
    # a year still running is also put on pace: 3 of 12 months (Jan–Mar 2024, the data's last
    # month), goal to date 4M·3/12 = 1M, savings 1.2M ahead of it by 0.2M
    none = c.gain_share(pd.Series(dtype=float), years, 4e6, 40.0)
    assert n.render_beat(n.gain_share_beat(none, 40.0), "USD", "en_US") == (
        "No measured savings in the contract years yet."
    )


def test_productivity_days_and_pipeline_beats() -> None:
    path = pd.DataFrame(
        {
            "month": pd.to_datetime(["2025-11-01", "2025-12-01"]),
            "required": [6.33, 6.32],
            "actual": [6.4, 6.0],
        }
    )
    assert n.render_beat(
        n.productivity_beat(path, 4.0, "Cost per transaction", "USD"), "USD", "en_US"
    ) == (
        "the clause asks for 4.0 % lower cost per transaction each year: $6.32 by Dec 2025; "
        "actual $6.00 in Dec 2025 (that month alone), ahead of the path."
    )
    days = pd.DataFrame(
        {"contract_year": ["Year 1", "Year 2"], "used": [71.0, 112.5], "contracted": [100.0, 100.0]}
    )
    assert n.render_beat(n.days_beat(days), "USD", "en_US") == (
        "183.5 innovation days used across 2 contract years; over the contract in Year 2."
    )
    # Year 3 used 10 of its 100 days: under half, said as under-used (not "within")
    days = pd.DataFrame(
        {"contract_year": ["Year 1", "Year 3"], "used": [71.0, 10.0], "contracted": [100.0] * 2}
    )
    assert n.render_beat(n.days_beat(days), "USD", "en_US") == (
        "81 innovation days used across 2 contract years; under-used (under 50 % of the "
        "contracted days) in Year 3 (10 of 100 days)."
    )
    days = pd.DataFrame(
        {"contract_year": ["Year 1", "Year 2"], "used": [50.0, 80.0], "contracted": [100.0] * 2}
    )
    assert n.render_beat(n.days_beat(days), "USD", "en_US") == (
        "130 innovation days used across 2 contract years, within the contract every year."
    )
    inn = pd.DataFrame(
        {
            "innovation_id": [1, 2, 3],
            "code": ["I-1", "I-2", "I-3"],
            "title": ["Bots", "Letters", "Chat"],
            "category": ["ops"] * 3,
            "stage": ["pilot", "idea", "scaled"],
            "estimated_annual_value": [1_500.0, 500.0, 9_000.0],
        }
    )
    rollouts = pd.DataFrame({"innovation_id": [1], "unit_id": [1], "go_live": [pd.NaT]})
    up = p.open_pipeline(inn, rollouts)
    beat = n.pipeline_beat(p.stage_counts(up), up)
    # no go-live recorded anywhere: the scaled I-3 is not live either, and says so
    assert n.render_beat(beat, "EUR", "de_DE") == (
        f"3 innovations are in the pipeline, not yet live anywhere (1 in pilot, 0 prototypes, "
        f"0 in evaluation, 1 idea, 1 scaled but not rolled out), claiming 11.000{NB}€ a year "
        f"between them if they deliver. Next up: I-3 Chat, I-1 Bots, I-2 Letters."
    )
    one = up[up["code"] == "I-1"]
    assert n.render_beat(n.pipeline_beat(p.stage_counts(one), one), "EUR", "de_DE").startswith(
        "1 innovation is in the pipeline, not yet live anywhere (1 in pilot, 0 prototypes, "
        "0 in evaluation, 0 ideas)"
    )


def test_contributors_share_comes_from_the_bridge() -> None:
    bridge = pd.DataFrame(
        {
            "label": ["I-1 Bots", "I-2 Letters", "Unattributed", "Value to date"],
            "value": [600.0, 300.0, 100.0, 1000.0],
            "kind": ["step", "step", "unattributed", "total"],
            "code": ["I-1", "I-2", "", ""],
        }
    )
    beat = n.contributors_beat(bridge)
    assert beat is not None
    # no "share explained" (a by-product of the allocation): the remainder, said plainly
    assert n.render_beat(beat, "USD", "en_US") == (
        "The largest contributors are I-1 Bots ($600), I-2 Letters ($300). Each innovation is "
        "credited its share of the value measured where it is live; the rest ($100, where no "
        "live innovation targets the KPI) is shown as unattributed, never given to an "
        "innovation."
    )


def test_beats_are_frozen_data_with_a_source() -> None:
    beat = n.evidence_beat({"estimated": 3, "measured": 20, "claimed": 5})
    assert beat.source and all(isinstance(f, n.Fig) for f in beat.figures.values())
    with pytest.raises(dataclasses.FrozenInstanceError):
        beat.template = "x"  # type: ignore[misc]  # on purpose: the test asserts the dataclass is frozen
    assert n.render_beat(beat, "USD", "en_US") == (
        "Of the live innovations, 3 have a causal estimate whose 95 % interval excludes zero, "
        "20 are measured against the baseline and 5 rest on their claim alone."
    )


def test_story_of_an_account_every_figure_from_a_metric() -> None:
    from metrics import then_now as tn
    from metrics import views as v
    from tests.metrics.test_views import tiny

    d = tiny()  # EUR, de_DE; baseline Q1 2023; A live from Apr 1, B from Jun 15 (unit 1)
    beats = v.narrative_beats(d, Filters())
    first = beats[0]
    assert (
        first.figures["live"].value
        == len(
            tn.went_live_between(
                d.rollouts,
                d.innovations,
                (dt.date(2023, 1, 1), dt.date(2023, 3, 31)),
                (dt.date(2023, 12, 1), dt.date(2023, 12, 1)),
            )
        )
        == 2
    )
    # cost then 10 (every unit); now Q4: (9·300 + 10·200 + 9.5·100) / 600 = 9.4167, −5.83 %;
    # worth = Σ benefit of cost = unit 1 (10 − 9)·100·9 months + unit 2 0.5·100 = 950
    assert first.figures["worth"].value == pytest.approx(950.0)
    assert n.render_beat(first, "EUR", "de_DE") == (
        f"Since the baseline (Q1 2023), 2 innovations went live; cost per case fell from "
        f"10,00{NB}€ (Q1 2023 average) to 9,42{NB}€ (Q4 2023 average), −5,8%, worth "
        f"950{NB}€ so far."
    )
    assert v.narrative(d, Filters()) == n.render(beats, "EUR", "de_DE", markdown=True)
    assert all(b.source for b in beats)


def test_counts_of_one_read_in_the_singular() -> None:
    """Every count a beat prints takes its word from metrics.format.plural: one
    innovation, one unit go-live, one idea, one contract year; the plural otherwise."""
    assert n.render_beat(n.since_baseline_beat("Q1 2024", 1), "USD", "en_US") == (
        "Since the baseline (Q1 2024), 1 innovation went live."
    )
    one = n.went_live_beat("H1 2023", "Q3 2026", 1, unit_golives=1)
    assert n.render_beat(one, "USD", "en_US") == (
        "Between H1 2023 and Q3 2026, 1 innovation went live for the first time (1 unit "
        "go-live in all, counting rollouts of innovations already live elsewhere)."
    )
    two = n.went_live_beat("H1 2023", "Q3 2026", 2, unit_golives=5)
    assert n.render_beat(two, "USD", "en_US").startswith(
        "Between H1 2023 and Q3 2026, 2 innovations went live for the first time (5 unit go-lives"
    )
    assert n.render_beat(
        n.evidence_beat({"estimated": 1, "measured": 1, "claimed": 1}), "USD", "en_US"
    ) == (
        "Of the live innovations, 1 has a causal estimate whose 95 % interval excludes zero, "
        "1 is measured against the baseline and 1 rests on its claim alone."
    )
    days = pd.DataFrame({"contract_year": ["Year 1"], "used": [1.0], "contracted": [1.0]})
    assert n.render_beat(n.days_beat(days), "USD", "en_US") == (
        "1 innovation day used across 1 contract year, within the contract every year."
    )


def test_went_live_with_a_category_says_the_kpis_stay_the_operations() -> None:
    beat = n.went_live_beat("H1 2023", "Q3 2026", 5, unit_golives=18, categories_selected=True)
    assert n.render_beat(beat, "USD", "en_US") == (
        "Between H1 2023 and Q3 2026, 5 innovations of the selected categories went live for "
        "the first time (18 unit go-lives in all, counting rollouts of innovations already "
        "live elsewhere). The KPIs are the whole operation's, all categories: a category "
        "filter selects innovations, not KPIs."
    )
