"""Small hand-made accounts for the metrics tests: every figure can be worked out on paper."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd

from data_loaders.queries import AccountData, AccountInfo

# key, direction, kind, money value, headline
KPIS: list[tuple[str, str, str, float | None, bool]] = [
    ("cost", "lower", "rate", 1.0, True),  # money per transaction and unit of cost
    ("csat", "higher", "rate", 0.5, True),  # higher is better
    ("fte", "lower", "level", 100.0, True),  # a level: money per FTE and month
    ("aht", "lower", "rate", 0.01, False),  # has money, but not in the headline
    ("volume", "higher", "level", None, False),  # no money value
]


def ts(s: str) -> pd.Timestamp:
    return pd.Timestamp(s)


def account(start: str = "2023-01-01", end: str = "2023-03-31", **over: object) -> AccountInfo:
    base: dict[str, object] = dict(
        id=1,
        name="Tiny",
        currency="EUR",
        locale="de_DE",
        contract_start=dt.date(2023, 1, 1),
        contract_end=dt.date(2024, 12, 31),
        baseline_start=pd.Timestamp(start).date(),
        baseline_end=pd.Timestamp(end).date(),
        gain_share_pct=40.0,
        savings_goal_per_year=1000.0,
        productivity_pct_per_year=5.0,
        innovation_days_per_year=10.0,
    )
    base.update(over)
    return AccountInfo(**base)  # type: ignore[arg-type]  # test options override typed fields by keyword; AccountInfo checks nothing at runtime


def monthly(rows: Iterable[tuple[int, str, str, float, float]]) -> pd.DataFrame:
    """(unit_id, kpi_key, 'YYYY-MM', value, volume) → the frame of ``AccountData.monthly``."""
    df = pd.DataFrame(list(rows), columns=["unit_id", "kpi_key", "month", "value", "volume"])
    df["month"] = pd.to_datetime(df["month"] + "-01").astype("datetime64[ns]")
    df["value"] = df["value"].astype(float)
    df["volume"] = df["volume"].astype(float)
    df["n_obs"], df["grain"] = 1, "month"
    return df


def kpis(keys: Sequence[str] | None = None) -> pd.DataFrame:
    rows = [k for k in KPIS if keys is None or k[0] in keys]
    return pd.DataFrame(
        {
            "kpi_id": range(1, len(rows) + 1),
            "key": [r[0] for r in rows],
            "label": [r[0].upper() for r in rows],
            "unit_of_measure": ["EUR" if r[0] == "cost" else "score" for r in rows],
            "direction": [r[1] for r in rows],
            "kind": [r[2] for r in rows],
            "money_value": [np.nan if r[3] is None else r[3] for r in rows],
            "headline": [r[4] for r in rows],
        }
    )


def innovations(specs: Sequence[tuple[int, str, float]]) -> pd.DataFrame:
    """(innovation_id, category, estimated annual value) → the register."""
    n = len(specs)
    dates = {
        c: pd.Series([pd.NaT] * n, dtype="datetime64[ns]")
        for c in ("evaluation_date", "prototype_date", "pilot_date", "scaled_date", "closed_date")
    }
    return pd.DataFrame(
        {
            "innovation_id": [s[0] for s in specs],
            "code": [f"INN-{s[0]}" for s in specs],
            "title": [f"Innovation {s[0]}" for s in specs],
            "description": [""] * n,
            "category": [s[1] for s in specs],
            "scale": ["continuous improvement"] * n,
            "origin": ["joint"] * n,
            "stage": ["scaled"] * n,
            "idea_date": pd.Series([pd.Timestamp("2022-12-01")] * n, dtype="datetime64[ns]"),
            **dates,
            "owner": [""] * n,
            "estimated_annual_value": [float(s[2]) for s in specs],
            "innovation_days": [1.0] * n,
            "gain_share_eligible": [True] * n,
            "evidence_status": ["none"] * n,
        }
    )


def data(
    m: pd.DataFrame,
    *,
    kpi_keys: Sequence[str] | None = None,
    inn: Sequence[tuple[int, str, float]] = (),
    targets: Sequence[tuple[int, str, float]] = (),
    rollouts: Sequence[tuple[int, int, str]] = (),
    units: Sequence[int] | None = None,
    **acc: object,
) -> AccountData:
    """An ``AccountData`` from a monthly frame and (id, category, claim) innovations,
    (id, kpi, expected %) targets and (id, unit, 'YYYY-MM-DD') rollouts."""
    uids = sorted(set(m["unit_id"])) if units is None else list(units)
    sites = ["Lyon", "Nice", "Oslo", "Rome", "Bern"]
    u = pd.DataFrame(
        {
            "unit_id": uids,
            "site": [sites[i % 5] for i in range(len(uids))],
            "process": ["Claims"] * len(uids),
            "region": ["EU"] * len(uids),
        }
    )
    u["name"] = u["site"] + " · " + u["process"]
    t = pd.DataFrame(list(targets), columns=["innovation_id", "kpi_key", "expected_effect_pct"])
    r = pd.DataFrame(list(rollouts), columns=["innovation_id", "unit_id", "go_live"])
    r["go_live"] = pd.to_datetime(r["go_live"]).astype("datetime64[ns]")
    ev = pd.DataFrame(
        {
            "date": pd.Series(dtype="datetime64[ns]"),
            "title": pd.Series(dtype=str),
            "kind": pd.Series(dtype=str),
            "description": pd.Series(dtype=str),
        }
    )
    return AccountData(
        account=account(**cast("dict[str, Any]", acc)),  # options pass through untyped
        units=u,
        kpis=kpis(kpi_keys),
        monthly=m,
        innovations=innovations(inn),
        targets=t,
        rollouts=r,
        events=ev,
    )


def two_innovations() -> AccountData:
    """cost (rate, 1 €/txn), baseline Jan–Mar at 10 on 100 txn at units 1 and 2.

    A (−10 %, operational efficiency) goes live at unit 1 ONLY, on Apr 1 (live from April);
    B (−5 %, strategic impact) at units 1 and 2 on Jun 15 (live from July).
    Expected per month: A 0.10·10·100 = 100, B 0.05·10·100 = 50.

    unit 1: Apr–Jun 9.0  → benefit 100, A alone explains 100          → A 100
            Jul–Nov 8.5  → benefit 150 = A 100 + B 50 expected        → A 100, B 50
            Dec    10.5  → benefit −50: nothing explained              → unattributed −50
    unit 2: Apr–Jun 10.0 → 0
            Jul–Dec 9.0  → benefit 100, only B live (A is not there): B 50, unattributed 50
    Totals under the capped policy (``metrics.attribution.CAPPED``): A 3·100 + 5·100 = 800;
    B 5·50 + 6·50 = 550; unattributed −50 + 6·50 = 250; measured 1,600 = 800 + 550 + 250.
    Under the measured share (the default) unit 1's December −50 is shared A −33.33,
    B −16.67, and B gets all of unit 2's 100 a month: A 766.67, B 833.33, unattributed 0.
    """
    rows = []
    for m in range(1, 13):
        mo = f"2023-{m:02d}"
        u1 = 10.0 if m <= 3 else 9.0 if m <= 6 else 8.5 if m <= 11 else 10.5
        u2 = 10.0 if m <= 6 else 9.0
        rows += [(1, "cost", mo, u1, 100), (2, "cost", mo, u2, 100)]
    return data(
        monthly(rows),
        kpi_keys=["cost"],
        inn=[(1, "operational efficiency", 1200.0), (2, "strategic impact", 600.0)],
        targets=[(1, "cost", -10.0), (2, "cost", -5.0)],
        rollouts=[(1, 1, "2023-04-01"), (2, 1, "2023-06-15"), (2, 2, "2023-06-15")],
    )
