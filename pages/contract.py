"""Contract: the productivity clause's required unit-cost path vs actual, the gain-share
split vs the agreed goal per contract year, and innovation days used vs contracted."""

from __future__ import annotations

import streamlit as st

from charts.contract import gain_share_chart, innovation_days_chart, productivity_chart
from ui import cached
from ui.card_and_chart import altair
from ui.downloads import download_csv
from ui.page_context import page_context
from ui.page_states import no_data, require_data
from ui.safe import md

ctx = page_context(__file__)
require_data(ctx)
assert ctx.data is not None
k = cached.contract(ctx)
if k is None:
    no_data(ctx, "no unit-cost data")
a = ctx.data.account

st.title("Contract")
st.caption(
    f"{a.contract_start:%d %b %Y} – {a.contract_end:%d %b %Y} · productivity clause "
    f"{a.productivity_pct_per_year:g} % a year · gain-share {a.gain_share_pct:g} % · "
    f"{a.innovation_days_per_year:g} innovation days a year"
)
if k.scope_note:
    st.info(k.scope_note)

st.subheader("Productivity clause")
st.markdown(f"{md(k.unit_cost_label)}: {k.productivity_sentence}")
altair(
    productivity_chart,
    k.productivity,
    currency=ctx.currency,
    locale=ctx.locale,
    unit_label=k.unit_cost_label,
)

st.subheader("Gain-share per contract year")
st.markdown(k.gain_share_sentence)
st.caption(
    "Each year the client is guaranteed (1 − provider share) × the agreed goal; the provider "
    "keeps what is saved beyond that and absorbs any shortfall. ◆ what was actually saved. "
    + (f"Note: {k.gain_share_note}" if k.gain_share_note else "")
)
altair(gain_share_chart, k.gain_share, currency=ctx.currency, locale=ctx.locale)
money_col = {  # key columns first, widths that fit a 1280 px laptop with the sidebar open
    "goal": ("goal", 95, "The agreed savings goal for the contract year"),
    "savings": ("saved", 95, "Measured savings of the contract year"),
    "client": ("client", 95, "The client's guaranteed share"),
    "provider": ("provider", 95, "The provider's share (negative: it absorbs a shortfall)"),
    "outperformance": ("beyond goal", 100, "Savings beyond the goal"),
    "shortfall": ("shortfall", 90, "Savings short of the goal"),
}
st.dataframe(
    k.gain_share.round(0),
    hide_index=True,
    width="stretch",
    column_order=["contract_year", "covered", *money_col],
    column_config={
        c: st.column_config.NumberColumn(
            f"{label} ({ctx.currency})", format="localized", width=width, help=help_
        )
        for c, (label, width, help_) in money_col.items()
    }
    | {
        "contract_year": st.column_config.TextColumn("year", width=70),
        "covered": st.column_config.NumberColumn(
            "months", width=70, help="Months of the contract year up to the data's last month"
        ),
    },
)
download_csv(
    k.gain_share,
    label="Download gain-share (CSV)",
    file_name="gain-share.csv",
    key="dl_gain",
    ctx=ctx,
)

st.subheader("Innovation days")
st.markdown(k.days_sentence)
altair(innovation_days_chart, k.innovation_days)
