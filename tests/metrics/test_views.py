"""metrics.views on a hand-made account whose every figure can be worked out on paper, plus
invariants on the demo account."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from data_loaders.queries import AccountData, AccountInfo
from metrics import views as v
from metrics.attribution import attribution
from metrics.filters import Filters
from metrics.format import money
from metrics.method_notes import estimates_note
from metrics.rules import NAMED_INNOVATIONS
from metrics.value import live_months, measured

MONTHS = pd.date_range("2023-01-01", "2023-12-01", freq="MS")


def _account(**over: object) -> AccountInfo:
    base = dict(
        id=1,
        name="Tiny",
        currency="EUR",
        locale="de_DE",
        contract_start=dt.date(2023, 1, 1),
        contract_end=dt.date(2024, 12, 31),
        baseline_start=dt.date(2023, 1, 1),
        baseline_end=dt.date(2023, 3, 31),
        gain_share_pct=40.0,
        savings_goal_per_year=1000.0,
        productivity_pct_per_year=5.0,
        innovation_days_per_year=10.0,
    )
    base.update(over)
    return AccountInfo(**base)  # type: ignore[arg-type]  # test options override typed fields by keyword; AccountInfo checks nothing at runtime


NB = "\u00a0"  # Babel's no-break space between amount and currency (de_DE)


def tiny() -> AccountData:
    """Unit 1: cost 10 → 9 from April (A live), B live from July; unit 2: 10, 9.5 in Dec.

    Volume 100 a month everywhere. A claims −10 %, B −5 % on cost (money 1 per EUR)."""
    rows = []
    for m in MONTHS:
        rows.append((1, "cost", m, 9.0 if m >= pd.Timestamp("2023-04-01") else 10.0, 100.0))
        rows.append((2, "cost", m, 9.5 if m == pd.Timestamp("2023-12-01") else 10.0, 100.0))
        rows.append((1, "csat", m, 80.0 + (m.month >= 4), 100.0))
        rows.append((2, "csat", m, 80.0, 100.0))
    monthly = pd.DataFrame(rows, columns=["unit_id", "kpi_key", "month", "value", "volume"])
    monthly["n_obs"], monthly["grain"] = 1, "month"
    kpis = pd.DataFrame(
        {
            "kpi_id": [1, 2],
            "key": ["cost", "csat"],
            "label": ["Cost per case", "Satisfaction"],
            "unit_of_measure": ["EUR", "score"],
            "direction": ["lower", "higher"],
            "kind": ["rate", "rate"],
            "money_value": [1.0, np.nan],
            "headline": [True, False],
        }
    )
    units = pd.DataFrame(
        {
            "unit_id": [1, 2],
            "site": ["Lyon", "Nice"],
            "process": ["Claims"] * 2,
            "region": ["EU"] * 2,
            "name": ["Lyon · Claims", "Nice · Claims"],
        }
    )
    dates = {
        c: pd.NaT
        for c in ("evaluation_date", "prototype_date", "pilot_date", "scaled_date", "closed_date")
    }
    innovations = pd.DataFrame(
        {
            "innovation_id": [1, 2, 3],
            "code": ["INN-A", "INN-B", "INN-C"],
            "title": ["Alpha", "Beta", "Gamma"],
            "description": ["", "", ""],
            "category": ["operational efficiency", "strategic impact", "process effectiveness"],
            "scale": ["continuous improvement"] * 3,
            "origin": ["joint"] * 3,
            "stage": ["scaled", "scaled", "pilot"],
            "idea_date": pd.to_datetime(["2023-01-10", "2023-02-01", "2024-02-01"]),
            **dates,
            "owner": ["", "", ""],
            "estimated_annual_value": [1200.0, 600.0, 240.0],
            "innovation_days": [4.0, 3.0, 12.0],
            "gain_share_eligible": [True, True, False],
            "evidence_status": ["none"] * 3,
        }
    )
    targets = pd.DataFrame(
        {
            "innovation_id": [1, 2, 3],
            "kpi_key": ["cost", "cost", "cost"],
            "expected_effect_pct": [-10.0, -5.0, -2.0],
        }
    )
    rollouts = pd.DataFrame(
        {
            "innovation_id": [1, 2],
            "unit_id": [1, 1],
            "go_live": pd.to_datetime(["2023-04-01", "2023-06-15"]),
        }
    )
    events = pd.DataFrame(
        {
            "date": pd.to_datetime(["2023-02-01"]),
            "title": ["Kick-off"],
            "kind": ["contract"],
            "description": [""],
        }
    )
    return AccountData(
        account=_account(),
        units=units,
        kpis=kpis,
        monthly=monthly,
        innovations=innovations,
        targets=targets,
        rollouts=rollouts,
        events=events,
    )


ALL = Filters()


def test_baseline_is_volume_weighted() -> None:
    d = tiny()
    m = d.monthly.copy()
    sel = (m["unit_id"] == 2) & (m["kpi_key"] == "cost") & (m["month"] <= "2023-03-01")
    m.loc[sel, "value"] = [10.0, 12.0, 10.0]
    m.loc[sel, "volume"] = [300.0, 100.0, 0.0]
    d = AccountData(**{**d.__dict__, "monthly": m})
    base = v.baseline(d).set_index(["unit_id", "kpi_key"])["base"]
    assert base[(2, "cost")] == pytest.approx((10 * 300 + 12 * 100) / 400)  # 10.5, not 10.67


def test_benefit_value_to_date_and_run_rate() -> None:
    d = tiny()
    b = measured(d, ALL)
    assert set(b["kpi_key"]) == {"cost"}  # csat has no money value: never in the headline
    # unit 1: (10 − 9) × 100 × 1 for Apr..Dec = 900; unit 2: 0.5 × 100 in Dec = 50
    assert b["benefit"].sum() == pytest.approx(950.0)
    h = v.headline_view(d, ALL)
    assert h is not None
    assert h.value_to_date == pytest.approx(950.0)
    assert h.run_rate == pytest.approx((100 + 100 + 150) / 3 * 12)
    assert h.innovations_live == 2 and h.innovations_total == 3
    assert h.value_text == money(950.0, "EUR", "de_DE")
    assert "€" in h.value_text


def test_live_from_first_full_month() -> None:
    lm = live_months(tiny().rollouts).set_index("innovation_id")["live_from"]
    assert lm[1] == pd.Timestamp("2023-04-01")  # go-live on the 1st: that month
    assert lm[2] == pd.Timestamp("2023-07-01")  # mid-month: the next month


def test_attribution_splits_by_expected_effect_and_keeps_the_rest_unattributed() -> None:
    d = tiny()
    a = attribution(d, ALL)
    per = a.groupby("innovation_id")["amount"].sum()
    # Apr–Jun: only A live, expected 0.10·10·100 = 100 ≥ benefit 100 → A gets 100 a month.
    # Jul–Dec: A and B live, expected 100 + 50; benefit 100 split 2:1, booked in cents by
    # largest remainder each month: 66.67 + 33.33 (not 66.666… + 33.333…).
    assert per[1] == pytest.approx(3 * 100 + 6 * 66.67)
    assert per[2] == pytest.approx(6 * 33.33)
    assert per[-1] == pytest.approx(50.0)  # unit 2's December: no live innovation
    assert a["cents"].sum() == measured(d, ALL)["cents"].sum()  # exact, to the cent


def test_category_filter_counts_only_attributed_value() -> None:
    d = tiny()
    f = Filters(categories=("strategic impact",))
    h = v.headline_view(d, f)
    assert h is not None and h.value_to_date == pytest.approx(6 * 33.33)  # B only, in cents


def test_unit_and_period_filters() -> None:
    d = tiny()
    h = v.headline_view(d, Filters(unit_ids=(2,)))
    assert h is not None and h.value_to_date == pytest.approx(50.0)
    h = v.headline_view(d, Filters(start=dt.date(2023, 10, 1), end=dt.date(2023, 11, 1)))
    assert h is not None and h.value_to_date == pytest.approx(200.0)
    assert v.headline_view(d, Filters(start=dt.date(2030, 1, 1))) is None


def test_bridge_steps_sum_to_value_to_date() -> None:
    steps = v.bridge_steps(tiny(), ALL)
    assert steps["label"].tolist() == ["INN-A Alpha", "INN-B Beta", "Unattributed", "Value to date"]
    assert steps.loc[steps["kind"] != "total", "value"].sum() == pytest.approx(950.0)
    assert steps["value"].iloc[-1] == pytest.approx(950.0)
    assert steps["evidence"].tolist() == ["", "", "", ""]  # no estimates given


def test_bridge_steps_carry_each_innovations_evidence_level() -> None:
    """Innovation steps get their level; the unattributed and total steps none; an innovation
    missing from the evidence is 'claimed' (as in the headline's evidence mix)."""
    ev = pd.DataFrame({"innovation_id": [1], "evidence": ["estimated"]})
    steps = v.bridge_steps(tiny(), ALL, evidence=ev)
    assert steps["evidence"].tolist() == ["estimated", "claimed", "", ""]


def test_bridge_says_the_bar_is_measured_and_the_estimate_apart() -> None:
    """A's bar is its measured credit, 700.02 (Apr–Jun 3 × 100, Jul–Dec 2/3 of 100 × 6, in
    cents); its causal estimate 1,450 is shown beside it with its level, never as the bar."""
    ev = pd.DataFrame(
        {
            "innovation_id": [1, 2],
            "evidence": ["estimated", "measured"],
            "estimated": [1450.0, np.nan],
        }
    )
    steps = v.bridge_steps(tiny(), ALL, evidence=ev).set_index("label")
    a = steps.loc["INN-A Alpha"]
    assert a["value"] == pytest.approx(700.02) and a["text"] == f"700{NB}€"
    assert a["estimate_text"] == f"1.450{NB}€"
    assert a["evidence_text"] == f"evidence: proven (causal estimate), estimate 1.450{NB}€"
    assert steps.loc["INN-B Beta", "evidence_text"] == "evidence: measured"
    assert steps.loc["Unattributed", "evidence_text"] == ""


def test_estimates_note_says_why_estimates_do_not_add_up_to_the_measured_total() -> None:
    """Estimates A 1,450 and B 400 add up to 1,850; measured 950 in all = 900 credited
    (700.02 + 199.98) + 50 unattributed (unit 2's December, where no innovation is live)."""
    d = tiny()
    est = pd.DataFrame(
        {
            "innovation_id": [1, 2],
            "estimated": [1450.0, 400.0],
            "ci_low": [900.0, -10.0],
            "ci_high": [2000.0, 810.0],
            "excludes_zero": [True, False],
        }
    )
    lines = v.value_lines(d, ALL, est)
    note = estimates_note(lines, 950.0, "EUR", "de_DE")
    assert note.startswith(
        f"The 2 causal estimates add up to 1.850{NB}€, against 950{NB}€ measured in all "
        f"(900{NB}€ credited to the innovations, 50{NB}€ unattributed). The two are not "
        "additive: each estimate is one innovation's own causal effect on its main KPI over "
        "all its units and months live, the others controlled for"
    )
    # with a unit selected, the estimates are still the innovations' own (all their units)
    one = estimates_note(lines, 950.0, "EUR", "de_DE", units_selected=True)
    assert "over all its units and months live (not only the selected units" in one
    assert estimates_note(lines.head(1), 950.0, "EUR", "de_DE").startswith(
        f"The 1 causal estimate adds up to 1.450{NB}€"
    )
    assert estimates_note(lines.assign(estimated=np.nan), 950.0, "EUR", "de_DE") == ""


def test_claimed_spreads_the_annual_claim_from_go_live() -> None:
    c = v.claimed(tiny(), ALL).set_index("innovation_id")["claimed"]
    assert c[1] == pytest.approx(1200 / 12 * 9)  # Apr..Dec, its only unit
    assert c[2] == pytest.approx(600 / 12 * 6)  # Jul..Dec


def test_value_lines_and_evidence_levels() -> None:
    d = tiny()
    est = pd.DataFrame(
        {
            "innovation_id": [1, 2],
            "estimated": [700.0, np.nan],
            "ci_low": [500.0, np.nan],
            "ci_high": [900.0, np.nan],
            "excludes_zero": [True, False],
        }
    )
    lines = v.value_lines(d, ALL, est).set_index("code")
    assert lines.loc["INN-A", "evidence"] == "estimated"
    assert lines.loc["INN-B", "evidence"] == "measured"
    assert lines.loc["INN-A", "realisation"] == pytest.approx(700.02 / 900.0)  # cents
    h = v.headline_view(d, ALL, v.evidence_of(lines.reset_index()))
    assert h is not None and h.evidence_mix == {"estimated": 1, "measured": 1, "claimed": 0}


def test_photo_defaults_and_scorecard() -> None:
    d = tiny()
    then, now = v.default_photo_periods(d)
    assert then == (dt.date(2023, 1, 1), dt.date(2023, 3, 1))  # the baseline window
    assert now == (dt.date(2023, 10, 1), dt.date(2023, 12, 1))  # last full quarter
    p = v.photo(d, ALL)
    assert p is not None
    cost = p.cards.set_index("key").loc["cost"]
    # then: (10·200·3)/600 = 10; now: unit 1 at 9 for 3 months, unit 2 at 10, 10, 9.5
    assert cost["then"] == pytest.approx(10.0)
    assert cost["now"] == pytest.approx((9 * 300 + 10 * 200 + 9.5 * 100) / 600)
    assert bool(cost["better"]) is True
    assert p.cards.set_index("key").loc["csat", "better"] is True  # higher is better
    assert p.between["code"].tolist() == ["INN-A", "INN-B"]
    assert p.then_label == "Q1 2023" and p.now_label == "Q4 2023"


def test_gain_share_and_innovation_days() -> None:
    k = v.contract_view(tiny(), ALL)
    assert k is not None
    y1 = k.gain_share.iloc[0]
    assert y1["savings"] == pytest.approx(950.0)
    assert y1["client"] == pytest.approx(0.6 * 1000.0)  # (1 − g)·G
    assert y1["provider"] == pytest.approx(950.0 - 600.0)  # S − (1 − g)·G
    assert np.isnan(k.gain_share.iloc[1]["savings"])  # year 2 has no data yet
    # Year 1 holds the 3 baseline months (Jan–Mar 2023) and the data covers all 12 months
    assert (y1["baseline_months"], y1["covered"], y1["goal_to_date"]) == (3, 12, 1000.0)
    assert k.gain_share_note == (
        "Year 1 holds the 3 months of the frozen baseline (Jan 2023 – "
        "Mar 2023); their value is zero by construction, so it can "
        "only save in its other 9."
    )
    days = k.innovation_days.set_index("contract_year")["used"]
    assert days["Year 1"] == 7.0 and days["Year 2"] == 12.0
    assert "over the contract in Year 2" in k.days_sentence


def test_productivity_path() -> None:
    k = v.contract_view(tiny(), ALL)
    assert k is not None
    p = k.productivity.set_index("month")
    assert p.loc["2023-03-01", "required"] == pytest.approx(10.0)  # at the baseline end
    later = p.loc["2023-12-01"]
    # years in whole months (metrics.contract.productivity_path): Mar → Dec 2023 = 9 / 12
    assert later["required"] == pytest.approx(10.0 * 0.95 ** (9 / 12))
    assert later["actual"] == pytest.approx((9 * 100 + 9.5 * 100) / 200)


def test_pipeline_and_narrative_use_the_same_figures() -> None:
    d = tiny()
    p = v.pipeline_view(d, ALL)
    assert p.counts["pilot"] == 1 and p.upcoming["code"].tolist() == ["INN-C"]
    story = v.narrative(d, ALL)
    h = v.headline_view(d, ALL)
    # the story opens with the then-vs-now beat, then the value to date and run-rate
    assert h is not None and h.value_text in story[1] and h.run_rate_text in story[1]
    assert any(p.sentence == s for s in story)


def test_money_is_formatted_for_the_account() -> None:
    assert money(1_234_567, "USD", "en_US") == "$1.2M"
    assert money(950, "EUR", "de_DE") == "950\xa0€"  # the locale puts the symbol after
    assert money(float("nan"), "USD") == "—"


def test_demo_invariants(demo_engine) -> None:
    from data_loaders.access import Scope
    from data_loaders.queries import list_accounts, load_account_data

    scope = Scope.everything()
    data = load_account_data(
        demo_engine, scope, int(list_accounts(demo_engine, scope)["account_id"].iloc[0])
    )
    b, a = measured(data, ALL), attribution(data, ALL)
    assert a["cents"].sum() == b["cents"].sum()
    # over the baseline window the measured benefit of rate KPIs is zero by construction, up
    # to the rounding of each unit-month to the cent (at most half a cent per row)
    win = b[b["month"] <= pd.Timestamp(data.account.baseline_end)]
    assert abs(win["benefit"].sum()) <= 0.005 * len(win) + 1e-9
    h = v.headline_view(data, ALL)
    assert h is not None and h.value_to_date > 0 and h.innovations_live > 0


def test_value_page_estimates_equal_the_detail_page(demo_engine) -> None:
    """Issue 4: ``services.estimates.estimate_innovations`` (the Value page, headline evidence) gives each innovation the
    estimate the Innovation-detail page computes — the other innovations on the KPI
    controlled for (``other_rollouts``) — and so the same value and evidence."""
    from data_loaders.access import Scope
    from data_loaders.queries import load_account_data
    from metrics.innovation_views import estimate_innovation, innovation_record, innovation_value
    from services.estimates import estimate_innovations

    data = load_account_data(demo_engine, Scope.everything(), 1)
    codes = data.innovations.set_index("innovation_id")["code"]
    ids = sorted(set(data.rollouts["innovation_id"]))[:3]
    est = estimate_innovations(data, ids).set_index("innovation_id")
    assert sorted(est.index) == ids
    lines = v.value_lines(data, ALL, est.reset_index())
    for iid in ids:
        rec = innovation_record(
            data.innovations, data.targets, data.kpis, data.rollouts, str(codes[iid])
        )
        assert rec is not None and rec.main_kpi is not None
        assert rec.main_kpi == est.loc[iid, "kpi_key"]
        eff = estimate_innovation(
            data.monthly, data.rollouts, data.targets, data.innovations, rec, rec.main_kpi
        )
        assert est.loc[iid, "estimated"] == pytest.approx(eff.money_total)
        assert est.loc[iid, "ci_low"] == pytest.approx(eff.money_ci_low)
        assert est.loc[iid, "ci_high"] == pytest.approx(eff.money_ci_high)
        assert bool(est.loc[iid, "excludes_zero"]) is bool(eff.estimate.excludes_zero)
        page = innovation_value(lines, iid, eff)
        line = lines.set_index("innovation_id").loc[iid]
        assert page.evidence == line["evidence"]
        assert page.estimated == pytest.approx(line["estimated"])
    # the controls matter here, so the test would catch an estimate made without them
    from metrics.impact import innovation_effect

    plain = []
    for iid in ids:
        key = str(est.loc[iid, "kpi_key"])
        info = data.kpis.set_index("key").loc[key]
        mine = data.rollouts[data.rollouts["innovation_id"] == iid][["unit_id", "go_live"]]
        mv: float | None = None if pd.isna(info["money_value"]) else float(info["money_value"])
        plain.append(
            innovation_effect(
                data.monthly, mine, kpi_key=key, money_value=mv, direction=str(info["direction"])
            ).money_total
        )
    assert any(p != pytest.approx(e) for p, e in zip(plain, est["estimated"], strict=True))


def test_bridge_and_stacked_chart_group_the_same_other_innovations(demo_engine) -> None:
    """One rule names innovations (rules.named_innovations): the bridge and the stacked value
    chart show the same "N other innovations" (they said 17 and 15)."""
    from data_loaders.access import Scope
    from data_loaders.queries import list_accounts, load_account_data

    scope = Scope.everything()
    aid = int(list_accounts(demo_engine, scope)["account_id"].iloc[0])
    data = load_account_data(demo_engine, scope, aid)
    bridge = v.bridge_steps(data, Filters())
    stacked = v.value_by(data, Filters(), "innovation")
    other_bridge = [x for x in bridge["label"] if x.endswith("other innovations")]
    other_stack = sorted({g for g in stacked["group"] if g.endswith("other innovations")})
    assert other_bridge == other_stack and len(other_bridge) == 1
    named_bridge = set(bridge.loc[bridge["code"] != "", "label"])
    named_stack = {g for g in stacked["group"] if g not in other_stack and g != "Unattributed"}
    assert named_bridge == named_stack and len(named_stack) == NAMED_INNOVATIONS
