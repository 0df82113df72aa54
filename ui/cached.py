"""Cached metric results at the page boundary, keyed by the data version.

Each wrapper takes only hashable keys (URL, scope, account id, data version, selection) and
loads the account's data through ``ui.page_context.cached_account_data`` at that version, so a
result is computed once per view and data version and reused by the pages and present mode;
the frame reads the data version once per run (``ui.page_context.current_version``), so a write
by anyone shows on the next page run, and a result is never paired with data of another
version. Exceptions are never cached.

The causal estimates (one estimator run per innovation) are stored in the database per data
version (``services.estimates``); every function here only reads them, and no page run ever
computes them (issue 14: no filter change waits for them). When they are not stored,
``estimates_ready`` starts their computation in a process of its own
(``services.estimates_background``, once per data version) and answers False; the views that
need them then give their figures without them (evidence: measured or claimed), the sections
say the estimates are being computed (``ui.estimates_wait``), and a later run shows them.

``story`` is the story model (``story.build_story``) of the selection: the Story page and
present mode render its headline and narrative sections, the same model the pack typesets
and ``thenandnow metrics --json`` prints. The charts the screen draws itself (the
interactive curve, the Then & Now strip, present mode's charts at presentation scale, the
Contract page) and the Value page's lines come from the view models that story was told
from (``Story.parts``), so one selection is computed once and the screen shows the figures
paper prints. The other wrappers hand the pages what a story does not hold (the Value
page's stacked value, the bridge without evidence labels and its full list, the outlook,
a photo of two chosen periods), from the same cached attribution.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import TypedDict

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from charts.story import cumulative_value_figure
from data_loaders.access import Scope
from data_loaders.queries import load_stored_estimates
from metrics import views
from metrics.attribution import attribution, of_categories
from metrics.baseline import Baseline, account_baseline
from metrics.filters import Filters
from metrics.impact import EstimationError, InnovationEffect
from metrics.innovation_views import (
    InnovationRecord,
    InnovationValue,
    estimate_innovation,
    kpi_around_go_live,
)
from metrics.innovation_views import innovation_value as innovation_value_of
from metrics.outlook import Outlook
from metrics.scorecard import preset_periods
from metrics.versions import estimates_version
from services import estimates_background
from story.model import NoStory, Parts, Story, build_story
from ui.filters import data_months
from ui.page_context import CACHE_TTL, PageContext, cached_account_data, engine_for

Key = tuple[str, Scope, int, str, Filters]
Period = tuple[dt.date, dt.date]


def _key(ctx: PageContext) -> Key:
    if ctx.account_id is None:
        raise ValueError("no account selected")
    return (
        ctx.url,
        ctx.scope,
        ctx.account_id,
        ctx.version,
        Filters(ctx.unit_ids, ctx.start, ctx.end, ctx.categories),
    )


class _NotStored(LookupError):
    """No stored estimates for this data version (raised, so it is never cached)."""


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _estimates_version(url: str, scope: Scope, account_id: int, version: str) -> str:
    """The version the estimates of this data are stored under (a hash of the data: computed
    once, not on every look for them)."""
    return estimates_version(cached_account_data(url, scope, account_id, version))


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _estimates(url: str, scope: Scope, account_id: int, version: str) -> pd.DataFrame:
    """The stored estimates of the account's data at ``version`` (reads only)."""
    frame = load_stored_estimates(
        engine_for(url), scope, account_id, _estimates_version(url, scope, account_id, version)
    )
    if frame is None:
        raise _NotStored(version)
    return frame


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _stored(url: str, scope: Scope, account_id: int, version: str) -> bool:
    """True once the estimates of ``version`` are stored (raises ``_NotStored`` before, so a
    miss is asked again). A page run asks several times; reading this flag costs a fraction
    of reading the estimates' frame (about 10 ms each time on the demo)."""
    _estimates(url, scope, account_id, version)
    return True


def _ready(url: str, scope: Scope, account_id: int, version: str) -> bool:
    """True when the estimates are stored; else starts computing them outside this run
    (``services.estimates_background``: once per data version) and returns False."""
    try:
        _stored(url, scope, account_id, version)
    except _NotStored:
        estimates_background.start(scope, url, account_id, version)
        return False
    return True


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _baseline(url: str, scope: Scope, account_id: int, version: str) -> Baseline:
    """The frozen baseline: per account (it does not depend on the selection)."""
    return account_baseline(cached_account_data(url, scope, account_id, version))


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _attribution(
    url: str, scope: Scope, account_id: int, version: str, sel: Filters
) -> pd.DataFrame:
    """The attribution of one selection, shared by the story and the Value page's views.
    A category selection filters that of its units and months (``of_categories``), which a
    category change therefore does not compute again."""
    data = cached_account_data(url, scope, account_id, version)
    if sel.categories:
        every = _attribution(url, scope, account_id, version, sel.without_categories())
        return of_categories(every, data, sel)
    return attribution(data, sel, _baseline(url, scope, account_id, version))


class _Shared(TypedDict):
    base: Baseline
    attr: pd.DataFrame


def _shared(url: str, scope: Scope, account_id: int, version: str, sel: Filters) -> _Shared:
    """``base``/``attr`` keywords for the views (both cached above)."""
    return {
        "base": _baseline(url, scope, account_id, version),
        "attr": _attribution(url, scope, account_id, version, sel),
    }


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _value_lines(
    url: str, scope: Scope, account_id: int, version: str, sel: Filters
) -> pd.DataFrame:
    data = cached_account_data(url, scope, account_id, version)
    return views.value_lines(
        data,
        sel,
        _estimates(url, scope, account_id, version),
        **_shared(url, scope, account_id, version, sel),
    )


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _value_lines_measured(
    url: str, scope: Scope, account_id: int, version: str, sel: Filters
) -> pd.DataFrame:
    """The value lines without the causal estimates (while they are computed)."""
    data = cached_account_data(url, scope, account_id, version)
    return views.value_lines(data, sel, None, **_shared(url, scope, account_id, version, sel))


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _curve(
    url: str, scope: Scope, account_id: int, version: str, sel: Filters
) -> views.CurveView | None:
    return views.curve_view(
        cached_account_data(url, scope, account_id, version),
        sel,
        **_shared(url, scope, account_id, version, sel),
    )


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _photo(
    url: str,
    scope: Scope,
    account_id: int,
    version: str,
    sel: Filters,
    then: Period | None,
    now: Period | None,
) -> views.Photo | None:
    return views.photo(cached_account_data(url, scope, account_id, version), sel, then, now)


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _value_by(
    url: str, scope: Scope, account_id: int, version: str, sel: Filters, by: str
) -> pd.DataFrame:
    return views.value_by(
        cached_account_data(url, scope, account_id, version),
        sel,
        by,
        **_shared(url, scope, account_id, version, sel),
    )


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _bridge(url: str, scope: Scope, account_id: int, version: str, sel: Filters) -> pd.DataFrame:
    return views.bridge_steps(
        cached_account_data(url, scope, account_id, version),
        sel,
        **_shared(url, scope, account_id, version, sel),
    )


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _bridge_every(
    url: str, scope: Scope, account_id: int, version: str, sel: Filters
) -> pd.DataFrame:
    """The bridge with every innovation a step of its own (what "N other innovations"
    groups, listed on demand)."""
    return views.bridge_steps(
        cached_account_data(url, scope, account_id, version),
        sel,
        top=1_000_000,
        **_shared(url, scope, account_id, version, sel),
    )


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _bridge_evidence(
    url: str, scope: Scope, account_id: int, version: str, sel: Filters
) -> pd.DataFrame:
    """The bridge with each innovation's evidence level (needs the causal estimates)."""
    lines = _value_lines(url, scope, account_id, version, sel)
    return views.bridge_steps(
        cached_account_data(url, scope, account_id, version),
        sel,
        evidence=views.evidence_of(lines),
        **_shared(url, scope, account_id, version, sel),
    )


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _contract(
    url: str, scope: Scope, account_id: int, version: str, sel: Filters
) -> views.ContractView | None:
    return views.contract_view(
        cached_account_data(url, scope, account_id, version),
        sel,
        base=_baseline(url, scope, account_id, version),
    )


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _pipeline(
    url: str, scope: Scope, account_id: int, version: str, sel: Filters
) -> views.PipelineView:
    return views.pipeline_view(cached_account_data(url, scope, account_id, version), sel)


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _outlook(
    url: str, scope: Scope, account_id: int, version: str, sel: Filters
) -> tuple[Outlook, str]:
    return views.outlook_view(
        cached_account_data(url, scope, account_id, version),
        sel,
        **_shared(url, scope, account_id, version, sel),
    )


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _story(
    url: str, scope: Scope, account_id: int, version: str, sel: Filters, estimated: bool
) -> Story | None:
    """The story model of one selection (``story.build_story``), with the stored causal
    estimates or (``estimated=False``) without them; None when nothing is measured. The
    Story page and present mode render it; the pack and ``thenandnow metrics --json`` print
    the same model."""
    data = cached_account_data(url, scope, account_id, version)
    est = _estimates(url, scope, account_id, version) if estimated else None
    try:
        return build_story(
            data, sel, estimates=est, **_shared(url, scope, account_id, version, sel)
        )
    except NoStory:
        return None


def estimates_ready(ctx: PageContext) -> bool:
    """True when the causal estimates of the current data are stored (reading them is quick);
    else False, having started their computation outside this run (see the module
    docstring)."""
    url, scope, account_id, version, _ = _key(ctx)
    return _ready(url, scope, account_id, version)


#: The stories this script run has read, by whether they hold the estimates: a section asks
#: for the story several times a run, and each ``st.cache_data`` read unpickles it afresh
#: (about 11 ms on a large account). Kept for one context (one run), held with it so its
#: identity is never reused.
_this_run = threading.local()


def story(ctx: PageContext, *, estimates: bool = True) -> Story | None:
    """The story model of the current selection, with the stored causal estimates; without
    them (evidence: measured or claimed) when ``estimates=False`` or none are stored
    (``estimates_ready``)."""
    estimated = estimates and estimates_ready(ctx)
    held = getattr(_this_run, "held", None)
    if held is None or held[0] is not ctx:
        held = (ctx, {})
        _this_run.held = held
    told: dict[bool, Story | None] = held[1]
    if estimated not in told:
        told[estimated] = _story(*_key(ctx), estimated)
    return told[estimated]


def _parts(ctx: PageContext, *, estimates: bool = True) -> Parts | None:
    """The view models of ``story(ctx)`` (None when the selection tells no story): what the
    screen draws from frames comes from the story the page prints, computed once."""
    told = story(ctx, estimates=estimates)
    return told.parts if told is not None else None


def headline(ctx: PageContext, *, estimates: bool = True) -> views.HeadlineView | None:
    """The headline of the story (``story``): with the stored causal estimates; without them
    when ``estimates=False`` or none are stored (``estimates_ready``)."""
    parts = _parts(ctx, estimates=estimates)
    return parts.headline if parts is not None else None


def curve(ctx: PageContext) -> views.CurveView | None:
    """The value curve the story was told from (it needs no estimates)."""
    parts = _parts(ctx)
    return parts.curve if parts is not None else _curve(*_key(ctx))


@st.cache_resource(ttl=CACHE_TTL, max_entries=64, show_spinner=False)
def _curve_figure(
    url: str, scope: Scope, account_id: int, version: str, sel: Filters, estimated: bool
) -> go.Figure | None:
    """The Story page's clickable curve as a Plotly figure, built once per selection (about
    70 ms on a large account, on every run before). A resource, not data: a pickled figure
    is validated again when read, which costs what building it does. Shared and never
    changed: ``st.plotly_chart`` draws a copy (``Figure.to_dict``)."""
    told = _story(url, scope, account_id, version, sel, estimated)
    c = told.parts.curve if told is not None and told.parts is not None else None
    if c is None:
        c = _curve(url, scope, account_id, version, sel)
    if c is None:
        return None
    a = cached_account_data(url, scope, account_id, version).account
    return cumulative_value_figure(
        c.curve,
        c.golives,
        c.events,
        currency=a.currency,
        locale=a.locale or "en_US",
        money_text=c.money_text,
        retirements=c.retirements,
    )


def curve_figure(ctx: PageContext) -> go.Figure | None:
    """The clickable value curve of ``curve(ctx)`` (None when there is none)."""
    return _curve_figure(*_key(ctx), estimates_ready(ctx))


def then_now(
    ctx: PageContext, then: Period | None = None, now: Period | None = None
) -> views.Photo | None:
    """The Then & Now photo: of the story for the default periods, else of these."""
    parts = _parts(ctx) if then is None and now is None else None
    return parts.photo if parts is not None else _photo(*_key(ctx), then, now)


def value_by(ctx: PageContext, by: str) -> pd.DataFrame:
    return _value_by(*_key(ctx), by)


def bridge(ctx: PageContext, *, evidence: bool = False) -> pd.DataFrame:
    """The bridge steps; ``evidence=True``: each innovation's step with its evidence level
    (when the causal estimates are stored: ``estimates_ready``, the story's bridge; else
    without)."""
    if not evidence or not estimates_ready(ctx):
        return _bridge(*_key(ctx))
    parts = _parts(ctx)
    return parts.bridge if parts is not None else _bridge_evidence(*_key(ctx))


def bridge_others(ctx: PageContext) -> pd.DataFrame:
    """The innovations the bridge groups as "N other innovations", largest first: label,
    value, text, code (the same measured cents as the group's bar; empty when none)."""
    shown = _bridge(*_key(ctx))
    every = _bridge_every(*_key(ctx))
    named = set(shown.loc[shown["code"] != "", "code"])
    rest = every[(every["kind"] == "step") & (every["code"] != "") & ~every["code"].isin(named)]
    return rest[["label", "value", "text", "code"]].reset_index(drop=True)


def value_lines(ctx: PageContext) -> pd.DataFrame:
    """Claimed, measured and estimated value per innovation (the story's); while the causal
    estimates are not stored (``estimates_ready``), claimed and measured only (the
    estimated columns empty, the evidence measured or claimed)."""
    parts = _parts(ctx)
    if parts is not None:
        return parts.lines
    if not estimates_ready(ctx):
        return _value_lines_measured(*_key(ctx))
    return _value_lines(*_key(ctx))


def contract(ctx: PageContext) -> views.ContractView | None:
    """The contract view of the story (the Contract page and present mode's clauses)."""
    parts = _parts(ctx)
    return parts.contract if parts is not None else _contract(*_key(ctx))


def pipeline(ctx: PageContext) -> views.PipelineView:
    parts = _parts(ctx)
    return parts.pipeline if parts is not None else _pipeline(*_key(ctx))


def outlook(ctx: PageContext) -> tuple[Outlook, str]:
    """The closing screen: the pipeline's claim weighed by this account's realisation."""
    return _outlook(*_key(ctx))


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _presets(
    url: str, scope: Scope, account_id: int, version: str, last_edition: dt.date | None
) -> dict[str, tuple[Period, Period]]:
    data = cached_account_data(url, scope, account_id, version)
    a = data.account
    return preset_periods(data_months(data), (a.baseline_start, a.baseline_end), last_edition)


def then_now_presets(ctx: PageContext) -> tuple[dict[str, tuple[Period, Period]], dt.date | None]:
    """The Then & Now page's named pairs of periods (``metrics.scorecard.preset_periods``)
    and the as-of date of the account's last renewal pack edition (None before the first).
    The editions are read on every run (one small query): a pack build archives an edition
    without moving the data version, so the presets are keyed by that date as well and the
    new edition's preset shows on the next run."""
    # imported here: the pack service brings the PDF typesetting (reports.pack), which no
    # other page run needs
    from services.pack import editions_of

    url, scope, account_id, version, _ = _key(ctx)
    data = ctx.data
    if data is None:
        raise ValueError("no account selected")
    editions = editions_of(engine_for(url), scope, data.account.name)
    last = editions[0].as_of if editions else None
    return _presets(url, scope, account_id, version, last), last


def default_periods(ctx: PageContext) -> tuple[Period, Period]:
    data = ctx.data
    if data is None:
        raise ValueError("no account selected")
    return views.default_photo_periods(data, _key(ctx)[4])


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _innovations(
    url: str, scope: Scope, account_id: int, version: str, sel: Filters
) -> views.InnovationsView:
    return views.innovations_view(cached_account_data(url, scope, account_id, version), sel)


def innovations(ctx: PageContext) -> views.InnovationsView:
    """The Innovations page's view, keyed by units and categories only (the period does
    not change it, so moving the period slider reuses it)."""
    url, scope, account_id, version, sel = _key(ctx)
    return _innovations(
        url, scope, account_id, version, Filters(sel.unit_ids, None, None, sel.categories)
    )


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _innovation_detail(
    url: str, scope: Scope, account_id: int, version: str, code: str
) -> views.InnovationDetail:
    return views.innovation_detail_view(cached_account_data(url, scope, account_id, version), code)


def innovation_detail(ctx: PageContext, code: str) -> views.InnovationDetail:
    """The picker's labels and the record and rollout units of innovation ``code``."""
    url, scope, account_id, version, _ = _key(ctx)
    return _innovation_detail(url, scope, account_id, version, code)


@st.cache_data(ttl=CACHE_TTL, show_spinner="Estimating the effect…")
def _innovation_effect(
    url: str, scope: Scope, account_id: int, version: str, code: str, kpi_key: str
) -> InnovationEffect | str:
    data = cached_account_data(url, scope, account_id, version)
    rec = _innovation_detail(url, scope, account_id, version, code).record
    if rec is None:
        return f"there is no innovation {code}."
    try:
        return estimate_innovation(
            data.monthly, data.rollouts, data.targets, data.innovations, rec, kpi_key
        )
    except EstimationError as exc:
        return str(exc)


def innovation_effect(ctx: PageContext, code: str, kpi_key: str) -> InnovationEffect | str:
    """Innovation ``code``'s estimated effect on one KPI, or why it cannot be estimated (one
    innovation's estimator run: the detail page shows it for any target KPI, stored or not)."""
    url, scope, account_id, version, _ = _key(ctx)
    return _innovation_effect(url, scope, account_id, version, code, kpi_key)


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _claimed_and_measured(
    url: str, scope: Scope, account_id: int, version: str, sel: Filters
) -> pd.DataFrame:
    return views.value_lines(cached_account_data(url, scope, account_id, version), sel, None)


def innovation_value(
    ctx: PageContext, rec: InnovationRecord, effect: InnovationEffect | None
) -> InnovationValue:
    """Claimed, measured and estimated value of one innovation over the selected units and
    months (every category: the innovation is named, not filtered); the estimate is the
    page's own ``effect``."""
    url, scope, account_id, version, sel = _key(ctx)
    lines = _claimed_and_measured(
        url, scope, account_id, version, Filters(sel.unit_ids, sel.start, sel.end, None)
    )
    return innovation_value_of(lines, rec.innovation_id, effect)


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def _around_go_live(
    url: str, scope: Scope, account_id: int, version: str, innovation_id: int, kpi_key: str
) -> pd.DataFrame:
    data = cached_account_data(url, scope, account_id, version)
    return kpi_around_go_live(data.monthly, data.rollouts, data.units, innovation_id, kpi_key)


def around_go_live(ctx: PageContext, innovation_id: int, kpi_key: str) -> pd.DataFrame:
    """One KPI per rollout unit around go-live, with the path of the units not live."""
    url, scope, account_id, version, _ = _key(ctx)
    return _around_go_live(url, scope, account_id, version, innovation_id, kpi_key)
