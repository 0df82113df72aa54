"""The renewal pack as an editable PowerPoint deck (python-pptx), from the same story.

One slide per present-mode screen (where we are, the story so far, value month after month,
then and now, what drove it, what the contract says, what's next) plus what changed. Charts
are native PowerPoint charts built from the story's own numbers, so the account lead can
restyle them; every text is the story's text; each slide's speaker notes carry the method
line of its figures.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from typing import Any

from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_TICK_LABEL_POSITION
from pptx.enum.text import MSO_AUTO_SIZE, PP_ALIGN
from pptx.oxml.ns import qn
from pptx.util import Inches, Pt

from story.model import Section, Story, Table

__all__ = ["render_deck"]

WIDE = (Inches(13.333), Inches(7.5))
TOP, BODY = Inches(1.4), Inches(5.6)
MARGIN, TEXT_WIDTH = Inches(0.6), Inches(12.1)
#: Longest text from the data in a table cell, and in a chart's category label: a table row
#: and a category grow with their text (PowerPoint cannot shrink them), so a longer title is
#: cut there with "…"; text boxes print every text whole (``_fit``).
CELL_CHARS, LABEL_CHARS = 90, 40
#: Smallest font a text box is shrunk to, and the average glyph width assumed (in em; DejaVu
#: Sans averages ~0.52 over prose): a little over, so an estimate does not overflow.
MIN_PT, EM_WIDTH, LINE = 5.0, 0.55, 1.2
#: A table cell's left and right insets together (python-pptx's default, 0.1 in each), in pt.
CELL_INSETS_PT = 14.4
EMU_PER_PT = 12700
FONT_DIR = Path(__file__).resolve().parent / "fonts"


@cache
def _font(bold: bool) -> Any:
    from PIL import ImageFont

    return ImageFont.truetype(
        str(FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")), 100
    )


def _text_pt(text: str, size: float, bold: bool = False) -> float:
    """Width of ``text`` on one line at ``size`` pt in DejaVu Sans (the pack's font, and the
    one LibreOffice falls back to for the deck's unnamed font; PowerPoint's Calibri is
    narrower), from the font's advance widths."""
    return float(_font(bold).getlength(text)) * size / 100


def _column_widths(columns: Any, rows: list[tuple[str, ...]], size: float, total: int) -> list[int]:
    """Column widths (EMU) that add up to ``total``: a column whose longest text (the header
    in bold) fits in its share keeps it on one line — a figure such as "−14.7%" must never
    wrap — and the slack is shared in proportion; when the texts do not all fit, the
    columns that fit an equal share of what is left keep their width and the longer ones
    share the rest in proportion to their text (they wrap)."""
    need = [
        max([_text_pt(c, size, bold=True)] + [_text_pt(r[j], size) for r in rows])
        + CELL_INSETS_PT
        + 1.0  # rounding of the advance widths
        for j, c in enumerate(columns)
    ]
    width: dict[int, float] = {}
    while len(width) < len(need):
        free = [j for j in range(len(need)) if j not in width]
        left = total / EMU_PER_PT - sum(width.values())
        scale = left / sum(need[j] for j in free)
        short = [j for j in free if need[j] <= left / len(free)]
        if scale >= 1 or not short or len(short) == len(free):
            width.update({j: need[j] * scale for j in free})
        else:
            width.update({j: need[j] for j in short})
    out = [int(width[j] * EMU_PER_PT) for j in range(len(need))]
    out[-1] = total - sum(out[:-1])
    return out


def _short(text: str, limit: int) -> str:
    """``text`` whole when it fits ``limit`` characters, else cut with "…" (never silently)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _lines(text: str, width_pt: float, size: float) -> int:
    per_line = max(1, int(width_pt / (EM_WIDTH * size)))
    return sum(max(1, -(-len(part) // per_line)) for part in text.split("\n"))


def _fit(tf: Any, paragraphs: list[str], width: int, height: int, size: float, gap: float) -> None:
    """Word-wrapped text that fits its box: the font shrinks (to ``MIN_PT`` at least) until
    the wrapped lines, estimated, fill no more than the box; the size is written, so every
    program shows the same, and the box also says "shrink on overflow" (normAutofit)."""
    w, h = width / 12700 - 14.4, height / 12700 - 7.2  # EMU to pt, less the frame's insets
    while size > MIN_PT:
        used = sum(_lines(p, w, size) * size * LINE + gap for p in paragraphs)
        if used <= h:
            break
        size = max(MIN_PT, size - (1.0 if size > 10 else 0.5))
    tf.word_wrap = True
    tf.auto_size = MSO_AUTO_SIZE.TEXT_TO_FIT_SHAPE
    for i, line in enumerate(paragraphs):
        p = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
        p.text = line
        p.font.size = Pt(size)
        p.space_after = Pt(gap)


def _slide(prs: Any, title: str, notes: str) -> Any:
    slide = prs.slides.add_slide(prs.slide_layouts[5])  # title only
    head = slide.shapes.title
    # the default template's placeholders are sized for a 10-inch slide: across the wide one
    head.left, head.top, head.width, head.height = MARGIN, Inches(0.3), TEXT_WIDTH, Inches(1.0)
    _fit(head.text_frame, [title], head.width, head.height, 32, 0)
    for p in head.text_frame.paragraphs:
        p.alignment = PP_ALIGN.LEFT
    slide.notes_slide.notes_text_frame.text = notes
    return slide


def _money_axis(chart: Any, size: int = 12) -> None:
    """Value axis in millions (the story's money is whole units) with readable ticks."""
    ax = chart.value_axis
    ax.tick_labels.number_format = '#,##0.0,,"M"'
    ax.tick_labels.number_format_is_linked = False
    ax.tick_labels.font.size = Pt(size)
    ax.has_major_gridlines = True


def _category_ticks(chart: Any, every: int, size: int = 12) -> None:
    ax = chart.category_axis
    ax.tick_labels.font.size = Pt(size)
    ax.tick_label_position = XL_TICK_LABEL_POSITION.LOW  # below the plot, even under zero
    if every > 1:  # one label in ``every`` (months would run into each other)
        skip = ax._element.makeelement(qn("c:tickLblSkip"), {"val": str(every)})
        # the schema's order: tickLblSkip comes before noMultiLvlLbl (else it is ignored)
        after = ax._element.find(qn("c:noMultiLvlLbl"))
        if after is not None:
            after.addprevious(skip)
        else:
            ax._element.append(skip)


def _text(slide: Any, lines: list[str], top: int = TOP, height: int = BODY, size: int = 18) -> None:
    box = slide.shapes.add_textbox(MARGIN, top, TEXT_WIDTH, height)
    _fit(box.text_frame, lines, TEXT_WIDTH, height, size, 8)


def _table(slide: Any, t: Table, top: int = TOP, max_rows: int = 12, size: int = 12) -> None:
    rows = [tuple(_short(v, CELL_CHARS) for v in r) for r in t.rows[:max_rows]]
    shape = slide.shapes.add_table(
        len(rows) + 1, len(t.columns), Inches(0.6), top, Inches(12.1), Inches(0.4) * (len(rows) + 1)
    )
    tbl = shape.table
    for j, w in enumerate(_column_widths(t.columns, rows, size, shape.width)):
        tbl.columns[j].width = w
    right = {j for j, c in enumerate(t.columns) if c in t.numeric}
    for j, c in enumerate(t.columns):
        tbl.cell(0, j).text = c
    for i, r in enumerate(rows, start=1):
        for j, v in enumerate(r):
            tbl.cell(i, j).text = v
    for i in range(len(rows) + 1):
        for j in range(len(t.columns)):
            for p in tbl.cell(i, j).text_frame.paragraphs:
                p.font.size = Pt(size)
                if j in right:
                    p.alignment = PP_ALIGN.RIGHT


def _notes(s: Section) -> str:
    return " ".join(
        [f.label + ": " + f.help for f in s.figures if f.help and not f.key.startswith("month:")]
        + list(s.notes)
    )


def render_deck(
    story: Story,
    *,
    changes: Section | None = None,
    edition: int = 1,
    provider: str = "",
    client: str = "",
) -> bytes:
    """The deck of ``story``; ``provider`` and ``client`` name the parties on the cover."""
    prs = Presentation()
    prs.slide_width, prs.slide_height = WIDE
    cover = prs.slides.add_slide(prs.slide_layouts[0])
    title, sub = cover.shapes.title, cover.placeholders[1]
    title.left, title.top, title.width, title.height = MARGIN, Inches(2.0), TEXT_WIDTH, Inches(1.5)
    sub.left, sub.top, sub.width, sub.height = MARGIN, Inches(3.7), TEXT_WIDTH, Inches(2.6)
    _fit(title.text_frame, [story.account], title.width, title.height, 44, 0)
    parties = f"{provider} for {client or story.account}" if provider else client
    lines = [
        f"Renewal pack · as of {story.as_of:%d %B %Y} · edition {edition}",
        f"{story.since:%B %Y} – {story.data_through:%B %Y}, baseline "
        f"{story.baseline[0]:%b %Y} – {story.baseline[1]:%b %Y}",
        parties,
    ]
    _fit(sub.text_frame, [x for x in lines if x], sub.width, sub.height, 24, 0)
    head = story.section("headline")
    s = _slide(prs, head.title, _notes(head))
    _text(
        s,
        [
            f"{f.label}: {f.text}" + (f" ({f.exact})" if f.exact != f.text else "")
            for f in head.figures
        ]
        + list(head.notes),
        size=24,
    )
    narrative = story.section("narrative")
    s = _slide(
        prs,
        narrative.title,
        "Every figure in these sentences comes from a metric; "
        "none is typed by hand. " + _notes(head),
    )
    _text(s, list(narrative.sentences), size=16)
    try:
        curve = story.section("curve")
        s = _slide(
            prs,
            curve.title,
            "Value to date = Σ over units and months of "
            "s·(baseline − actual) × volume × money value, headline KPIs only. "
            + " ".join(curve.notes),
        )
        months = [f for f in curve.figures if f.key.startswith("month:")]
        data = CategoryChartData()
        data.categories = [f.label for f in months]
        running, series = 0.0, []
        for f in months:
            running += float(f.value or 0)
            series.append(round(running, 2))
        data.add_series("Value to date", series)
        chart = s.shapes.add_chart(
            XL_CHART_TYPE.LINE, MARGIN, Inches(1.4), TEXT_WIDTH, Inches(5.6), data
        ).chart
        chart.has_legend = False
        chart.has_title = False  # the slide's title says it
        _money_axis(chart)
        _category_ticks(chart, max(1, round(len(months) / 12)))
    except KeyError:
        pass
    try:
        sc = story.section("scorecard")
        s = _slide(
            prs,
            sc.title,
            "Rate KPIs volume-weighted over units and months; level "
            "KPIs summed over units, averaged over months. " + " ".join(sc.sentences),
        )
        _table(s, sc.table("scorecard"), size=16)
    except KeyError:
        pass
    try:
        br = story.section("bridge")
        s = _slide(prs, br.title, " ".join(br.notes))
        t = br.table("bridge")
        steps = [f for f in br.figures if f.key.startswith("step:")]
        # a waterfall from the same steps: each bar starts where the one before ended (an
        # invisible first series carries it there), the last one is the total from zero
        start, bases, sizes = 0.0, [], []
        for i, f in enumerate(steps):
            v = float(f.value or 0)
            if i == len(steps) - 1 and f.label == "Value to date":
                bases.append(0.0)
                sizes.append(round(v, 2))
                continue
            bases.append(round(min(start, start + v), 2))
            sizes.append(round(abs(v), 2))
            start += v
        # A bar chart draws its first category at the bottom. The steps go in last first, so
        # the first step is on top (as on screen) with the axes in their usual places: a
        # reversed category axis moves the value axis to the top in LibreOffice whatever
        # "crosses" says.
        order = list(reversed(range(len(steps))))
        data = CategoryChartData()
        data.categories = [_short(steps[i].label, LABEL_CHARS) for i in order]
        data.add_series("from", [bases[i] for i in order])
        data.add_series("Value", [sizes[i] for i in order])
        chart = s.shapes.add_chart(
            XL_CHART_TYPE.BAR_STACKED, MARGIN, Inches(1.4), Inches(8.0), Inches(5.6), data
        ).chart
        chart.has_legend = False
        chart.has_title = False
        chart.plots[0].gap_width = 40
        carrier = chart.plots[0].series[0].format
        carrier.fill.background()  # invisible: only positions the bar
        carrier.line.fill.background()
        # the screen's colours: adds value, costs value, the total
        for at, i in enumerate(order):
            f = steps[i]
            fill = chart.plots[0].series[1].points[at].format.fill
            fill.solid()
            last = i == len(steps) - 1 and f.label == "Value to date"
            fill.fore_color.rgb = RGBColor.from_string(
                "1F2933" if last else "0072B2" if float(f.value or 0) >= 0 else "D55E00"
            )
        _money_axis(chart)
        chart.value_axis.minimum_scale = min(0.0, *bases)
        chart.category_axis.tick_labels.font.size = Pt(12)
        side = (Inches(8.8), Inches(1.5), Inches(4.0), Inches(5.5))
        box = s.shapes.add_textbox(*side)
        # the measured value, then its evidence level and estimate, said apart
        _fit(
            box.text_frame,
            [
                f"{_short(r[0], CELL_CHARS)}: {r[1]}"
                + (f" measured · evidence: {r[2]}" if r[2] not in ("", "—") else "")
                + (f", estimate {r[3]}" if len(r) > 3 and r[3] not in ("", "—") else "")
                for r in t.rows
            ],
            side[2],
            side[3],
            12,
            4,
        )
    except KeyError:
        pass
    try:
        k = story.section("contract")
        s = _slide(
            prs,
            k.title,
            "Gain-share: the client is guaranteed (1 − g)·G, the provider "
            "gets S − (1 − g)·G. Productivity: required = base·(1 − p)^years. " + " ".join(k.notes),
        )
        _text(s, list(k.sentences), height=Inches(3.0), size=14)
        _table(s, k.table("gain_share"), top=Inches(4.6), size=12)
    except KeyError:
        pass
    inn = story.section("innovations")
    signed = [f for f in inn.figures if f.key.startswith("signoff:")]
    signed.sort(key=lambda f: f.help != "changed")  # changed lines first
    for at in range(0, len(signed), 12):  # every line, twelve a slide
        s = _slide(
            prs,
            "Value lines agreed by the client",
            "A line agreed by the client shows who agreed it and when; a figure that changed "
            "after the sign-off shows the agreed and the current figure, never the new one as "
            "agreed. " + inn.notes[-1],
        )
        _table(
            s,
            Table(
                "signoffs",
                ("Innovation", "Measured now", "Sign-off"),
                tuple((f.label, f.exact, f.text) for f in signed[at : at + 12]),
                numeric=("Measured now",),
            ),
            size=12,
        )
    p = story.section("pipeline")
    s = _slide(prs, p.title, "Claims per year are the innovations' own estimates, not measured.")
    _text(s, list(p.sentences), height=Inches(1.4), size=16)
    _table(s, p.table("upcoming"), top=Inches(3.0), max_rows=8, size=12)
    if changes is not None:
        s = _slide(prs, changes.title, "Compared with the figures archived with the last edition.")
        _text(s, list(changes.sentences), size=16)
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()
