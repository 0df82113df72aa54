"""Text from data stays text, and CSV downloads cannot run formulas.

Streamlit renders Markdown (and some HTML-like syntax) in st.markdown, st.caption, st.info,
st.title, labels, … Titles, descriptions, names and URL parameters come from imported files,
identity providers or people, so wherever they meet Markdown they go through ``md``, which
escapes every character Markdown (and Streamlit's extensions: ``:colour[…]``, ``:material/…:``,
``$…$`` maths) could act on. Every CSV download goes through ``ui.components.download_csv``,
which neutralises formula cells with ``services.export.csv_text``.
"""

from __future__ import annotations

import re

# Markdown's own punctuation, plus ':' (Streamlit directives), '$' (maths), '~' and '|'
# (tables, strike-through), '<' '>' (HTML), and '&' (entities).
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:$<>&=\"'])")


def md(text: object) -> str:
    """``text`` escaped so that Markdown shows it literally, on one line."""
    s = "" if text is None else str(text)
    s = " ".join(s.split())  # a newline could start a heading or a list
    return _SPECIAL.sub(r"\\\1", s)
