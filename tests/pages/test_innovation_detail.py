"""Innovation-detail page on the demo account: record, rollouts, the estimate, the event-study
chart's data, picker, unknown code. The estimate the page computes is checked against
independent sources: the causal estimate stored for the same innovation by the batch run
(its money figure and interval, and its note's log effect, p-value and units, read with
SQL), the effect the demo generator planted (inside the shown range), the register's rows
by hand (controls, units) and the Value page's evidence table (claimed, measured,
realisation) — never ``metrics.impact.innovation_effect``, which the page calls."""

from __future__ import annotations

import json
import re
import sqlite3

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from metrics.format import money
from metrics.format import pct as fmt_pct
from metrics.impact import EVIDENCE_NOTES
from metrics.rules import EVIDENCE_LABELS
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


def _stored(url: str, innovation_id: int) -> dict:
    """The batch run's stored estimate of one innovation, read with SQL: money estimate and
    interval, and from its note the effect on the log scale with its interval, the p-value,
    the treated and all units and the inference."""
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        row = conn.execute(
            "SELECT estimated, ci_low, ci_high, excludes_zero, estimate_note, kpi_key "
            "FROM estimate_result WHERE innovation_id = ? AND run_id = "
            "(SELECT MAX(id) FROM estimate_run WHERE account_id = 1)",
            (innovation_id,),
        ).fetchone()
    money_, low, high, proven, note, kpi = row
    m = re.search(
        r"changed by (\S+) on average .*\(95 % CI (\S+) to (\S+), p = ([0-9.]+); "
        r"(\d+) of (\d+) units treated, (\w+) inference\)",
        note,
    )
    assert m, note
    log, log_lo, log_hi = (float(m.group(i)) for i in (1, 2, 3))
    return {
        "money": money_,
        "money_ci": (low, high),
        "proven": bool(proven),
        "kpi": kpi,
        "pct": 100 * np.expm1(log),
        "pct_ci": (100 * np.expm1(log_lo), 100 * np.expm1(log_hi)),
        "p": m.group(4),
        "treated": int(m.group(5)),
        "units": int(m.group(6)),
        "inference": m.group(7),
    }


def _pcts(text: str) -> list[float]:
    """The per-cent figures in a shown text ("−3.0%", "95 % range −3.7% to −2.3%")."""
    return [float(x.replace("−", "-")) for x in re.findall(r"([−+-]?[0-9.]+)%", text)]


def _value_row(make_app, code: str) -> pd.Series:
    """The Value page's evidence-table row of an innovation (another page's output)."""
    at = make_app("pages/value.py")
    no_exception(at)
    [t] = [d.value for d in at.dataframe if "evidence" in d.value.columns]
    t = t.assign(code=t["innovation"].str.split(" · ").str[0])
    return t.set_index("code").loc[code]


def _controls(data, row: pd.Series, kpi: str) -> list[str]:
    """By hand: the other innovations on the same KPI that went live somewhere, by code; a
    retired one listed a second time, "(after its retirement)"."""
    t = data.targets[data.targets["kpi_key"] == kpi]
    live = set(data.rollouts.dropna(subset=["go_live"])["innovation_id"])
    inn = data.innovations.set_index("innovation_id")
    others = inn.loc[[i for i in t["innovation_id"] if i in live and i != row["innovation_id"]]]
    names = sorted(others["code"])
    retired = sorted(others[others["stage"] == "retired"]["code"])
    return names + [f"{c} (after its retirement)" for c in retired]


@pytest.mark.parametrize("units", [(1, 4), (5, 99)], ids=["few-units", "many-units"])
def test_estimate_shown_agrees_with_the_stored_estimate_and_the_planted_effect(
    make_app, demo_data, demo_url, units
) -> None:
    """The page's estimate of a scaled innovation (INN-001 on 4 units, INN-003 on 6): its
    effect in % and range are the batch run's stored estimate (within the rounding of the
    stored note) and hold the effect the demo planted (−2.97 %, −5.5 %); the money figure
    and interval, the p-value, the units treated of all and the inference are the stored
    ones; the controls are the other innovations live on the KPI; the inference warning is
    the one its counts call for; the level effect has the effect's sign and a range around
    it; the event-study chart has placebo pre-periods and post-periods of the effect's sign."""
    from data_loaders.demo import generate

    row = _scaled(demo_data, min_units=units[0], max_units=units[1])
    at = make_app(DETAIL, innovation=row["code"])
    no_exception(at)
    st = _stored(demo_url, int(row["innovation_id"]))
    planted = generate()["planted_effects"].set_index("innovation").loc[row["code"]]
    assert planted["kpi"] == st["kpi"]
    effect = _metric(at, "Effect on")
    [shown] = _pcts(effect.value)
    assert effect.proto.delta.startswith("95 % range ")
    lo, hi = _pcts(effect.proto.delta)
    assert shown == pytest.approx(st["pct"], abs=0.06)
    assert (lo, hi) == pytest.approx(st["pct_ci"], abs=0.06)
    assert lo <= planted["effect_pct"] <= hi
    uom = demo_data.kpis.set_index("key").loc[st["kpi"], "unit_of_measure"]
    level = _metric(at, "In percentage points" if uom == "%" else f"In {uom}")
    value = float(level.value.replace("−", "-").replace(",", ""))
    ends = re.findall(r"([−+-][0-9.,]+)", level.proto.delta)
    l_lo, l_hi = (float(x.replace("−", "-").replace(",", "")) for x in ends)
    assert np.sign(value) == np.sign(shown) and l_lo < value < l_hi
    money_ = _metric(at, "Estimated (causal)")
    # in money: the level effect shown × the treated units' volume in the months that start
    # on or after their go-live (by hand from the monthly rows) × the KPI's money value
    k = demo_data.kpis.set_index("key").loc[st["kpi"]]
    mine = demo_data.rollouts[demo_data.rollouts["innovation_id"] == row["innovation_id"]]
    go = pd.to_datetime(mine.set_index("unit_id")["go_live"]).dt.normalize()
    obs = demo_data.monthly[
        (demo_data.monthly["kpi_key"] == st["kpi"]) & demo_data.monthly["value"].notna()
    ]
    obs = obs[obs["unit_id"].isin(go.index)]
    volume = obs.loc[obs["month"] >= obs["unit_id"].map(go), "volume"].sum()
    assert st["money"] == pytest.approx(abs(value) * volume * float(k["money_value"]), rel=0.005)
    assert money_.value == _usd(st["money"])
    assert money_.proto.delta == (f"95 % CI {_usd(st['money_ci'][0])} to {_usd(st['money_ci'][1])}")
    treated = demo_data.rollouts[demo_data.rollouts["innovation_id"] == row["innovation_id"]]
    assert st["treated"] == treated["go_live"].notna().sum()
    assert st["units"] == len(demo_data.units) == 9
    assert _metric(at, "Units live").value == f"{st['treated']} / {st['units']}"
    method = next(e for e in at.expander if e.label.startswith("How this was estimated"))
    inside = " ".join(str(m.value) for m in method.markdown)
    assert f"p = {st['p']}, {st['inference']} inference" in inside
    controls = _controls(demo_data, row, st["kpi"])
    assert (
        f"Controlled for {len(controls)} other innovation(s) on this KPI: {', '.join(controls)}."
    ) in inside
    if st["treated"] < 5:
        warning = (
            f"- Only {st['treated']} units are treated: a standard error clustered by unit is "
            "unreliable with fewer than 5 treated units, so permutation inference was used "
            "instead."
        )
    else:
        warning = (
            f"- There are only {st['units']} units in all: a standard error clustered by unit "
            "is unreliable with fewer than 20 units, so permutation inference was used instead."
        )
    assert warning in inside
    # the evidence level by the rule, from the stored row: a money estimate excluding zero
    assert st["proven"]
    assert f"**Evidence: {EVIDENCE_LABELS['estimated']}**" in texts(at)
    horizons = next(f for f in _chart_frames(at) if "horizon" in f.columns)
    assert (horizons["horizon"] < 0).any()  # pre-periods shown
    post = horizons[horizons["horizon"] >= 0]
    assert np.sign(post["effect"].mean()) == np.sign(shown)
    assert (horizons["ci_low"] <= horizons["effect"]).all()
    assert (horizons["effect"] <= horizons["ci_high"]).all()


@pytest.mark.parametrize("units", [(1, 4), (5, 99)], ids=["few-units", "many-units"])
def test_value_to_date_cards_are_the_value_pages(make_app, demo_data, units) -> None:
    """The detail's claimed, measured and realisation cards are the figures of the Value
    page's evidence table for the same innovation (another page's output)."""
    row = _scaled(demo_data, min_units=units[0], max_units=units[1])
    line = _value_row(make_app, row["code"])
    at = make_app(DETAIL, innovation=row["code"])
    no_exception(at)
    assert _metric(at, "Claimed to date").value == _usd(line["claimed"])
    assert _metric(at, "Measured (attributed)").value == _usd(line["measured"])
    assert _metric(at, "Realisation").value == f"{line['realisation']:.0f}%"


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
def test_the_detail_page_speaks_plain_words_first(make_app, demo_data, demo_url, units) -> None:
    """An executive reads "Cost per transaction fell 3.4% at the 6 units where it went live,
    against comparable units", KPI names and one evidence line; the log scale, raw KPI keys,
    the authors and the inference warnings are one click away in the method expander, and
    no yellow warning says the estimator used permutation inference."""
    row = _scaled(demo_data, min_units=units[0], max_units=units[1])
    at = make_app(DETAIL, innovation=row["code"])
    no_exception(at)
    st = _stored(demo_url, int(row["innovation_id"]))  # the batch run's stored estimate
    kpi = demo_data.kpis.set_index("key").loc[st["kpi"]]
    pct = st["pct"]
    verb = "fell" if pct < 0 else "rose"
    sentence = (
        f"{kpi['label']} {verb} {fmt_pct(abs(pct) / 100, signed=False)} at the "
        f"{st['treated']} units where it went live, against comparable units "
        f"(95 % range {fmt_pct(st['pct_ci'][0] / 100)} to {fmt_pct(st['pct_ci'][1] / 100)})."
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
