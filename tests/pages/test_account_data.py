"""The account's data at the page boundary (``ui.page_context.cached_account_data``): loaded
once per data version for every session, and each caller's frames its own."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from data_loaders.access import Scope
from data_loaders.queries import AccountData, AccountInfo
from ui import page_context

URL = "sqlite:///unused.sqlite"


def _account() -> AccountData:
    day = dt.date(2024, 1, 1)
    info = AccountInfo(1, "Acme", "USD", "en_US", day, day, day, day, 0.4, 1.0, 0.0, 10.0)
    frame = pd.DataFrame({"unit_id": [1, 2], "name": ["Cairo 1", "Cairo 2"]})
    return AccountData(
        account=info,
        units=frame,
        kpis=frame.copy(),
        monthly=pd.DataFrame({"unit_id": [1, 2], "value": [10.0, 20.0]}),
        innovations=frame.copy(),
        targets=frame.copy(),
        rollouts=frame.copy(),
        events=frame.copy(),
    )


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The loader replaced by one that counts its calls (no database)."""
    calls: list[int] = []

    def load(engine: object, scope: Scope, account_id: int) -> AccountData:
        calls.append(account_id)
        return _account()

    monkeypatch.setattr(page_context, "load_account_data", load)
    monkeypatch.setattr(page_context, "engine_for", lambda url: None)
    return calls


def test_the_account_is_loaded_once_per_data_version(loads: list[int]) -> None:
    """Three runs at one version read the database once; a new version reads it again."""
    for _ in range(3):
        page_context.cached_account_data(URL, Scope.everything(), 1, "v1")
    assert loads == [1]
    page_context.cached_account_data(URL, Scope.everything(), 1, "v2")
    assert loads == [1, 1]


def test_a_change_to_one_callers_frames_reaches_no_other_caller(loads: list[int]) -> None:
    """A run that writes into its frames (a new column, a changed value) leaves the next
    run's frames as loaded: monthly values 10 and 20, no extra column."""
    mine = page_context.cached_account_data(URL, Scope.everything(), 1, "v1")
    mine.monthly["extra"] = 1
    mine.monthly.loc[0, "value"] = 99.0
    mine.units.loc[1, "name"] = "changed"
    theirs = page_context.cached_account_data(URL, Scope.everything(), 1, "v1")
    assert loads == [1]
    assert list(theirs.monthly.columns) == ["unit_id", "value"]
    assert theirs.monthly["value"].tolist() == [10.0, 20.0]
    assert theirs.units["name"].tolist() == ["Cairo 1", "Cairo 2"]
    assert mine.monthly["value"].tolist() == [99.0, 20.0]
