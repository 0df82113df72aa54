"""Renewal pack: build the account's pack (PDF or deck) as of a date, preview its first
pages, download it, and see the earlier editions and what changed since the last one. Every
build is archived as an edition (``services.pack``); the password, if any, encrypts the copy
handed out and is kept nowhere."""

from __future__ import annotations

from functools import partial

import streamlit as st

from services import pack as pack_service
from story.model import PACK_SECTION_KEYS
from ui.page_context import engine_for, page_context
from ui.page_states import require_data

SECTION_TITLES = {
    "headline": "Headline figures",
    "narrative": "Narrative",
    "scorecard": "Then-vs-now scorecard",
    "curve": "Cumulative value curve",
    "bridge": "Bridge",
    "innovations": "Innovation table",
    "reconciliation": "Claimed vs measured",
    "contract": "Contract figures",
    "pipeline": "What's next",
    "changes": "What changed since the last edition",
    "method": "Method and baseline",
    "data_quality": "Data-quality notes",
}

ctx = page_context(__file__)
require_data(ctx)
assert ctx.data is not None
engine = engine_for(ctx.url)
account = ctx.data.account.name

st.title("Renewal pack")
st.caption(
    f"{account} · a PDF (or an editable deck) of the story as of a date, archived as an "
    "edition so a recipient can have it verified."
)

with st.form("pack-form"):
    c1, c2 = st.columns(2)
    as_of = c1.date_input(
        "As of", value=pack_service.default_as_of(), help="default: end of the last full month"
    )
    paper = c2.radio("Paper", ["a4", "letter"], horizontal=True, format_func=str.upper)
    provider = c1.text_input(
        "Provider name (cover)",
        value="",
        help="leave empty for the account's provider (the accounts file's provider_name)",
    )
    password = c2.text_input(
        "Password (optional)", type="password", help="AES-256; never stored or logged"
    )
    chosen = st.multiselect(
        "Sections",
        options=list(PACK_SECTION_KEYS),
        default=list(PACK_SECTION_KEYS),
        format_func=lambda k: SECTION_TITLES.get(k, k),
    )
    build = st.form_submit_button(
        "Build the pack", type="primary", icon=":material/picture_as_pdf:"
    )

if build:
    bar = st.progress(0.0, text="Starting…")

    def report(fraction: float, message: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=message)

    try:
        built = pack_service.build_pack(
            engine,
            ctx.scope,
            account,
            as_of=as_of if not isinstance(as_of, tuple) else None,
            paper=str(paper),
            sections=chosen,
            password=password or None,
            provider=provider,
            progress=report,
        )
    except pack_service.PackError as exc:
        bar.empty()
        st.error(str(exc))
    else:
        st.session_state["pack_built"] = built
        bar.progress(1.0, text=f"Edition {built.edition_no} built and archived")

shown: pack_service.BuiltPack | None = st.session_state.get("pack_built")
if shown is not None and shown.account == account:
    built = shown
    st.subheader(f"Edition {built.edition_no} · as of {built.as_of:%d %b %Y}")
    d1, d2 = st.columns(2)
    pdf_name = pack_service.pack_filename(account, built.as_of, "pdf")
    deck_name = pack_service.pack_filename(account, built.as_of, "pptx")
    d1.download_button(
        "Download the PDF" + (" (password-protected)" if built.protected else ""),
        built.content,
        file_name=pdf_name,
        mime="application/pdf",
        icon=":material/download:",
        on_click=pack_service.record_download,
        args=(engine, ctx.scope, account, f"{pdf_name} (edition {built.edition_no}, page)"),
    )
    d2.download_button(
        "Download the deck (.pptx)",
        # built when clicked, not on every rerun of the page (python-pptx, every chart)
        partial(pack_service.deck_of, built),
        file_name=deck_name,
        mime="application/vnd.openxmlformats-officedocument.presentationml.presentation",
        icon=":material/slideshow:",
        on_click=pack_service.record_download,
        args=(engine, ctx.scope, account, f"{deck_name} (edition {built.edition_no}, page)"),
    )
    st.caption(f"SHA-256 {built.sha256}")
    st.markdown("**First pages**")
    cols = st.columns(2)
    for col, png in zip(cols, pack_service.preview_pages(built, 2), strict=False):
        col.image(png, width="stretch")
    st.subheader(built.changes.title)
    for sentence in built.changes.sentences:
        st.markdown(sentence.replace("$", r"\$"))
    for table in built.changes.tables:
        st.markdown(f"**{table.title}**")
        st.table({c: [r[i] for r in table.rows] for i, c in enumerate(table.columns)})

st.subheader("Earlier editions")
editions = pack_service.editions_of(engine, ctx.scope, account)
if not editions:
    st.info("No edition has been built for this account yet.")
for ed in editions[:12]:
    c1, c2 = st.columns([4, 1], vertical_alignment="center")
    head = ed.figures.get("pack", {}).get("headline", {})
    c1.markdown(
        f"**Edition {ed.edition_no}** · as of {ed.as_of:%d %b %Y} · built "
        f"{ed.created_at:%d %b %Y %H:%M} by {ed.built_by or 'unknown'} · value to date "
        f"{head.get('value_to_date_exact', '—')}".replace("$", r"\$")
    )
    ed_name = pack_service.pack_filename(account, ed.as_of, "pdf").replace(
        ".pdf", f"_edition-{ed.edition_no}.pdf"
    )
    c2.download_button(
        "PDF",
        # read when clicked: listing twelve editions must not load twelve PDFs per rerun
        partial(pack_service.edition_pdf, engine, ctx.scope, ed.id),
        file_name=ed_name,
        mime="application/pdf",
        key=f"edition-{ed.id}",
        on_click=pack_service.record_download,
        args=(engine, ctx.scope, account, f"{ed_name} (archived edition, page)"),
    )
