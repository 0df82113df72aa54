"""metrics.innovation_views: register, search, timeline, record, rollouts, KPI around go-live."""

from __future__ import annotations

import math
from dataclasses import fields

import pandas as pd
import pytest

from metrics import innovation_views as v
from metrics import pipeline
from metrics.impact import EstimationError

T = pd.Timestamp


def _innovations() -> pd.DataFrame:
    rows = [
        # id, code, title, owner, description, stage, idea, eval, proto, pilot, scaled, closed
        (
            1,
            "INN-001",
            "Robotic claims registration",
            "Ana Reyes",
            "Bots register claims",
            "scaled",
            "2023-01-10",
            "2023-02-01",
            "2023-03-01",
            "2023-05-15",
            "2023-09-01",
            None,
        ),
        (
            2,
            "INN-002",
            "Plain-language letters",
            "Raj Mehta",
            "Rewrite letters",
            "pilot",
            "2023-03-01",
            "2023-03-20",
            "2023-04-10",
            "2023-07-01",
            None,
            None,
        ),
        (
            3,
            "INN-003",
            "Duplicate payment detector",
            "Ana Reyes",
            "Stops double payments",
            "rejected",
            "2023-02-01",
            "2023-02-15",
            None,
            None,
            None,
            "2023-03-01",
        ),
        (
            4,
            "INN-004",
            "Night-shift batch",
            "Grace Lim",
            "",
            "retired",
            "2022-11-01",
            "2022-11-20",
            "2022-12-10",
            "2023-01-05",
            "2023-02-01",
            "2023-08-01",
        ),
        (
            5,
            "INN-005",
            "Email triage classifier",
            "Grace Lim",
            "Sorts claims email",
            "idea",
            "2023-11-01",
            None,
            None,
            None,
            None,
            None,
        ),
    ]
    cols = [
        "innovation_id",
        "code",
        "title",
        "owner",
        "description",
        "stage",
        "idea_date",
        "evaluation_date",
        "prototype_date",
        "pilot_date",
        "scaled_date",
        "closed_date",
    ]
    df = pd.DataFrame(rows, columns=cols)
    for c in cols[6:]:
        df[c] = pd.to_datetime(df[c]).astype("datetime64[ns]")
    df["category"] = "operational efficiency"
    df["scale"] = "continuous improvement"
    df["origin"] = "provider"
    df["estimated_annual_value"] = [120_000.0, 10_000.0, 0.0, 5_000.0, 0.0]
    df["innovation_days"] = [4.0, 1.5, 0.5, 2.0, 0.0]
    df["gain_share_eligible"] = [True, False, False, True, False]
    df["evidence_status"] = ["signed off", "evidence", "none", "none", "none"]
    return df


KPIS = pd.DataFrame(
    {
        "kpi_id": [1, 2, 3],
        "key": ["cost_per_txn", "aht", "csat"],
        "label": ["Cost per transaction", "Average handle time", "Customer satisfaction"],
        "unit_of_measure": ["USD", "seconds", "score"],
        "direction": ["lower", "lower", "higher"],
        "kind": ["rate"] * 3,
        "money_value": [1.0, 0.008, math.nan],
        "headline": [True, False, False],
    }
)
TARGETS = pd.DataFrame(
    {
        "innovation_id": [1, 1, 2, 4],
        "kpi_key": ["aht", "cost_per_txn", "csat", "cost_per_txn"],
        "expected_effect_pct": [-2.0, -4.0, 3.0, -1.0],
    }
)
UNITS = pd.DataFrame(
    {
        "unit_id": [1, 2, 3, 4],
        "site": ["Manila", "Manila", "Kraków", "Kraków"],
        "process": ["Claims", "Billing", "Claims", "Billing"],
        "region": ["APAC", "APAC", "EMEA", "EMEA"],
    }
)
UNITS["name"] = UNITS["site"] + " · " + UNITS["process"]
ROLLOUTS = pd.DataFrame(
    {
        "innovation_id": [1, 1, 2, 4],
        "unit_id": [2, 1, 3, 1],
        "go_live": pd.to_datetime(["2023-08-10", "2023-05-15", "2023-07-01", "2023-01-05"]).astype(
            "datetime64[ns]"
        ),
    }
)


def test_main_target_is_the_largest_expected_effect() -> None:
    main = v.labelled_main_targets(TARGETS, KPIS).set_index("innovation_id")
    assert main.loc[1, "kpi_key"] == "cost_per_txn"  # |-4| > |-2|
    assert main.loc[1, "kpi_label"] == "Cost per transaction"
    assert main.loc[2, "expected_effect_pct"] == 3.0


def test_register_table_counts_units_and_first_go_live() -> None:
    reg = v.register_table(_innovations(), TARGETS, KPIS, ROLLOUTS)
    assert list(reg["code"]) == ["INN-001", "INN-002", "INN-003", "INN-004", "INN-005"]
    row = reg.set_index("code").loc["INN-001"]
    assert row["units_live"] == 2
    assert row["first_go_live"] == T("2023-05-15")
    assert row["target_kpi"] == "Cost per transaction"
    assert reg.set_index("code").loc["INN-005", "units_live"] == 0
    assert pd.isna(reg.set_index("code")["first_go_live"]["INN-005"])


def test_search_matches_every_term_over_code_title_owner_description() -> None:
    reg = v.register_table(_innovations(), TARGETS, KPIS, ROLLOUTS)
    assert v.search_register(reg, "ana")["code"].tolist() == ["INN-001", "INN-003"]
    assert v.search_register(reg, "ANA claims")["code"].tolist() == ["INN-001"]
    assert v.search_register(reg, "inn-005")["code"].tolist() == ["INN-005"]
    assert v.search_register(reg, "payments")["code"].tolist() == ["INN-003"]  # description
    assert v.search_register(reg, "", ["scaled", "pilot"])["code"].tolist() == [
        "INN-001",
        "INN-002",
    ]
    assert v.search_register(reg, "grace", ["idea"])["code"].tolist() == ["INN-005"]
    assert len(v.search_register(reg, "")) == len(reg)
    assert v.search_register(reg, "nothing-like-this").empty


def test_timeline_phases_run_to_the_next_stage_close_or_as_of() -> None:
    tl = v.timeline_frame(_innovations(), as_of=T("2023-12-31"))
    one = tl[tl["code"] == "INN-001"].set_index("phase")
    assert list(one.index) == ["idea", "evaluation", "prototype", "pilot", "scaled"]
    assert one.loc["idea", "end"] == T("2023-02-01")
    assert one.loc["pilot", "end"] == T("2023-09-01")
    assert one.loc["scaled", "end"] == T("2023-12-31") and bool(one.loc["scaled", "open"])
    rejected = tl[tl["code"] == "INN-003"].set_index("phase")
    assert list(rejected.index) == ["idea", "evaluation"]
    assert rejected.loc["evaluation", "end"] == T("2023-03-01")
    assert not rejected["open"].any()
    retired = tl[tl["code"] == "INN-004"].set_index("phase")
    assert retired.loc["scaled", "end"] == T("2023-08-01")
    # ordered by idea date: INN-004 (2022-11) first
    assert tl.drop_duplicates("code").sort_values("order")["code"].iloc[0] == "INN-004"
    # phases after as_of are dropped, ends clipped
    early = v.timeline_frame(_innovations(), as_of=T("2023-04-01"))
    assert early[early["code"] == "INN-001"]["phase"].tolist() == [
        "idea",
        "evaluation",
        "prototype",
    ]
    assert early["end"].max() <= T("2023-04-01")
    assert "INN-005" not in set(early["code"])


def test_record_and_unknown_code() -> None:
    rec = v.innovation_record(_innovations(), TARGETS, KPIS, ROLLOUTS, " inn-001 ")
    assert rec is not None and rec.code == "INN-001"
    assert rec.main_kpi == "cost_per_txn"
    assert list(rec.target_labels) == ["cost_per_txn", "aht"]
    assert rec.target("aht").money_value == 0.008
    assert rec.first_go_live == T("2023-05-15")
    assert rec.idea_to_live_days == (T("2023-05-15") - T("2023-01-10")).days
    assert rec.stage_dates["closed"] is None and rec.stage_dates["scaled"] == T("2023-09-01")
    csat = v.innovation_record(_innovations(), TARGETS, KPIS, ROLLOUTS, "INN-002")
    assert csat is not None and csat.target("csat").money_value is None
    assert v.innovation_record(_innovations(), TARGETS, KPIS, ROLLOUTS, "INN-999") is None
    with pytest.raises(KeyError):
        rec.target("csat")


def test_records_of_every_innovation_at_once() -> None:
    """``innovation_records`` (the estimates batch) gives each innovation the record
    ``innovation_record`` gives it: INN-001's targets cost_per_txn (-4 %) before aht (-2 %),
    first go-live 2023-05-15 (the earlier of its two); INN-003 has no target and no
    rollout."""
    inn = _innovations()
    records = v.innovation_records(inn, TARGETS, KPIS, ROLLOUTS)
    assert sorted(records) == sorted(inn["innovation_id"].tolist())
    first = records[1]
    assert first.code == "INN-001" and list(first.target_labels) == ["cost_per_txn", "aht"]
    assert first.first_go_live == T("2023-05-15")
    assert records[3].main_kpi is None and records[3].first_go_live is None
    for code in inn["code"]:
        one = v.innovation_record(inn, TARGETS, KPIS, ROLLOUTS, str(code))
        assert one is not None
        batch = records[one.innovation_id]
        pd.testing.assert_frame_equal(batch.targets, one.targets)
        for f in fields(one):
            if f.name != "targets":
                assert getattr(batch, f.name) == getattr(one, f.name), f.name


def test_rollout_units_in_go_live_order() -> None:
    ru = v.rollout_units(ROLLOUTS, UNITS, 1)
    assert ru["unit"].tolist() == ["Manila · Claims", "Manila · Billing"]
    assert ru["order"].tolist() == [1, 2]
    assert v.rollout_units(ROLLOUTS, UNITS, 5).empty


def _monthly() -> pd.DataFrame:
    months = pd.date_range("2023-01-01", "2023-12-01", freq="MS")
    rows = []
    for u, level in [(1, 4.0), (2, 5.0), (3, 6.0), (4, 3.0)]:
        for i, m in enumerate(months):
            rows.append((u, "cost_per_txn", m, level * (1 - 0.01 * i), 1000.0 * u))
    return pd.DataFrame(rows, columns=["unit_id", "kpi_key", "month", "value", "volume"])


def test_kpi_around_go_live_counts_months_from_the_go_live_month() -> None:
    s = v.kpi_around_go_live(_monthly(), ROLLOUTS, UNITS, 1, "cost_per_txn")
    assert set(s["unit_id"]) == {1, 2}
    u2 = s[s["unit_id"] == 2].set_index("month")
    assert u2.loc[T("2023-08-01"), "months_from_go_live"] == 0  # go-live 10 Aug
    assert bool(u2.loc[T("2023-08-01"), "is_go_live_month"])
    assert u2.loc[T("2023-07-01"), "phase"] == "before"
    assert u2.loc[T("2023-01-01"), "months_from_go_live"] == -7
    w = v.kpi_around_go_live(_monthly(), ROLLOUTS, UNITS, 1, "cost_per_txn", window=(-2, 1))
    assert w["months_from_go_live"].between(-2, 1).all()
    assert v.kpi_around_go_live(_monthly(), ROLLOUTS, UNITS, 5, "cost_per_txn").empty


def test_comparison_index_chains_the_units_not_live() -> None:
    mon = _monthly()
    comp = v.comparison_series(mon, ROLLOUTS, 1, "cost_per_txn").set_index("month")
    # INN-001 is live at unit 1 from May and unit 2 from Aug; units 3 and 4 never.
    assert comp.loc[T("2023-01-01"), "index"] == 1.0
    assert comp.loc[T("2023-02-01"), "n_units"] == 4
    assert comp.loc[T("2023-05-01"), "n_units"] == 3  # unit 1 live in May
    assert comp.loc[T("2023-08-01"), "n_units"] == 2  # unit 2 live in Aug
    # every unit falls 1 % of its level a month, so the chained index is exactly 1 - 0.01 i
    # whichever units are in it: no jump when a unit leaves the comparison.
    for i, m in enumerate(pd.date_range("2023-01-01", "2023-12-01", freq="MS")):
        assert comp.loc[m, "index"] == pytest.approx(1 - 0.01 * i)
    # scaled to a rollout unit's own pre-go-live level, it reproduces that unit's path
    s = v.kpi_around_go_live(mon, ROLLOUTS, UNITS, 1, "cost_per_txn")
    pd.testing.assert_series_equal(s["comparison"], s["value"], check_names=False)
    # an innovation whose units are all live at once: the index stops
    all_live = pd.DataFrame(
        {
            "innovation_id": [9] * 4,
            "unit_id": [1, 2, 3, 4],
            "go_live": pd.to_datetime(["2023-06-01"] * 4),
        }
    )
    stop = v.comparison_series(mon, all_live, 9, "cost_per_txn")
    assert stop["month"].max() == T("2023-05-01")


def test_data_as_of_is_the_end_of_the_last_month() -> None:
    assert v.data_as_of(_monthly()) == T("2023-12-31")
    assert v.data_as_of(_monthly().iloc[0:0], fallback=T("2024-02-03").date()) == T("2024-02-03")


def test_labels_sorted_by_code() -> None:
    labels = v.innovation_labels(_innovations().iloc[::-1])
    assert list(labels)[0] == "INN-001"
    assert labels["INN-002"] == "INN-002 · Plain-language letters"


def test_estimate_innovation_controls_for_the_other_innovations() -> None:
    from metrics.impact import innovation_effect

    mon = _monthly()
    rec = v.innovation_record(_innovations(), TARGETS, KPIS, ROLLOUTS, "INN-001")
    assert rec is not None
    others = v.other_rollouts(ROLLOUTS, TARGETS, _innovations(), 1)
    assert set(others["code"]) == {"INN-002", "INN-004"} and list(others.columns) == [
        "code",
        "unit_id",
        "go_live",
        "kpi_key",
        "live_to",
    ]
    assert set(others.loc[others["code"] == "INN-004", "kpi_key"]) == {"cost_per_txn"}
    got = v.estimate_innovation(mon, ROLLOUTS, TARGETS, _innovations(), rec, "cost_per_txn")
    want = innovation_effect(
        mon,
        ROLLOUTS[ROLLOUTS["innovation_id"] == 1][["unit_id", "go_live"]],
        kpi_key="cost_per_txn",
        money_value=1.0,
        direction="lower",
        other_rollouts=others,
    )
    assert got.estimate.att == pytest.approx(want.estimate.att)
    assert got.money_total == pytest.approx(want.money_total)
    assert got.effect_pct == pytest.approx(want.effect_pct)
    idea = v.innovation_record(
        _innovations(),
        pd.concat(
            [
                TARGETS,
                pd.DataFrame(
                    {"innovation_id": [5], "kpi_key": ["aht"], "expected_effect_pct": [-1.0]}
                ),
            ]
        ),
        KPIS,
        ROLLOUTS,
        "INN-005",
    )
    assert idea is not None
    with pytest.raises(EstimationError, match="no rollout"):
        v.estimate_innovation(mon, ROLLOUTS, TARGETS, _innovations(), idea, "aht")


def test_event_study_frame_shows_log_ratios_as_percent() -> None:
    import numpy as np

    from metrics.impact import innovation_effect

    mon = _monthly()
    mine = ROLLOUTS[ROLLOUTS["innovation_id"] == 1][["unit_id", "go_live"]]
    log = innovation_effect(
        mon, mine, kpi_key="cost_per_txn", money_value=1.0, direction="lower", scale="log"
    )
    frame, unit = v.event_study_frame(log)
    assert unit == "%"
    np.testing.assert_allclose(frame["effect"], 100 * np.expm1(log.estimate.by_horizon["effect"]))
    assert (frame["ci_low"] <= frame["effect"]).all() and (
        frame["effect"] <= frame["ci_high"]
    ).all()
    level = innovation_effect(
        mon, mine, kpi_key="cost_per_txn", money_value=1.0, direction="lower", scale="level"
    )
    frame, unit = v.event_study_frame(level)
    assert unit == "" and frame["effect"].tolist() == level.estimate.by_horizon["effect"].tolist()


def test_funnel_counts_what_each_innovation_reached() -> None:
    f = pipeline.stage_funnel(_innovations()).set_index("stage")
    # INN-001 scaled, INN-002 pilot, INN-003 rejected after evaluation, INN-004 retired, INN-005 idea
    assert f["reached"].to_dict() == {
        "idea": 5,
        "evaluation": 4,
        "prototype": 3,
        "pilot": 3,
        "scaled": 2,
    }
    assert math.isnan(float(f["conversion"]["idea"]))
    assert f.loc["evaluation", "conversion"] == pytest.approx(4 / 5)
    assert f.loc["scaled", "conversion"] == pytest.approx(2 / 3)
    assert f["now"].to_dict() == {
        "idea": 1,
        "evaluation": 0,
        "prototype": 0,
        "pilot": 1,
        "scaled": 1,
    }
    # a stage without a date still counts when it is the current stage
    odd = _innovations()
    odd.loc[odd["code"] == "INN-005", "stage"] = "evaluation"  # no evaluation date recorded
    assert pipeline.stage_funnel(odd).set_index("stage").loc["evaluation", "reached"] == 5


def test_pipeline_summary_formulas() -> None:
    s = pipeline.pipeline_summary(_innovations(), ROLLOUTS)
    assert s.innovations == 5 and s.reached_pilot == 3
    assert s.share_to_pilot == pytest.approx(3 / 5)
    assert s.rejected == 1 and s.kill_rate == pytest.approx(1 / (1 + 3))
    # idea → live: INN-001 10 Jan → 15 May 2023; INN-002 1 Mar → 1 Jul; INN-004 1 Nov → 5 Jan
    days = [
        (T("2023-05-15") - T("2023-01-10")).days,
        (T("2023-07-01") - T("2023-03-01")).days,
        (T("2023-01-05") - T("2022-11-01")).days,
    ]
    assert s.n_live == 3
    assert s.median_idea_to_live_days == pytest.approx(sorted(days)[1])
    empty = pipeline.pipeline_summary(_innovations().iloc[0:0], ROLLOUTS.iloc[0:0])
    assert empty.share_to_pilot is None and empty.kill_rate is None
    assert empty.median_idea_to_live_days is None


def test_portfolio_mix_and_category_filter() -> None:
    inn = _innovations().assign(origin=["client", "joint", "provider", "provider", "provider"])
    mix = pipeline.portfolio_mix(inn)
    origin = mix[mix["dimension"] == "origin"].set_index("value")
    assert origin.loc["provider", "count"] == 3
    assert origin.loc["provider", "share"] == pytest.approx(0.6)
    assert list(mix["dimension"].unique()) == ["scale", "category", "origin"]
    cats = inn.assign(category=["strategic impact"] + ["operational efficiency"] * 4)
    assert v.in_categories(cats, ["strategic impact"])["code"].tolist() == ["INN-001"]
    assert len(v.in_categories(cats, None)) == 5 and len(v.in_categories(cats, ())) == 5


def test_golives_by_quarter_fills_empty_quarters_and_filters_units() -> None:
    g = pipeline.golives_by_quarter(ROLLOUTS)
    assert g["quarter"].tolist() == ["2023 Q1", "2023 Q2", "2023 Q3"]
    assert g["go_lives"].tolist() == [1, 1, 2]  # INN-004; INN-001 Manila Claims; 2 in Q3
    assert g["innovations"].tolist() == [1, 1, 1]  # first go-lives: INN-004, INN-001, INN-002
    only2 = pipeline.golives_by_quarter(ROLLOUTS, unit_ids=[2])
    assert only2["quarter"].tolist() == ["2023 Q3"] and only2["go_lives"].tolist() == [1]
    assert pipeline.golives_by_quarter(ROLLOUTS, unit_ids=[99]).empty


def test_innovation_value_line_and_evidence_rule() -> None:
    from metrics.impact import innovation_effect

    lines = pd.DataFrame(
        {
            "innovation_id": [1, 2],
            "claimed": [100.0, 50.0],
            "measured": [80.0, float("nan")],
            "realisation": [0.8, float("nan")],
        }
    )
    none = v.innovation_value(lines, 1, None)
    assert (none.claimed, none.measured, none.realisation) == (100.0, 80.0, 0.8)
    assert none.estimated is None and none.evidence == "measured"
    assert v.innovation_value(lines, 2, None).evidence == "claimed"
    assert v.innovation_value(lines, 3, None).claimed is None  # not in the lines at all
    mon = _monthly()
    mine = ROLLOUTS[ROLLOUTS["innovation_id"] == 1][["unit_id", "go_live"]]
    eff = innovation_effect(mon, mine, kpi_key="cost_per_txn", money_value=1.0, direction="lower")
    got = v.innovation_value(lines, 1, eff)
    assert got.estimated == eff.money_total and got.estimated_low == eff.money_ci_low
    assert got.evidence == ("estimated" if eff.estimate.excludes_zero else "measured")
    no_money = innovation_effect(
        mon, mine, kpi_key="cost_per_txn", money_value=None, direction="lower"
    )
    assert v.innovation_value(lines, 1, no_money).evidence == "measured"


def test_estimate_innovation_ends_treatment_at_the_retirement_month() -> None:
    """A retired innovation (closed 15 Oct 2023) is estimated on its live months only: its
    units' months from October on are left out, by metrics.value.live_months' rule (the
    month holding the retirement is no full live month), and the estimate says so."""
    mon = _monthly()
    inn = _innovations()
    inn.loc[inn["innovation_id"] == 1, ["stage", "closed_date"]] = ["retired", "2023-10-15"]
    inn["closed_date"] = pd.to_datetime(inn["closed_date"])
    rec = v.innovation_record(inn, TARGETS, KPIS, ROLLOUTS, "INN-001")
    assert rec is not None
    got = v.estimate_innovation(mon, ROLLOUTS, TARGETS, inn, rec, "cost_per_txn")
    live = _innovations()
    still = v.estimate_innovation(
        mon,
        ROLLOUTS,
        TARGETS,
        live,
        v.innovation_record(live, TARGETS, KPIS, ROLLOUTS, "INN-001"),  # type: ignore[arg-type]  # the record exists: INN-001 is in the table
        "cost_per_txn",
    )
    # units 1 (live from June) and 2 (from September) lose Oct, Nov and Dec: 3 months each
    assert still.treated_months == 7 and got.treated_months == 4
    assert got.treated_volume == pytest.approx(still.treated_volume - 3 * (1000.0 + 2000.0))
    assert any("Oct 2023" in w for w in got.estimate.warnings)
