"""The deck with hostile innovation titles (markup of every engine, 10k characters, right to
left, CJK, emoji): they print as text, and the layout holds — every shape on the slide,
every text box wrapped and sized so its text fits, no table cell longer than a row holds."""

from __future__ import annotations

import dataclasses
import io
import math
from typing import Any

import pytest
from pptx import Presentation
from pptx.enum.text import MSO_AUTO_SIZE

from reports.deck import render_deck
from story import build_story
from story.model import Story
from tests.reports.test_pack import HOSTILE, LONG

#: An average glyph is at least half an em wide (DejaVu Sans: ~0.52 over prose), so a text
#: needs at least these many lines: a lower bound, independent of the deck's own estimate.
EM = 0.5
EMU_PER_PT = 12700


@pytest.fixture(scope="module")
def hostile_story(demo_story_bundle) -> Story:
    """The demo account with the hostile titles given to the innovations the deck names:
    the bridge's largest contributors (the 10k title on the first, so the narrative's
    "largest contributors" sentence carries it whole) and the pipeline's next ones."""
    data, est = demo_story_bundle
    plain = build_story(data, estimates=est)
    codes = [
        f.label.split(" ", 1)[0]
        for f in plain.section("bridge").figures
        if f.key.startswith("step:")
    ]
    codes = [c for c in codes if c.startswith("INN-")]
    codes += [r[0] for r in plain.section("pipeline").table("upcoming").rows]
    titles = [LONG, *HOSTILE]
    assert len(codes) >= len(titles)
    by_code = dict(zip(codes, titles, strict=False))
    inn = data.innovations.assign(
        title=[
            by_code.get(c, t)
            for c, t in zip(data.innovations["code"], data.innovations["title"], strict=True)
        ]
    )
    return build_story(dataclasses.replace(data, innovations=inn), estimates=est)


def _texts(prs: Any) -> list[str]:
    out: list[str] = []
    for slide in prs.slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                out.append(shape.text_frame.text)
            if shape.has_table:
                out.extend(c.text for row in shape.table.rows for c in row.cells)
            if shape.has_chart:
                out.extend(str(c) for c in shape.chart.plots[0].categories)
    return out


def test_hostile_titles_print_as_text_in_the_deck(hostile_story: Story) -> None:
    prs = Presentation(io.BytesIO(render_deck(hostile_story)))
    texts = _texts(prs)
    body = "\n".join(texts)
    for title in HOSTILE:
        assert title in body, title  # verbatim: no markup read, nothing dropped
    # the 10k title whole in the narrative's sentence, and cut with "…" (never silently)
    # where a table row or a chart label must stay short
    sentence = next(s for s in hostile_story.section("narrative").sentences if LONG.strip() in s)
    assert sentence in body
    cut = [t for t in texts if "Supercalifragilistic" in t and LONG.strip() not in t]
    assert cut, "the long title is shortened in the bridge's labels"
    for t in cut:
        assert t.rstrip().endswith("…") or "…:" in t, t[:120]
        assert t.count("Supercalifragilistic") < 10


def _lines(text: str, width_pt: float, size_pt: float) -> int:
    per_line = max(1, int(width_pt / (EM * size_pt)))
    return sum(max(1, math.ceil(len(p) / per_line)) for p in text.split("\n"))


def test_deck_layout_holds_with_hostile_titles(hostile_story: Story) -> None:
    prs = Presentation(io.BytesIO(render_deck(hostile_story)))
    W, H = int(prs.slide_width or 0), int(prs.slide_height or 0)
    assert W > H > 0
    boxes = 0
    for n, slide in enumerate(prs.slides, start=1):
        for shape in slide.shapes:
            where = f"slide {n}, {shape.name}"
            assert shape.left >= 0 and shape.top >= 0, where
            assert shape.left + shape.width <= W and shape.top + shape.height <= H, where
            if shape.has_text_frame and shape.text_frame.text:
                tf = shape.text_frame
                assert tf.word_wrap is True, where
                assert tf.auto_size == MSO_AUTO_SIZE.TEXT_TO_FIT_SHAPE, where
                width = shape.width / EMU_PER_PT - 14.4  # less the frame's insets
                need = 0.0
                for p in tf.paragraphs:
                    size = p.font.size.pt if p.font.size is not None else 18.0
                    need += _lines(p.text, width, size) * size * 1.2
                assert need <= shape.height / EMU_PER_PT, (where, need, p.text[:80])
                boxes += 1
            if shape.has_table:
                rows = shape.table.rows
                widths = [c.width / EMU_PER_PT - 14.4 for c in shape.table.columns]
                height = 0.0
                for row in rows:
                    lines, size = 1, 0.0
                    for cell, w in zip(row.cells, widths, strict=True):
                        assert len(cell.text) <= 90, (where, cell.text[:80])
                        sizes = [p.font.size.pt for p in cell.text_frame.paragraphs if p.font.size]
                        size = max(size, *(sizes or [18.0]))
                        lines = max(lines, _lines(cell.text, w, max(sizes or [18.0])))
                    height += lines * size * 1.2 + 7.2
                # a row grows with its text: the whole table still ends on the slide
                assert shape.top / EMU_PER_PT + height <= H / EMU_PER_PT, (where, height)
    assert boxes >= 8


def test_bridge_reads_top_down_with_the_value_axis_below(demo_story: Story) -> None:
    """The first step on top and the value axis under the bars in every program: the steps
    go in last first (a bar chart draws its first category at the bottom) on a category
    axis in its natural order — a reversed one put the value axis at the top in
    LibreOffice."""
    from pptx.oxml.ns import qn

    prs = Presentation(io.BytesIO(render_deck(demo_story)))
    slide = next(s for s in prs.slides if s.shapes.title.text == demo_story.section("bridge").title)
    chart = next(sh.chart for sh in slide.shapes if sh.has_chart)
    steps = [f.label for f in demo_story.section("bridge").figures if f.key.startswith("step:")]
    assert [str(c) for c in chart.plots[0].categories] == steps[::-1]
    cat = chart.category_axis._element
    assert cat.find(qn("c:scaling")).find(qn("c:orientation")).get("val") == "minMax"
    crosses = chart.value_axis._element.find(qn("c:crosses"))
    assert crosses is None or crosses.get("val") == "autoZero"


def test_table_columns_fill_the_table_and_figures_never_wrap(demo_story: Story) -> None:
    """In every table of the demo deck the columns add up to the table's width, and every
    figure (a right-aligned cell: "−14.7%", "$2,731,284") fits its column on one line in
    DejaVu Sans — the font LibreOffice draws the deck with here, measured from the font
    file — with the cell's insets; the Then-and-now "Change" column wrapped "−14.7 %"."""
    from PIL import ImageFont
    from pptx.enum.text import PP_ALIGN

    from reports.pack import FONT_DIR

    font = ImageFont.truetype(str(FONT_DIR / "DejaVuSans.ttf"), 100)
    prs = Presentation(io.BytesIO(render_deck(demo_story)))
    tables = figures = 0
    for slide in prs.slides:
        for shape in slide.shapes:
            if not shape.has_table:
                continue
            tables += 1
            tbl = shape.table
            assert sum(c.width for c in tbl.columns) == shape.width, slide.shapes.title.text
            for row in list(tbl.rows)[1:]:
                for j, cell in enumerate(row.cells):
                    p = cell.text_frame.paragraphs[0]
                    if p.alignment != PP_ALIGN.RIGHT or not cell.text:
                        continue
                    figures += 1
                    text_pt = font.getlength(cell.text) * p.font.size.pt / 100
                    room = (
                        tbl.columns[j].width - cell.margin_left - cell.margin_right
                    ) / EMU_PER_PT
                    assert text_pt <= room, (slide.shapes.title.text, cell.text, text_pt, room)
    assert tables >= 3 and figures >= 20
