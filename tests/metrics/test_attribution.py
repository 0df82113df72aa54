"""metrics.attribution: the measured benefit split among the live innovations that target the
KPI, the explicit unattributed remainder, exact reconciliation in cents, and recovery of the
demo's planted truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.attribution import (
    CAPPED,
    UNATTRIBUTED_ID,
    attributed_by_innovation,
    attribution,
    largest_remainder,
    selected_value,
)
from metrics.filters import Filters
from metrics.value import direction_sign, live_months, measured
from tests.metrics import tables as t

ALL = Filters()


def _per(a: pd.DataFrame) -> dict[int, float]:
    sums = a.groupby("innovation_id")["amount"].sum()
    return {int(k): float(v) for k, v in zip(sums.index, sums.to_numpy(), strict=True)}


def test_split_measured_share_never_capped() -> None:
    # measured share (the default): every cell's benefit goes to the innovations live there
    # that target the KPI, in proportion to their expected effect, better or worse than
    # promised. unit 1 Dec −50 → A −50·100/150 = −33.33, B −16.67; unit 2 Jul–Dec: only B
    # is live there, so it gets the whole 100 a month (not its 50 promise).
    # A 300 + 500 − 33.33 = 766.67; B 250 − 16.67 + 600 = 833.33; unattributed 0.
    d = t.two_innovations()
    a = attribution(d)
    assert _per(a) == {
        1: pytest.approx(766.67),
        2: pytest.approx(833.33),
        UNATTRIBUTED_ID: pytest.approx(0.0),
    }
    assert a["cents"].sum() == measured(d)["cents"].sum() == 160000
    assert not ((a["innovation_id"] == 1) & (a["unit_id"] == 2)).any()
    dec = a[(a["unit_id"] == 1) & (a["month"] == pd.Timestamp("2023-12-01"))]
    assert dec.set_index("innovation_id")["amount"].to_dict() == {1: -33.33, 2: -16.67, -1: 0.0}


def test_split_capped_policy_with_an_explicit_remainder() -> None:
    # the conservative policy: never more than promised, never a loss
    d = t.two_innovations()
    a = attribution(d, policy=CAPPED)
    assert _per(a) == {
        1: pytest.approx(800.0),
        2: pytest.approx(550.0),
        UNATTRIBUTED_ID: pytest.approx(250.0),
    }
    assert a["cents"].sum() == measured(d)["cents"].sum() == 160000
    # A is never credited at unit 2, where it is not live
    assert not ((a["innovation_id"] == 1) & (a["unit_id"] == 2)).any()
    # a loss (unit 1, December) stays unattributed: no innovation gets a negative share
    dec = a[(a["unit_id"] == 1) & (a["month"] == pd.Timestamp("2023-12-01"))]
    assert dec.set_index("innovation_id")["amount"].to_dict() == {1: 0.0, 2: 0.0, -1: -50.0}
    assert (a.loc[a["innovation_id"] >= 0, "cents"] >= 0).all()


def test_unit_and_category_filters() -> None:
    d = t.two_innovations()
    assert _per(attribution(d, Filters(unit_ids=(2,)))) == {
        2: pytest.approx(600.0),
        -1: pytest.approx(0.0),
    }
    assert _per(attribution(d, Filters(unit_ids=(2,)), policy=CAPPED)) == {
        2: pytest.approx(300.0),
        -1: pytest.approx(300.0),
    }
    strategic = attribution(d, Filters(categories=("strategic impact",)))
    assert _per(strategic) == {2: pytest.approx(833.33)}  # the remainder has no category
    v = selected_value(d, Filters(categories=("strategic impact",)))
    assert v["benefit"].sum() == pytest.approx(833.33)
    assert selected_value(d)["benefit"].sum() == pytest.approx(1600.0)


def test_per_innovation_totals() -> None:
    per = attributed_by_innovation(attribution(t.two_innovations())).set_index("innovation_id")
    # Dec: −33.333… and −16.666… cents-rounded by largest remainder → −33.33 and −16.67
    assert per.loc[1, "cents"] == 76667 and per.loc[2, "cents"] == 83333
    assert per.loc[-1, "attributed"] == pytest.approx(0.0)


def test_cents_by_largest_remainder() -> None:
    # 100.00 split 1:1:1 → 33.34 + 33.33 + 33.33 (tie: the first part gets the extra cent)
    got = largest_remainder(np.array([0, 0, 0]), np.full(3, 10000 / 3), np.array([10000]))
    assert got.tolist() == [3334, 3333, 3333]
    # 2:1 of 100.00 → 66.67 + 33.33; two groups at once
    got = largest_remainder(
        np.array([0, 0, 1, 1]), np.array([20000 / 3, 10000 / 3, 0.4, 0.6]), np.array([10000, 1])
    )
    assert got.tolist() == [6667, 3333, 0, 1]
    # totals that the float parts miss by a few cents (noise) are still met exactly
    got = largest_remainder(np.array([0, 0]), np.array([1.2, 1.2]), np.array([0]))
    assert got.sum() == 0
    got = largest_remainder(np.array([0, 0]), np.array([1.0, 1.0]), np.array([7]))
    assert got.sum() == 7


def test_equal_claims_split_a_cent_deterministically() -> None:
    rows = [(1, "cost", f"2023-{m:02d}", 10.0 if m <= 3 else 9.9999, 100) for m in range(1, 5)]
    d = t.data(
        t.monthly(rows),
        kpi_keys=["cost"],
        inn=[(1, "a", 0.0), (2, "a", 0.0), (3, "a", 0.0)],
        targets=[(1, "cost", -5.0), (2, "cost", -5.0), (3, "cost", -5.0)],
        rollouts=[(1, 1, "2023-04-01"), (2, 1, "2023-04-01"), (3, 1, "2023-04-01")],
    )
    # April's benefit: 0.0001·100 = 0.01 € = 1 cent, fully explained, split three ways
    a = attribution(d)
    apr = a[a["month"] == pd.Timestamp("2023-04-01")].set_index("innovation_id")["cents"]
    assert apr.to_dict() == {1: 1, 2: 0, 3: 0, -1: 0}


# --------------------------------------------------------------------------------------
# Property: attributed + unattributed == measured, to the cent, for random tables


@st.composite
def accounts(draw: st.DrawFn) -> t.AccountData:
    n_units = draw(st.integers(1, 3))
    n_months = draw(st.integers(2, 7))
    keys = draw(st.sampled_from([["cost"], ["cost", "csat"], ["cost", "fte"], ["csat", "fte"]]))
    value = st.floats(0.5, 200.0, allow_nan=False)
    volume = st.floats(0.0, 5000.0, allow_nan=False)
    rows = []
    for u in range(1, n_units + 1):
        for k in keys:
            for m in range(1, n_months + 1):
                if m > 1 and draw(st.integers(0, 9)) == 0:
                    continue  # a missing month now and then
                rows.append((u, k, f"2023-{m:02d}", draw(value), draw(volume)))
    n_inn = draw(st.integers(0, 4))
    inn = [(i, "a" if i % 2 else "b", 1000.0) for i in range(1, n_inn + 1)]
    targets, rollouts = [], []
    for i in range(1, n_inn + 1):
        for k in draw(st.lists(st.sampled_from(keys), min_size=1, max_size=2, unique=True)):
            targets.append((i, k, draw(st.floats(-30.0, 5.0, allow_nan=False))))
        for u in draw(st.lists(st.integers(1, n_units), min_size=1, unique=True)):
            rollouts.append(
                (
                    i,
                    u,
                    f"2023-{draw(st.integers(1, n_months)):02d}-"
                    f"{draw(st.sampled_from([1, 10, 28])):02d}",
                )
            )
    return t.data(
        t.monthly(rows),
        kpi_keys=keys,
        inn=inn,
        targets=targets,
        rollouts=rollouts,
        units=list(range(1, n_units + 1)),
        end=f"2023-{draw(st.integers(1, 2)):02d}-28",
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(accounts())
def test_attributed_plus_unattributed_is_measured_to_the_cent(d: t.AccountData) -> None:
    b = measured(d)
    a = attribution(d)
    assert a["cents"].dtype == np.int64
    assert int(a["cents"].sum()) == int(b["cents"].sum())  # the totals, exactly
    cells = ["unit_id", "kpi_key", "month"]
    per_cell = a.groupby(cells)["cents"].sum()
    want = b.set_index(cells)["cents"]
    assert per_cell.reindex(want.index).fillna(0).astype(np.int64).equals(want)  # every cell
    inn = a[a["innovation_id"] != UNATTRIBUTED_ID]
    # measured share: a cell's benefit goes wholly to innovations, or wholly unattributed
    got = inn.groupby(cells)["cents"].sum().reindex(want.index).fillna(0)
    assert ((got == want) | (got == 0)).all()
    assert (np.rint(a["amount"] * 100) == a["cents"]).all()  # amount = cents / 100
    # the capped policy: the same totals, never a loss, never more than was measured
    c = attribution(d, policy=CAPPED)
    assert int(c["cents"].sum()) == int(b["cents"].sum())
    cinn = c[c["innovation_id"] != UNATTRIBUTED_ID]
    assert (cinn["cents"] >= 0).all()
    cgot = cinn.groupby(cells)["cents"].sum().reindex(want.index).fillna(0)
    assert (cgot <= want.clip(lower=0)).all()


# --------------------------------------------------------------------------------------
# The demo's planted truth


def planted_value(data: t.AccountData, planted: pd.DataFrame) -> pd.DataFrame:
    """The money each innovation truly saved, from the generator's planted effects e_j.

    The demo makes value = base·season·drift·Π_j (1 + e_j·live_j)·noise, so in a full live
    month of unit u the innovations live there took the KPI from actual / Π_j (1 + e_j) down
    to actual: a saving of s_k·actual·(1/Π_j (1 + e_j) − 1)·vol·money_k. Effects compound, so
    that joint saving is more than the sum of each one's own; it is split in proportion to
    −log(1 + e_i), the share of each in the (additive) log reduction — its exact
    decomposition. Full live months only (the months attribution counts), headline money
    KPIs only. Columns: innovation_id, planted."""
    info = data.kpis.set_index("key")
    keys = [
        k
        for k in info.index
        if bool(info.loc[k, "headline"]) and not pd.isna(info.loc[k, "money_value"])
    ]
    lm = live_months(data.rollouts, data.innovations).merge(
        planted[["innovation_id", "kpi_key", "effect_pct"]], on="innovation_id"
    )
    x = data.monthly[data.monthly["kpi_key"].isin(keys)].merge(lm, on=["unit_id", "kpi_key"])
    # the months attribution credits: from the first full live month to the retirement
    # (the demo generator keeps a retired innovation's effect in the data; it is measured,
    # but no longer credited to it)
    on = (x["month"] >= x["live_from"]) & (x["live_to"].isna() | (x["month"] < x["live_to"]))
    x = x[on].copy()
    x["log"] = -np.log1p(x["effect_pct"].astype(float) / 100.0)
    total_log = x.groupby(["unit_id", "kpi_key", "month"])["log"].transform("sum")
    sign = x["kpi_key"].map(info["direction"].map(direction_sign))
    saving = (
        sign
        * x["value"]
        * np.expm1(total_log)
        * x["volume"]
        * x["kpi_key"].map(info["money_value"])
    )
    x["planted"] = saving * x["log"] / total_log
    return x.groupby("innovation_id")["planted"].sum().reset_index()


def test_demo_attribution_recovers_the_planted_truth(demo_engine) -> None:
    """Tolerances, and why (measured on demo seeds 1-5 and 7 while writing this test):

    * attribution shares each month's measured benefit by the CLAIMED effects, which the
      generator makes optimistic by a random 0-30 %; the benefit also carries a wage drift on
      cost that no innovation explains (it lowers what is measured), seasonality and
      0.6-2.5 % noise a month. Seen: the total 6-8 % below the truth, single innovations off
      by 7-9 % (median) and at most 24 %.
    * total attributed within ±12 % of the total planted value;
    * Σ_i |attributed_i − planted_i| / Σ planted ≤ 15 % (seen: 8-10 %);
    * every innovation within ±40 % of its planted value (seen: at most 24 % with the
      capped policy; with the measured share, which also credits noise and drift to the
      innovations live where they happen, and with credit stopped at retirement while the
      generator keeps a retired innovation's effect in the data, seed 1 gives at most 39 %,
      INN-024 — a retired neighbour's lingering effect lands on it).
    Negative controls show the bounds can fail: the same amounts shuffled among the
    innovations, or split equally, are 70-110 % off on the weighted measure.
    """
    from data_loaders.access import Scope
    from data_loaders.queries import load_account_data, load_planted

    scope = Scope.everything()
    data = load_account_data(demo_engine, scope, 1)
    truth = planted_value(data, load_planted(demo_engine, scope, 1))
    assert len(truth) >= 20  # innovations on cost per transaction and error rate
    per = attributed_by_innovation(attribution(data)).set_index("innovation_id")["attributed"]
    truth["attributed"] = truth["innovation_id"].map(per).fillna(0.0)

    def weighted_error(attributed: np.ndarray) -> float:
        return float(np.abs(attributed - truth["planted"]).sum() / truth["planted"].sum())

    total = truth["attributed"].sum() / truth["planted"].sum()
    assert 0.88 <= total <= 1.12, total
    assert weighted_error(truth["attributed"].to_numpy()) <= 0.15
    rel = (truth["attributed"] / truth["planted"] - 1.0).abs()
    assert (rel <= 0.40).all(), truth.assign(rel=rel)

    shuffled = truth["attributed"].to_numpy()[np.random.default_rng(0).permutation(len(truth))]
    equal = np.full(len(truth), truth["attributed"].mean())
    assert weighted_error(shuffled) > 0.15 and weighted_error(equal) > 0.15

    # and the measured total (everything that changed) is near the sum of the planted effects
    m = measured(data)
    assert m["benefit"].sum() == pytest.approx(truth["planted"].sum(), rel=0.10)
