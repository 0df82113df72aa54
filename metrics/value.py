"""Measured value against the frozen baseline, and the value claimed for each innovation.

Notation as in docs/ARCHITECTURE.md, Notation: u unit, m month, k KPI, i innovation, B the baseline window,
s_k = +1 when lower is better and −1 otherwise, money_k the money value of one unit of
improvement (per transaction for rate KPIs, per month for level KPIs)::

    benefit[u,k,m]  = s_k · (base[u,k] − actual[u,k,m]) · vol[u,k,m] · money_k   (rate KPIs)
                    = s_k · (base[u,k] − actual[u,k,m]) · money_k                 (level KPIs)
                      booked in cents: cents[u,k,m] = round(100 · benefit[u,k,m]) (half to
                      even), and every total is a sum of cents, so totals reconcile exactly.
    cumulative[t]   = Σ_{u∈U, k, m∈M, m ≤ t} benefit[u,k,m]
    run_rate        = (1/3) Σ_{the last 3 months m of M with data} Σ_{u,k} benefit[u,k,m] · 12
    headline total  = cumulative over the KPIs flagged ``headline`` (that have a money value),
                      so the same saving is never counted twice (cost per transaction already
                      contains handle time).
    live_from[i,u]  = month(go_live[i,u]) when go-live is on the 1st, else the next month
                      (the first FULL live month, as ``metrics.impact.innovation_effect``)
    live_to[i]      = month(retirement date of i) (none when i is not retired): from then on
                      i is not live, credited or claimed; its history before stays
    claimed[i]      = Σ_{u∈U live with i} Σ_{m∈M, live_from[i,u] ≤ m < live_to[i]}
                      claim_i / 12 · share[i,u],
                      share[i,u] = vol_u / Σ_{u' live with i} vol_{u'}, vol_u = u's mean
                      monthly transactions (largest over its rate KPIs), claim_i = the
                      innovation's estimated annual value
    realisation[i]  = measured[i] / claimed[i], measured[i] = i's share of the benefit
                      measured at its units since its go-live (``metrics.attribution``,
                      policy MEASURED) — never capped by the promise
    lines           = the innovations with a claim row (live at a unit in U at some point):
                      live now or retired since (``line_states``), so a count of them names
                      both ("37 innovations live in the period (35 live now, 2 retired)")

Observations may be daily or monthly: ``data_loaders.queries.load_monthly`` aggregates them to
months in SQL (rates volume-weighted, so Σ_days value·vol = actual[u,k,m]·vol[u,k,m] and the
benefit of a month equals the sum of its days'). Months without data are never filled with
zeros: ``missing_months`` lists them so a page can flag them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data_loaders.queries import AccountData
from metrics.baseline import Baseline, account_baseline
from metrics.filters import FilterLike, Filters, in_categories, in_period, in_units, month_of
from metrics.format import plural
from metrics.reuse import reused
from metrics.rules import (
    IN_PIPELINE,
    LIVE,
    RETIRED,
    STATES,
    direction_sign,
    innovation_states,
    retired_on,
)

__all__ = [
    "BENEFIT_COLUMNS",
    "benefit",
    "claimed",
    "cumulative",
    "direction_sign",
    "headline_total",
    "innovations_phrase",
    "uncredited_note",
    "line_states",
    "live_months",
    "measured",
    "missing_months",
    "realisation",
    "run_rate",
    "to_cents",
    "value_kpis",
]

BENEFIT_COLUMNS = ["unit_id", "kpi_key", "month", "volume", "base", "value", "benefit", "cents"]
ALL = Filters()


def to_cents(amount: pd.Series | np.ndarray) -> np.ndarray:
    """``round(100 · amount)`` as int64 (half to even)."""
    return np.rint(np.asarray(amount, dtype=float) * 100.0).astype(np.int64)


def value_kpis(kpis: pd.DataFrame, *, headline_only: bool = True) -> pd.DataFrame:
    """The KPIs with a money value (and, by default, flagged for the headline)."""
    keep = kpis["money_value"].notna().to_numpy()
    if headline_only:
        keep = keep & kpis["headline"].astype(bool).to_numpy()
    return kpis[keep]  # one selection of the frame (each costs more than the test)


def benefit(
    monthly: pd.DataFrame,
    kpis: pd.DataFrame,
    base: pd.DataFrame,
    f: FilterLike = ALL,
    *,
    headline_only: bool = True,
) -> pd.DataFrame:
    """``benefit[u,k,m]`` (module doc) for u ∈ U, m ∈ M and the money KPIs (headline ones by
    default). Columns: unit_id, kpi_key, month, volume, base, value, benefit (= cents / 100),
    cents (int64). Unit-KPI pairs without a baseline are left out (see
    ``metrics.baseline.Baseline.missing``); rows without a value are left out, not zeroed."""
    k = value_kpis(kpis, headline_only=headline_only)
    m = in_period(in_units(monthly, f), f)
    keys = pd.Index(k["key"])
    # base[u,k] looked up on a unit × KPI grid (the inner merge on unit and KPI, in the
    # order of the monthly rows), and s_k, money_k and the rate flag per KPI (a few rows),
    # not per monthly row; KPI keys are matched once per distinct key
    base_units = base["unit_id"].to_numpy()
    units = pd.Index(pd.unique(base_units))
    bu = units.get_indexer(base_units)
    bcodes, bdistinct = pd.factorize(base["kpi_key"])
    bk = np.where(bcodes >= 0, keys.get_indexer(pd.Index(bdistinct))[bcodes], -1)
    ok = bk >= 0
    pair = bu[ok].astype(np.int64) * max(len(keys), 1) + bk[ok]
    if not keys.is_unique or len(np.unique(pair)) != len(pair):
        return _benefit_by_merge(m, k, base)
    grid = np.full((len(units), len(keys)), np.nan)
    has = np.zeros((len(units), len(keys)), dtype=bool)
    grid[bu[ok], bk[ok]] = base["base"].to_numpy(dtype=float)[ok]
    has[bu[ok], bk[ok]] = True
    codes, distinct = pd.factorize(m["kpi_key"])
    kc = np.where(codes >= 0, keys.get_indexer(pd.Index(distinct))[codes], -1)
    uc = units.get_indexer(pd.Index(m["unit_id"]))
    value = m["value"].to_numpy(dtype=float)
    keep = (kc >= 0) & (uc >= 0) & ~np.isnan(value)
    keep[keep] = has[uc[keep], kc[keep]]
    if not keep.any():
        return _empty_benefit()
    kc, uc, value = kc[keep], uc[keep], value[keep]
    s_k = np.array([direction_sign(d) for d in k["direction"]], dtype=float)
    money_k = k["money_value"].to_numpy(dtype=float)
    rate_k = (k["kind"] == "rate").to_numpy()
    b = grid[uc, kc]
    volume = m["volume"].to_numpy(dtype=float)[keep]
    vol = np.where(rate_k[kc], np.where(np.isnan(volume), 0.0, volume), 1.0)
    cents = to_cents(s_k[kc] * (b - value) * vol * money_k[kc])
    return pd.DataFrame(
        {
            "unit_id": m["unit_id"].array[keep],
            "kpi_key": m["kpi_key"].array[keep],
            "month": m["month"].array[keep],
            "volume": volume,
            "base": b,
            "value": value,
            "benefit": cents / 100.0,
            "cents": cents,
        }
    )


def _empty_benefit() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype="int64" if c == "cents" else "float64") for c in BENEFIT_COLUMNS}
    ).astype({"month": "datetime64[ns]"})


def _benefit_by_merge(m: pd.DataFrame, k: pd.DataFrame, base: pd.DataFrame) -> pd.DataFrame:
    """``benefit`` by an inner merge (duplicate KPI keys or baseline pairs: the rows the
    merge multiplies are kept, as they always were)."""
    m = m[m["kpi_key"].isin(k["key"]) & m["value"].notna()]
    m = m.merge(base[["unit_id", "kpi_key", "base"]], on=["unit_id", "kpi_key"])
    if m.empty:
        return _empty_benefit()
    info = k.set_index("key")
    s = m["kpi_key"].map(info["direction"].map(direction_sign)).astype(float)
    money_k = m["kpi_key"].map(info["money_value"]).astype(float)
    vol = np.where(m["kpi_key"].map(info["kind"]) == "rate", m["volume"].fillna(0.0), 1.0)
    cents = to_cents(s * (m["base"] - m["value"]) * vol * money_k)
    m = m.assign(cents=cents, benefit=cents / 100.0)
    return m[BENEFIT_COLUMNS].reset_index(drop=True)


@reused
def measured(
    data: AccountData,
    f: FilterLike = ALL,
    base: Baseline | None = None,
    *,
    headline_only: bool = True,
) -> pd.DataFrame:
    """``benefit`` for an account against its frozen baseline (``account_baseline``)."""
    b = base if base is not None else account_baseline(data)
    return benefit(data.monthly, data.kpis, b.base, f, headline_only=headline_only)


def cumulative(frame: pd.DataFrame) -> pd.DataFrame:
    """Per month of a ``benefit`` frame: ``month, benefit, cents, cumulative`` with
    cents[m] = Σ_{u,k} cents[u,k,m], benefit = cents / 100 and
    cumulative[t] = Σ_{m ≤ t} cents[m] / 100 (months without data are absent, not zero)."""
    if frame.empty:
        return pd.DataFrame(
            {
                "month": pd.Series(dtype="datetime64[ns]"),
                "benefit": pd.Series(dtype=float),
                "cents": pd.Series(dtype="int64"),
                "cumulative": pd.Series(dtype=float),
            }
        )
    g = frame.groupby("month")["cents"].sum().sort_index()
    return pd.DataFrame(
        {
            "month": g.index,
            "benefit": g.to_numpy() / 100.0,
            "cents": g.to_numpy().astype(np.int64),
            "cumulative": g.cumsum().to_numpy() / 100.0,
        }
    ).reset_index(drop=True)


def run_rate(frame: pd.DataFrame, months: int = 3) -> float:
    """``mean of the last 3 months' value × 12`` of a ``benefit`` (or ``cumulative``) frame:
    (1/n) Σ_{last n months with data} Σ_{u,k} benefit · 12, n = min(3, months with data);
    0.0 when there is no data."""
    per = cumulative(frame) if "unit_id" in frame.columns else frame
    if per.empty:
        return 0.0
    tail = per.sort_values("month").tail(months)
    return float(tail["cents"].sum() / len(tail) / 100.0 * 12)


def headline_total(frame: pd.DataFrame, kpis: pd.DataFrame) -> float:
    """``Σ cents / 100`` over the rows of KPIs flagged ``headline``."""
    keys = set(kpis.loc[kpis["headline"].astype(bool), "key"])
    return float(frame.loc[frame["kpi_key"].isin(keys), "cents"].sum() / 100.0)


def missing_months(
    monthly: pd.DataFrame, f: FilterLike = ALL, kpi_keys: list[str] | None = None
) -> pd.DataFrame:
    """The unit × KPI × months inside the selection with no observation: for each unit u ∈ U
    and KPI k it reports (restricted to ``kpi_keys``), every calendar month m ∈ M from
    max(month(start), u's first month for k) to min(month(end), the account's last month)
    without a value. Columns: unit_id, kpi_key, month. Such months add nothing to the
    measured value (they are not zero-filled) and are flagged by the pages."""
    cols = ["unit_id", "kpi_key", "month"]
    empty = pd.DataFrame(
        {
            "unit_id": pd.Series(dtype="int64"),
            "kpi_key": pd.Series(dtype=object),
            "month": pd.Series(dtype="datetime64[ns]"),
        }
    )
    if monthly.empty:
        return empty
    last = monthly["month"].max()
    if f.end is not None:
        last = min(last, month_of(f.end))
    m = in_units(monthly, f)
    if kpi_keys is not None:
        m = m[m["kpi_key"].isin(kpi_keys)]
    m = m[m["value"].notna()]
    if m.empty:
        return empty
    # months as integers (12·year + month − 1) and unit-KPI pairs as codes: the grid of
    # expected months is built with numpy, not row by row
    pair = m.groupby(["unit_id", "kpi_key"], sort=True).ngroup().to_numpy()
    pairs = m[["unit_id", "kpi_key"]].drop_duplicates().sort_values(["unit_id", "kpi_key"])
    mo = (m["month"].dt.year * 12 + m["month"].dt.month - 1).to_numpy(dtype=np.int64)
    first = np.full(len(pairs), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, pair, mo)
    if f.start is not None:
        lo = month_of(f.start)
        first = np.maximum(first, lo.year * 12 + lo.month - 1)
    hi = last.year * 12 + last.month - 1
    n = np.clip(hi - first + 1, 0, None)
    if n.sum() == 0:
        return empty
    code = np.repeat(np.arange(len(pairs), dtype=np.int64), n)
    month = np.repeat(first, n) + (np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n))
    span = 12 * 10_000
    gap = ~np.isin(code * span + month, pair.astype(np.int64) * span + mo)
    code, month = code[gap], month[gap]
    out = pd.DataFrame(
        {
            "unit_id": pairs["unit_id"].to_numpy()[code],
            "kpi_key": pairs["kpi_key"].to_numpy()[code],
            "month": pd.to_datetime({"year": month // 12, "month": month % 12 + 1, "day": 1}),
        }
    )
    return out[cols].astype({"month": "datetime64[ns]"}).reset_index(drop=True)


@reused
def live_months(rollouts: pd.DataFrame, innovations: pd.DataFrame | None = None) -> pd.DataFrame:
    """``innovation_id, unit_id, go_live, live_from, live_to`` per rollout (earliest go-live
    per innovation and unit): live_from = month(go_live) when go-live is on the 1st, else the
    next month — the first full month live; live_to = month(retired_i) for a retired
    innovation (``metrics.rules.retired_on``; from ``innovations``), NaT otherwise. i is live
    at u in month m when live_from ≤ m < live_to: a month holding the retirement is no full
    live month, as a month holding the go-live is not."""
    r = rollouts.dropna(subset=["go_live"])
    if r.empty:
        return pd.DataFrame(
            {
                "innovation_id": pd.Series(dtype="int64"),
                "unit_id": pd.Series(dtype="int64"),
                "go_live": pd.Series(dtype="datetime64[ns]"),
                "live_from": pd.Series(dtype="datetime64[ns]"),
                "live_to": pd.Series(dtype="datetime64[ns]"),
            }
        )
    go = pd.to_datetime(r["go_live"]).dt.normalize()
    r = r.assign(go_live=go, live_from=go + pd.offsets.MonthBegin(0))
    out = r.groupby(["innovation_id", "unit_id"], as_index=False).agg(
        go_live=("go_live", "min"), live_from=("live_from", "min")
    )
    to = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
    if innovations is not None and not innovations.empty:
        ret = retired_on(innovations)
        ret.index = innovations["innovation_id"].to_numpy()
        ret = ret.dropna()
        if not ret.empty:
            to = out["innovation_id"].map(ret.dt.to_period("M").dt.to_timestamp())
    return out.assign(live_to=pd.to_datetime(to).astype("datetime64[ns]"))


def _unit_volume(monthly: pd.DataFrame, kpis: pd.DataFrame) -> pd.Series:
    """vol_u: mean monthly transactions per unit, the largest over its rate KPIs."""
    rate = kpis.loc[kpis["kind"] == "rate", "key"]
    tx = monthly[monthly["kpi_key"].isin(rate)]
    return tx.groupby(["unit_id", "kpi_key"])["volume"].mean().groupby("unit_id").max()


@reused
def claimed(data: AccountData, f: FilterLike = ALL) -> pd.DataFrame:
    """``innovation_id, claimed``: claimed[i] to date (module doc) for the innovations live
    at a unit in U within M (and in the categories C). M counts the months with data."""
    lm_all = live_months(data.rollouts, data.innovations)
    lm = in_units(lm_all, f)
    keep = set(in_categories(data.innovations, f)["innovation_id"])
    lm = lm[lm["innovation_id"].isin(keep)]
    months = in_period(pd.DataFrame({"month": np.sort(data.monthly["month"].unique())}), f)
    if months.empty or lm.empty:
        return pd.DataFrame(
            {"innovation_id": pd.Series(dtype="int64"), "claimed": pd.Series(dtype=float)}
        )
    unit_vol = _unit_volume(data.monthly, data.kpis)
    tot = (
        lm_all.assign(vol=lm_all["unit_id"].map(unit_vol).fillna(0.0))
        .groupby("innovation_id")["vol"]
        .sum()
    )
    eav = data.innovations.set_index("innovation_id")["estimated_annual_value"].astype(float)
    share = (
        lm["unit_id"].map(unit_vol).fillna(0.0) / lm["innovation_id"].map(tot).replace(0, np.nan)
    ).fillna(0.0)
    mo = months["month"].to_numpy()
    to = lm["live_to"].to_numpy()
    hi = np.where(pd.isna(to), len(mo), np.searchsorted(mo, to, side="left"))
    n = np.maximum(hi - np.searchsorted(mo, lm["live_from"].to_numpy(), side="left"), 0)
    amount = lm["innovation_id"].map(eav).fillna(0.0) / 12.0 * share * n
    out = lm.assign(claimed=amount.to_numpy())
    return out.groupby("innovation_id", as_index=False).agg(claimed=("claimed", "sum"))


def realisation(attributed: pd.Series, claimed_value: pd.Series) -> pd.Series:
    """``attributed[i] / claimed[i]`` aligned on the index (NaN when nothing is claimed)."""
    c = claimed_value.reindex(attributed.index.union(claimed_value.index))
    a = attributed.reindex(c.index)
    return a / c.where(c > 0)


def line_states(data: AccountData, f: FilterLike, innovation_ids: pd.Series) -> list[str]:
    """The state (``metrics.rules.innovation_states``) of each of ``innovation_ids`` at the
    end of the last month with data in M, by go-lives at units in U: an innovation credited
    in the period is ``live`` now or ``retired`` since (or ``in pipeline`` when its go-live
    comes after the last month)."""
    months = in_period(pd.DataFrame({"month": data.monthly["month"].unique()}), f)["month"]
    cut = None if months.empty else pd.Timestamp(months.max()) + pd.offsets.MonthEnd(0)
    states = innovation_states(data.innovations, data.rollouts, as_of=cut, unit_ids=f.unit_ids)
    by_id = pd.Series(states.to_numpy(), index=data.innovations["innovation_id"].to_numpy())
    return [str(by_id.get(i, LIVE)) for i in innovation_ids]


def innovations_phrase(states: list[str]) -> str:
    """How many innovations the value lines hold, in their states: "the 19 live
    innovations" when all are live now, else "the 37 innovations live in the period (35 live
    now, 2 retired)" — never "live" for one retired since."""
    n = len(states)
    if all(s == LIVE for s in states):
        return f"the {n} live {plural(n, 'innovation')}"
    words = {LIVE: "live now", RETIRED: "retired", IN_PIPELINE: "going live after it"}
    parts = [f"{states.count(s)} {words.get(s, s)}" for s in STATES if states.count(s)]
    return f"the {n} {plural(n, 'innovation')} live in the period ({', '.join(parts)})"


def uncredited_note(data: AccountData, f: FilterLike = ALL) -> str:
    """Why a selection with live innovations has no credited value (a category whose
    innovations all target KPIs without a money value, e.g. customer satisfaction): said in
    words where the value charts would be, so the page is never blank. "" when no innovation
    of the selection has been live (nothing to explain)."""
    cl = claimed(data, f)
    if cl.empty:
        return ""
    ids = set(cl["innovation_id"])
    phrase = innovations_phrase(line_states(data, f, cl["innovation_id"]))
    keys = set(data.targets.loc[data.targets["innovation_id"].isin(ids), "kpi_key"])
    valued = set(value_kpis(data.kpis)["key"])
    labels = data.kpis.loc[data.kpis["key"].isin(keys - valued), "label"].astype(str).tolist()
    n = len(ids)
    claims = plural(n, "Its claim is", "Their claims are")
    kpis_ = plural(len(labels), "KPI's", "KPIs'")
    if keys and not keys & valued:
        where = (
            " (the whole operation's: a category filter selects innovations, not KPIs)"
            if f.categories
            else ""
        )
        return (
            f"None of the measured value is credited to {phrase}: "
            f"{plural(n, 'it targets', 'they target')} "
            f"{', '.join(sorted(labels, key=str.lower))}, "
            f"{plural(len(labels), 'a KPI', 'KPIs')} without a money value in the headline, so "
            f"no saving is measured for {plural(n, 'it', 'them')}. {claims} listed below; "
            f"the {kpis_} movement is on Then & Now{where}."
        )
    return f"No measured value is credited to {phrase} yet. {claims} listed below."
