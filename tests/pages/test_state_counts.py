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
