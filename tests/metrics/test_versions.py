"""The data version of the stored estimates: the same data gives the same version; a change
of anything the estimates depend on gives a new one; what they ignore does not."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from sqlalchemy import Engine

from data_loaders.access import Scope
from data_loaders.queries import AccountData, list_accounts, load_account_data
from metrics.versions import estimates_version


@pytest.fixture(scope="module")
def demo(demo_engine: Engine) -> AccountData:
    scope = Scope.everything()
    account_id = int(list_accounts(demo_engine, scope)["account_id"].iloc[0])
    return load_account_data(demo_engine, scope, account_id)


def test_stable_for_the_same_data(demo_engine: Engine, demo: AccountData) -> None:
    v = estimates_version(demo)
    assert len(v) == 64 and int(v, 16) >= 0
    again = load_account_data(demo_engine, Scope.everything(), demo.account.id)
    assert estimates_version(again) == v
    shuffled = dataclasses.replace(
        demo,
        monthly=demo.monthly.sample(frac=1.0, random_state=3),
        rollouts=demo.rollouts.iloc[::-1],
    )
    assert estimates_version(shuffled) == v  # row order is not data


def test_one_observation_changes_it(demo: AccountData) -> None:
    monthly = demo.monthly.copy()
    monthly.loc[monthly.index[17], "value"] *= 1.0001
    assert estimates_version(dataclasses.replace(demo, monthly=monthly)) != estimates_version(demo)
    dropped = demo.monthly.drop(index=demo.monthly.index[17])
    assert estimates_version(dataclasses.replace(demo, monthly=dropped)) != estimates_version(demo)


@pytest.mark.parametrize("change", ["rollout", "target", "kpi", "code", "retired"])
def test_inputs_of_the_estimator_change_it(demo: AccountData, change: str) -> None:
    if change == "rollout":
        r = demo.rollouts.copy()
        r.loc[r.index[0], "go_live"] = r["go_live"].iloc[0] + pd.DateOffset(months=1)
        other = dataclasses.replace(demo, rollouts=r)
    elif change == "target":
        t = demo.targets.copy()
        t.loc[t.index[0], "expected_effect_pct"] += 1.0
        other = dataclasses.replace(demo, targets=t)
    elif change == "kpi":
        k = demo.kpis.copy()
        k.loc[k.index[0], "money_value"] = k["money_value"].fillna(0.0).iloc[0] + 1.0
        other = dataclasses.replace(demo, kpis=k)
    elif change == "retired":  # a retirement ends the estimate's treatment
        i = demo.innovations.copy()
        i.loc[i.index[0], "stage"] = "retired"
        i.loc[i.index[0], "closed_date"] = pd.Timestamp("2025-05-01")
        other = dataclasses.replace(demo, innovations=i)
    else:
        i = demo.innovations.copy()
        i.loc[i.index[0], "code"] = "RENAMED-1"
        other = dataclasses.replace(demo, innovations=i)
    assert estimates_version(other) != estimates_version(demo)


def test_what_the_estimates_ignore_does_not_change_it(demo: AccountData) -> None:
    """An innovation's title or the events do not enter the estimates: no recomputation."""
    i = demo.innovations.copy()
    i.loc[i.index[0], "title"] = "A better title"
    other = dataclasses.replace(demo, innovations=i, events=demo.events.iloc[:0])
    assert estimates_version(other) == estimates_version(demo)
