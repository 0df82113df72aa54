"""The renewal pack PDF: same figures as the story model and the CLI, every innovation on
paginated pages with the header repeated, hostile titles printed as text, AES-256."""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
from pathlib import Path
from typing import Any, cast

import pytest
from PIL import Image
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from reports.editions import content_checksum_in, protect
from reports.pack import render_pack
from story.model import Section, Story, Table

HOSTILE = (
    "<script>alert(1)</script>",
    "</table></td>",
    "#set page(fill: red)",
    "\\newpage \\end{document}",
    "{{ 7*7 }} ${x} `code` *bold* _it_ [link](http://x) @ref <label>",
    "تحسين خدمة العملاء",  # Arabic (right to left)
    "客户服务改进项目",  # Chinese
    "Улучшение обслуживания",  # Cyrillic
    "Rocket launch 🚀 with sparkles ✨",
)
LONG = "Supercalifragilistic " * 500  # 10,500 characters


def _pages_text(pdf: bytes) -> list[str]:
    return [(p.extract_text() or "") for p in PdfReader(io.BytesIO(pdf)).pages]


def _squash(text: str) -> str:
    return "".join(text.split())


def test_pdf_prints_the_story_headline_figures(demo_story: Story) -> None:
    doc = render_pack(demo_story, provider="Acme BPO")
    text = "\n".join(_pages_text(doc.pdf))
    for fig in demo_story.section("headline").figures:
        assert fig.text in text, fig.label
        assert fig.exact in text, fig.label
    assert "$6,456,512" in text  # the documented demo figure, independently of the model
    for sentence in demo_story.section("narrative").sentences:
        assert _squash(sentence) in _squash(text)
    assert content_checksum_in(doc.pdf) == doc.content_sha256


def test_pdf_figures_equal_the_cli_json(demo_story: Story, demo_url: str, capsys) -> None:
    import cli

    assert cli.main(["--db", demo_url, "metrics", "--account", demo_story.account, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    doc = render_pack(demo_story)
    text = "\n".join(_pages_text(doc.pdf))
    head = out["story"]["headline"]
    for key in ("value_to_date", "value_to_date_exact", "run_rate", "run_rate_exact"):
        assert head[key] == demo_story.headline_figures()[key]
        assert head[key] in text


def _with_innovations(story: Story, titles: list[str]) -> Story:
    inn = story.section("innovations").table("innovations")
    template = inn.rows[0]
    rows = tuple((f"X-{i:03d}", t, *template[2:]) for i, t in enumerate(titles))
    table = dataclasses.replace(inn, rows=rows, title=f"All {len(rows)} innovations")
    sections = tuple(
        dataclasses.replace(s, tables=(table,)) if s.key == "innovations" else s
        for s in story.sections
    )
    return dataclasses.replace(story, sections=sections)


def _png_pages(pdf: bytes, tmp_path: Path, first: int, last: int) -> list[Image.Image]:
    src = tmp_path / "pack.pdf"
    src.write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "40",
            "-f",
            str(first),
            "-l",
            str(last),
            "-png",
            str(src),
            str(tmp_path / "p"),
        ],
        check=True,
        timeout=600,
    )
    return [Image.open(p).convert("RGB") for p in sorted(tmp_path.glob("p-*.png"))]


def _ink_box(im: Image.Image) -> tuple[int, int, int, int]:
    gray = im.convert("L").point(lambda v: 255 if v < 250 else 0)
    box = gray.getbbox()
    assert box is not None
    return box


def test_250_innovations_paginate_with_the_header_on_every_page(
    demo_story: Story, tmp_path: Path
) -> None:
    titles = [
        f"Innovation number {i} with a title long enough to wrap over two lines in "
        "its column of the table"
        for i in range(250)
    ]
    doc = render_pack(_with_innovations(demo_story, titles), sections=("innovations",))
    pages = _pages_text(doc.pdf)
    body = pages[1:]  # after the cover
    assert len(body) >= 5  # 250 wrapped rows cannot fit on fewer landscape pages
    for text in body:
        assert "First go-live" in text and "Evidence" in text  # the header, repeated
    found = _squash("\n".join(body))
    for i in (0, 1, 124, 248, 249):
        assert f"X-{i:03d}" in found  # nothing cut off: first, middle and last rows
    images = _png_pages(doc.pdf, tmp_path, 2, len(pages))
    assert len(images) == len(body)
    for im in images:
        left, top, right, bottom = _ink_box(im)
        w, h = im.size
        # inside the page margins (1.8 cm of 29.7 cm wide, landscape) with a small allowance
        assert left >= w * 0.04 and right <= w * 0.96 and bottom <= h * 0.99


def test_hostile_titles_print_as_text(demo_story: Story, tmp_path: Path) -> None:
    titles = [*HOSTILE, LONG]
    doc = render_pack(_with_innovations(demo_story, titles), sections=("innovations",))
    pages = _pages_text(doc.pdf)
    text = _squash("\n".join(pages))
    for t in HOSTILE[:5]:
        assert _squash(t) in text, t  # printed, not interpreted
    assert "Улучшение" in text and "客户服务改进项目" in text
    raw = "\n".join(pages)
    # Arabic word by word (text extraction orders a right-to-left run its own way), emoji
    assert all(word in raw for word in HOSTILE[5].split())
    assert "🚀" in raw and "✨" in raw
    assert text.count("Supercalifragilistic") == 500  # the long title, whole
    images = _png_pages(doc.pdf, tmp_path, 1, len(pages))
    for im in images:
        corner = im.getpixel((2, 2))
        assert corner == (255, 255, 255)  # '#set page(fill: red)' did not colour the page
        left, _top, right, _bottom = _ink_box(im)
        assert right <= im.size[0] * 0.96  # the long title wrapped inside the page


def test_password_protection_is_aes_256(demo_story: Story) -> None:
    doc = render_pack(demo_story, sections=("headline",))
    locked = protect(doc.pdf, "correct horse")
    reader = PdfReader(io.BytesIO(locked))
    assert reader.is_encrypted
    assert not reader.decrypt("wrong")
    reader = PdfReader(io.BytesIO(locked))
    assert reader.decrypt("correct horse")
    encrypt = cast(DictionaryObject, reader.trailer["/Encrypt"].get_object())
    assert encrypt["/V"] == 5 and encrypt["/R"] == 6
    assert demo_story.headline_figures()["value_to_date"] in reader.pages[1].extract_text()
    assert b"correct horse" not in locked
    with pytest.raises(ValueError):
        protect(doc.pdf, "")


def test_what_changed_section_is_printed(demo_story: Story) -> None:
    """The section's sentences and tables are printed, in their place in the order."""
    changes = Section(
        "changes",
        "What changed since the last edition",
        sentences=("Compared with edition 1.",),
        tables=(
            Table(
                "restated",
                ("Month", "Printed in the last edition", "Now"),
                (("2026-03", "$1", "$2"),),
                "Restated figures",
            ),
        ),
    )
    doc = render_pack(demo_story, changes=changes, edition=2)
    text = "\n".join(_pages_text(doc.pdf))
    assert "What changed since the last edition" in text and "Restated figures" in text
    assert "edition 2" in text
    # after the contract figures and the outlook, before the method appendix
    at = [text.index(t) for t in ("What's next", "What changed since", "Method and baseline")]
    assert at == sorted(at)


def test_number_axes_lose_their_label_limit_and_the_svg_stays_the_same(
    demo_story: Story,
) -> None:
    """The paper drops the label limit of number and date axes (fewer text measurements in
    vl-convert); the names' axes keep theirs, and the demo's charts draw exactly as before."""
    import vl_convert as vlc

    from reports.pack import FONTS, _no_limit_on_number_axes, chart_svg

    spec: dict[str, Any] = {
        "layer": [
            {
                "mark": "bar",
                "encoding": {
                    "x": {"field": "v", "type": "quantitative"},
                    "y": {"field": "name", "type": "nominal", "axis": {"labelLimit": 320}},
                },
            },
            {
                "mark": "line",
                "encoding": {
                    "x": {"field": "m", "type": "temporal", "axis": {"labelLimit": 50}},
                    "y": {"field": "v", "type": "quantitative", "axis": None},
                },
            },
        ]
    }
    _no_limit_on_number_axes(spec)
    bar, line = spec["layer"][0]["encoding"], spec["layer"][1]["encoding"]
    assert bar["x"]["axis"] == {"labelLimit": 0}
    assert bar["y"]["axis"] == {"labelLimit": 320}  # names keep their limit
    assert line["x"]["axis"] == {"labelLimit": 50}  # a limit the spec sets is kept
    assert line["y"]["axis"] is None  # no axis is not given one

    for section in demo_story.sections:
        for chart in section.charts:
            d = json.loads(chart.spec)
            d["width"] = 480
            d.setdefault("config", {})["font"] = FONTS[0]
            assert chart_svg(chart.spec) == vlc.vegalite_to_svg(d), chart.key


def test_no_nearly_empty_landscape_page(demo_story: Story) -> None:
    # the innovation notes that did not fit under the table filled a landscape page of
    # their own (2 lines); they now open the next portrait page, before "Claimed vs measured"
    doc = render_pack(demo_story)
    reader = PdfReader(io.BytesIO(doc.pdf))
    for n, page in enumerate(reader.pages, start=1):
        box = page.mediabox
        if box.width > box.height:
            lines = [ln for ln in (page.extract_text() or "").splitlines() if ln.strip()]
            assert len(lines) >= 10, f"landscape page {n}: {lines}"
    text = "\n".join(_pages_text(doc.pdf))
    for note in demo_story.section("innovations").notes:
        assert _squash(note) in _squash(text)  # every note still printed


def test_story_in_one_pass_equals_the_story_computed_afresh(demo_story_bundle) -> None:
    """build_story reuses its intermediates within one pass (metrics.reuse); computing each
    of them afresh gives the same story, to the last string."""
    from story import model

    data, est = demo_story_bundle
    assert model.build_story(data, estimates=est) == model._build_story(data, None, None, est, None)


def _fonts_and_images(reader: PdfReader) -> tuple[list[DictionaryObject], int]:
    """Every font descriptor of the file, and the number of raster images it holds."""
    descriptors: list[DictionaryObject] = []
    images = 0
    for n in range(1, int(str(reader.trailer["/Size"]))):
        obj = reader.get_object(n)
        if not isinstance(obj, DictionaryObject):
            continue
        if obj.get("/Type") == "/FontDescriptor":
            descriptors.append(obj)
        if obj.get("/Subtype") == "/Image":
            images += 1
    return descriptors, images


@pytest.mark.parametrize(("paper", "size"), [("a4", (595, 842)), ("letter", (612, 792))])
def test_pdf_paper_footer_landscape_fonts_and_vector_charts(
    demo_story: Story, paper: str, size: tuple[int, int]
) -> None:
    """The paper asked for; the value curve and the bridge on landscape pages; page numbers
    and the footer (as-of, edition, checksum) on every page after the cover; every font
    embedded (the shipped ones); charts drawn as vectors, no raster image anywhere."""
    doc = render_pack(demo_story, paper=paper, edition=3)
    reader = PdfReader(io.BytesIO(doc.pdf))
    pages = reader.pages
    w, h = (round(float(x)) for x in pages[0].mediabox.upper_right)
    assert (w, h) == size
    texts = [" ".join(t.split()) for t in _pages_text(doc.pdf)]
    for n, flat in enumerate(texts[1:], start=2):
        assert f"page {n} of {len(pages)}" in flat, n
        assert f"as of {demo_story.as_of.isoformat()} · edition 3" in flat, n
    for key in ("curve", "bridge"):
        title = demo_story.section(key).title
        n = next(i for i, t in enumerate(texts) if i > 0 and t.startswith(title))
        assert pages[n].mediabox.width > pages[n].mediabox.height, f"{key} on a portrait page"
    assert any(p.mediabox.width > p.mediabox.height for p in pages)
    descriptors, images = _fonts_and_images(reader)
    assert descriptors, "no font in the file"
    for d in descriptors:
        assert any(k in d for k in ("/FontFile", "/FontFile2", "/FontFile3")), d.get("/FontName")
    names = {str(d.get("/FontName")).split("+")[-1] for d in descriptors}
    assert any("DejaVuSans" in n for n in names), names
    assert images == 0  # the six charts are vector drawings


def test_default_as_of_is_the_end_of_the_last_complete_month() -> None:
    import datetime as dt

    from services.pack import default_as_of

    assert default_as_of(dt.date(2026, 12, 1)) == dt.date(2026, 11, 30)
    assert default_as_of(dt.date(2026, 12, 31)) == dt.date(2026, 11, 30)
    assert default_as_of(dt.date(2024, 3, 15)) == dt.date(2024, 2, 29)
    assert default_as_of(dt.date(2026, 1, 10)) == dt.date(2025, 12, 31)
