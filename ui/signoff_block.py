"""Sign-off on the innovation detail page: the line's status against its agreement ("agreed
by … on …" or "changed since agreed: old → new") for everyone, and for a client executive
the button that agrees the measured value for the selected period (``services.signoff``)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from metrics.format import money
from services import signoff
from ui.page_context import PageContext, engine
from ui.safe import md


def _period(ctx: PageContext) -> tuple[dt.date, dt.date] | None:
    """The selected months (all data when no period is chosen), as first-of-month dates."""
    if ctx.data is None or ctx.data.monthly.empty:
        return None
    months = pd.to_datetime(ctx.data.monthly["month"])
    start = ctx.start or months.min().date()
    end = ctx.end or months.max().date()
    return start, end


def signoff_block(ctx: PageContext, code: str, measured: float | None) -> None:
    period = _period(ctx)
    if period is None or ctx.data is None:
        return
    start, end = period
    cur, loc = ctx.currency, ctx.locale
    eng = engine()
    state = signoff.status(eng, ctx.scope, ctx.data.account.id, code, start, end, measured)
    label = md(state.label(lambda v: money(v, cur, loc, compact=False)))  # a name from the IdP
    if state.changed:
        st.warning(label[:1].upper() + label[1:], icon=":material/change_circle:")
    elif state.agreed:
        st.success(label[:1].upper() + label[1:], icon=":material/verified:")
    if not ctx.scope.can_sign_off:
        return
    if ctx.unit_ids is not None:
        st.caption("Sign-off is for the whole account: clear the unit filter to agree this value.")
        return
    if measured is None:
        st.caption("There is no measured value to agree for this period.")
        return
    what = f"{money(measured, cur, loc, compact=False)} for {start:%b %Y} – {end:%b %Y}"
    if st.button(f"Agree this value: {what}", key="sign_off", icon=":material/task_alt:"):
        signoff.sign_off(eng, ctx.scope, ctx.data.account.id, code, start, end, measured)
        st.rerun()
