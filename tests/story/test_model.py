"""The story model on the demo account: the headline equals an independent hand computation
and the Story page, every section is there and the whole story is JSON."""

from __future__ import annotations

import json

import pandas as pd

from story import build_story
from story.model import SECTION_KEYS, plain
from tests.pages.conftest import metric, no_exception, texts


def _value_by_hand(data) -> float:
    """Value to date straight from the monthly table, written without the metrics package:
    per unit and headline KPI the volume-weighted baseline over the window, then
    s·(base − actual)·volume·money for each month after the window, in cents."""
    a = data.account
    k = data.kpis[data.kpis["headline"] & data.kpis["money_value"].notna()].set_index("key")
    m = data.monthly[data.monthly["kpi_key"].isin(k.index)].copy()
    m["month"] = pd.to_datetime(m["month"])
    lo, hi = pd.Timestamp(a.baseline_start), pd.Timestamp(a.baseline_end)
    win = m[(m["month"] >= lo) & (m["month"] <= hi)]
    total_cents = 0
    for (unit, key), rows in m.groupby(["unit_id", "kpi_key"]):
        w = win[(win["unit_id"] == unit) & (win["kpi_key"] == key)]
        if w.empty:
            continue
        rate = k.loc[key, "kind"] == "rate"
        base = (w["value"] * w["volume"]).sum() / w["volume"].sum() if rate else w["value"].mean()
        sign = 1 if k.loc[key, "direction"] == "lower" else -1
        for r in rows[rows["month"] > hi].itertuples():
            amount = sign * (base - r.value) * (r.volume if rate else 1) * k.loc[key, "money_value"]
            total_cents += round(100 * amount)
    return total_cents / 100


def test_value_to_date_equals_a_hand_computation(demo_story_bundle) -> None:
    data, est = demo_story_bundle
    s = build_story(data, estimates=est)
    head = s.section("headline")
    by_hand = _value_by_hand(data)
    shown = head.figure("value_to_date").value
    assert shown is not None and abs(shown - by_hand) < 1.0
    assert head.figure("value_to_date").exact == "$6,456,512"  # the documented demo figure
    assert f"${round(by_hand):,}" == "$6,456,512"


def test_every_section_is_built_in_order(demo_story_bundle) -> None:
    data, est = demo_story_bundle
    s = build_story(data, estimates=est)
    assert tuple(sec.key for sec in s.sections) == SECTION_KEYS
    inn = s.section("innovations").table("innovations")
    assert len(inn.rows) == len(data.innovations)  # the whole register, never cut
    # the reader's words for the levels (metrics.rules), never the stored keys
    assert {r[-1] for r in inn.rows} >= {"proven (causal estimate)", "measured", "claimed"}
    assert "estimated" not in {r[-1] for r in inn.rows}
    bridge = s.section("bridge").table("bridge")
    assert bridge.rows[-1][:2] == ("Value to date", s.headline_figures()["value_to_date"])
    assert s.evidence_basis == "causal estimates"
    assert all(
        c.as_dict()["$schema"].startswith("https://vega.github.io")
        for sec in s.sections
        for c in sec.charts
    )


def test_story_is_json_and_plain_text(demo_story_bundle) -> None:
    data, est = demo_story_bundle
    out = json.loads(json.dumps(build_story(data, estimates=est).to_dict()))
    assert out["headline"]["value_to_date_exact"] == "$6,456,512"
    sentences = next(x for x in out["sections"] if x["key"] == "narrative")["sentences"]
    assert sentences and not any("**" in x for x in sentences)
    assert plain("a **b** and *u*, 2 * 3") == "a b and u, 2 * 3"


def test_as_of_limits_the_data(demo_story_bundle) -> None:
    import datetime as dt

    data, _ = demo_story_bundle
    s = build_story(data, as_of=dt.date(2025, 6, 30))
    assert s.data_through == dt.date(2025, 6, 30)
    assert s.evidence_basis == "measured and claimed only"
    full = build_story(data)
    cut = s.section("headline").figure("value_to_date").value
    whole = full.section("headline").figure("value_to_date").value
    assert cut is not None and whole is not None and cut < whole


def test_story_page_shows_the_story_figures(make_app, demo_story_bundle) -> None:
    data, est = demo_story_bundle
    s = build_story(data, estimates=est)
    at = make_app()
    no_exception(at)
    for fig in s.section("headline").figures:
        assert metric(at, fig.label).value == fig.text
    body = texts(at)
    for sentence in s.section("narrative").sentences:
        assert sentence in plain(body)


def test_method_formulas_read_as_text_not_latex() -> None:
    """The appendix's formulas are plain text (indices in brackets, Σ, fractions with a
    slash, the true minus sign); the expected strings are written out by hand."""
    from story.model import formula_text

    assert formula_text(r"\mathrm{required}_y = \mathrm{base}\cdot(1-p)^{y}") == (
        "required[y] = base · (1−p)ʸ"
    )
    assert formula_text(
        r"\mathrm{base}_{u,k} = \frac{\sum_{m \in B} \mathrm{value}_{u,k,m}\,\mathrm{vol}_{u,m}}"
        r"{\sum_{m \in B} \mathrm{vol}_{u,m}}"
    ) == ("base[u,k] = (Σ[m ∈ B] value[u,k,m] vol[u,m]) / (Σ[m ∈ B] vol[u,m])")
    assert formula_text(
        r"\mathrm{client} = (1-g)\,G,\qquad G_{\text{to date}} = G\cdot\tfrac{\text{months}}{12}"
    ) == ("client = (1−g) G; G[to date] = G · months / 12")
    assert formula_text(r"\hat\alpha_i + e^{-\mathrm{ATT}}") == "α̂[i] + e^(−ATT)"


def test_method_appendix_has_no_latex(demo_story_bundle) -> None:
    """No backslash command or brace of LaTeX reaches the printed method table."""
    data, est = demo_story_bundle
    rows = build_story(data, estimates=est).section("method").table("method").rows
    assert rows
    for _title, _text, formula in rows:
        assert "\\" not in formula and "{" not in formula and "}" not in formula, formula
        assert "=" in formula


def test_the_curve_marks_the_retirements(demo_story_bundle) -> None:
    """The demo's two retired innovations (INN-036 on 12 Dec 2024, INN-037 on 1 May 2025) are
    marked on the value curve and named in its note."""
    data, est = demo_story_bundle
    curve = build_story(data, estimates=est).section("curve")
    (note,) = curve.notes
    assert "■ marks 2 retirements (INN-036 on 12 Dec 2024, INN-037 on 01 May 2025)" in note
    spec = curve.charts[0].as_dict()
    assert "INN-037 retired" in json.dumps(spec)
