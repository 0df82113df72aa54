"""Counts that add up (issue #11 §3): on every page that counts innovations and in
``thenandnow metrics --json``, live + in pipeline + rejected + retired is the register, and
every count equals the register filtered the same way — for the whole account, one unit and
one category.

The expected counts come from the demo's register and rollouts directly (``_by_hand``), not
from ``metrics.rules``: retired = stage retired, closed by the last data month; rejected =
stage rejected; live = any other with a go-live by then (at the selected units for the
"live in these units" card); in pipeline = the rest.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

import cli
from metrics.format import money
from story.model import plain
from tests.pages.conftest import metric, no_exception, texts

CATEGORY = "strategic impact"
ACCOUNT = "Northwind Insurance"


def _by_hand(data, unit_ids=None, category=None) -> dict[str, int]:
    inn = data.innovations
    if category:
        inn = inn[inn["category"] == category]
    cut = pd.Timestamp(data.monthly["month"].max()) + pd.offsets.MonthEnd(0)
    r = data.rollouts.dropna(subset=["go_live"])
    r = r[pd.to_datetime(r["go_live"]) <= cut]
    at_units = r if unit_ids is None else r[r["unit_id"].isin(unit_ids)]
    closed = pd.to_datetime(inn["closed_date"])
    retired = (inn["stage"] == "retired") & (closed.isna() | (closed <= cut))
    rejected = (inn["stage"] == "rejected") & ~retired
    open_ = ~retired & ~rejected
    live = open_ & inn["innovation_id"].isin(set(r["innovation_id"]))
    return {
        "register": len(inn),
        "live": int(live.sum()),
        "in pipeline": int((open_ & ~live).sum()),
        "rejected": int(rejected.sum()),
        "retired": int(retired.sum()),
        "live at units": int(
            (open_ & inn["innovation_id"].isin(set(at_units["innovation_id"]))).sum()
        ),
    }


def _pipeline_count(at) -> int:
    m = re.search(r"(\d+) innovations? (?:are|is) in the pipeline", plain(texts(at)))
    assert m, "the pipeline sentence is not on the page"
    return int(m.group(1))


def _selections(data):
    unit = data.units.iloc[0]
    return [
        ({}, None, None),
        ({"units": str(unit["name"])}, (int(unit["unit_id"]),), None),
        ({"cat": CATEGORY}, None, CATEGORY),
    ]


def test_demo_register_partitions_by_hand(demo_data) -> None:
    c = _by_hand(demo_data)
    assert (c["live"], c["in pipeline"], c["rejected"], c["retired"]) == (35, 17, 6, 2)
    assert c["live"] + c["in pipeline"] + c["rejected"] + c["retired"] == c["register"] == 60


def test_story_counts_equal_the_register_filtered_the_same_way(make_app, demo_data) -> None:
    """The Story's 'Innovations live' card and its pipeline sentence, for the whole account,
    one unit (set against the account's live innovations, never the register) and one
    category (its own register)."""
    for params, unit_ids, category in _selections(demo_data):
        want = _by_hand(demo_data, unit_ids, category)
        assert (
            want["live"] + want["in pipeline"] + want["rejected"] + want["retired"]
            == want["register"]
        )
        at = make_app(**params)
        no_exception(at)
        card = metric(at, "Innovations live").value
        if unit_ids:
            assert card == f"{want['live at units']} of {want['live']} live", params
        else:
            assert card == f"{want['live']} of {want['register']}", params
        assert _pipeline_count(at) == want["in pipeline"], params


def test_innovations_page_counts_equal_the_category_register(make_app, demo_data) -> None:
    want = _by_hand(demo_data, None, CATEGORY)
    at = make_app("pages/innovations.py", cat=CATEGORY)
    no_exception(at)
    assert metric(at, "Innovations").value == str(want["register"])
    assert metric(at, "Kill rate").proto.delta == f"{want['rejected']} rejected"


@pytest.mark.parametrize("which", ["account", "unit", "category"])
def test_cli_counts_equal_the_register_filtered_the_same_way(
    which: str, demo_url: str, demo_data, capsys: pytest.CaptureFixture[str]
) -> None:
    params, unit_ids, category = _selections(demo_data)[
        ["account", "unit", "category"].index(which)
    ]
    args = ["--unit", params["units"]] if unit_ids else []
    args += ["--category", category] if category else []
    rc = cli.main(["--db", demo_url, "metrics", "--account", ACCOUNT, "--json", *args])
    out = capsys.readouterr()
    assert rc == 0, out.err
    got = json.loads(out.out)
    want = _by_hand(demo_data, unit_ids, category)
    states = got["states"]
    assert {s: states[s] for s in ("live", "in pipeline", "rejected", "retired")} == {
        s: want[s] for s in ("live", "in pipeline", "rejected", "retired")
    }
    assert sum(states.values()) == got["innovations_total"] == want["register"]
    assert got["innovations_live"] == want["live at units"]
    assert got["innovations_live_account"] == want["live"]
    story = {s["key"]: s for s in got["story"]["sections"]}
    (sentence,) = story["pipeline"]["sentences"]
    assert sentence.startswith(f"{want['in pipeline']} innovation")


# --------------------------------------------------------------------------------------
# Then & Now, Value and present mode: the same counts, from the rows by hand
# --------------------------------------------------------------------------------------


def _periods_by_hand(data) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The photo's default periods' last days: then = the baseline window, now = the last
    full calendar quarter (the demo's data ends in Oct 2026: Q3 2026, to 30 Sep)."""
    then_end = pd.Timestamp(data.account.baseline_end) + pd.offsets.MonthEnd(0)
    last = pd.Timestamp(data.monthly["month"].max())
    q = last if last.month % 3 == 0 else last - pd.offsets.QuarterEnd(1)
    return then_end, q + pd.offsets.MonthEnd(0)


def _went_live_by_hand(data, unit_ids=None, category=None) -> tuple[set[str], int]:
    """(codes that went live for the first time at the selected units between the two
    periods, unit go-lives between them), from the register and rollout rows."""
    then_end, now_end = _periods_by_hand(data)
    inn = data.innovations
    if category:
        inn = inn[inn["category"] == category]
    r = data.rollouts.dropna(subset=["go_live"])
    r = r[r["innovation_id"].isin(set(inn["innovation_id"]))]
    if unit_ids is not None:
        r = r[r["unit_id"].isin(unit_ids)]
    go = pd.to_datetime(r["go_live"])
    first = go.groupby(r["innovation_id"]).min()
    ids = set(first[(first > then_end) & (first <= now_end)].index)
    code = inn.set_index("innovation_id")["code"]
    return {str(code[i]) for i in ids}, int(((go > then_end) & (go <= now_end)).sum())


def _lines_by_hand(data, unit_ids=None, category=None) -> dict[str, int]:
    """The innovations with value lines: in the category, with a go-live at a selected unit
    by the last data month; of them, how many are retired by then and how many live."""
    cut = pd.Timestamp(data.monthly["month"].max()) + pd.offsets.MonthEnd(0)
    inn = data.innovations
    if category:
        inn = inn[inn["category"] == category]
    r = data.rollouts.dropna(subset=["go_live"])
    r = r[pd.to_datetime(r["go_live"]) <= cut]
    if unit_ids is not None:
        r = r[r["unit_id"].isin(unit_ids)]
    had = inn[inn["innovation_id"].isin(set(r["innovation_id"]))]
    closed = pd.to_datetime(had["closed_date"])
    retired = int(((had["stage"] == "retired") & (closed.isna() | (closed <= cut))).sum())
    return {"lines": len(had), "retired": retired, "live": len(had) - retired}


_ACROSS = re.compile(
    r"Across the (\d+) (?:live innovations?|innovations? live in the period "
    r"\((\d+) live now(?:, (\d+) retired)?\))"
)


def _across(text: str) -> dict[str, int]:
    m = _ACROSS.search(text)
    assert m, f"no count of the innovations in: {text[:300]}"
    n = int(m.group(1))
    live = int(m.group(2)) if m.group(2) else n
    return {"lines": n, "live": live, "retired": int(m.group(3) or 0)}


@pytest.mark.parametrize("which", ["account", "unit", "category"])
def test_then_now_went_live_counts_equal_the_rollouts(which: str, make_app, demo_data) -> None:
    """Then & Now: 'N innovations went live for the first time (M unit go-lives …)' and the
    table under it are the register's rollouts between the two periods, filtered the same
    way; with a category the sentence says the KPIs stay the whole operation's."""
    params, unit_ids, category = _selections(demo_data)[
        ["account", "unit", "category"].index(which)
    ]
    codes, unit_golives = _went_live_by_hand(demo_data, unit_ids, category)
    at = make_app("pages/then_now.py", **params)
    no_exception(at)
    text = plain(texts(at))
    m = re.search(
        r"(\d+) innovations? (?:of the selected categories )?went live for the first time"
        r"(?: in the selected units)? \((\d+) unit go-lives? in all",
        text,
    )
    assert m, text[:400]
    assert (int(m.group(1)), int(m.group(2))) == (len(codes), unit_golives)
    (table,) = [d.value for d in at.dataframe if "went live" in d.value.columns]
    assert set(table["code"]) == codes
    assert ("a category filter selects innovations, not KPIs" in text) == bool(category)


@pytest.mark.parametrize("which", ["account", "unit", "category"])
def test_value_page_counts_its_innovations_by_state(which: str, make_app, demo_data) -> None:
    """Value: the innovations the claimed/measured table lists are those live at a selected
    unit at some point — live now or retired since, and the sentence over the table says
    which (it said '37 live innovations' of 35 live + 2 retired); the table lists them all.
    The strategic-impact category (credited nothing: it targets customer satisfaction, no
    money value) says why instead of a blank page, once (not again in the bridge's place)."""
    params, unit_ids, category = _selections(demo_data)[
        ["account", "unit", "category"].index(which)
    ]
    want = _lines_by_hand(demo_data, unit_ids, category)
    states = _by_hand(demo_data, unit_ids, category)
    assert want["live"] == states["live at units"]
    at = make_app("pages/value.py", **params)
    no_exception(at)
    text = plain(texts(at))
    assert _across(text) == want
    assert "No data for this selection" not in text
    (table,) = [d.value for d in at.dataframe if "evidence" in d.value.columns]
    assert len(table) == want["lines"]
    # §7: the estimates and the measured total side by side, both sums, and why they differ
    est = table["estimated"].dropna()
    if len(est):
        n = len(est)
        total = money(float(est.sum()), "USD")
        assert f"The {n} causal estimate{'s add' if n > 1 else ' adds'} up to {total}" in text
        assert "not additive" in text and "over all its units and months live" in text
        assert ("not only the selected units" in text) == bool(unit_ids)
    if category:
        assert "None of the measured value is credited to" in text
        assert "Customer satisfaction" in text
        # said once, where the stacked chart would be, not again where the bridge would be
        notes = [i.value for i in at.info if "None of the measured value" in i.value]
        assert len(notes) == 1
        assert text.count("None of the measured value is credited to") == 1


@pytest.mark.parametrize("which", ["account", "unit", "category"])
def test_present_mode_counts_equal_the_register(which: str, make_app, demo_data) -> None:
    """Present mode: the headline screen's 'Innovations live' card, the closing screen's
    pipeline count, its 'so far' count of the innovations that claimed, and the 'Next to go
    live' table (only innovations in the pipeline: never a live, rejected or retired one)."""
    params, unit_ids, category = _selections(demo_data)[
        ["account", "unit", "category"].index(which)
    ]
    want = _by_hand(demo_data, unit_ids, category)
    at = make_app(present="1", screen="headline", **params)
    no_exception(at)
    card = metric(at, "Innovations live").value
    if unit_ids:
        assert card == f"{want['live at units']} of {want['live']} live"
    else:
        assert card == f"{want['live']} of {want['register']}"

    at = make_app(present="1", screen="next", **params)
    no_exception(at)
    text = plain(texts(at))
    m = re.search(r"(\d+) innovations? in the pipeline claims?", text)
    assert m, text[:300]
    assert int(m.group(1)) == want["in pipeline"]
    lines = _lines_by_hand(demo_data, unit_ids, category)
    m = re.search(
        r"So far the (\d+) (?:live innovations?|innovations? live in the period "
        r"\((\d+) live now(?:, (\d+) retired)?\)) claimed",
        text,
    )
    assert m, text[:400]
    got = {"lines": int(m.group(1)), "retired": int(m.group(3) or 0)}
    assert got == {"lines": lines["lines"], "retired": lines["retired"]}
    (table,) = [d.value for d in at.dataframe if "code" in d.value.columns]
    inn = demo_data.innovations.set_index("code")
    live_anywhere = set(demo_data.rollouts.dropna(subset=["go_live"])["innovation_id"])
    for code in table["code"]:
        assert inn.loc[code, "stage"] not in ("rejected", "retired"), code
        assert inn.loc[code, "innovation_id"] not in live_anywhere, code
        if category:
            assert inn.loc[code, "category"] == category
