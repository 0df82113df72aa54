"""Value page on the demo account: stacked value (toggle), the bridge, claimed vs measured
vs estimated with evidence levels and method notes, and CSV downloads of what is shown.

The expected figures are independent of the views the page renders: the demo's value to date
($6,456,512), its stages and go-lives and the stored causal estimates read from the database
with plain SQL, and, where a test checks that two outputs agree, another output of the page
(the bridge against the evidence table, the sentence against the table)."""

from __future__ import annotations

import math
import sqlite3

import pandas as pd
import pytest

from metrics.format import money
from metrics.impact import EVIDENCE_NOTES
from metrics.rules import EVIDENCE_LABELS
from tests.pages.conftest import chart_frames, no_exception, texts

PAGE = "pages/value.py"
VALUE_TO_DATE = 6_456_512  # the demo's value to date, in dollars
NAMED_BARS = 6  # the bridge names the largest six by measured value and groups the rest
LEVEL_OF = {label: level for level, label in EVIDENCE_LABELS.items()}


@pytest.fixture
def value(make_app):
    at = make_app(PAGE)
    no_exception(at)
    return at


def _usd(v: float) -> str:
    return money(v, "USD", "en_US")


def _bridge(at) -> pd.DataFrame:
    frames = [f for f in chart_frames(at) if {"label", "kind", "start", "end"} <= set(f.columns)]
    assert frames, "bridge chart data not found"
    return frames[0]


def _table(at) -> pd.DataFrame:
    """The evidence table as shown, with its innovation code and evidence level."""
    [t] = [d.value for d in at.dataframe if "evidence" in d.value.columns]
    t = t.copy()
    t["code"] = t["innovation"].str.split(" · ").str[0]
    t["label"] = t["innovation"].str.replace(" · ", " ", regex=False)
    t["level"] = [LEVEL_OF[e[0] if isinstance(e, list) else list(e)[0]] for e in t["evidence"]]
    return t


def _by_measured(t: pd.DataFrame) -> pd.DataFrame:
    """The table's innovations with a measured value, largest first (positive or negative)."""
    m = t[t["measured"].notna()]
    return m.loc[m["measured"].abs().sort_values(ascending=False, kind="stable").index]


def _demo_sql(url: str, sql: str) -> list[tuple]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as c:
        return c.execute(sql).fetchall()


def test_the_bridge_names_the_largest_measured_innovations_and_ends_at_the_value_to_date(
    value,
) -> None:
    """The bridge's named bars are the six innovations of the evidence table with the largest
    measured value, in that order, each with the table's measured figure and evidence level;
    the rest form one bar, what no innovation explains is 'Unattributed', and the total is the
    demo's value to date, $6,456,512."""
    shown = _bridge(value)
    t = _table(value)
    ranked = _by_measured(t)
    named = shown[(shown["kind"] == "step") & (shown["code"] != "")]
    top = ranked.head(NAMED_BARS)
    assert list(named["label"]) == list(top["label"])
    assert [round(v) for v in named["value"]] == [round(v) for v in top["measured"]]
    assert list(named["text"]) == [_usd(v) for v in named["value"]]
    assert list(named["evidence"]) == list(top["level"])
    assert set(named["evidence"]) <= {"estimated", "measured", "claimed"}
    total = shown.loc[shown["kind"] == "total", "end"].item()
    assert round(total) == VALUE_TO_DATE
    [unattributed] = shown.loc[shown["label"] == "Unattributed", "value"]
    steps = shown.loc[shown["kind"] == "step", "value"].sum()
    assert steps + unattributed == pytest.approx(total)


def test_the_grouped_bridge_bar_lists_its_innovations(value) -> None:
    """'N other innovations' hides value: an expander under the bridge lists each of them
    (the evidence table's measured innovations after the six named, 19 on the demo) with its
    measured value, and together they are the bar's figure."""
    shown = _bridge(value)
    rest = _by_measured(_table(value)).iloc[NAMED_BARS:]
    assert len(rest) == 19
    group = shown[(shown["kind"] == "step") & (shown["code"] == "")].iloc[0]
    assert group["label"] == "19 other innovations"
    # the table shows whole dollars: each of the 19 is off by at most half a dollar
    assert group["value"] == pytest.approx(rest["measured"].sum(), abs=len(rest) / 2)
    [exp] = [e for e in value.expander if group["label"] in e.label]
    assert group["text"] in exp.label and group["text"] == _usd(group["value"])
    [listed] = [t.value for t in value.dataframe if "innovation" in t.value.columns][:1]
    assert list(listed["innovation"]) == list(rest["label"])
    assert list(listed["measured"]) == [_usd(v) for v in rest["measured"]]
    assert f"Together {group['text']}, the bar's figure" in texts(value)


def test_the_evidence_table_lists_the_live_innovations_with_their_stored_estimates(
    value, demo_url
) -> None:
    """One row per innovation that went live (37 on the demo: 35 live now, 2 retired, read
    from the rollouts with SQL); the estimated column is the stored causal estimate, and the
    evidence level follows the rule: a stored estimate in money whose interval excludes zero
    is 'estimated' (an effect on satisfaction, a KPI without a money value, is not), else a
    measured value other than zero 'measured', else 'claimed'."""
    t = _table(value)
    went_live = _demo_sql(
        demo_url,
        "SELECT DISTINCT i.code FROM innovation i JOIN rollout r ON r.innovation_id = i.id "
        "WHERE i.account_id = 1 AND r.go_live IS NOT NULL",
    )
    assert len(t) == 37 and set(t["code"]) == {c for (c,) in went_live}
    stored = {
        code: (est, bool(proven))
        for code, est, proven in _demo_sql(
            demo_url,
            "SELECT i.code, e.estimated, e.excludes_zero FROM estimate_result e "
            "JOIN innovation i ON i.id = e.innovation_id WHERE e.run_id = "
            "(SELECT MAX(id) FROM estimate_run WHERE account_id = 1)",
        )
    }
    for code, estimated, measured, level in zip(
        t["code"],
        t["estimated"].astype(float),
        t["measured"].astype(float),
        t["level"],
        strict=True,
    ):
        est, proven = stored.get(code, (None, False))
        if est is None:
            assert math.isnan(estimated), code
        else:
            assert estimated == round(est), code
        if proven and est is not None:
            expected = "estimated"
        elif not math.isnan(measured) and measured != 0:
            expected = "measured"
        else:
            expected = "claimed"
        assert level == expected, code
    assert set(t["level"]) == {"estimated", "measured", "claimed"}


def test_the_reconciliation_sentence_sums_the_evidence_table(value) -> None:
    """Above the table: the claims and the measured value of its 37 innovations summed, and
    the share of the claims realised (measured / claimed: $9.3M claimed, $6.5M measured, 69 %
    on the demo); each row's realisation is its own measured / claimed."""
    t = _table(value)
    claimed, measured = t["claimed"].sum(), t["measured"].sum()
    assert round(measured / claimed, 2) == 0.69
    assert (
        f"Across the 37 innovations live in the period (35 live now, 2 retired): "
        f"**claimed** {_usd(claimed)}, **measured** {_usd(measured)} — "
        f"**{measured / claimed:.0%}** of the claims realised so far."
    ) in texts(value)
    m = t[t["measured"].notna()]
    assert list(m["realisation"]) == [
        round(100 * a / b) for a, b in zip(m["measured"], m["claimed"], strict=True)
    ]


def test_the_three_evidence_levels_are_explained(value) -> None:
    """The expander under the table explains each evidence level in its one wording."""
    body = texts(value)
    for note in EVIDENCE_NOTES.values():
        assert note in body


def _stacked(at) -> pd.DataFrame:
    return [f for f in chart_frames(at) if {"group", "cumulative"} <= set(f.columns)][0]


def test_stacked_value_toggle_and_downloads(value) -> None:
    """By category the stack's groups are the categories credited money (strategic impact
    is credited none) and the unattributed rest; toggled to innovation, the bridge's bars.
    Either way the last month's layers add up to the value to date; three CSV downloads."""
    stacked = _stacked(value)
    assert set(stacked["group"]) == {
        "operational efficiency",
        "process effectiveness",
        "unattributed",
    }
    last = stacked[stacked["month"] == stacked["month"].max()]
    assert round(last["cumulative"].sum()) == VALUE_TO_DATE
    assert len(value.get("download_button")) == 3
    bars = set(_bridge(value).query("kind == 'step'")["label"]) | {"Unattributed"}
    value.button_group[0].set_value("innovation").run()
    no_exception(value)
    stacked = _stacked(value)
    assert set(stacked["group"]) == bars
    assert any(g.startswith("INN-") for g in stacked["group"])
    last = stacked[stacked["month"] == stacked["month"].max()]
    assert round(last["cumulative"].sum()) == VALUE_TO_DATE
    assert value.query_params["by"] == "innovation"  # a copied link keeps the choice


def test_stack_by_is_read_from_the_url(make_app) -> None:
    """``?by=innovation`` opens the chart stacked by innovation (the bridge's bars); an
    unknown value falls back to the default (category)."""
    at = make_app(PAGE, by="innovation")
    no_exception(at)
    assert at.button_group[0].value == "innovation"
    bars = set(_bridge(at).query("kind == 'step'")["label"]) | {"Unattributed"}
    assert set(_stacked(at)["group"]) == bars
    at = make_app(PAGE, by="nonsense")
    no_exception(at)
    assert at.button_group[0].value == "category"
    assert "by" not in at.query_params


def test_bridge_is_labelled_even_when_the_estimates_were_not_stored(
    unestimated_url, monkeypatch
) -> None:
    """After an import the estimates of the new data are not stored: the bridge and the
    evidence table are drawn at once without them (claimed and measured, nothing estimated),
    and once the background process has stored them the next run labels the bridge."""
    from streamlit.testing.v1 import AppTest

    from services import estimates_background
    from tests.pages.conftest import APP, ROOT
    from ui.estimates_wait import BEING_COMPUTED

    monkeypatch.setenv("DATABASE_URL", unestimated_url)
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(APP, default_timeout=600)
    at.query_params["present"], at.query_params["screen"] = "1", "7"
    at.run()
    del at.query_params["present"], at.query_params["screen"]
    at.switch_page(PAGE).run()
    no_exception(at)

    def bridges() -> list:
        return [f for f in chart_frames(at) if {"label", "kind"} <= set(f.columns)]

    assert len(bridges()) == 1
    assert "evidence" not in bridges()[0] or (bridges()[0]["evidence"].fillna("") == "").all()
    assert BEING_COMPUTED in [str(c.value) for c in at.caption]
    table = next(d.value for d in at.dataframe if "estimated" in d.value.columns)
    assert table["estimated"].isna().all() and table["measured"].notna().any()

    estimates_background.wait(timeout=900)  # a hang guard, not a timing
    at.run()
    no_exception(at)
    assert len(bridges()) == 1
    named = bridges()[0].query("kind == 'step' and code != ''")
    level = _table(at).set_index("code")["level"]
    assert list(named["evidence"]) == [level[c] for c in named["code"]]
    assert "estimated" in set(named["evidence"])


NO_BRIDGE = (
    "No bridge to draw for this selection: its innovations are credited none of the "
    "measured value, so there is no step from the baseline to now (why: under "
    "*Value to date* above). Their claims are compared below."
)


@pytest.mark.parametrize("category", ["strategic impact", None])
def test_the_bridge_place_says_in_words_when_nothing_is_credited(make_app, category) -> None:
    """A category whose innovations are credited no money (strategic impact targets customer
    satisfaction, a KPI without a money value): under the bridge's heading a sentence says
    there is no bridge and why, instead of an empty space; no bridge caption or download
    then. The whole account keeps its bridge, with neither sentence."""
    at = make_app(PAGE, **({"cat": category} if category else {}))
    no_exception(at)
    top = [at.main.children[i] for i in sorted(at.main.children)]
    heading = next(
        i for i, e in enumerate(top) if getattr(e, "value", None) == "From the baseline to now"
    )
    after = top[heading + 1]
    downloads = [b.proto.label for b in at.get("download_button")]
    if category:
        assert after.type == "markdown" and after.value == NO_BRIDGE
        assert "Each bar is the value measured" not in texts(at)
        assert "Download the bridge (CSV)" not in downloads
    else:
        assert NO_BRIDGE not in texts(at)
        assert after.type == "caption" and after.value.startswith("Each bar is the value")
        assert "Download the bridge (CSV)" in downloads
