"""The shared filter widgets (account, units, period, category) and their URL mirror.

The widgets' state (``st.session_state``) is the truth within a session; the URL is seeded
from it on every run and seeds it when a session starts (a shared link). Selections that do
not exist for the current account are dropped before the widgets are drawn, so switching
account never raises.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from data_loaders.queries import AccountData
from metrics.rules import CATEGORIES
from ui.nav import split_list, sync_params
from ui.safe import md

ACCOUNT_KEY = "f_account"
# The selection lives in plain session-state keys (never cleaned up, always well-formed);
# widgets are keyed separately and take their default from these.
SHADOW = {
    "account": "_tn_account",
    "units": "_tn_units",
    "cats": "_tn_cats",
    "period": "_tn_period",
}


@dataclass(frozen=True)
class Selection:
    """What the filters select, by name (as in the URL)."""

    units: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    period: tuple[str, str] | None = None  # ("YYYY-MM", "YYYY-MM"), None = all data

    def unit_ids(self, data: AccountData) -> tuple[int, ...] | None:
        if not self.units:
            return None
        by_name = dict(zip(data.units["name"], data.units["unit_id"], strict=True))
        return tuple(int(by_name[u]) for u in self.units if u in by_name)

    def dates(self) -> tuple[dt.date | None, dt.date | None]:
        if self.period is None:
            return None, None
        return month_date(self.period[0]), month_date(self.period[1])


def month_key(value: object) -> str | None:
    """``"2024-03"`` for anything that reads as a month; None otherwise."""
    if value is None or value == "":
        return None
    try:
        return f"{pd.Timestamp(str(value)):%Y-%m}"
    except (ValueError, TypeError):
        return None


def month_date(key: str) -> dt.date:
    return dt.date(int(key[:4]), int(key[5:7]), 1)


def month_label(key: str) -> str:
    return f"{month_date(key):%b %Y}"


def months_between(first: str, last: str) -> list[str]:
    if first > last:
        first, last = last, first
    return [f"{m:%Y-%m}" for m in pd.period_range(first, last, freq="M")]


def data_months(data: AccountData) -> list[str]:
    if data.monthly.empty:
        return []
    # format the ~46 distinct months, not every unit × KPI × month row
    months = pd.DatetimeIndex(pd.unique(data.monthly["month"].dropna()))
    return sorted(set(months.strftime("%Y-%m").tolist()))


def period_options(months: list[str], wanted: tuple[str, str] | None) -> list[str]:
    """The data's months, widened to cover ``wanted`` so a link to an empty period reopens it."""
    if not months:
        return []
    lo, hi = months[0], months[-1]
    if wanted:
        lo, hi = min(lo, *wanted), max(hi, *wanted)
    return months_between(lo, hi)


def url_selection() -> Selection:
    """The selection a URL asks for (used to seed a new session and in present mode)."""
    start, end = month_key(st.query_params.get("from")), month_key(st.query_params.get("to"))
    period = None
    if start or end:
        period = (start or "0000-01", end or "9999-12")
    return Selection(
        units=tuple(split_list(st.query_params.get("units"))),
        categories=tuple(split_list(st.query_params.get("cat"))),
        period=period,
    )


def clamp(selection: Selection, data: AccountData) -> Selection:
    """Drop unknown units/categories; resolve open period ends against the data."""
    names = set(data.units["name"])
    months = data_months(data)
    period = selection.period
    if period and months:
        lo = months[0] if period[0] == "0000-01" else period[0]
        hi = months[-1] if period[1] == "9999-12" else period[1]
        period = (min(lo, hi), max(lo, hi))
        if period == (months[0], months[-1]):
            period = None
    return Selection(
        units=tuple(u for u in selection.units if u in names),
        categories=tuple(c for c in selection.categories if c in CATEGORIES),
        period=period if months else None,
    )


def choose_account(names: list[str]) -> str:
    """The account selectbox (seeded from ``?account=`` when the session starts)."""
    current = st.session_state.get(SHADOW["account"])
    if current not in names:
        wanted = st.query_params.get("account")
        if wanted and wanted not in names:
            st.warning(f"Account {md(wanted)} is not available to you; showing {md(names[0])}.")
        current = wanted if wanted in names else names[0]
    if len(names) == 1:
        st.caption("Account")
        st.markdown(f"**{md(current)}**")
        chosen = current
    else:
        chosen = str(st.selectbox("Account", names, index=names.index(current), key=ACCOUNT_KEY))
    st.session_state[SHADOW["account"]] = chosen
    return str(chosen)


def freshness_lines(accounts: pd.DataFrame, *, today: dt.date | None = None) -> list[str]:
    """One line per account: its latest data month and last import, flagged when the data is
    more than ``STALE_AFTER_DAYS`` behind (the rule of the Data page's freshness tab). The
    name is left out when there is a single account (the picker shows it)."""
    from data_loaders.freshness import STALE_AFTER_DAYS

    today = today or dt.date.today()
    lines = []
    for row in accounts.to_dict("records"):
        last, imported = row.get("last_period"), row.get("last_import")
        parts = []
        if pd.isna(last):
            parts.append("no KPI data yet")
        else:
            covered = (pd.Timestamp(last) + pd.offsets.MonthEnd(0)).date()
            behind = (today - covered).days
            parts.append(
                f"data to {pd.Timestamp(last):%b %Y}"
                + (f" :orange[({behind} days behind)]" if behind > STALE_AFTER_DAYS else "")
            )
        if not pd.isna(imported):
            stamp = pd.Timestamp(imported)
            parts.append(f"imported {stamp.day} {stamp:%b %Y}")
        text = " · ".join(parts)
        lines.append(
            f"**{md(row['name'])}** · {text}" if len(accounts) > 1 else text[0].upper() + text[1:]
        )
    return lines


def account_freshness(accounts: pd.DataFrame) -> None:
    """Under the account picker: every account with its data freshness."""
    st.caption("  \n".join(freshness_lines(accounts)))


def filter_widgets(data: AccountData) -> Selection:
    """Units, period and category widgets; returns the (clamped) selection."""
    seeded = clamp(url_selection(), data)
    unit_names = data.units["name"].tolist()
    units0 = st.session_state.get(SHADOW["units"], list(seeded.units))
    cats0 = st.session_state.get(SHADOW["cats"], list(seeded.categories))
    period0 = st.session_state.get(SHADOW["period"], seeded.period)
    months = data_months(data)
    options = period_options(months, period0)
    if options and (period0 is None or not set(period0) <= set(options)):
        period0 = (options[0], options[-1])
    account = data.account.id

    # No "Select all" row: empty already means all (and keeps the URL short), and as the
    # list's first row it was what a search + Enter or a stray click chose.
    units = st.multiselect(
        "Units",
        unit_names,
        key=f"w_units_{account}",
        default=[u for u in units0 if u in unit_names],
        placeholder="All units",
        help="Sites × processes. Empty = all.",
        select_all=False,
    )
    period = None
    if len(options) > 1:
        period = tuple(
            st.select_slider(
                "Period",
                options=options,
                value=period0,
                key=f"w_period_{account}_{options[0]}_{options[-1]}",
                format_func=month_label,
            )
        )
    elif options:
        period = (options[0], options[0])
    cats = st.multiselect(
        "Category",
        list(CATEGORIES),
        key=f"w_cats_{account}",
        default=[c for c in cats0 if c in CATEGORIES],
        placeholder="All categories",
        select_all=False,
        help="Innovation categories (affects innovation-level views).",
    )
    st.session_state[SHADOW["units"]] = list(units)
    st.session_state[SHADOW["cats"]] = list(cats)
    # The whole range is remembered as "all data" (None), not as its two months: an import
    # or rollback that adds or removes months then shows all of the new data on the next run.
    whole = bool(options) and period == (options[0], options[-1])
    st.session_state[SHADOW["period"]] = None if whole else period
    return clamp(Selection(tuple(units), tuple(cats), period), data)


def write_url(account: str | None, selection: Selection) -> None:
    """Mirror the view in the URL (only non-default values are written)."""
    start, end = selection.period or (None, None)
    sync_params(
        {
            "account": account,
            "units": ",".join(selection.units),
            "cat": ",".join(selection.categories),
            "from": start,
            "to": end,
        }
    )


def period_picker(
    data: AccountData, label: str, param: str, default: tuple[dt.date, dt.date]
) -> tuple[dt.date, dt.date]:
    """A month-range slider for one photograph (``?then=2023-01:2023-06``), seeded from the
    URL when the page opens and mirrored back to it."""
    months = data_months(data)
    if not months:
        return default
    raw = split_list((st.query_params.get(param) or "").replace(":", ","))
    wanted = tuple(k for k in (month_key(r) for r in raw[:2]) if k in months)
    fallback = (f"{default[0]:%Y-%m}", f"{default[1]:%Y-%m}")
    shadow = f"_tn_photo_{param}"
    value = st.session_state.get(shadow) or (wanted if len(wanted) == 2 else fallback)
    value = tuple(v if v in months else months[-1] for v in value)
    picked = st.select_slider(
        label,
        options=months,
        value=value,
        format_func=month_label,
        key=f"w_photo_{param}_{data.account.id}",
    )
    st.session_state[shadow] = tuple(picked)
    start, end = picked
    sync_params({param: f"{start}:{end}" if (start, end) != fallback else None})
    return month_date(start), month_date(end)
