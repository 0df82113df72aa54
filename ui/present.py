"""Present mode (``?present=1``): the story for screen-sharing, one idea per screen.

No sidebar and no filter widgets (the filters come from the URL the presenter opened), large
type sized to the window's height (CSS injected once by the frame), previous/next buttons in a
bar pinned to the bottom, and the keys a presenter uses: → ← , PageDown PageUp (what
presentation clickers send) and Space / Shift+Space. The screens reuse the pages' sections
and chart builders, so what is presented equals what the pages show; every screen is sized
to fit 1280×720 without scrolling (the story is split over as many screens as it needs).
``?screen=N`` (1-based) or ``?screen=KEY`` (``headline``, ``narrative-1`` …, ``curve``,
``then_now``, ``bridge``, ``productivity``, ``gain_share``, ``next``) names the screen, so a
link can open on any of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import streamlit as st
import streamlit.components.v1 as components

from metrics import narrative, views
from ui import cached, estimates_wait, view_blocks
from ui.nav import current_params
from ui.page_context import PageContext
from ui.safe import md

SCALE = 1.2  # chart type scale for the projector
#: The story is split so that one screen holds at most this many characters (four short
#: sentences): what fits above the bar at 1280×720 in present-mode type.
STORY_CHARS = 760
STORY_SENTENCES = 4
#: Shown in the evidence sentence's place until the causal estimates are stored.
EVIDENCE_PENDING = "_How each innovation's value is evidenced follows in a moment (estimating…)._"


@dataclass(frozen=True)
class Screen:
    key: str
    title: str
    render: Callable[[PageContext], object]


def story_pages(lengths: Sequence[int]) -> list[list[int]]:
    """The story's sentences (given by their lengths) in order, grouped greedily into
    screens of at most ``STORY_SENTENCES`` sentences and ``STORY_CHARS`` characters (a
    longer sentence alone); returns each screen's sentence indices."""
    pages: list[list[int]] = []
    used = 0
    for i, n in enumerate(lengths):
        if pages and len(pages[-1]) < STORY_SENTENCES and used + n <= STORY_CHARS:
            pages[-1].append(i)
            used += n
        else:
            pages.append([i])
            used = n
    return pages


def evidence_reserve(currency: str, locale: str) -> int:
    """The room kept for the evidence sentence: its template with three-digit counts, the
    longest it gets on any account with fewer than 1,000 innovations."""
    mix = {"estimated": 999, "measured": 999, "claimed": 999}
    return len(narrative.render([narrative.evidence_beat(mix)], currency, locale, markdown=True)[0])


def story_plan(rest: Sequence[str], evidence_at: int | None, reserve: int) -> list[list[int]]:
    """The story's screens as indices into the whole story, decided by the sentences that
    do not need the causal estimates (``rest``) and ``reserve`` characters for the evidence
    sentence at ``evidence_at``: the same screens before and after the estimates are
    stored, so a screen's number never changes under the presenter."""
    lengths = [len(x) for x in rest]
    if evidence_at is not None:
        lengths.insert(evidence_at, reserve)
    return story_pages(lengths)


def _split(ctx: PageContext) -> tuple[list[str], int | None]:
    """The story model's sentences that do not need the causal estimates, and the place of
    the evidence sentence in the whole story (None: it has none). From the story the other
    screens show (with the estimates once stored, never waiting for them): the sentences
    apart from the evidence sentence are the same either way (tests/story), so one story
    per selection serves every screen."""
    story = cached.story(ctx)
    if story is None:
        return [], None
    s = story.section("narrative")
    return view_blocks.told(story, estimates=False), (
        s.needs_estimates[0] if s.needs_estimates else None
    )


def _story_screen(part: list[int], ctx: PageContext) -> None:
    rest, at = _split(ctx)
    slots: list[str | None] = list(rest)
    if at is not None:
        slots.insert(at, None)  # the evidence sentence's place
    if at not in part:
        view_blocks.story_part([str(slots[i]) for i in part])
        return

    def told(evidence: str) -> list[str]:
        return [evidence if i == at else str(slots[i]) for i in part]

    def whole() -> str:  # the evidence sentence of the whole story (needs the estimates)
        story = cached.story(ctx)
        return view_blocks.told(story)[at] if story is not None and at is not None else ""

    if cached.estimates_ready(ctx):
        view_blocks.story_part(told(whole()))
        return
    # a placeholder in its place; a later run brings the sentence, once the estimates are
    # stored (computed outside the page run, as for the headline screen's evidence card)
    view_blocks.story_part(told(EVIDENCE_PENDING))
    estimates_wait.note(ctx)


def _story_screens(ctx: PageContext) -> list[Screen]:
    if ctx.data is None:
        plan: list[list[int]] = [[]]
    else:
        rest, at = _split(ctx)
        a = ctx.data.account
        plan = story_plan(rest, at, evidence_reserve(a.currency, a.locale))
    return [
        Screen(
            f"narrative-{n}",
            "The story so far" + (f" ({n} of {len(plan)})" if len(plan) > 1 else ""),
            partial(_story_screen, part),
        )
        for n, part in enumerate(plan, start=1)
    ]


#: The screens before the story, in order (the browser tests take the list from here).
OPENING = [
    # does not wait for the causal estimates: shown at once, the evidence filled in after
    Screen(
        "headline",
        "Where we are",
        lambda ctx: view_blocks.finish(view_blocks.headline_cards(ctx, big=True)),
    ),
]
#: The screens after the story, in order; the last one closes the presentation.
CLOSING = [
    Screen(
        "curve",
        "Value, month after month",
        lambda ctx: view_blocks.cumulative_curve(ctx, interactive=False, scale=SCALE, height=300),
    ),
    Screen("then_now", "Then and now", lambda ctx: view_blocks.then_now_photo(ctx, compact=True)),
    # with evidence levels once the estimates are stored (never waits for them)
    Screen(
        "bridge",
        "What drove it",
        lambda ctx: view_blocks.bridge(
            ctx, scale=SCALE, evidence=cached.estimates_ready(ctx), bar_height=22
        ),
    ),
    Screen(
        "productivity",
        "The productivity clause",
        lambda ctx: view_blocks.productivity_clause(ctx, scale=SCALE, height=300),
    ),
    Screen(
        "gain_share",
        "The gain-share",
        lambda ctx: view_blocks.gain_share_clause(ctx, scale=SCALE, height=300),
    ),
    Screen("next", "What's next", lambda ctx: view_blocks.closing(ctx)),
]


def screens(ctx: PageContext) -> list[Screen]:
    """The screens for this view, in order: ``OPENING``, the story over as many screens as
    its length needs (``story_plan``: the same whether or not the estimates are stored),
    ``CLOSING``."""
    return [*OPENING, *_story_screens(ctx), *CLOSING]


def screen_index(shown: list[Screen]) -> int:
    """The 0-based screen asked for in the URL (``screen=3``, or a screen's key such as
    ``screen=next``), kept within range."""
    raw = st.query_params.get("screen", "1")
    keys = [s.key for s in shown]
    if raw in keys:
        return keys.index(raw)
    try:
        n = int(raw)
    except ValueError:
        n = 1
    return min(max(n, 1), len(shown)) - 1


def _go(index: int) -> None:
    st.query_params["screen"] = str(index + 1)


# Runs in the app's own document (the component's iframe is same-origin): the listener is
# created with the parent's Function so it outlives the iframe, and installed once. It
# presses the bar's buttons, so a key does exactly what a click does; keys typed into a
# field are left alone, and the focused button is blurred so Space does not press it twice.
_KEYS_JS = """
<script>
const p = window.parent;
if (!p.__tnPresentKeys) {
  p.__tnPresentKeys = true;
  p.document.addEventListener('keydown', new p.Function('e', `
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
    const t = e.target, tag = t && t.tagName;
    if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || (t && t.isContentEditable))
      return;
    let which = null;
    if (e.key === 'ArrowRight' || e.key === 'PageDown' || (e.key === ' ' && !e.shiftKey))
      which = 'next';
    else if (e.key === 'ArrowLeft' || e.key === 'PageUp' || (e.key === ' ' && e.shiftKey))
      which = 'prev';
    if (!which) return;
    const b = document.querySelector('.st-key-present-' + which + ' button');
    if (!b) return;
    e.preventDefault();
    if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
    if (!b.disabled) b.click();
  `), true);
}
</script>
"""


def keyboard() -> None:
    """The presenter's keys (→ ← PageDown PageUp Space), for Next and Previous."""
    with st.container(key="present-keys"):  # hidden by the present-mode CSS
        components.html(_KEYS_JS, height=0)


def run(ctx: PageContext, page: Any) -> None:
    # Streamlit 1.67 drops the parameter from the address bar when present mode is entered
    # through a page link (the sidebar's Present), so the next rerun would leave present
    # mode: write it back on every run.
    st.query_params["present"] = "1"
    shown = screens(ctx)
    i = screen_index(shown)
    screen = shown[i]
    name = ctx.data.account.name if ctx.data is not None else "Then & Now"
    st.caption(f"{md(name)} · {ctx.describe_filters()}" if ctx.data is not None else md(name))
    st.title(screen.title)
    body = st.container()  # filled last, so a "no data" stop keeps the buttons below
    # The controls sit in a bar pinned to the bottom of the window (CSS in ui.page_states), so
    # Next is on screen whatever the screen's height.
    with st.container(key="present-nav"):
        prev_col, mid, next_col = st.columns([1, 3, 1], vertical_alignment="center")
        prev_col.button(
            "Previous",
            icon=":material/arrow_back:",
            disabled=i == 0,
            on_click=_go,
            args=(i - 1,),
            width="stretch",
            key="present-prev",
        )
        upcoming = f" · next: {shown[i + 1].title}" if i + 1 < len(shown) else ""
        with mid:
            st.markdown(
                f"<div style='text-align:center;color:#52606D'>{i + 1} / "
                f"{len(shown)}{upcoming}</div>",
                unsafe_allow_html=True,
            )
            params = current_params(drop=("present", "screen"))
            st.page_link(
                page, label="Leave present mode", icon=":material/close:", query_params=params
            )
        next_col.button(
            "Next",
            icon=":material/arrow_forward:",
            disabled=i == len(shown) - 1,
            on_click=_go,
            args=(i + 1,),
            width="stretch",
            key="present-next",
        )
    keyboard()
    with body:
        if ctx.data is None or not views.has_data(ctx.data, ctx.filters):
            st.info(
                "There is no data to present for this selection. Load the demo with "
                "`make demo`, import files on the Data page, or widen the filters."
            )
        else:
            with st.container(key=f"present-screen-{screen.key}"):
                screen.render(ctx)
