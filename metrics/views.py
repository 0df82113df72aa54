"""View models for the Story, Then & Now, Value and Contract pages and present mode.

Pure functions over ``data_loaders.queries.AccountData`` (no Streamlit, no database). Each
returns exactly what a chart builder or a card needs, with money already formatted by Babel in
the account's currency and locale, so the page, present mode and the tests show one figure.

Each view only assembles metric results; the formulas are written once, in the docstrings of
the metric modules it calls (notation: docs/ARCHITECTURE.md, Notation): baseline
``metrics.baseline``, measured benefit, value to date, run-rate, live months and claimed value
``metrics.value``, attribution and the capped policy ``metrics.attribution``, the headline
``metrics.headline``, then vs now ``metrics.then_now`` and ``metrics.scorecard``, the
productivity clause, gain-share and innovation days ``metrics.contract``, the pipeline
``metrics.pipeline``; the causal estimates come from ``services.estimates`` (the estimator:
``metrics.impact``). Help texts and the estimates sentence are ``metrics.method_notes``'s.

Filters: ``unit_ids`` limits units; ``start``/``end`` (first-of-month dates) limit months of
value and the photo's defaults; ``categories`` limits innovations — with a category filter the
value figures are the value *attributed* to those categories' innovations (the unattributed
remainder belongs to no category).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from data_loaders.queries import AccountData
from metrics import attribution as attribution_metrics
from metrics import contract as contract_metrics
from metrics import headline as headline_metrics
from metrics import innovation_views as iv
from metrics import method_notes, rules, scorecard
from metrics import narrative as story
from metrics import outlook as outlook_metrics
from metrics import pipeline as pipeline_metrics
from metrics import then_now as then_now_metrics
from metrics import value as value_metrics
from metrics.baseline import Baseline, account_baseline
from metrics.filters import FilterLike, Filters, in_categories, in_period, in_units, month_of
from metrics.format import kpi_value, money, number, pct, plural
from metrics.rules import evidence_label, retired_on

__all__ = [
    "BRIDGE_TOP",
    "ContractView",
    "CurveView",
    "HeadlineView",
    "Photo",
    "PipelineView",
    "baseline",
    "bridge_steps",
    "contract_view",
    "curve_view",
    "default_photo_periods",
    "has_data",
    "headline_view",
    "narrative",
    "photo",
    "pipeline_view",
    "value_by",
    "value_lines",
]

BRIDGE_TOP = rules.NAMED_INNOVATIONS  # the bridge and the stacked chart name the same ones
UNATTRIBUTED = "unattributed"


# --------------------------------------------------------------------------------------
# Core: baseline, benefit, live months, attribution
# --------------------------------------------------------------------------------------


def baseline(data: AccountData) -> pd.DataFrame:
    """``unit_id, kpi_key, base`` over the frozen baseline window (``metrics.baseline``).

    Unit-KPI pairs with data after the window but none in it get no row (their value is not
    measured); ``baseline_gaps`` lists them for the pages."""
    return account_baseline(data).base[["unit_id", "kpi_key", "base"]]


def baseline_gaps(
    data: AccountData, f: FilterLike | None = None, base: Baseline | None = None
) -> pd.DataFrame:
    """``unit, kpi, first_month`` of the selected units' KPIs that have no baseline (no data
    in the window, data after it): shown on the pages instead of failing them."""
    b = base if base is not None else account_baseline(data)
    miss = b.missing if f is None else in_units(b.missing, f)
    return pd.DataFrame(
        {
            "unit": [b.unit_names.get(int(u), f"unit {u}") for u in miss["unit_id"]],
            "kpi": miss["kpi_key"].astype(str).tolist(),
            "first_month": miss["first_month"].tolist(),
        }
    )


def has_data(data: AccountData, f: FilterLike) -> bool:
    """True when the selected units have KPI observations in the selected period."""
    return not in_period(in_units(data.monthly, f), f).empty


# --------------------------------------------------------------------------------------
# Headline and curve
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeadlineView:
    value_to_date: float
    run_rate: float
    innovations_live: int
    innovations_total: int
    evidence_mix: dict[str, int]  # level → number of live innovations
    as_of: dt.date
    since: dt.date
    value_text: str
    run_rate_text: str
    live_text: str
    evidence_text: str
    caption: str
    value_help: str
    run_rate_help: str
    live_help: str
    evidence_help: str
    claimed_value: float = 0.0
    unattributed_value: float = 0.0
    missing_months: int = 0  # unit × KPI × months of the headline KPIs without data
    baseline_missing: tuple[str, ...] = ()  # "unit × KPI" pairs without a baseline
    gaps_text: str = ""  # what is not counted and why ("" when nothing is missing)


def _gaps_text(h: headline_metrics.Headline, locale: str) -> str:
    parts = []
    if h.missing_months:
        parts.append(
            f"{number(h.missing_months, locale, 0)} unit-months of the headline KPIs "
            f"have no data and add nothing (they are not filled with zeros)"
        )
    if h.baseline_missing:
        names = "; ".join(h.baseline_missing[:3]) + (
            f" and {len(h.baseline_missing) - 3} more" if len(h.baseline_missing) > 3 else ""
        )
        parts.append(f"no baseline for {names} (no data in the baseline window): not measured")
    return ("Not counted: " + "; ".join(parts) + ".") if parts else ""


def headline_view(
    data: AccountData,
    f: FilterLike,
    evidence: pd.DataFrame | None = None,
    *,
    base: Baseline | None = None,
    attr: pd.DataFrame | None = None,
) -> HeadlineView | None:
    """The four headline cards (``metrics.headline.headline`` with Babel texts); None when
    the selection has no value data.

    ``evidence`` (from ``services.estimates``) gives each innovation's evidence level; without it every
    live innovation counts as measured when it has a measured benefit, else claimed.
    """
    h = headline_metrics.headline(data, f, evidence=evidence, base=base, attr=attr)
    if h is None:
        return None
    total, run_rate, mix, n = h.cumulative_value, h.run_rate, h.evidence_mix, h.innovations_live
    as_of, since = month_of(h.as_of), pd.Timestamp(h.first_month)
    cur, loc = data.account.currency, data.account.locale
    return HeadlineView(
        value_to_date=total,
        run_rate=run_rate,
        innovations_live=n,
        innovations_total=h.innovations_total,
        evidence_mix=mix,
        as_of=as_of.date(),
        since=since.date(),
        value_text=money(total, cur, loc),
        run_rate_text=money(run_rate, cur, loc),
        live_text=(
            f"{n} of {h.innovations_total}"
            if not f.unit_ids
            else f"{n} of {h.innovations_live_account} live"
        ),
        evidence_text=f"{mix['estimated']} of {n}" if n else "—",
        caption=(
            f"Measured against the frozen baseline "
            f"({data.account.baseline_start:%b %Y} – {data.account.baseline_end:%b %Y}); "
            f"{since:%b %Y} – {as_of:%b %Y}; {cur}."
        ),
        value_help=method_notes.value_help(money(total, cur, loc, compact=False)),
        run_rate_help=method_notes.run_rate_help(h.run_rate_months),
        live_help=method_notes.live_help(units_selected=bool(f.unit_ids)),
        evidence_help=method_notes.evidence_help(mix, n),
        claimed_value=h.claimed_value,
        unattributed_value=h.unattributed_value,
        missing_months=h.missing_months,
        baseline_missing=h.baseline_missing,
        gaps_text=_gaps_text(h, loc),
    )


@dataclass(frozen=True, eq=False)
class CurveView:
    curve: pd.DataFrame  # month, benefit, cumulative (cents, exact)
    golives: pd.DataFrame  # date, code, title, category
    events: pd.DataFrame  # date, title, kind
    money_text: list[str]
    money_by_month: dict[str, str]
    # date, code, title: innovations live in the selection that retired within the curve
    # (their credit and claim stop there; the charts mark it)
    retirements: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["date", "code", "title"])
    )


def curve_view(
    data: AccountData,
    f: FilterLike,
    *,
    base: Baseline | None = None,
    attr: pd.DataFrame | None = None,
) -> CurveView | None:
    """The cumulative value curve (``metrics.value.cumulative``) with go-lives and events.
    With a category filter the curve is the categories' credited value over the months of
    the selected units and period (zero where they are credited nothing, never a shorter
    period)."""
    v = attribution_metrics.selected_value(data, f, base, attr)
    if f.categories:
        span = value_metrics.measured(data, Filters(f.unit_ids, f.start, f.end, None), base)
        v = pd.concat([v, span.assign(benefit=0.0, cents=0)], ignore_index=True)
    if v.empty:
        return None
    monthly = value_metrics.cumulative(v)[["month", "benefit", "cumulative"]]
    cur, loc = data.account.currency, data.account.locale
    texts = [money(x, cur, loc, compact=False) for x in monthly["cumulative"]]
    lm = in_units(value_metrics.live_months(data.rollouts), f)
    first = lm.groupby("innovation_id", as_index=False)["go_live"].min()
    inn = in_categories(data.innovations, f)[["innovation_id", "code", "title", "category"]]
    golives = first.merge(inn, on="innovation_id").rename(columns={"go_live": "date"})
    golives = golives[["date", "code", "title", "category"]].sort_values("date")
    ret = inn.assign(date=retired_on(in_categories(data.innovations, f)).reindex(inn.index))
    ret = ret[ret["date"].notna() & ret["innovation_id"].isin(set(first["innovation_id"]))]
    lo, hi = monthly["month"].min(), monthly["month"].max() + pd.offsets.MonthEnd(0)
    ret = ret[(ret["date"] >= lo) & (ret["date"] <= hi)]
    events = data.events[["date", "title", "kind"]].copy()
    return CurveView(
        retirements=ret[["date", "code", "title"]].sort_values("date").reset_index(drop=True),
        curve=monthly.reset_index(drop=True),
        golives=golives.reset_index(drop=True),
        events=events,
        money_text=texts,
        money_by_month=dict(zip(monthly["month"].dt.strftime("%Y-%m-%d"), texts, strict=True)),
    )


# --------------------------------------------------------------------------------------
# Then vs now (the photo)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Photo:
    then: tuple[dt.date, dt.date]
    now: tuple[dt.date, dt.date]
    then_label: str
    now_label: str
    cards: pd.DataFrame  # key, label, then, now, change, pct_change, better, *_text
    between: pd.DataFrame  # code, title, category, went live
    between_sentence: str
    unit_golives: int = 0  # rollouts in between, also of innovations live elsewhere


def default_photo_periods(
    data: AccountData, f: FilterLike | None = None
) -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]]:
    """Then = the baseline window; now = the last full calendar quarter in the data (within
    the selected period when one is set; the last three months if no quarter is complete).
    See ``metrics.then_now.default_periods``."""
    a = data.account
    return then_now_metrics.default_periods(
        data.monthly["month"].unique(),
        (a.baseline_start, a.baseline_end),
        start=f.start if f is not None else None,
        end=f.end if f is not None else None,
    )


def photo(
    data: AccountData,
    f: FilterLike,
    then: tuple[dt.date, dt.date] | None = None,
    now: tuple[dt.date, dt.date] | None = None,
) -> Photo | None:
    """The same KPI scorecard at two periods (defaults: ``default_photo_periods``), from
    ``metrics.then_now.then_vs_now``, with Babel texts; None when a period has no data."""
    tn = then_now_metrics.then_vs_now(
        data, then, now, unit_ids=f.unit_ids, start=f.start, end=f.end, categories=f.categories
    )
    if tn.scorecard["then"].isna().all() or tn.scorecard["now"].isna().all():
        return None
    cards = tn.complete
    cur, loc = data.account.currency, data.account.locale
    cards["then_text"] = [
        kpi_value(v, u, cur, loc)
        for v, u in zip(cards["then"], cards["unit_of_measure"], strict=True)
    ]
    cards["now_text"] = [
        kpi_value(v, u, cur, loc)
        for v, u in zip(cards["now"], cards["unit_of_measure"], strict=True)
    ]
    cards["delta_text"] = [pct(p, loc) for p in cards["pct_change"]]
    cards = scorecard.weigh(cards, cur, loc)  # demand neutral; FTE per 1,000 transactions
    between = tn.went_live.rename(columns={"went_live": "went live"})[
        ["code", "title", "category", "went live"]
    ]
    sentence = story.render_beat(
        story.went_live_beat(
            tn.then_label,
            tn.now_label,
            len(between),
            units_selected=bool(f.unit_ids),
            unit_golives=tn.unit_golives,
            categories_selected=bool(f.categories),
        ),
        cur,
        loc,
        markdown=True,
    )
    return Photo(
        then=tn.then,
        now=tn.now,
        then_label=tn.then_label,
        now_label=tn.now_label,
        cards=cards,
        between=between,
        between_sentence=sentence,
        unit_golives=tn.unit_golives,
    )


# --------------------------------------------------------------------------------------
# Value: by category / innovation, bridge, claimed vs measured vs estimated
# --------------------------------------------------------------------------------------


def _names(data: AccountData) -> pd.DataFrame:
    inn = data.innovations[["innovation_id", "code", "title", "category"]]
    extra = pd.DataFrame(
        {"innovation_id": [-1], "code": [""], "title": ["Unattributed"], "category": [UNATTRIBUTED]}
    )
    return pd.concat([inn, extra], ignore_index=True)


def value_by(
    data: AccountData,
    f: FilterLike,
    by: str = "category",
    top: int = BRIDGE_TOP,
    *,
    base: Baseline | None = None,
    attr: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Value to date per month stacked by ``category`` or ``innovation`` (the innovations
    ``rules.named_innovations`` names — the bridge's — the rest as "N other innovations").
    Columns: month, group, cumulative, order (0 = largest)."""
    a = attr if attr is not None else attribution_metrics.attribution(data, f, base)
    if a.empty:
        return pd.DataFrame(columns=["month", "group", "cumulative", "order"])
    a = a.merge(_names(data), on="innovation_id")
    if by == "category":
        a["group"] = a["category"]
    else:
        sizes = a[a["innovation_id"] >= 0].groupby("innovation_id")["amount"].sum()
        keep = set(rules.named_innovations(sizes, top))
        others = len(sizes) - len(keep)
        a["group"] = np.where(
            a["innovation_id"] == -1,
            "Unattributed",
            np.where(
                a["innovation_id"].isin(keep),
                a["code"] + " " + a["title"],
                f"{others} other {plural(others, 'innovation')}",
            ),
        )
    g = a.groupby(["group", "month"])["amount"].sum().unstack(0).sort_index().fillna(0.0)
    g = g.cumsum()
    order = g.iloc[-1].sort_values(ascending=False)
    ranks = {name: i for i, name in enumerate(order.index)}
    long = g.reset_index().melt(id_vars="month", var_name="group", value_name="cumulative")
    long["order"] = long["group"].map(ranks)
    return long.sort_values(["order", "month"]).reset_index(drop=True)


def bridge_steps(
    data: AccountData,
    f: FilterLike,
    top: int = BRIDGE_TOP,
    *,
    base: Baseline | None = None,
    attr: pd.DataFrame | None = None,
    evidence: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Baseline → now: one step per innovation (the ``top`` largest by |value|, the rest in
    one step), the unattributed remainder, and the total. Columns: label, value, kind, text,
    code (innovation code or ""), evidence, estimate_text, evidence_text. Every step's value
    is **measured** (the benefit credited to the innovation); summed in cents, so the steps
    add up to the total exactly (and the total equals the headline's value to date).

    ``evidence`` (innovation_id, evidence[, estimated] — ``evidence_of(value_lines(…))``)
    gives each innovation's step its evidence level (key) and, apart from the measured
    value, its causal estimate (``estimate_text``) and the words shown beside the bar
    (``evidence_text``: "evidence: proven (causal estimate), estimate $1.45M"); without it,
    and for the grouped, unattributed and total steps, they are ""."""
    a = attr if attr is not None else attribution_metrics.attribution(data, f, base)
    if a.empty:
        return pd.DataFrame(columns=["label", "value", "kind", "text", "code", "evidence"])
    per = attribution_metrics.attributed_by_innovation(a).merge(_names(data), on="innovation_id")
    inn = per[per["innovation_id"] >= 0]
    named = rules.named_innovations(inn.set_index("innovation_id")["cents"], top)
    head = inn.set_index("innovation_id").loc[named].reset_index()
    tail = inn[~inn["innovation_id"].isin(named)]
    rows = [
        (f"{c} {t}", int(n), "step", str(c))
        for c, t, n in zip(
            head["code"].tolist(), head["title"].tolist(), head["cents"].tolist(), strict=True
        )
    ]
    if not tail.empty:
        rows.append(
            (
                f"{len(tail)} other {plural(len(tail), 'innovation')}",
                int(tail["cents"].sum()),
                "step",
                "",
            )
        )
    un = int(per.loc[per["innovation_id"] == attribution_metrics.UNATTRIBUTED_ID, "cents"].sum())
    if not f.categories:
        rows.append(("Unattributed", un, "unattributed", ""))
    total = sum(r[1] for r in rows)
    rows.append(("Value to date", total, "total", ""))
    out = pd.DataFrame(rows, columns=["label", "cents", "kind", "code"])
    out["value"] = out["cents"] / 100.0
    cur, loc = data.account.currency, data.account.locale
    out["text"] = [money(v, cur, loc) for v in out["value"]]
    level: dict[str, str] = {}
    if evidence is not None and not evidence.empty:
        by_id = dict(zip(evidence["innovation_id"], evidence["evidence"], strict=True))
        level = {
            str(c): str(by_id.get(i, "claimed"))
            for c, i in zip(head["code"], head["innovation_id"], strict=True)
        }
    out["evidence"] = [level.get(str(c), "") if c else "" for c in out["code"]]
    # the bar is the measured credit; the causal estimate is a different figure, shown
    # beside it with the evidence level and never as the bar's label
    est_of: dict[str, str] = {}
    if evidence is not None and "estimated" in evidence.columns:
        by_est = dict(zip(evidence["innovation_id"], evidence["estimated"], strict=True))
        est_of = {
            str(c): money(by_est[i], cur, loc)
            for c, i in zip(head["code"], head["innovation_id"], strict=True)
            if i in by_est and not pd.isna(by_est[i])
        }
    out["estimate_text"] = [est_of.get(str(c), "") if c else "" for c in out["code"]]
    out["evidence_text"] = [
        ""
        if not e
        else f"evidence: {evidence_label(e)}"
        + (f", estimate {x}" if x and e == "estimated" else "")
        for e, x in zip(out["evidence"], out["estimate_text"], strict=True)
    ]
    return out[
        ["label", "value", "kind", "text", "code", "evidence", "estimate_text", "evidence_text"]
    ]


def claimed(data: AccountData, f: FilterLike) -> pd.DataFrame:
    """Claimed value to date per innovation: ``innovation_id, claimed``
    (``metrics.value.claimed``)."""
    return value_metrics.claimed(data, f)


def value_lines(
    data: AccountData,
    f: FilterLike,
    est: pd.DataFrame | None = None,
    *,
    base: Baseline | None = None,
    attr: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per live innovation: claimed, measured (attributed) and estimated value to date with
    the evidence level, largest measured first. Columns: innovation_id, code, title,
    category, claimed, measured, capped, estimated, ci_low, ci_high, realisation, evidence,
    claimed_text, measured_text, capped_text, estimated_text, policy_text, state (live now or
    retired since: ``metrics.value.line_states``).
    realisation = measured / claimed (``metrics.value.realisation``), never capped;
    ``capped`` is the conservative policy "credited at most its expected effect"
    (``metrics.attribution.CAPPED``), shown beside the measured figure with ``policy_text``
    ("credited at most its expected effect: $575; $975 stays unattributed")."""
    a = attr if attr is not None else attribution_metrics.attribution(data, f, base)
    per = attribution_metrics.attributed_by_innovation(a)
    meas = per[per["innovation_id"] >= 0].rename(columns={"attributed": "measured"})[
        ["innovation_id", "measured"]
    ]
    cap = attribution_metrics.attributed_by_innovation(
        attribution_metrics.attribution(data, f, base, policy=attribution_metrics.CAPPED)
    )
    meas = meas.merge(
        cap[cap["innovation_id"] >= 0].rename(columns={"attributed": "capped"})[
            ["innovation_id", "capped"]
        ],
        on="innovation_id",
        how="left",
    )
    cl = claimed(data, f)
    inn = in_categories(data.innovations, f)[["innovation_id", "code", "title", "category"]]
    lines = inn.merge(cl, on="innovation_id", how="inner").merge(
        meas, on="innovation_id", how="left"
    )
    if est is None:
        est = pd.DataFrame(
            columns=["innovation_id", "estimated", "ci_low", "ci_high", "excludes_zero"]
        )
    lines = lines.merge(
        est[["innovation_id", "estimated", "ci_low", "ci_high", "excludes_zero"]],
        on="innovation_id",
        how="left",
    )
    lines["realisation"] = (
        value_metrics.realisation(
            lines.set_index("innovation_id")["measured"],
            lines.set_index("innovation_id")["claimed"],
        )
        .reindex(lines["innovation_id"])
        .to_numpy()
    )
    lines["evidence"] = [
        "estimated"
        if bool(ez) is True and not pd.isna(e)
        else ("measured" if not pd.isna(m) and m != 0 else "claimed")
        for ez, e, m in zip(
            lines["excludes_zero"].fillna(False), lines["estimated"], lines["measured"], strict=True
        )
    ]
    cur, loc = data.account.currency, data.account.locale
    for col in ("claimed", "measured", "capped", "estimated"):
        lines[f"{col}_text"] = [money(v, cur, loc) for v in lines[col]]
    policy = attribution_metrics.POLICY_LABELS[attribution_metrics.CAPPED]
    lines["policy_text"] = [
        ""
        if pd.isna(c) or pd.isna(m)
        else f"{policy}: {money(c, cur, loc)}"
        + (f"; {money(m - c, cur, loc)} stays unattributed" if m - c > 0.005 else "")
        for c, m in zip(lines["capped"], lines["measured"], strict=True)
    ]
    # live now or retired since: a count of the lines says which (value.innovations_phrase)
    lines["state"] = value_metrics.line_states(data, f, lines["innovation_id"])
    lines = lines.sort_values("measured", ascending=False, na_position="last")
    return lines.drop(columns=["excludes_zero"]).reset_index(drop=True)


def evidence_of(lines: pd.DataFrame) -> pd.DataFrame:
    """``innovation_id, evidence, estimated`` (for ``headline_view`` and ``bridge_steps``)."""
    return lines[["innovation_id", "evidence", "estimated"]]


# --------------------------------------------------------------------------------------
# Contract
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ContractView:
    productivity: pd.DataFrame  # month, years, required, actual, gap
    gain_share: pd.DataFrame  # contract_year, start, end, covered, baseline_months, goal,
    #                           goal_to_date, savings, client, provider, outperformance, shortfall
    innovation_days: pd.DataFrame  # contract_year, used, contracted, remaining
    unit_cost_key: str
    unit_cost_label: str
    productivity_sentence: str
    gain_share_sentence: str
    days_sentence: str
    beats: tuple[story.Beat, ...] = ()  # productivity, gain-share, days (as data)
    gain_share_note: str = ""  # which years hold baseline months or are still running
    scope_note: str = ""  # "the unit / category filter does not apply" ("" without one)


def _unit_cost_kpi(data: AccountData) -> pd.Series | None:
    return contract_metrics.unit_cost_kpi(data.kpis, data.account.currency)


def contract_view(
    data: AccountData, f: FilterLike, *, base: Baseline | None = None
) -> ContractView | None:
    """Productivity path, gain-share and innovation days (``metrics.contract``) with the
    sentences (``metrics.narrative``); None without unit-cost KPI or data.

    The contract is per account, so every figure is the **whole account's** whatever units
    or categories are selected (a unit's savings are never set against the account's goal);
    ``scope_note`` says so when a unit or category filter is set. The productivity path is
    shown for the selected period; gain-share and days cover whole contract years."""
    a = data.account
    kpi = _unit_cost_kpi(data)
    if kpi is None or data.monthly.empty:
        return None
    ignored = [w for w, on in (("unit", bool(f.unit_ids)), ("category", bool(f.categories))) if on]
    scope_note = (
        "The contract is per account: these figures are the whole account's; the "
        + " and ".join(ignored)
        + " filter does not apply here."
        if ignored
        else ""
    )
    f = Filters(None, f.start, f.end, None)
    cur, loc = a.currency, a.locale
    key = str(kpi["key"])
    prod = contract_metrics.productivity_path(
        data.monthly,
        key,
        (a.baseline_start, a.baseline_end),
        a.productivity_pct_per_year,
        f.unit_ids,
    )
    prod = in_period(prod, f).reset_index(drop=True)
    b = value_metrics.measured(data, Filters(f.unit_ids, None, None, None), base)
    years = contract_metrics.contract_years(a.contract_start, a.contract_end)
    gain = contract_metrics.gain_share(
        b.groupby("month")["benefit"].sum(),
        years,
        float(a.savings_goal_per_year),
        a.gain_share_pct,
        baseline=(a.baseline_start, a.baseline_end),
    )
    days_df = contract_metrics.innovation_days(data.innovations, years, a.innovation_days_per_year)
    beats = (
        story.productivity_beat(
            prod, a.productivity_pct_per_year, str(kpi["label"]), str(kpi["unit_of_measure"])
        ),
        story.gain_share_beat(gain, a.gain_share_pct),
        story.days_beat(days_df),
    )
    sentences = story.render(beats, cur, loc, markdown=True)
    note = _gain_share_note(gain, a.baseline_start, a.baseline_end)
    gain = gain[
        [
            "contract_year",
            "start",
            "end",
            "covered",
            "baseline_months",
            "goal",
            "goal_to_date",
            "savings",
            "client",
            "provider",
            "outperformance",
            "shortfall",
        ]
    ]
    return ContractView(
        productivity=prod,
        gain_share=gain,
        innovation_days=days_df,
        unit_cost_key=key,
        unit_cost_label=str(kpi["label"]),
        productivity_sentence=sentences[0],
        gain_share_sentence=sentences[1],
        days_sentence=sentences[2],
        beats=beats,
        gain_share_note=note,
        scope_note=scope_note,
    )


def _gain_share_note(gain: pd.DataFrame, b_start: dt.date, b_end: dt.date) -> str:
    """Plain words for the two things a full-year goal does not show: contract years holding
    baseline months (zero value by construction) and a year still running (its pace)."""
    parts = []
    for row in gain.to_dict("records"):
        if row["baseline_months"]:
            parts.append(
                f"{row['contract_year']} holds the {int(row['baseline_months'])} "
                f"months of the frozen baseline ({b_start:%b %Y} – {b_end:%b %Y}); "
                f"their value is zero by construction, so it can only save in its "
                f"other {int(row['year_months']) - int(row['baseline_months'])}"
            )
        if pd.notna(row["savings"]) and 0 < row["covered"] < row["year_months"]:
            parts.append(
                f"{row['contract_year']} is still running ({int(row['covered'])} of "
                f"{int(row['year_months'])} months): goal to date = goal × "
                f"{int(row['covered'])} / 12"
            )
    return ("; ".join(parts) + ".") if parts else ""


# --------------------------------------------------------------------------------------
# Pipeline (what's next) and the narrative
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PipelineView:
    counts: dict[str, int]  # live, in pipeline, rejected, retired; stages of the pipeline
    upcoming: pd.DataFrame  # code, title, stage, category, claim per year
    claimed_per_year: float
    sentence: str
    beat: story.Beat | None = None


def pipeline_view(data: AccountData, f: FilterLike) -> PipelineView:
    """State counts (live / in pipeline / rejected / retired, adding up to the register),
    the stages of the innovations in the pipeline, and the pipeline itself
    (``metrics.pipeline.open_pipeline``) of the selected categories, with the claim per year
    it carries and its sentence."""
    inn = in_categories(data.innovations, f)
    up = pipeline_metrics.open_pipeline(inn, data.rollouts)
    # the states partition the register; the stage counts are those of the pipeline only
    stages = pipeline_metrics.stage_counts(up)
    counts = pipeline_metrics.state_totals(inn, data.rollouts) | {
        s: stages[s] for s in pipeline_metrics.FORWARD_STAGES
    }
    cur, loc = data.account.currency, data.account.locale
    upcoming = pd.DataFrame(
        {
            "code": up["code"],
            "title": up["title"],
            "stage": up["stage"],
            "category": up["category"],
            "live in units": ["yes" if r else "not yet" for r in up["rolled_out"]],
            "claim per year": [money(v, cur, loc) for v in up["estimated_annual_value"]],
        }
    ).reset_index(drop=True)
    total = float(up["estimated_annual_value"].fillna(0).sum())
    beat = story.pipeline_beat(counts, up)
    sentence = story.render_beat(beat, cur, loc, markdown=True)
    return PipelineView(
        counts=counts, upcoming=upcoming, claimed_per_year=total, sentence=sentence, beat=beat
    )


def outlook_view(
    data: AccountData,
    f: FilterLike,
    *,
    base: Baseline | None = None,
    attr: pd.DataFrame | None = None,
) -> tuple[outlook_metrics.Outlook, str]:
    """The closing screen's figures (``metrics.outlook``): the open pipeline of the selected
    categories weighed by the claimed vs measured value to date of the live ones, and its
    sentence."""
    up = pipeline_metrics.open_pipeline(in_categories(data.innovations, f), data.rollouts)
    lines = value_lines(data, f, base=base, attr=attr)
    o = outlook_metrics.outlook(up, lines)
    a = data.account
    return o, outlook_metrics.outlook_sentence(o, a.currency, a.locale)


def narrative_beats(
    data: AccountData,
    f: FilterLike,
    *,
    head: HeadlineView | None = None,
    pic: Photo | None = None,
    bridge: pd.DataFrame | None = None,
    contract: ContractView | None = None,
    pipe: PipelineView | None = None,
    base: Baseline | None = None,
    attr: pd.DataFrame | None = None,
) -> list[story.Beat]:
    """The story as ``metrics.narrative`` beats, every figure from a metric result (the view
    models are computed here when not given; ``pic`` should be the default photo, baseline vs
    the last full quarter): since the baseline — innovations gone live
    (``then_now.went_live_between``) and the first headline KPI's move with its measured value
    — the value to date and run-rate, the second headline KPI's move, the largest
    contributors, the evidence mix, the latest contract year's gain-share and the pipeline."""
    head = head if head is not None else headline_view(data, f, base=base, attr=attr)
    if head is None:
        return []
    a = data.account
    pic = pic if pic is not None else photo(data, f)
    bridge = bridge if bridge is not None else bridge_steps(data, f, base=base, attr=attr)
    contract = contract if contract is not None else contract_view(data, f, base=base)
    window = (a.baseline_start, a.baseline_end)
    since = then_now_metrics.went_live_between(
        data.rollouts,
        in_categories(data.innovations, f),
        window,
        (head.as_of, head.as_of),
        f.unit_ids,
    )
    worth = (
        attribution_metrics.selected_value(data, f, base, attr).groupby("kpi_key")["benefit"].sum()
    )
    moves = pic.cards[pic.cards["headline"]].head(2).to_dict("records") if pic is not None else []
    beats = [
        story.since_baseline_beat(
            then_now_metrics.period_label(*window),
            len(since),
            units_selected=bool(f.unit_ids),
            move=moves[0] if moves else None,
            worth=float(worth[moves[0]["key"]]) if moves and moves[0]["key"] in worth else None,
            categories_selected=bool(f.categories),
            now_label=pic.now_label if pic is not None else None,
        ),
        story.value_beat(head.value_to_date, head.run_rate, head.as_of),
    ]
    if pic is not None and len(moves) > 1:
        key = moves[1]["key"]
        beats.append(
            story.kpi_move_beat(
                moves[1],
                pic.now_label,
                float(worth[key]) if key in worth else None,
                categories_selected=bool(f.categories),
            )
        )
    if bridge is not None and not bridge.empty:
        top = story.contributors_beat(bridge)
        if top is not None:
            beats.append(top)
    beats.append(story.evidence_beat(head.evidence_mix))
    if contract is not None and len(contract.beats) > 1:
        g = contract.beats[1]
        head_ = (
            "Contract (whole account; the filter does not apply): "
            if (f.unit_ids or f.categories)
            else "Contract: "
        )
        beats.append(story.Beat(head_ + g.template, g.figures, g.source))
    pipe = pipe if pipe is not None else pipeline_view(data, f)
    if pipe.beat is not None:
        beats.append(pipe.beat)
    return beats


def narrative(
    data: AccountData,
    f: FilterLike,
    *,
    head: HeadlineView | None = None,
    pic: Photo | None = None,
    bridge: pd.DataFrame | None = None,
    contract: ContractView | None = None,
    pipe: PipelineView | None = None,
    base: Baseline | None = None,
    attr: pd.DataFrame | None = None,
) -> list[str]:
    """The story in sentences (Markdown): ``narrative_beats`` rendered by
    ``metrics.narrative.render`` in the account's currency and locale."""
    beats = narrative_beats(
        data,
        f,
        head=head,
        pic=pic,
        bridge=bridge,
        contract=contract,
        pipe=pipe,
        base=base,
        attr=attr,
    )
    return story.render(beats, data.account.currency, data.account.locale, markdown=True)


@dataclass(frozen=True, eq=False)
class InnovationsView:
    """The Innovations page of one selection: the register of the selected categories, its
    portfolio figures, funnel, unit go-lives per quarter (of the selected units), mix,
    timeline and register table (formulas: ``metrics.pipeline``,
    ``metrics.innovation_views``)."""

    register: pd.DataFrame
    summary: pipeline_metrics.PipelineSummary
    funnel: pd.DataFrame
    go_lives: pd.DataFrame
    mix: pd.DataFrame
    as_of: pd.Timestamp
    timeline: pd.DataFrame
    table: pd.DataFrame

    @property
    def unit_go_lives(self) -> int:
        """Rollouts counted over every quarter of ``go_lives``."""
        return int(self.go_lives["go_lives"].sum())

    @property
    def innovations_gone_live(self) -> int:
        """Innovations whose first go-live falls in one of those quarters (each counted once:
        ``go_lives.innovations`` counts first go-lives)."""
        return int(self.go_lives["innovations"].sum())

    def search(self, text: str, stages: list[str], reached: str | None) -> pd.DataFrame:
        """The register rows a search, a stage filter and a funnel stage leave."""
        return iv.search_register(self.table, text, stages, reached)


def innovations_view(data: AccountData, f: FilterLike) -> InnovationsView:
    """Everything the Innovations page shows for the filters ``f`` (categories C limit the
    register; units U limit the go-lives per quarter)."""
    register = iv.in_categories(data.innovations, f.categories)
    rollouts = data.rollouts[data.rollouts["innovation_id"].isin(register["innovation_id"])]
    as_of = iv.data_as_of(data.monthly)
    return InnovationsView(
        register=register,
        summary=pipeline_metrics.pipeline_summary(register, data.rollouts),
        funnel=pipeline_metrics.stage_funnel(register),
        go_lives=pipeline_metrics.golives_by_quarter(rollouts, f.unit_ids),
        mix=pipeline_metrics.portfolio_mix(register),
        as_of=as_of,
        timeline=iv.timeline_frame(register, as_of=as_of),
        table=iv.register_table(register, data.targets, data.kpis, data.rollouts),
    )


@dataclass(frozen=True, eq=False)
class InnovationDetail:
    """The Innovation-detail page's record part: the picker's labels, the record of ``code``
    (None when there is no such innovation) and its rollout units."""

    labels: dict[str, str]
    record: iv.InnovationRecord | None
    units: pd.DataFrame | None


def innovation_detail_view(data: AccountData, code: str) -> InnovationDetail:
    """The labels of every innovation, and the record and rollout units of ``code``."""
    rec = (
        iv.innovation_record(data.innovations, data.targets, data.kpis, data.rollouts, code)
        if code
        else None
    )
    units = iv.rollout_units(data.rollouts, data.units, rec.innovation_id) if rec else None
    return InnovationDetail(iv.innovation_labels(data.innovations), rec, units)
