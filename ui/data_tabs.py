"""Read-only sections of the Data page (freshness, templates, method), cached at the page
boundary, so the page script stays a short list of tabs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data_loaders.access import Scope
from data_loaders.formats import SPECS
from data_loaders.freshness import STALE_AFTER_DAYS, entity_freshness, observation_freshness
from data_loaders.templates import TEMPLATE_ENTITIES
from metrics import method_notes
from ui.page_context import CACHE_TTL, engine_for

__all__ = [
    "freshness_section",
    "method_section",
    "shown_entities",
    "shown_user",
    "templates_section",
]


def shown_entities(text: str) -> str:
    """A batch's entities as a reader sees them: only those a user imports, so the demo's
    hidden ground truth (its planted effects) is never named — ``accounts, units, kpis``."""
    return ", ".join(e for e in text.split(",") if e.strip() in TEMPLATE_ENTITIES)


def shown_user(frame: pd.DataFrame) -> pd.DataFrame:
    """``user`` as a reader reads it: "—" where nobody signed in wrote it (the CLI, the
    demo loader), never "None"."""
    if "user" not in frame.columns:
        return frame
    return frame.assign(user=frame["user"].fillna("").astype(str).replace("", "—"))


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _freshness(
    url: str, scope: Scope, account_id: int, version: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    eng = engine_for(url)
    return (observation_freshness(eng, scope, account_id), entity_freshness(eng, scope, account_id))


def freshness_section(url: str, scope: Scope, account_id: int | None, version: str) -> None:
    """Last period per unit × KPI with stale flags, and the last import per entity."""
    if account_id is None:
        st.caption("No account loaded.")
        return
    obs, entities = _freshness(url, scope, account_id, version)
    st.subheader("KPI data: last period per unit and KPI")
    n_stale = int(obs["stale"].sum())
    (st.warning if n_stale else st.success)(
        f"{n_stale} of {len(obs)} series are more than {STALE_AFTER_DAYS} days behind."
    )
    # widths that add up to what a 1280 px laptop with the sidebar open gives the table
    st.dataframe(
        obs,
        hide_index=True,
        width="stretch",
        column_config={
            "unit": st.column_config.TextColumn("unit", width=165),
            # the KPI's name as the other pages print it, not its import key
            "kpi_key": None,
            "kpi_label": st.column_config.TextColumn("KPI", width=150),
            "grain": st.column_config.TextColumn("grain", width=55),
            "first_period": st.column_config.DateColumn("first", format="MMM YYYY", width=78),
            "last_period": st.column_config.DateColumn("last", format="MMM YYYY", width=78),
            "covered_until": st.column_config.DateColumn(
                "covered until", format="D MMM YYYY", width=95
            ),
            "n_periods": st.column_config.NumberColumn("periods", width=58),
            "days_behind": st.column_config.NumberColumn(
                "behind", width=62, help="Days since the period covered ended"
            ),
            "stale": st.column_config.CheckboxColumn(
                "stale", width=55, help=f"More than {STALE_AFTER_DAYS} days behind"
            ),
            "site": None,
            "process": None,
        },
    )
    st.subheader("Last import per entity")
    st.dataframe(
        shown_user(entities[entities["entity"].isin(TEMPLATE_ENTITIES)]),
        hide_index=True,
        column_config={
            "user": st.column_config.TextColumn("by"),
            "batch_id": "batch",
            "last_import": st.column_config.DatetimeColumn(
                "last import", format="D MMM YYYY, HH:mm"
            ),
        },
    )


def templates_section() -> None:
    """One CSV template per entity and an all-in-one workbook."""
    from data_loaders.templates import template_csv, template_xlsx

    st.write(
        "One CSV per entity, or one Excel workbook with a sheet per entity. The example "
        "rows form a tiny account that imports cleanly; column meanings are in the "
        "workbook's README sheet and in the project README."
    )
    st.download_button(
        "All entities (Excel workbook)",
        template_xlsx(),
        file_name="then_and_now_template.xlsx",
        type="primary",
    )
    cols = st.columns(4)
    for i, spec in enumerate(s for s in SPECS if s.entity in TEMPLATE_ENTITIES):
        cols[i % 4].download_button(
            f"{spec.entity}.csv",
            template_csv(spec.entity),
            file_name=f"{spec.entity}.csv",
            mime="text/csv",
            help=spec.doc,
            key=f"tpl_{spec.entity}",
        )


def method_section() -> None:
    """How value is computed, in plain words and formulas: ``metrics.method_notes.blocks``,
    the blocks README's method section is generated from."""
    for kind, text in method_notes.blocks():
        if kind == "latex":
            st.latex(text)
        else:
            st.markdown(text)
