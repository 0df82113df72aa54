"""View blocks shared by the page scripts and present mode: the headline cards, the
narrative, the value curve, the then-vs-now strip and photo, the value bridge, the evidence
table, the contract clauses and the closing screen.

Each section: read the context → get a cached metric result (``ui.cached``) → call a chart
builder → render. No computation here beyond choosing what to show.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from charts.contract import gain_share_chart, productivity_chart
from charts.story import cumulative_value_chart
from charts.theme import EVIDENCE_COLORS
from charts.then_now import then_now_chart
from charts.value import bridge_chart, evidence_chart, stacked_value_chart
from metrics import method_notes, scorecard
from metrics.format import money
from metrics.rules import EVIDENCE_KEYS, EVIDENCE_LABELS
from metrics.value import innovations_phrase, uncredited_note
from story.model import NOT_ESTIMATED_NOTE, Figure, Story
from ui import cached, estimates_wait
from ui.card_and_chart import altair, direction_color, kpi_card
from ui.nav import open_detail
from ui.page_context import PageContext
from ui.page_states import no_data
from ui.safe import md

#: What a section left for the end of the page because the causal estimates are not stored
#: yet: the note that they are being computed (``ui.estimates_wait``), which re-runs the
#: page once they are. No section computes them (``ui.cached``).
Pending = Callable[[], None]


def _pending(ctx: PageContext) -> Pending:
    return partial(estimates_wait.note, ctx)


EVIDENCE_ORDER = EVIDENCE_KEYS
#: One height for every card of the two photographs (a two-line title and a change fit).
PHOTO_CARD_PX = 150
EVIDENCE_HEX = tuple(EVIDENCE_COLORS[k] for k in EVIDENCE_ORDER)


def _figures(story: Story) -> dict[str, Figure]:
    return {f.key: f for f in story.section("headline").figures}


def headline_cards(ctx: PageContext, *, big: bool = False) -> Pending | None:
    """Value to date, run-rate, innovations live, evidence mix — four big numbers, the
    headline ``Section`` of the story model (``ui.cached.story``) as it is.

    When the causal estimates of this data are not stored yet, the first three cards show
    (from the story told without them) and the evidence card "…" (a caption under it says
    why); the returned note — for the end of the page (``finish``) — fills it in on a later
    run, once they are stored."""
    ready = cached.estimates_ready(ctx)
    with st.spinner("Measuring value…", show_time=True):
        story = cached.story(ctx, estimates=ready)
    if story is None:
        no_data(ctx)
    if big:
        top, bottom = st.columns(2, gap="large"), st.columns(2, gap="large")
        c1, c2, c3, c4 = top[0], top[1], bottom[0], bottom[1]
    else:
        c1, c2, c3, c4 = st.columns(4, gap="medium")
    f = _figures(story)
    for key, col in (("value_to_date", c1), ("run_rate", c2), ("innovations_live", c3)):
        kpi_card(f[key].label, f[key].text, help=f[key].help, container=col)
    pending: Pending | None = None
    evidence = f["causal_estimates"]
    if ready:
        kpi_card(evidence.label, evidence.text, help=evidence.help, container=c4)
    else:
        mix = {x.key: x.text for x in story.section("innovations").figures}
        with c4:
            card, note = st.empty(), st.empty()
        kpi_card(
            evidence.label,
            "…",
            container=card,  # the spinner below says why
            help=(
                f"Each innovation's effect is being estimated (once per data change, in the "
                f"background); this card fills in when done. Until then, of "
                f"{int(f['innovations_live'].value or 0)} live innovations "
                f"{mix['evidence:measured']} are measured and {mix['evidence:claimed']} claimed."
            ),
        )
        note.caption("Being computed…")
        pending = _pending(ctx)

    caption, *rest = story.section("headline").notes
    st.caption(caption)
    for gaps in rest:  # a figure that leaves data out must say so next to it
        if gaps != NOT_ESTIMATED_NOTE:  # the card and the note at the end say that
            st.warning(gaps, icon=":material/data_alert:")
    return pending


def told(story: Story | None, *, estimates: bool = True) -> list[str]:
    """The story's sentences (Markdown) from the story model; ``estimates=False``: without
    those that need the causal estimates (``Section.needs_estimates``)."""
    if story is None:
        return []
    s = story.section("narrative")
    return [x for i, x in enumerate(s.markdown) if estimates or i not in s.needs_estimates]


def _sentences(slot: DeltaGenerator, sentences: list[str], big: bool) -> None:
    with slot.container():
        if not sentences:
            st.info("Not enough data in this selection to tell the story yet.")
        elif big:
            for s in sentences:
                st.markdown(s)
        else:
            st.markdown("\n\n".join(sentences))


def narrative(ctx: PageContext, *, big: bool = False) -> Pending | None:
    """The story in sentences (the story model's narrative ``Section``). When the causal
    estimates are not stored yet, without its evidence sentence; the returned note
    (``finish``) brings the whole story on a later run, once they are stored."""
    ready = cached.estimates_ready(ctx)
    _sentences(st.empty(), told(cached.story(ctx, estimates=ready), estimates=ready), big)
    return None if ready else _pending(ctx)


def story_part(
    sentences: list[str], *, big: bool = True, slot: DeltaGenerator | None = None
) -> DeltaGenerator:
    """Some of the story's sentences (present mode splits the story over screens), in
    ``slot`` or a new one; returns the slot, so the part can be redrawn in its place."""
    slot = slot if slot is not None else st.empty()
    _sentences(slot, sentences, big)
    return slot


def finish(*pending: Pending | None) -> None:
    """At the end of the page: what the sections left pending is one note (they all wait for
    the same estimates), drawn once."""
    first = next((p for p in pending if p is not None), None)
    if first is not None:
        first()


def cumulative_curve(
    ctx: PageContext, *, interactive: bool = True, scale: float = 1.0, height: int = 380
) -> None:
    c = cached.curve(ctx)
    if c is None:
        no_data(ctx)
    if not interactive:
        altair(
            cumulative_value_chart,
            c.curve,
            c.golives,
            c.events,
            currency=ctx.currency,
            locale=ctx.locale,
            money_format=c.money_by_month,
            height=round(height * scale),
            scale=scale,
            retirements=c.retirements,
        )
        return
    event = st.plotly_chart(
        cached.curve_figure(ctx),  # of the curve above, built once per selection
        on_select="rerun",
        selection_mode="points",
        key="curve",
        config={"displayModeBar": False},
    )
    st.caption(
        "▲ innovations going live (a number beside it: that many in the month; hover for "
        "their names, click to open one) · dotted lines: events"
        + (" · ■ a retirement: its credit and claims stop there" if not c.retirements.empty else "")
    )
    points = event.selection.points if event else []
    codes = [p.get("customdata", [None])[0] for p in points if p.get("customdata")]
    if not codes or not codes[0]:
        return
    month = [str(c) for c in str(codes[0]).split(",") if c]
    if len(month) == 1:
        open_detail(month[0])
    titles = c.golives.set_index("code")["title"].to_dict()
    st.markdown(f"**{len(month)} innovations went live that month** — open one:")
    cols = st.columns(min(len(month), 4))
    for i, code in enumerate(month):
        if cols[i % len(cols)].button(md(f"{code} · {titles.get(code, '')}"), key=f"go-{code}"):
            open_detail(code)


def then_now_strip(ctx: PageContext) -> None:
    """The headline KPIs, then → now, as a row of small cards."""
    photo = cached.then_now(ctx)
    if photo is None or photo.cards.empty:
        return
    st.markdown(f"**Then** ({photo.then_label}) **→ Now** ({photo.now_label})")
    cards = scorecard.strip(photo.cards)  # the KPI that got worse is never left out
    for col, row in zip(st.columns(len(cards)), cards.to_dict("records"), strict=True):
        kpi_card(
            scorecard.card_label(row),
            str(row["now_text"]),
            delta=f"{row['delta_text']} vs {row['then_text']}",
            better=row["better"],
            change=float(row["change"]),
            container=col,
        )


def then_now_photo(
    ctx: PageContext, *, then: tuple | None = None, now: tuple | None = None, compact: bool = False
) -> None:
    """Two photographs side by side: the same KPI cards, in the same places, Then and Now."""
    photo = cached.then_now(ctx, then, now)
    if photo is None or photo.cards.empty:
        no_data(ctx, "no KPI data in one of the two periods")
    if compact:
        _photo_rows(scorecard.strip(photo.cards), photo.then_label, photo.now_label)
    else:  # keyed: ui.page_states sizes the figures to the window, so four columns fit a laptop
        frames = st.container(key="tn-photo").columns(2, gap="large", border=True)
        for frame, title, is_now in (
            (frames[0], f"Then · {photo.then_label}", False),
            (frames[1], f"Now · {photo.now_label}", True),
        ):
            frame.subheader(title)
            grid = frame.columns(2)
            for i, row in enumerate(photo.cards.to_dict("records")):
                cell = grid[i % 2]
                if is_now:
                    kpi_card(
                        scorecard.card_label(row),
                        str(row["now_text"]),
                        delta=str(row["delta_text"]),
                        better=row["better"],
                        change=float(row["change"]),
                        container=cell,
                        height=PHOTO_CARD_PX,
                    )
                else:  # the same card; the period is in the photo's title, said once
                    kpi_card(
                        scorecard.card_label(row),
                        str(row["then_text"]),
                        container=cell,
                        height=PHOTO_CARD_PX,  # as tall as Now's: the two photos align
                    )
    st.markdown(photo.between_sentence)
    if compact:
        return
    if not photo.between.empty:
        st.dataframe(
            photo.between,
            hide_index=True,
            width="stretch",
            column_config={
                "went live": st.column_config.DateColumn("went live", format="D MMM YYYY")
            },
        )
    altair(then_now_chart, photo.cards, then_label=photo.then_label, now_label=photo.now_label)


def _photo_rows(cards: pd.DataFrame, then_label: str, now_label: str) -> None:
    """Compact photo for present mode: one row per KPI, Then → Now and the change."""
    head = st.columns([3, 2, 2, 2])
    for col, text in zip(
        head, ("", f"Then · {then_label}", f"Now · {now_label}", "Change"), strict=True
    ):
        col.markdown(f"**{text}**" if text else " ")
    for row in cards.to_dict("records"):
        c = st.columns([3, 2, 2, 2], vertical_alignment="center")
        c[0].markdown(md(scorecard.card_label(row)))
        c[1].markdown(f"### {row['then_text']}")
        c[2].markdown(f"### {row['now_text']}")
        change = float(row["change"])
        arrow = ":material/arrow_downward:" if change < 0 else ":material/arrow_upward:"
        c[3].badge(
            str(row["delta_text"]),
            icon=arrow if change else None,
            color=direction_color(row["better"]),
        )


def _nothing_credited(
    ctx: PageContext, empty: pd.DataFrame | None, *, say: bool = True
) -> pd.DataFrame:
    """Where a value chart would be when the selection's live innovations are credited
    nothing (e.g. a category targeting only KPIs without a money value): say why and go on
    to their claims, never a blank page; no live innovation at all is 'no data'. ``say=False``
    where the page has said it already (the Value page's bridge, under its stacked chart)."""
    note = uncredited_note(ctx.data, ctx.filters) if ctx.data is not None else ""
    if not note:
        no_data(ctx)
    if say:
        st.info(note, icon=":material/info:")
    return empty if empty is not None else pd.DataFrame()  # its columns, for the callers


def stacked_value(ctx: PageContext, *, by: str) -> pd.DataFrame:
    frame = cached.value_by(ctx, by)
    if frame is None or frame.empty:
        return _nothing_credited(ctx, frame)
    altair(
        stacked_value_chart,
        frame,
        currency=ctx.currency,
        locale=ctx.locale,
        legend_title="Category" if by == "category" else "Innovation",
    )
    return frame


def bridge(
    ctx: PageContext,
    *,
    scale: float = 1.0,
    evidence: bool = False,
    bar_height: int = 26,
    say_uncredited: bool = True,
) -> pd.DataFrame:
    """The waterfall; ``evidence=True`` labels each innovation's value with its evidence
    level (the Value page, which shows the estimates anyway). ``say_uncredited=False``: no
    "nothing credited" note in its place (the page has shown it already)."""
    steps = cached.bridge(ctx, evidence=evidence)
    if steps is None or steps.empty:
        return _nothing_credited(ctx, steps, say=say_uncredited)
    altair(
        bridge_chart,
        steps,
        currency=ctx.currency,
        locale=ctx.locale,
        scale=scale,
        bar_height=bar_height,
        title=f"Value to date ({ctx.currency})",
    )
    return steps


def bridge_others(ctx: PageContext, steps: pd.DataFrame) -> pd.DataFrame | None:
    """Under the bridge: what its "N other innovations" bar holds, one line per innovation
    with its measured value (the same cents as the bar, which the total line repeats)."""
    group = steps[(steps["kind"] == "step") & (steps["code"] == "")]
    if group.empty:
        return None
    rest = cached.bridge_others(ctx)
    label, text = str(group["label"].iloc[0]), str(group["text"].iloc[0])
    with st.expander(f"What is in “{label}” ({text})"):
        st.dataframe(
            rest.assign(innovation=rest["label"], measured=rest["text"])[
                ["innovation", "measured"]
            ],
            hide_index=True,
            width="stretch",
            column_config={
                "innovation": st.column_config.TextColumn("innovation", width="large"),
                "measured": st.column_config.TextColumn("measured value", width="small"),
            },
        )
        st.caption(
            f"Together {money(float(rest['value'].sum()), ctx.currency, ctx.locale)}, the "
            f"bar's figure: the bridge names the {int((steps['code'] != '').sum())} largest "
            "by measured value (positive or negative) and groups the rest, as the stacked "
            "chart does."
        )
    return rest


def bridge_with_evidence(
    ctx: PageContext, *, say_uncredited: bool = True
) -> tuple[pd.DataFrame, Pending | None]:
    """The Value page's bridge, each innovation labelled with its evidence level. When the
    causal estimates are not stored yet it is drawn without the labels; the returned note
    (``finish``) brings them on a later run, once they are stored."""
    if cached.estimates_ready(ctx):
        return bridge(ctx, evidence=True, say_uncredited=say_uncredited), None
    return bridge(ctx, say_uncredited=say_uncredited), _pending(ctx)


def evidence(ctx: PageContext) -> pd.DataFrame:
    """Claimed vs measured vs estimated per innovation, each row with its evidence badge."""
    lines = cached.value_lines(ctx)
    if lines is None or lines.empty:
        no_data(ctx, "no innovation live in this selection")
    altair(evidence_chart, lines.head(12), currency=ctx.currency, locale=ctx.locale)
    o, _ = cached.outlook(ctx)
    if o.realisation is not None:  # the reconciliation a CFO asks for first
        st.markdown(
            f"Across {innovations_phrase(list(lines['state']))}: **claimed** "
            f"{money(o.claimed_to_date, ctx.currency, ctx.locale)}, **measured** "
            f"{money(o.measured_to_date, ctx.currency, ctx.locale)} — "
            f"**{o.realisation:.0%}** of the claims realised so far."
        )
    st.caption(f"The 12 largest by measured value are plotted; all {len(lines)} are listed.")
    head = cached.headline(ctx)
    note = (
        method_notes.estimates_note(
            lines, head.value_to_date, ctx.currency, ctx.locale, units_selected=bool(ctx.unit_ids)
        )
        if head
        else ""
    )
    if note:  # estimates and the measured total side by side: why they differ
        st.caption(note)
    cur = ctx.currency
    shown = pd.DataFrame(
        {
            "evidence": [[EVIDENCE_LABELS[e]] for e in lines["evidence"]],
            "innovation": lines["code"] + " · " + lines["title"],
            "claimed": lines["claimed"].round(0),
            "measured": lines["measured"].round(0),
            # a conservative policy shown beside the measured figure, never called measured
            "credited at most its expected effect": lines["capped"].round(0),
            # whole percent, as the reconciliation sentence above prints it
            "realisation": (lines["realisation"] * 100).round(0),
            "estimated": lines["estimated"].round(0),
            "range": [
                ""
                if pd.isna(lo)
                else f"{money(lo, cur, ctx.locale)} – {money(hi, cur, ctx.locale)}"
                for lo, hi in zip(lines["ci_low"], lines["ci_high"], strict=True)
            ],
        }
    )
    # key columns first; the widths add up to what a 1280 px laptop with the sidebar open
    # gives the table (about 815 px: a grid never shrinks a fixed width, it scrolls)
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        column_config={
            "evidence": st.column_config.MultiselectColumn(
                "evidence",
                options=[EVIDENCE_LABELS[k] for k in EVIDENCE_ORDER],
                color=list(EVIDENCE_HEX),
                width=165,
                help="strongest first — proven: a causal estimate whose 95 % range excludes "
                "zero · measured: against the frozen baseline · claimed: the innovation's own "
                "estimate",
            ),
            "innovation": st.column_config.TextColumn("innovation", width=170),
            "claimed": st.column_config.NumberColumn(
                "claimed", format="localized", width=76, help=f"value to date, {cur}"
            ),
            "measured": st.column_config.NumberColumn(
                "measured", format="localized", width=76, help=f"value to date, {cur}"
            ),
            "credited at most its expected effect": st.column_config.NumberColumn(
                "capped",
                format="localized",
                width=76,
                help="a conservative policy, not a measurement: credited at most its expected "
                f"effect, never a loss; the rest stays unattributed ({cur})",
            ),
            "realisation": st.column_config.NumberColumn(
                "realised",
                format="%d %%",
                width=62,
                help="% of the claim: measured / claimed, never capped",
            ),
            "estimated": st.column_config.NumberColumn(
                "estimated", format="localized", width=76, help=f"value to date, {cur}"
            ),
            "range": st.column_config.TextColumn(
                "95 % range", width=105, help="the causal estimate's 95 % confidence interval"
            ),
        },
    )
    return lines


def productivity_clause(ctx: PageContext, *, scale: float = 1.0, height: int = 300) -> None:
    """Present mode: the productivity clause's sentence and its path, full width."""
    k = cached.contract(ctx)
    if k is None:
        no_data(ctx)
    st.markdown(k.productivity_sentence)
    altair(
        productivity_chart,
        k.productivity,
        currency=ctx.currency,
        locale=ctx.locale,
        unit_label=k.unit_cost_label,
        height=height,
        scale=scale,
    )


def gain_share_clause(ctx: PageContext, *, scale: float = 1.0, height: int = 300) -> None:
    """Present mode: the gain-share sentence and the split per contract year, full width."""
    k = cached.contract(ctx)
    if k is None:
        no_data(ctx)
    st.markdown(k.gain_share_sentence)
    altair(
        gain_share_chart,
        k.gain_share,
        currency=ctx.currency,
        locale=ctx.locale,
        height=height,
        scale=scale,
    )


def closing(ctx: PageContext) -> None:
    """Present mode's last screen: the next go-lives and the renewal ask — the pipeline's
    claim weighed by how much of its claims this account has realised so far
    (``metrics.outlook``)."""
    o, sentence = cached.outlook(ctx)
    st.markdown(f"**{sentence}**")
    if o.realisation is not None:
        st.markdown(
            f"So far {innovations_phrase(list(o.line_states))} claimed "
            f"{money(o.claimed_to_date, ctx.currency, ctx.locale)}"
            f" and {money(o.measured_to_date, ctx.currency, ctx.locale)} was measured."
        )
    if not o.next_up.empty:
        st.markdown("**Next to go live**")
        shown = o.next_up.assign(
            claim=[money(v, ctx.currency, ctx.locale) for v in o.next_up["estimated_annual_value"]]
        )
        st.dataframe(
            shown,
            hide_index=True,
            width="stretch",
            column_order=["code", "title", "stage", "claim"],
            column_config={
                "code": st.column_config.TextColumn("Code", width="small"),
                "title": st.column_config.TextColumn("Innovation", width="large"),
                "stage": st.column_config.TextColumn("Stage", width="small"),
                "claim": st.column_config.TextColumn("Claim per year", width="small"),
            },
        )


__all__ = [
    "bridge",
    "bridge_others",
    "bridge_with_evidence",
    "closing",
    "cumulative_curve",
    "evidence",
    "finish",
    "gain_share_clause",
    "headline_cards",
    "narrative",
    "productivity_clause",
    "stacked_value",
    "story_part",
    "then_now_photo",
    "then_now_strip",
]
