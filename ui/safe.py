"""Text from data stays text.

Streamlit renders Markdown (plus its own directives: ``:colour[…]``, ``:material/…:``,
emoji shortcodes, ``$…$`` maths, and raw HTML in some places) in st.markdown, st.caption,
st.info, st.title, st.write, labels … Titles, descriptions, names and URL parameters come from
imported files, identity providers or people, so wherever they meet Markdown they go through
``md`` (``metrics.format.escape_markdown``, which the narrative uses too).
"""

from __future__ import annotations

from metrics.format import escape_markdown

__all__ = ["md"]


def md(text: object) -> str:
    """``text`` escaped so that Markdown shows it literally, on one line."""
    return escape_markdown("" if text is None else str(text))
