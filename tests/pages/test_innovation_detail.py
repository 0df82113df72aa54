"""Innovation-detail page on the demo account: record, rollouts, the estimate (same figures as
``metrics.impact.innovation_effect``), the event-study chart's data, picker, unknown code."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from metrics.filters import Filters
from metrics.format import money
from metrics.format import pct as fmt_pct
from metrics.impact import EVIDENCE_NOTES, innovation_effect
from metrics.rules import EVIDENCE_LABELS
from metrics.value import live_months
from metrics.views import value_lines
from tests.pages.conftest import APP, ROOT, no_exception, texts
from ui.innovation_blocks import evidence_line

DETAIL = "pages/innovation_detail.py"


@pytest.fixture
def make_app(monkeypatch: pytest.MonkeyPatch, demo_url: str, empty_url: str):
    """``make_app(page, **query_params)``: the app switched to ``page`` on the demo database.

    AppTest must run the app once before it can switch pages, and that first run shows the
    default page (Story), whose estimates take seconds with cold caches. So the first run goes
    to an empty database (the quick new-install screen) and only then to the demo one.
    """

    def _make(page: str | None = None, **params: str) -> AppTest:
        monkeypatch.chdir(ROOT)
        monkeypatch.setenv("DATABASE_URL", empty_url)
        at = AppTest.from_file(APP, default_timeout=600)
        at.run()
        monkeypatch.setenv("DATABASE_URL", demo_url)
        for key, value in params.items():
            at.query_params[key] = value
        if page is not None:
            at.switch_page(page)
        return at.run()

    return _make


def _scaled(data, *, min_units: int = 1, max_units: int = 99) -> pd.Series:
    """A scaled innovation of the demo with a number of rollouts in range (first by code)."""
    n = data.rollouts.groupby("innovation_id").size()
    inn = data.innovations[data.innovations["stage"] == "scaled"].sort_values("code")
    inn = inn[inn["innovation_id"].map(n).between(min_units, max_units)]
    return inn.iloc[0]


def _usd(x: float) -> str:
    return money(x, "USD", "en_US", compact=False)


def _metric(at: AppTest, label_start: str):
    return next(m for m in at.metric if m.label.startswith(label_start))


def _chart_frames(at: AppTest) -> list[pd.DataFrame]:
    out = []
    for chart in at.get("vega_lite_chart"):
        for ds in chart.proto.datasets:
            out.append(pa.ipc.open_stream(ds.data.data).read_pandas())
    return out


def _expected(data, row: pd.Series):
    target = data.targets[data.targets["innovation_id"] == row["innovation_id"]].iloc[0]
    kpi = data.kpis.set_index("key").loc[target["kpi_key"]]
    money = None if pd.isna(kpi["money_value"]) else float(kpi["money_value"])
    mine = data.rollouts["innovation_id"] == row["innovation_id"]
    # retirement months (metrics.value's rule): treatment ends there, controls split there
    live = live_months(data.rollouts, data.innovations)
    live_to = live.groupby("innovation_id")["live_to"].min()
    others = (
        data.rollouts[~mine]
        .merge(data.targets, on="innovation_id")
        .merge(data.innovations[["innovation_id", "code"]], on="innovation_id")
    )
    others = others.assign(live_to=others["innovation_id"].map(live_to)).drop(
        columns="innovation_id"
    )
    eff = innovation_effect(
        data.monthly,
        data.rollouts.loc[mine, ["unit_id", "go_live"]].assign(
            live_to=live_to.get(row["innovation_id"], pd.NaT)
        ),
        kpi_key=target["kpi_key"],
        money_value=money,
        direction=kpi["direction"],
        other_rollouts=others,
    )
    return eff, kpi


@pytest.mark.parametrize("units", [(1, 4), (5, 99)], ids=["few-units", "many-units"])
def test_estimate_shown_equals_innovation_effect(make_app, demo_data, units) -> None:
    row = _scaled(demo_data, min_units=units[0], max_units=units[1])
    at = make_app(DETAIL, innovation=row["code"])
    no_exception(at)
    eff, kpi = _expected(demo_data, row)
    est = eff.estimate
    uom = kpi["unit_of_measure"]
    loc = "en_US"
    effect = _metric(at, "Effect on")
    assert effect.value == fmt_pct(eff.effect_pct / 100, loc)
    assert effect.proto.delta == (
        f"95 % range {fmt_pct(eff.effect_pct_ci_low / 100, loc)} to "
        f"{fmt_pct(eff.effect_pct_ci_high / 100, loc)}"
    )
    level = _metric(at, "In percentage points" if uom == "%" else f"In {uom}")
    assert level.value == f"{eff.effect_level:+,.3g}".replace("-", "−")
    assert level.proto.delta == (
        f"95 % range {eff.effect_level_ci_low:+,.3g} to {eff.effect_level_ci_high:+,.3g}"
    ).replace("-", "−")
    method = next(e for e in at.expander if e.label.startswith("How this was estimated"))
    inside = " ".join(str(m.value) for m in method.markdown)
    if eff.controls:
        assert (
            f"Controlled for {len(eff.controls)} other innovation(s) on this KPI: "
            f"{', '.join(eff.controls)}."
        ) in inside
        assert all(c.startswith("INN-") for c in eff.controls)
    if eff.money_total is not None:
        money = _metric(at, "Estimated (causal)")
        assert money.value == _usd(eff.money_total)
        assert money.proto.delta == (
            f"95 % CI {_usd(eff.money_ci_low)} to {_usd(eff.money_ci_high)}"
        )
    assert _metric(at, "Units live").value == f"{est.n_treated_units} / {est.n_units}"
    assert f"p = {est.p_value:.3f}, {est.inference} inference" in inside
    # value to date: the Value page's claimed / measured lines, and the evidence level
    lines = value_lines(demo_data, Filters(), None).set_index("innovation_id")
    line = lines.loc[row["innovation_id"]]
    assert _metric(at, "Claimed to date").value == _usd(line["claimed"])
    assert _metric(at, "Measured (attributed)").value == _usd(line["measured"])
    assert _metric(at, "Realisation").value == f"{line['realisation']:.0%}"
    level = "estimated" if est.excludes_zero and eff.money_total is not None else "measured"
    assert evidence_line(level, str(row["evidence_status"])) in texts(at)
    for w in est.warnings:  # every warning one click away, in the method expander
        assert f"- {w}" in inside
    # the event-study chart plots exactly the estimate's by_horizon (log-ratios shown as %)
    horizons = next(f for f in _chart_frames(at) if "horizon" in f.columns)
    want = est.by_horizon[["horizon", "effect", "ci_low", "ci_high"]].reset_index(drop=True)
    if eff.scale == "log":
        for c in ("effect", "ci_low", "ci_high"):
            want[c] = 100 * np.expm1(want[c])
    pd.testing.assert_frame_equal(
        horizons[["horizon", "effect", "ci_low", "ci_high"]].reset_index(drop=True),
        want,
        check_dtype=False,
    )
    assert (horizons["horizon"] < 0).any()  # pre-periods shown


def test_record_and_rollout_units_of_a_scaled_innovation(make_app, demo_data) -> None:
    row = _scaled(demo_data, min_units=5)
    at = make_app(DETAIL, innovation=row["code"])
    no_exception(at)
    assert at.title[0].value == f"{row['code']} · {row['title']}"
    ro = demo_data.rollouts[demo_data.rollouts["innovation_id"] == row["innovation_id"]]
    names = demo_data.units.set_index("unit_id").loc[ro["unit_id"], "name"]
    table = next(d.value for d in at.dataframe if "go_live" in d.value.columns)
    assert sorted(table["unit"]) == sorted(names)
    assert table["go_live"].is_monotonic_increasing
    assert f"Rollouts ({len(ro)} units)" in texts(at)
    assert _metric(at, "Claimed value per year").value == _usd(row["estimated_annual_value"])
    # small multiples: one panel per rollout unit
    panels = next(f for f in _chart_frames(at) if "panel" in f.columns)
    assert panels["panel"].nunique() == len(ro)


def test_unknown_code_says_so(make_app) -> None:
    at = make_app(DETAIL, innovation="INN-999")
    no_exception(at)
    assert any("no innovation with code **INN-999**" in e.value for e in at.error)
    assert not at.title
    assert at.selectbox(key="detail_picker").value is None


def test_picker_opens_another_innovation(make_app, demo_data) -> None:
    at = make_app(DETAIL)
    no_exception(at)
    assert "Choose an innovation above" in texts(at)
    code = demo_data.innovations.sort_values("code")["code"].iloc[1]
    at.selectbox(key="detail_picker").select(code).run()
    no_exception(at)
    assert at.title[0].value.startswith(code)
    assert at.query_params["innovation"] in (code, [code])


def test_an_idea_has_nothing_to_estimate(make_app, demo_data) -> None:
    code = demo_data.innovations.loc[demo_data.innovations["stage"] == "idea", "code"].iloc[0]
    at = make_app(DETAIL, innovation=code)
    no_exception(at)
    assert "Not live anywhere yet." in texts(at)
    assert any("Nothing to estimate" in i.value for i in at.info)
    assert not [m for m in at.metric if m.label.startswith("Effect on")]


def test_spec_is_json_for_the_pdf(make_app, demo_data) -> None:
    """The detail charts are Altair specs (vl-convert can render them for paper)."""
    row = _scaled(demo_data, min_units=5)
    at = make_app(DETAIL, innovation=row["code"])
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert len(specs) == 2
    assert any("facet" in s for s in specs)


def test_a_retired_innovation_shows_its_retirement(make_app, demo_data) -> None:
    """INN-037 was retired on 1 May 2025: the per-unit chart draws a labelled end line there
    and the page says its credit and claim stop then."""
    inn = demo_data.innovations.set_index("code").loc["INN-037"]
    assert inn["stage"] == "retired"
    assert pd.Timestamp(inn["closed_date"]) == pd.Timestamp("2025-05-01")
    at = make_app(DETAIL, innovation="INN-037")
    no_exception(at)
    assert "Retired on 01 May 2025 (dotted end line): its credit and claim stop there" in texts(at)
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert any('"retired"' in json.dumps(s) for s in specs)


def _outside_expanders(at: AppTest) -> str:
    """The page's visible text without what sits inside an expander (one click away)."""
    inside = {id(m) for e in at.expander for m in (*e.markdown, *e.caption)}
    parts = [str(m.value) for m in (*at.markdown, *at.caption) if id(m) not in inside]
    return " ".join(parts + [str(m.label) for m in at.metric] + [str(w.value) for w in at.warning])


@pytest.mark.parametrize("units", [(1, 4), (5, 99)], ids=["few-units", "many-units"])
def test_the_detail_page_speaks_plain_words_first(make_app, demo_data, units) -> None:
    """An executive reads "Cost per transaction fell 3.4% at the 6 units where it went live,
    against comparable units", KPI names and one evidence line; the log scale, raw KPI keys,
    the authors and the inference warnings are one click away in the method expander, and
    no yellow warning says the estimator used permutation inference."""
    row = _scaled(demo_data, min_units=units[0], max_units=units[1])
    at = make_app(DETAIL, innovation=row["code"])
    no_exception(at)
    eff, kpi = _expected(demo_data, row)
    pct = eff.effect_pct
    verb = "fell" if pct < 0 else "rose"
    sentence = (
        f"{kpi['label']} {verb} {fmt_pct(abs(pct) / 100, signed=False)} at the "
        f"{eff.estimate.n_treated_units} units where it went live, against comparable units "
        f"(95 % range {fmt_pct(eff.effect_pct_ci_low / 100)} to "
        f"{fmt_pct(eff.effect_pct_ci_high / 100)})."
    )
    outside = _outside_expanders(at)
    assert sentence in outside
    for raw in demo_data.kpis["key"]:  # "cost_per_txn", "error_rate": keys, never shown
        if "_" in raw:
            assert raw not in outside
    assert "log " not in outside and "Borusyak" not in outside
    assert "evidence / sign-off" not in outside
    assert outside.count("Evidence: ") == 1  # one evidence line, by the level's one name
    assert any(label in outside for label in EVIDENCE_LABELS.values())
    assert not [w for w in at.warning if "permutation" in str(w.value)]
    method = next(e for e in at.expander if e.label.startswith("How this was estimated"))
    inside = " ".join(str(m.value) for m in method.markdown)
    assert "Borusyak, Jaravel" in inside


def test_the_evidence_line_names_the_register_status_once() -> None:
    """One line: the level's name, the register's status only when it says something."""
    assert evidence_line("claimed", "none") == (
        f"**Evidence: claimed**. {EVIDENCE_NOTES['claimed']}"
    )
    assert evidence_line("measured", "signed off").startswith(
        "**Evidence: measured** · signed off in the register. "
    )
    assert "Borusyak" not in evidence_line("estimated", "evidence")
