"""Attributed value: the measured benefit split among the innovations live where it was
measured.

Notation as in docs/ARCHITECTURE.md, Notation and ``metrics.value``; e_ik is innovation i's expected effect on KPI
k in % (its claim, e.g. −10 for "10 % lower"). For every measured cell c = (u, k, m)::

    L_c            = {i live at (u, m) that target k}: live_from[i,u] ≤ m < live_to[i]
                     (live_to = the retirement month, ``metrics.value.live_months``)
    expected[i,c]  = max(0, s_k · (−e_ik / 100) · base[u,k] · vol[u,k,m] · money_k)
                     (level KPIs without vol): what i promised in this cell, in money
    E_c            = Σ_{i∈L_c} expected[i,c]
    explained_c    = benefit_c when E_c > 0, else 0       (policy ``MEASURED``, the default)
                   = min(max(benefit_c, 0), E_c)          (policy ``CAPPED``)
    attributed[i,c] = explained_c · expected[i,c] / E_c  (i's proportional share)
    unattributed_c  = benefit_c − explained_c            (benefit where no live innovation
                                                          targets the KPI; may be negative)

``MEASURED`` credits each innovation its share of the benefit measured at its units since
its go-live, better or worse than promised — the figure realisation divides by the claim.
``CAPPED`` ("credited at most its expected effect") is a conservative policy shown beside it,
never labelled measured: an innovation is never credited more than it promised, and never a
loss. Worked example (tests/metrics/test_realisation.py): X promises −10 % on a cost of 11.5
at 200, 200, 100 transactions (expected 230 + 230 + 115 = 575) and the cost falls to 9, 8, 8:
measured 500 + 700 + 350 = 1,550 (realisation 1,550 / 1,500 claimed = 103.3 %); capped 575,
and 975 stays unattributed.

Booked in cents by largest remainder: every share x (in cents) is floored, and the
cents[c] − Σ floor(x) cents left are given one each to the largest fractional parts (ties:
lowest innovation id first, the unattributed remainder last), so for every cell
Σ_i attributed[i,c] + unattributed_c = cents[c] exactly, and so for every total.
What no innovation explains is never silently given to one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data_loaders.queries import AccountData
from metrics.baseline import Baseline, account_baseline
from metrics.filters import FilterLike, Filters, in_categories
from metrics.value import direction_sign, live_months, measured

__all__ = [
    "ATTRIBUTION_COLUMNS",
    "CAPPED",
    "MEASURED",
    "POLICY_LABELS",
    "UNATTRIBUTED_ID",
    "attribute",
    "attributed_by_innovation",
    "attribution",
    "largest_remainder",
    "of_categories",
    "selected_value",
]

UNATTRIBUTED_ID = -1
#: Credit policies (module doc): the measured share, and the conservative cap.
MEASURED, CAPPED = "measured", "capped"
POLICY_LABELS = {
    MEASURED: "measured share",
    CAPPED: "credited at most its expected effect",
}
KEYS = ["unit_id", "kpi_key", "month"]
ATTRIBUTION_COLUMNS = [*KEYS, "innovation_id", "amount", "cents"]
ALL = Filters()


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit_id": pd.Series(dtype="int64"),
            "kpi_key": pd.Series(dtype=object),
            "month": pd.Series(dtype="datetime64[ns]"),
            "innovation_id": pd.Series(dtype="int64"),
            "amount": pd.Series(dtype=float),
            "cents": pd.Series(dtype="int64"),
        }
    )


def largest_remainder(group: np.ndarray, parts: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Integer parts that keep each group's total: for group g with float parts x_j (in
    cents) and integer total T_g, floor(x_j) plus one cent each to the T_g − Σ floor(x_j)
    largest fractional parts (the order of ``parts`` breaks ties). ``group`` holds 0..G−1,
    ``totals[g]`` = T_g. Works for any integer shortfall (also negative or above the group
    size, from float noise), so Σ_{j∈g} result_j == T_g always."""
    group = np.asarray(group, dtype=np.int64)
    x = np.asarray(parts, dtype=float)
    base = np.floor(x)
    frac = x - base
    base = base.astype(np.int64)
    size = np.bincount(group, minlength=len(totals)).astype(np.int64)
    short = np.asarray(totals, dtype=np.int64) - np.bincount(
        group, weights=base, minlength=len(totals)
    ).round().astype(np.int64)
    order = np.lexsort((np.arange(len(x)), -frac, group))  # by group, largest frac first
    rank = np.empty(len(x), dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(size)[:-1]])
    rank[order] = np.arange(len(x)) - starts[group[order]]
    n = np.maximum(size[group], 1)
    r = short[group]
    return base + r // n + (rank < (r % n)).astype(np.int64)


def attribute(
    ben: pd.DataFrame,
    live: pd.DataFrame,
    targets: pd.DataFrame,
    kpis: pd.DataFrame,
    *,
    policy: str = MEASURED,
) -> pd.DataFrame:
    """Split each cell of a ``metrics.value.benefit`` frame (formulas in the module doc)
    under ``policy`` (``MEASURED`` or ``CAPPED``).

    ``live``: innovation_id, unit_id, live_from and optionally live_to
    (``metrics.value.live_months``);
    ``targets``: innovation_id, kpi_key, expected_effect_pct; ``kpis``: key, direction, kind,
    money_value. Returns unit_id, kpi_key, month, innovation_id (−1 = unattributed), amount
    (= cents / 100), cents — one row per live targeting innovation and cell (zero amounts
    included) plus one unattributed row per cell; Σ cents per cell = the cell's cents."""
    if policy not in POLICY_LABELS:
        raise ValueError(f"unknown credit policy {policy!r}: use {sorted(POLICY_LABELS)}")
    if ben.empty:
        return _empty()
    b = ben[[*KEYS, "volume", "base", "cents"]].reset_index(drop=True)
    b["cell"] = np.arange(len(b), dtype=np.int64)
    cols = ["innovation_id", "unit_id", "live_from"] + (["live_to"] if "live_to" in live else [])
    lt = live[cols].merge(
        targets[["innovation_id", "kpi_key", "expected_effect_pct"]], on="innovation_id"
    )
    cand = b.merge(lt, on=["unit_id", "kpi_key"])
    on = cand["month"] >= cand["live_from"]
    if "live_to" in cand:  # retired: not live from the retirement month on
        on &= cand["live_to"].isna() | (cand["month"] < cand["live_to"])
    cand = cand[on]
    info = kpis.set_index("key")
    s = cand["kpi_key"].map(info["direction"].map(direction_sign)).astype(float)
    money_k = cand["kpi_key"].map(info["money_value"]).astype(float)
    vol = np.where(cand["kpi_key"].map(info["kind"]) == "rate", cand["volume"].fillna(0.0), 1.0)
    expected = (
        (s * (-cand["expected_effect_pct"].astype(float) / 100.0) * cand["base"] * vol * money_k)
        .clip(lower=0.0)
        .fillna(0.0)
    )
    cand = cand.assign(expected=expected.to_numpy())
    e_tot = np.bincount(cand["cell"], weights=cand["expected"], minlength=len(b))
    measured_c = b["cents"].to_numpy().astype(float)  # in cents
    if policy == CAPPED:
        explained = np.minimum(np.maximum(measured_c, 0.0), e_tot * 100.0)
    else:
        explained = np.where(e_tot > 0, measured_c, 0.0)
    cell = cand["cell"].to_numpy()
    share = np.where(
        e_tot[cell] > 0,
        cand["expected"].to_numpy() / np.where(e_tot[cell] > 0, e_tot[cell], 1.0),
        0.0,
    )
    parts = pd.concat(
        [
            pd.DataFrame(
                {
                    "cell": cell,
                    "innovation_id": cand["innovation_id"].to_numpy(),
                    "x": explained[cell] * share,
                }
            ),
            pd.DataFrame(
                {
                    "cell": b["cell"].to_numpy(),
                    "innovation_id": UNATTRIBUTED_ID,
                    "x": measured_c - explained,
                }
            ),
        ],
        ignore_index=True,
    )
    # ties: lowest innovation id first, the unattributed remainder (−1) last
    parts = parts.assign(
        tie=np.where(
            parts["innovation_id"] == UNATTRIBUTED_ID,
            np.iinfo(np.int64).max,
            parts["innovation_id"],
        )
    )
    parts = parts.sort_values(["cell", "tie"], kind="stable").reset_index(drop=True)
    cents = largest_remainder(
        parts["cell"].to_numpy(), parts["x"].to_numpy(), b["cents"].to_numpy()
    )
    out = b[[*KEYS, "cell"]].merge(parts[["cell", "innovation_id"]].assign(cents=cents), on="cell")
    out = out.assign(
        amount=out["cents"] / 100.0, innovation_id=out["innovation_id"].astype(np.int64)
    )
    return out[ATTRIBUTION_COLUMNS].reset_index(drop=True)


def attribution(
    data: AccountData,
    f: FilterLike = ALL,
    base: Baseline | None = None,
    *,
    policy: str = MEASURED,
) -> pd.DataFrame:
    """``attribute`` over the account's measured benefit for units U and months M.

    With a category filter C only the rows of C's innovations are kept (the unattributed
    remainder belongs to no category), so Σ amount is then the value attributed to C."""
    ben = measured(data, Filters(f.unit_ids, f.start, f.end, None), base)
    out = attribute(
        ben,
        live_months(data.rollouts, data.innovations),
        data.targets,
        data.kpis,
        policy=policy,
    )
    return of_categories(out, data, f)


def of_categories(attr: pd.DataFrame, data: AccountData, f: FilterLike) -> pd.DataFrame:
    """The rows of ``attr`` (an attribution over every category, for the same units and
    months) that belong to the innovations of C; ``attr`` itself when C is open. So the
    attribution of a category selection is that of its units and months, filtered: a
    category change needs no new attribution."""
    if not f.categories:
        return attr
    keep = set(in_categories(data.innovations, f)["innovation_id"])
    return attr[attr["innovation_id"].isin(keep)].reset_index(drop=True)


def attributed_by_innovation(attr: pd.DataFrame) -> pd.DataFrame:
    """``innovation_id, attributed, cents`` per innovation (the unattributed row −1 kept):
    Σ_c attributed[i,c]."""
    g = attr.groupby("innovation_id", as_index=False)["cents"].sum()
    return g.assign(attributed=g["cents"] / 100.0)[["innovation_id", "attributed", "cents"]]


def selected_value(
    data: AccountData,
    f: FilterLike = ALL,
    base: Baseline | None = None,
    attr: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The monthly value the headline and the curve count, as unit_id, kpi_key, month,
    benefit, cents: the measured benefit (``metrics.value.measured``), or — with a category
    filter — the value attributed to those categories' innovations.

    ``base``/``attr``: the account's ``Baseline`` and ``attribution(data, f, base)`` when
    already computed (the same result, without recomputing them)."""
    if f.categories and attr is not None:
        return attr.rename(columns={"amount": "benefit"})
    b = base if base is not None else account_baseline(data)
    if f.categories:
        a = attribution(data, f, b)
        return a.rename(columns={"amount": "benefit"})
    return measured(data, f, b)
