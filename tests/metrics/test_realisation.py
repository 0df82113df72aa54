"""Realisation from what was measured, not capped by the promise (issue #11 §1).

The hand-computed account: one KPI, cost per transaction (rate, lower is better, money value
1.0, headline), Jan–Jun 2025, baseline window Jan–Feb.

    unit A: values 10, 12, 11, 9, 8, 8 on volumes 100, 300, 200, 200, 200, 100
    unit B: values  5,  5,  5, 5, 6, 4 on volumes  50,  50, 100, 100, 100, 100
    X targets cost (−10 %), live at A from 2025-04-01, claims 6,000 a year.

By hand:
    baselines     A (10·100 + 12·300) / 400 = 11.5;  B (5·50 + 5·50) / 100 = 5
    benefit at A  Jan 150, Feb −150, Mar 100, Apr 2.5·200 = 500, May 3.5·200 = 700,
                  Jun 3.5·100 = 350;  B: 0, 0, 0, 0, −100, +100
    X measured    500 + 700 + 350 = 1,550;  claimed 3 months × 6,000 / 12 = 1,500
    realisation   1,550 / 1,500 = 103.3 %
    cumulative    1,650 (A 1,650, B 0);  run-rate (500 + 600 + 450) / 3 × 12 = 6,200
    then (Jan–Feb) (1,000 + 3,600 + 250 + 250) / 500 = 10.2
    now  (May–Jun) (1,600 + 800 + 600 + 400) / 500 = 6.8
    capped policy 10 % × 11.5 × (200 + 200 + 100) = 575, so 1,550 − 575 = 975 unattributed
"""

from __future__ import annotations

import datetime as dt

import pytest

from metrics import attribution as attr_metrics
from metrics import views
from metrics.baseline import account_baseline
from metrics.filters import Filters
from metrics.headline import headline
from metrics.then_now import then_vs_now
from metrics.value import claimed
from tests.metrics.tables import data, monthly

A, B, X = 1, 2, 1
MONTHS = ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"]


def account():
    a = zip(MONTHS, [10, 12, 11, 9, 8, 8], [100, 300, 200, 200, 200, 100], strict=True)
    b = zip(MONTHS, [5, 5, 5, 5, 6, 4], [50, 50, 100, 100, 100, 100], strict=True)
    rows = [(A, "cost", m, v, n) for m, v, n in a] + [(B, "cost", m, v, n) for m, v, n in b]
    return data(
        monthly(rows),
        kpi_keys=["cost"],
        inn=[(X, "operational efficiency", 6000.0)],
        targets=[(X, "cost", -10.0)],
        rollouts=[(X, A, "2025-04-01")],
        start="2025-01-01",
        end="2025-02-28",
        contract_start=dt.date(2025, 1, 1),
        contract_end=dt.date(2025, 12, 31),
    )


def test_baselines() -> None:
    base = account_baseline(account()).base.set_index("unit_id")["base"]
    assert base[A] == pytest.approx(11.5)
    assert base[B] == pytest.approx(5.0)


def test_measured_benefit_of_x_is_not_capped_by_its_promise() -> None:
    d = account()
    a = attr_metrics.attribution(d)
    x = a[a["innovation_id"] == X].sort_values("month")
    assert x["amount"].tolist() == [500.0, 700.0, 350.0]
    per = attr_metrics.attributed_by_innovation(a).set_index("innovation_id")["attributed"]
    assert per[X] == pytest.approx(1550.0)
    assert per[attr_metrics.UNATTRIBUTED_ID] == pytest.approx(100.0)  # A Jan–Mar; B nets 0


def test_claim_and_realisation() -> None:
    d = account()
    cl = claimed(d).set_index("innovation_id")["claimed"]
    assert cl[X] == pytest.approx(1500.0)
    line = views.value_lines(d, Filters()).set_index("code").loc["INN-1"]
    assert line["measured"] == pytest.approx(1550.0)
    assert line["claimed"] == pytest.approx(1500.0)
    assert line["realisation"] == pytest.approx(1550 / 1500)
    assert round(100 * line["realisation"], 1) == 103.3
    assert line["evidence"] == "measured"


def test_headline_cumulative_run_rate_and_realisation() -> None:
    h = headline(account())
    assert h is not None
    assert h.cumulative_value == pytest.approx(1650.0)
    assert h.run_rate == pytest.approx(6200.0)
    assert h.claimed_value == pytest.approx(1500.0)
    assert h.attributed_value == pytest.approx(1550.0)
    assert h.unattributed_value == pytest.approx(100.0)
    assert h.realisation == pytest.approx(1550 / 1500)


def test_then_and_now() -> None:
    tn = then_vs_now(
        account(),
        (dt.date(2025, 1, 1), dt.date(2025, 2, 1)),
        (dt.date(2025, 5, 1), dt.date(2025, 6, 1)),
    )
    row = tn.scorecard.set_index("key").loc["cost"]
    assert row["then"] == pytest.approx(10.2)
    assert row["now"] == pytest.approx(6.8)
    assert bool(row["better"]) is True


def test_the_cap_is_a_named_policy_beside_the_measured_figure() -> None:
    d = account()
    capped = attr_metrics.attributed_by_innovation(
        attr_metrics.attribution(d, policy=attr_metrics.CAPPED)
    ).set_index("innovation_id")["attributed"]
    assert capped[X] == pytest.approx(575.0)
    assert capped[attr_metrics.UNATTRIBUTED_ID] == pytest.approx(1650.0 - 575.0)
    line = views.value_lines(d, Filters()).set_index("code").loc["INN-1"]
    assert line["capped"] == pytest.approx(575.0)
    assert line["policy_text"] == (
        "credited at most its expected effect: 575\xa0€; 975\xa0€ stays unattributed"
    )
    with pytest.raises(ValueError, match="unknown credit policy"):
        attr_metrics.attribution(d, policy="generous")


def test_run_rate_early_in_the_contract_uses_post_baseline_months_only() -> None:
    # to March: one month after the Jan–Feb baseline, worth 100 (A) + 0 (B) → 1,200 a year
    # (the last three months Jan 150, Feb −150, Mar 100 would say 400)
    h = headline(account(), as_of=dt.date(2025, 3, 31))
    assert h is not None
    assert h.run_rate == pytest.approx(1200.0) and h.run_rate_months == 1
    assert headline(account()).run_rate_months == 3  # type: ignore[union-attr]  # headline() is None only for an account without data; this one has data


def test_as_of_mid_month_rounds_down_to_the_last_complete_month_and_says_so() -> None:
    h = headline(account(), as_of=dt.date(2025, 6, 15))
    assert h is not None
    assert h.as_of == dt.date(2025, 5, 31)
    assert h.cumulative_value == pytest.approx(1650.0 - 350.0 - 100.0)  # June left out
    assert h.as_of_note == (
        "As of 15 Jun 2025 rounds down to the last complete month, May 2025 "
        "(a month is never half counted)."
    )
    assert headline(account(), as_of=dt.date(2025, 6, 30)).as_of_note == ""  # type: ignore[union-attr]  # headline() is None only for an account without data; this one has data


def test_readme_and_the_method_page_state_the_rule_with_this_example() -> None:
    """§1: README and the method page ("How we compute value", metrics.method_notes) say
    realisation is never capped and show the cap as a named policy, with this account's
    figures (1,550 measured vs 1,500 claimed → 103.3 %; capped 575, 975 unattributed)."""
    from pathlib import Path

    from metrics.method_notes import METHOD_NOTES

    method = " ".join(n.text for n in METHOD_NOTES)
    assert "1,550 against a claim of 1,500: **realisation 103.3 %**" in method
    assert "expected effect (10 % × 11.5 × 500 transactions): 575, and 975 stays" in method
    readme = " ".join((Path(__file__).resolve().parents[2] / "README.md").read_text().split())
    assert "**realisation 103.3 %**" in readme
    assert "575, and 975 stays unattributed" in readme
