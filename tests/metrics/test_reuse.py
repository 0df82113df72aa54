"""metrics.reuse: one computation per pass, nothing remembered outside it, frames handed out
as copies (the story built in one pass: tests/reports/test_pack.py)."""

from __future__ import annotations

import pandas as pd

from metrics.reuse import one_pass, reused

CALLS: list[tuple[object, ...]] = []


@reused
def _total(frame: pd.DataFrame, column: str, *, scale: float = 1.0) -> pd.DataFrame:
    CALLS.append((id(frame), column, scale))
    return pd.DataFrame({"total": [frame[column].sum() * scale]})


def test_same_arguments_are_computed_once_per_pass() -> None:
    CALLS.clear()
    f = pd.DataFrame({"a": [1, 2, 3]})
    with one_pass():
        assert _total(f, "a")["total"].iloc[0] == 6
        assert _total(f, "a")["total"].iloc[0] == 6
        assert _total(f, "a", scale=2.0)["total"].iloc[0] == 12  # other arguments: computed
        other = pd.DataFrame({"a": [1, 2, 3]})  # equal, but another frame: computed
        assert _total(other, "a")["total"].iloc[0] == 6
    assert len(CALLS) == 3


def test_nothing_is_remembered_outside_a_pass() -> None:
    CALLS.clear()
    f = pd.DataFrame({"a": [1, 2]})
    _total(f, "a")
    _total(f, "a")
    with one_pass():
        _total(f, "a")
    with one_pass():
        _total(f, "a")
    assert len(CALLS) == 4


def test_a_caller_changing_its_result_does_not_change_the_next_callers() -> None:
    f = pd.DataFrame({"a": [5]})
    with one_pass():
        first = _total(f, "a")
        first.loc[0, "total"] = -1
        first["extra"] = 1
        again = _total(f, "a")
    assert again["total"].iloc[0] == 5 and "extra" not in again.columns
