"""Small, hand-made inputs in the shapes the chart builders document."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def curve() -> pd.DataFrame:
    months = pd.date_range("2023-01-01", "2024-12-01", freq="MS")
    benefit = np.r_[np.zeros(6), np.linspace(1_000, 40_000, len(months) - 6)]
    return pd.DataFrame({"month": months, "benefit": benefit, "cumulative": benefit.cumsum()})


@pytest.fixture
def golives() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.to_datetime(["2023-07-14", "2023-11-02", "2024-05-20"]),
            "code": ["INN-001", "INN-002", "INN-003"],
            "title": ["Robotic claims registration", "Knowledge base", "Error dashboard"],
        }
    )


@pytest.fixture
def events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.to_datetime(["2023-03-01", "2024-01-01"]),
            "title": ["Innovation day", "Contract year 2"],
            "kind": ["innovation day", "contract"],
        }
    )
