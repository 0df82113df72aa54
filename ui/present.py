"""Present mode (placeholder while the metrics land)."""
from __future__ import annotations

from typing import Any

import streamlit as st

from ui.context import PageContext


def run(ctx: PageContext, page: Any) -> None:
    st.title("Present")
