"""Cached metric results at the page boundary (``st.cache_data`` with a ttl).

Each wrapper takes only hashable keys (URL, scope, account id, selection) and loads the
account's data through ``ui.context.cached_account_data``, so a result is computed once per
view and reused by the pages and present mode. Exceptions are never cached. The causal
estimates are the expensive part (one estimator run per innovation): they are stored in the
database per data version (``data_loaders.estimate_store``, version from
``metrics.versions.estimates_version``), so they are computed once per data change rather than
once per server; on a miss they are computed, saved and returned. Pages that must not wait
for them ask ``estimates_ready`` first and use the ``*_measured`` variants (evidence: measured
or claimed) until they are.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import TypedDict

import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from data_loaders.access import Scope
from data_loaders.estimate_store import save_estimates
from data_loaders.queries import load_stored_estimates
from metrics import narrative as story
from metrics import views
from metrics.baseline import Baseline
from metrics.outlook import Outlook
from metrics.versions import estimates_version
from ui.context import CACHE_TTL, PageContext, cached_account_data, engine_for

Key = tuple[str, Scope, int, views.Selection]
Period = tuple[dt.date, dt.date]


def _key(ctx: PageContext) -> Key:
    if ctx.account_id is None:
        raise ValueError("no account selected")
    return (
        ctx.url,
        ctx.scope,
        ctx.account_id,
        views.Selection(ctx.unit_ids, ctx.start, ctx.end, ctx.categories),
    )


log = logging.getLogger(__name__)


class _NotStored(LookupError):
    """No stored estimates for this data version (raised, so it is never cached)."""


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _estimates_version(url: str, scope: Scope, account_id: int) -> str:
    return estimates_version(cached_account_data(url, scope, account_id))


@st.cache_data(ttl=CACHE_TTL * 12, show_spinner=False)
def _stored_estimates(url: str, scope: Scope, account_id: int, version: str) -> pd.DataFrame:
    frame = load_stored_estimates(engine_for(url), scope, account_id, version)
    if frame is None:
        raise _NotStored(version)
    return frame


@st.cache_data(ttl=CACHE_TTL * 12, show_spinner="Estimating each innovation's effect…")
def _estimates(url: str, scope: Scope, account_id: int) -> pd.DataFrame:
    version = _estimates_version(url, scope, account_id)
    try:
        return _stored_estimates(url, scope, account_id, version)
    except _NotStored:
        pass
    started = time.perf_counter()
    frame = views.estimates(cached_account_data(url, scope, account_id))
    try:
        save_estimates(
            engine_for(url), account_id, version, frame, seconds=time.perf_counter() - started
        )
    except SQLAlchemyError as exc:  # e.g. a read-only database: still show the estimates
        log.warning("estimates of account %s not stored: %s", account_id, exc)
    return frame


def _ready(url: str, scope: Scope, account_id: int) -> bool:
    try:
        _stored_estimates(url, scope, account_id, _estimates_version(url, scope, account_id))
    except _NotStored:
        return False
    return True


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _baseline(url: str, scope: Scope, account_id: int) -> Baseline:
    """The frozen baseline: per account (it does not depend on the selection)."""
    return views.account_baseline(cached_account_data(url, scope, account_id))


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _attribution(url: str, scope: Scope, account_id: int, sel: views.Selection) -> pd.DataFrame:
    """The attribution of one selection, shared by value lines, headline, bridge and curve."""
    data = cached_account_data(url, scope, account_id)
    return views.attribution(data, sel, _baseline(url, scope, account_id))


class _Shared(TypedDict):
    base: Baseline
    attr: pd.DataFrame


def _shared(url: str, scope: Scope, account_id: int, sel: views.Selection) -> _Shared:
    """``base``/``attr`` keywords for the views (both cached above)."""
    return {
        "base": _baseline(url, scope, account_id),
        "attr": _attribution(url, scope, account_id, sel),
    }


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _value_lines(url: str, scope: Scope, account_id: int, sel: views.Selection) -> pd.DataFrame:
    data = cached_account_data(url, scope, account_id)
    return views.value_lines(
        data, sel, _estimates(url, scope, account_id), **_shared(url, scope, account_id, sel)
    )


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _headline(
    url: str, scope: Scope, account_id: int, sel: views.Selection
) -> views.HeadlineView | None:
    data = cached_account_data(url, scope, account_id)
    lines = _value_lines(url, scope, account_id, sel)
    return views.headline_view(
        data, sel, views.evidence_of(lines), **_shared(url, scope, account_id, sel)
    )


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _curve(url: str, scope: Scope, account_id: int, sel: views.Selection) -> views.CurveView | None:
    return views.curve_view(
        cached_account_data(url, scope, account_id), sel, **_shared(url, scope, account_id, sel)
    )


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _photo(
    url: str,
    scope: Scope,
    account_id: int,
    sel: views.Selection,
    then: Period | None,
    now: Period | None,
) -> views.Photo | None:
    return views.photo(cached_account_data(url, scope, account_id), sel, then, now)


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _value_by(
    url: str, scope: Scope, account_id: int, sel: views.Selection, by: str
) -> pd.DataFrame:
    return views.value_by(
        cached_account_data(url, scope, account_id), sel, by, **_shared(url, scope, account_id, sel)
    )


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _bridge(url: str, scope: Scope, account_id: int, sel: views.Selection) -> pd.DataFrame:
    return views.bridge_steps(
        cached_account_data(url, scope, account_id), sel, **_shared(url, scope, account_id, sel)
    )


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _bridge_evidence(url: str, scope: Scope, account_id: int, sel: views.Selection) -> pd.DataFrame:
    """The bridge with each innovation's evidence level (needs the causal estimates)."""
    lines = _value_lines(url, scope, account_id, sel)
    return views.bridge_steps(
        cached_account_data(url, scope, account_id),
        sel,
        evidence=views.evidence_of(lines),
        **_shared(url, scope, account_id, sel),
    )


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _contract(
    url: str, scope: Scope, account_id: int, sel: views.Selection
) -> views.ContractView | None:
    return views.contract_view(
        cached_account_data(url, scope, account_id), sel, base=_baseline(url, scope, account_id)
    )


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _pipeline(url: str, scope: Scope, account_id: int, sel: views.Selection) -> views.PipelineView:
    return views.pipeline_view(cached_account_data(url, scope, account_id), sel)


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _outlook(url: str, scope: Scope, account_id: int, sel: views.Selection) -> tuple[Outlook, str]:
    return views.outlook_view(
        cached_account_data(url, scope, account_id), sel, **_shared(url, scope, account_id, sel)
    )


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _narrative(url: str, scope: Scope, account_id: int, sel: views.Selection) -> list[str]:
    data = cached_account_data(url, scope, account_id)
    return views.narrative(
        data,
        sel,
        head=_headline(url, scope, account_id, sel),
        pic=_photo(url, scope, account_id, sel, None, None),
        bridge=_bridge(url, scope, account_id, sel),
        contract=_contract(url, scope, account_id, sel),
        pipe=_pipeline(url, scope, account_id, sel),
        **_shared(url, scope, account_id, sel),
    )


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _headline_measured(
    url: str, scope: Scope, account_id: int, sel: views.Selection
) -> views.HeadlineView | None:
    """The headline without the causal estimates: every live innovation is measured (it has
    a measured benefit) or claimed. For the first view while the estimates are computed."""
    data = cached_account_data(url, scope, account_id)
    return views.headline_view(data, sel, **_shared(url, scope, account_id, sel))


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _narrative_measured(url: str, scope: Scope, account_id: int, sel: views.Selection) -> list[str]:
    """The story without the evidence sentence (it needs the causal estimates)."""
    data = cached_account_data(url, scope, account_id)
    head = _headline_measured(url, scope, account_id, sel)
    sentences = views.narrative(
        data,
        sel,
        head=head,
        pic=_photo(url, scope, account_id, sel, None, None),
        bridge=_bridge(url, scope, account_id, sel),
        contract=_contract(url, scope, account_id, sel),
        pipe=_pipeline(url, scope, account_id, sel),
        **_shared(url, scope, account_id, sel),
    )
    if head is None:
        return sentences
    evidence = story.render(
        [story.evidence_beat(head.evidence_mix)],
        data.account.currency,
        data.account.locale,
        markdown=True,
    )
    return [s for s in sentences if s not in evidence]


def estimates_ready(ctx: PageContext) -> bool:
    """True when the causal estimates of the current data are stored (reading them is quick);
    False when showing anything that needs them would first compute them."""
    url, scope, account_id, _ = _key(ctx)
    return _ready(url, scope, account_id)


def headline(ctx: PageContext, *, estimates: bool = True) -> views.HeadlineView | None:
    """The headline cards; ``estimates=False``: without the causal estimates (quick)."""
    return _headline(*_key(ctx)) if estimates else _headline_measured(*_key(ctx))


def curve(ctx: PageContext) -> views.CurveView | None:
    return _curve(*_key(ctx))


def then_now(
    ctx: PageContext, then: Period | None = None, now: Period | None = None
) -> views.Photo | None:
    return _photo(*_key(ctx), then, now)


def value_by(ctx: PageContext, by: str) -> pd.DataFrame:
    return _value_by(*_key(ctx), by)


def bridge(ctx: PageContext, *, evidence: bool = False) -> pd.DataFrame:
    """The bridge steps; ``evidence=True``: each innovation's step with its evidence level
    (computes the causal estimates when they are not stored yet)."""
    return _bridge_evidence(*_key(ctx)) if evidence else _bridge(*_key(ctx))


def value_lines(ctx: PageContext) -> pd.DataFrame:
    return _value_lines(*_key(ctx))


def contract(ctx: PageContext) -> views.ContractView | None:
    return _contract(*_key(ctx))


def pipeline(ctx: PageContext) -> views.PipelineView:
    return _pipeline(*_key(ctx))


def outlook(ctx: PageContext) -> tuple[Outlook, str]:
    """The closing screen: the pipeline's claim weighed by this account's realisation."""
    return _outlook(*_key(ctx))


def narrative(ctx: PageContext, *, estimates: bool = True) -> list[str]:
    """The story; ``estimates=False``: without the evidence sentence (quick)."""
    return _narrative(*_key(ctx)) if estimates else _narrative_measured(*_key(ctx))


def default_periods(ctx: PageContext) -> tuple[Period, Period]:
    data = ctx.data
    if data is None:
        raise ValueError("no account selected")
    return views.default_photo_periods(data, _key(ctx)[3])
