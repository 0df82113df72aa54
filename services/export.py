"""CSV exports that spreadsheets cannot execute.

A cell whose text starts with ``=``, ``+``, ``-``, ``@`` (or a tab / carriage return, which some
spreadsheets strip before parsing) is read by Excel, LibreOffice and Google Sheets as a
formula: ``=HYPERLINK("http://x")`` from an innovation title would become a live link. Such
text cells get a leading apostrophe (OWASP's advice), which spreadsheets show as text. Numbers
stay numbers: a negative figure is a float, not text, so ``-1200.5`` is written as is.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells (and column names) cannot start a formula."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise_cell)
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    if not isinstance(out.index, pd.RangeIndex):
        out.index = out.index.map(neutralise_cell)
    return out


def csv_text(df: pd.DataFrame, *, index: bool = False) -> str:
    """``df.to_csv`` with every text cell neutralised."""
    return neutralise(df).to_csv(index=index)
