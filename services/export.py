"""CSV exports as a reader gets them, and that spreadsheets cannot execute.

``export_csv(frame, header=…)`` is every table download of the app: a first line
``# Northwind Insurance · all units · all categories · Jan 2023 – Oct 2026 · data to 31 Oct
2026`` (``csv_header``: account, filters and as-of, in plain text), then the table as the
screen shows it — money and other decimals to the cent, ratios as the pages print them
("91%", not 0.9123), evidence levels by their one name ("proven (causal estimate)"), and
none of the frame's plumbing: internal ids, sort and position columns, and the pre-formatted
``*_text`` twin of a number that is itself in the file.

A cell whose text starts with ``=``, ``+``, ``-``, ``@`` (or a tab / carriage return, which some
spreadsheets strip before parsing) is read by Excel, LibreOffice and Google Sheets as a
formula: ``=HYPERLINK("http://x")`` from an innovation title would become a live link. Such
text cells get a leading apostrophe (OWASP's advice), which spreadsheets show as text. Numbers
stay numbers: a negative figure is a float, not text, so ``-1200.5`` is written as is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd

from metrics.rules import EVIDENCE_LABELS

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


#: Ratio columns, written as the pages print them: whole percent ("91%", as the Value table
#: and the detail page show a realisation), not 0.9123.
PERCENT_COLUMNS = ("realisation",)
#: Columns that only order or place rows for a chart or a table widget.
PLUMBING = ("order", "position")


def _plumbing(frame: pd.DataFrame) -> list[str]:
    cols = [str(c) for c in frame.columns]
    out = [c for c in cols if c == "id" or c.endswith("_id") or c in PLUMBING]
    # a pre-formatted twin ("claimed_text" beside "claimed", "text" beside "value")
    out += [c for c in cols if c.endswith("_text") and c.removesuffix("_text") in cols]
    if "text" in cols and "value" in cols:
        out.append("text")
    return out


def reader_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The table as a reader gets it (see the module docstring); numbers stay numbers."""
    out = frame.drop(columns=_plumbing(frame))
    for col in out.columns:
        if col in PERCENT_COLUMNS:
            out[col] = [f"{v:.0%}" if pd.notna(v) else "" for v in out[col]]
        elif col == "evidence":
            out[col] = [EVIDENCE_LABELS.get(str(v), v) if pd.notna(v) else "" for v in out[col]]
        elif pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].round(2)
    return out


def export_csv(frame: pd.DataFrame, *, header: str) -> bytes:
    """A table download: ``# header`` then ``reader_frame(frame)`` as CSV, cents to two
    decimals, text cells neutralised (UTF-8)."""
    body = neutralise(reader_frame(frame)).to_csv(index=False, float_format="%.2f")
    return (f"# {header}\n" + body).encode("utf-8")


def csv_header(
    account: str,
    *,
    units: Sequence[str] | None,
    period: tuple[dt.date, dt.date] | None,
    categories: Sequence[str] | None,
    as_of: dt.date | None,
) -> str:
    """``Northwind Insurance · all units · all categories · Jan 2023 – Oct 2026 · data to
    31 Oct 2026``: what the table holds, in plain text (a name from data is not Markdown
    here). ``units``/``categories`` None: all of them."""
    parts = [account]
    if units is None:
        parts.append("all units")
    else:
        parts.append(
            ", ".join(units) if len(units) <= 3 else f"{len(units)} units: " + ", ".join(units)
        )
    parts.append("all categories" if not categories else ", ".join(categories))
    parts.append("all months" if period is None else f"{period[0]:%b %Y} – {period[1]:%b %Y}")
    if as_of is not None:
        parts.append(f"data to {as_of:%d %b %Y}")
    return " · ".join(parts)
