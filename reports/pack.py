"""The renewal pack PDF: the story model (``story.build_story``) typeset by Typst.

Why Typst: measured here (issue #12, ``benchmarks/pack_vs_browser.py``), the same document
compiles an order of magnitude faster than WeasyPrint or a browser, renders PNG pages for the
preview itself, and repeats table headers on every page natively. The data reaches the template
only as JSON (``sys.inputs``), and the template inserts every text as a string value, so a title
such as ``#set page(fill: red)`` or ``</table>`` prints as itself and is never read as markup.

Charts are the screen's Altair specs (``story.Chart.spec``) rendered to SVG by vl-convert and
embedded as vector images. Fonts come from ``reports/fonts`` only (system fonts are ignored),
so the output does not depend on the machine.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import typst
import vl_convert as vlc

from story.model import APPENDIX_KEYS, Chart, Section, Story

__all__ = [
    "FONTS",
    "PAPERS",
    "PackDocument",
    "Progress",
    "chart_svg",
    "content_checksum",
    "logo_svg",
    "render_pack",
    "render_png",
    "runtimes_started",
]

HERE = Path(__file__).resolve().parent
FONT_DIR = HERE / "fonts"
TEMPLATE = HERE / "templates" / "pack.typ"
#: Families in fallback order: Latin/Greek/Cyrillic, Arabic, Chinese, emoji.
FONTS = ("DejaVu Sans", "Noto Sans Arabic", "Noto Sans CJK SC", "Noto Color Emoji")
PAPERS = {"a4": "a4", "letter": "us-letter"}

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class PackDocument:
    """What one build printed: the PDF bytes, its SHA-256, the content checksum in its
    footer and the data that was typeset (the figures an edition archives)."""

    pdf: bytes
    sha256: str
    content_sha256: str
    data: dict[str, Any]
    logos: Mapping[str, str] = field(default_factory=dict)


#: The native runtimes this process has started ("vl-convert", "typst"). Each runs threads
#: of its own (vl-convert's JavaScript engine, Typst's layout pool) that a forked child does
#: not have, so a child would wait for them forever: ``services.pack.build_packs`` forks its
#: workers only from a process that has started neither (``runtimes_started``).
_STARTED: set[str] = set()


def runtimes_started() -> bool:
    """Has this process started vl-convert or Typst (through this module or, for vl-convert,
    directly: its threads are named ``tokio-runtime-w…`` and ``V8 …``)? True when it cannot
    tell (no ``/proc``)."""
    if _STARTED:
        return True
    try:
        names = [
            (Path("/proc/self/task") / t / "comm").read_text()
            for t in os.listdir("/proc/self/task")
        ]
    except OSError:
        return True
    return any(n.startswith(("tokio", "V8")) for n in names)


@cache
def _fonts_registered() -> bool:
    _STARTED.add("vl-convert")
    vlc.register_font_directory(str(FONT_DIR))
    return True


@cache
def _compiler() -> typst.Compiler:
    # One compiler per process: Typst keeps fonts and the parsed template between builds.
    _STARTED.add("typst")
    return typst.Compiler(
        str(TEMPLATE), root=str(HERE), font_paths=[str(FONT_DIR)], ignore_system_fonts=True
    )


#: Chart width on paper, in Vega pixels (0.75 pt each: 480 pt, the A4 text width).
CHART_WIDTH = 640
#: A wide chart's (``Chart.wide``: the value curve, the bridge) on its landscape page:
#: 690 pt, the US Letter landscape text width (A4's is 740 pt; the image scales to it).
WIDE_CHART_WIDTH = 920


@lru_cache(maxsize=256)
def chart_svg(spec: str, width: int = CHART_WIDTH) -> str:
    """A Vega-Lite spec (JSON text) as SVG, with the pack's fonts. The screen's specs fill
    their container; on paper they get a fixed ``width`` (Vega pixels) that leaves room for
    the axis labels. Cached by spec: an unchanged chart is drawn once per process."""
    _fonts_registered()
    d = json.loads(spec)
    if d.get("width") in (None, "container"):
        d["width"] = width - 160  # the plot; labels and legend add up to ~160
    # Vega measures labels with the font it resolves; Typst draws them with the pack's own
    # DejaVu Sans. Naming only that face makes both the same (no label clipped at the edge).
    d.setdefault("config", {})["font"] = FONTS[0]
    _no_limit_on_number_axes(d)
    return str(vlc.vegalite_to_svg(d))


def _no_limit_on_number_axes(node: Any) -> None:
    """Give the quantitative and temporal axes of a Vega-Lite spec ``labelLimit: 0`` (no
    truncation) unless the spec sets one.

    Why: vl-convert measures a text by laying it out as a one-line SVG with its fonts
    (~2.5 ms each here, ``benchmarks/pack_vs_browser.py --profile-charts``), and Vega
    measures a label with a limit three times (truncation at layout, bounds, truncation
    again when drawn) against once without. The labels of a number or date axis ("$6.46M",
    "Jan 2025") are far shorter than Vega's default limit (180 px), so none is ever cut:
    the SVG is the same, drawn with fewer measurements. Axes of names keep their limits."""
    if isinstance(node, list):
        for x in node:
            _no_limit_on_number_axes(x)
        return
    if not isinstance(node, dict):
        return
    enc = node.get("encoding")
    if isinstance(enc, dict):
        for channel in ("x", "y"):
            e = enc.get(channel)
            if not isinstance(e, dict) or e.get("type") not in ("quantitative", "temporal"):
                continue
            if "axis" in e and e["axis"] is None:
                continue  # no axis drawn
            e["axis"] = {"labelLimit": 0, **(e.get("axis") or {})}
    for v in node.values():
        if isinstance(v, dict | list):
            _no_limit_on_number_axes(v)


#: The logos a cover can show.
LOGOS = ("provider", "client")
#: Largest logo file read (a logo, not a photograph).
LOGO_MAX_BYTES = 2_000_000


def logo_svg(content: bytes, name: str) -> str:
    """A logo file (PNG, JPEG or SVG) as SVG text for the cover: Typst reads images from
    its inputs only as text, so a raster logo is wrapped in an SVG with its pixels as a
    data URI. Raises ``ValueError`` naming ``name`` when the file is none of these."""
    if len(content) > LOGO_MAX_BYTES:
        raise ValueError(f"{name}: larger than {LOGO_MAX_BYTES // 1_000_000} MB")
    head = content[:512].lstrip()
    if head.startswith(b"<") and b"<svg" in content[:4096]:
        try:
            return content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{name}: an SVG that is not UTF-8 text") from exc
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(content)) as im:
            fmt, (w, h) = im.format, im.size
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"{name}: not a PNG, JPEG or SVG image") from exc
    if fmt not in ("PNG", "JPEG"):
        raise ValueError(f"{name}: a {fmt} image; use PNG, JPEG or SVG")
    uri = f"data:image/{fmt.lower()};base64,{base64.b64encode(content).decode('ascii')}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="{w}" height="{h}" viewBox="0 0 {w} {h}">'
        f'<image width="{w}" height="{h}" xlink:href="{uri}"/></svg>'
    )


def _svg(c: Chart) -> str:
    return chart_svg(c.spec, WIDE_CHART_WIDTH if c.wide else CHART_WIDTH)


def content_checksum(data: dict[str, Any]) -> str:
    """SHA-256 of the typeset data (canonical JSON), without the checksum field itself."""
    body = {k: v for k, v in data.items() if k != "checksum"}
    blob = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _section_dict(s: Section) -> dict[str, Any]:
    return {
        "key": s.key,
        "title": s.title,
        "figures": [
            {"key": f.key, "label": f.label, "text": f.text, "exact": f.exact}
            for f in s.figures
            if not f.key.startswith(("month:", "step:", "signoff:"))  # for other renderers
        ],
        "sentences": list(s.sentences),
        "tables": [
            {
                "key": t.key,
                "title": t.title,
                "columns": list(t.columns),
                "numeric": list(t.numeric),
                "rows": [list(r) for r in t.rows],
            }
            for t in s.tables
        ],
        "charts": [{"key": c.key, "title": c.title, "wide": c.wide} for c in s.charts],
        "notes": list(s.notes),
    }


def pack_data(
    story: Story,
    *,
    paper: str = "a4",
    edition: int = 1,
    built_at: str = "",
    provider: str = "",
    client: str = "",
    changes: Section | None = None,
    sections: Iterable[str] | None = None,
    logos: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The JSON the template typesets (also what an edition archives as its figures)."""
    if paper not in PAPERS:
        raise ValueError(f"paper must be one of {', '.join(PAPERS)}, not {paper!r}")
    keep = set(sections) if sections is not None else None
    told = with_changes(story, changes).sections if changes is not None else story.sections
    chosen = [s for s in told if keep is None or s.key in keep]
    data: dict[str, Any] = {
        "title": f"Renewal pack · {story.account} · {story.as_of.isoformat()}",
        "account": story.account,
        "provider": provider or "—",
        "client": client or story.account,
        # which logos the cover shows (their SVG is a separate input, not typeset data)
        "logos": sorted(k for k in (logos or {}) if k in LOGOS),
        "period": (
            f"{story.since:%B %Y} – {story.data_through:%B %Y} · baseline "
            f"{story.baseline[0]:%b %Y} – {story.baseline[1]:%b %Y} · {story.currency}"
        ),
        "as_of": story.as_of.isoformat(),
        "data_through": story.data_through.isoformat(),
        "edition": str(edition),
        "built_at": built_at,
        "paper": PAPERS[paper],
        "fonts": list(FONTS),
        "headline": story.headline_figures(),
        "verify_line": (
            "Every figure in this pack is computed by Then & Now from the account's data as of "
            "the date above. To check that this file is an unmodified archived edition, run: "
            "thenandnow verify FILE.pdf"
        ),
        "sections": [_section_dict(s) for s in chosen],
    }
    data["checksum"] = content_checksum(data)
    return data


def _charts(story: Story, data: dict[str, Any]) -> dict[str, str]:
    wanted = {c["key"] for s in data["sections"] for c in s["charts"]}
    return {f"chart-{c.key}": _svg(c) for s in story.sections for c in s.charts if c.key in wanted}


def render_pack(
    story: Story,
    *,
    paper: str = "a4",
    edition: int = 1,
    built_at: str = "",
    provider: str = "",
    client: str = "",
    changes: Section | None = None,
    sections: Sequence[str] | None = None,
    progress: Progress | None = None,
    logos: Mapping[str, str] | None = None,
) -> PackDocument:
    """Typeset the pack; ``progress(fraction, message)`` is told about each step.
    ``logos``: ``provider`` / ``client`` → SVG text (``logo_svg``) for the cover."""
    say = progress or (lambda _f, _m: None)
    say(0.05, "collecting the figures")
    data = pack_data(
        story,
        paper=paper,
        edition=edition,
        built_at=built_at,
        provider=provider,
        client=client,
        changes=changes,
        sections=sections,
        logos=logos,
    )
    inputs: dict[str, str] = {f"logo-{k}": v for k, v in (logos or {}).items() if k in LOGOS}
    charts = [c for s in data["sections"] for c in s["charts"]]
    specs = {c.key: c for s in story.sections for c in s.charts}
    for i, c in enumerate(charts):
        say(0.1 + 0.5 * i / max(len(charts), 1), f"drawing chart: {c['title']}")
        inputs[f"chart-{c['key']}"] = _svg(specs[c["key"]])
    inputs["data"] = json.dumps(data, ensure_ascii=False)
    inputs.update(_document_date(built_at))
    say(0.7, f"typesetting {len(data['sections'])} sections")
    pdf = _compiler().compile(format="pdf", sys_inputs=inputs)
    assert isinstance(pdf, bytes)
    say(1.0, "done")
    return PackDocument(
        pdf=pdf,
        sha256=hashlib.sha256(pdf).hexdigest(),
        content_sha256=data["checksum"],
        data=data,
        logos={k: v for k, v in (logos or {}).items() if k in LOGOS},
    )


def _document_date(built_at: str) -> dict[str, str]:
    """The PDF's creation date as the build time printed on the cover ("YYYY-MM-DD HH:MM …")
    instead of the moment of typesetting, so the same data and build time give the same
    bytes (one scheduled run's packs do not depend on how many processes built them). Any
    other ``built_at`` leaves Typst's default (today)."""
    m = re.match(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})", built_at)
    return {"built": "-".join(m.groups())} if m else {}


def render_png(
    doc: PackDocument, story: Story, *, pages: int | None = 2, ppi: float = 60
) -> list[bytes]:
    """The pack's pages as PNG images (Typst renders them itself: no browser, no poppler),
    the first ``pages`` of them (all when None) — for the page's preview."""
    inputs = _charts(story, doc.data)
    inputs.update({f"logo-{k}": v for k, v in doc.logos.items()})
    inputs["data"] = json.dumps(doc.data, ensure_ascii=False)
    out = _compiler().compile(format="png", ppi=ppi, sys_inputs=inputs)
    images = [out] if isinstance(out, bytes) else list(out or [])
    return images if pages is None else images[:pages]


def with_changes(story: Story, changes: Section) -> Story:
    """``story`` with the "what changed" section where ``PACK_SECTION_KEYS`` puts it: before
    the appendix."""
    secs = list(story.sections)
    at = next((i for i, s in enumerate(secs) if s.key in APPENDIX_KEYS), len(secs))
    secs.insert(at, changes)
    return replace(story, sections=tuple(secs))
