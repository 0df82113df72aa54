"""Numbers as people read them: Babel formatting in the account's currency and locale.

One formatter per kind of figure, so a card, a sentence, the PDF and the command line print
the same text for the same number. Missing values (None or NaN) print as "—".

* ``money(x)``: compact for |x| ≥ 10,000 when ``compact``, else whole units in the locale's
  currency pattern (``$1,234,567``, ``950 €``): round(x) to the unit. One precision per
  magnitude, so figures side by side in a sentence read alike: thousands whole (``$450K``,
  ``$571K``), millions and billions with one decimal, a zero included (``$5.0M`` beside
  ``$1.4M``, never ``$5M``). Chart axes follow the same rule (``charts.theme.money_axis``
  writes it as a Vega expression from ``COMPACT_FROM``/``MILLION``; ``money_ticks`` uses
  this function itself).
* ``pct(r)``: the ratio r as a percentage with one decimal, signed ``+``/``−``/``±``.
  Every negative figure, money or percentage, carries the true minus sign ``−`` (U+2212,
  ``MINUS``), as Vega's d3-format writes it on the axes; never a hyphen.
* ``number(x, digits)``: grouped decimal with ``digits`` decimals.
* ``kpi_value(x, unit)``: a KPI value in its unit of measure (currency, %, seconds, …).
* ``plural(n, word)`` / ``counted(n, word)``: the word for a count, and the count with it
  ("1 prototype", "12 prototypes"): the one rule every printed count follows.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

from babel import Locale
from babel.numbers import (
    format_compact_currency,
    format_currency,
    format_decimal,
    format_percent,
    get_decimal_symbol,
)

__all__ = [
    "COMPACT_FROM",
    "DASH",
    "MILLION",
    "MINUS",
    "counted",
    "kpi_value",
    "money",
    "number",
    "pct",
    "plural",
]

DASH = "—"
MINUS = "\u2212"
DEFAULT_LOCALE = "en_US"
#: Compact money from this many currency units (below it: whole units, ``$9,990``).
COMPACT_FROM = 10_000
#: From here (after rounding to whole thousands) compact money shows one decimal.
MILLION = 999_500


def _missing(value: float | None) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return True


def money(
    value: float | None, currency: str, locale: str = DEFAULT_LOCALE, *, compact: bool = True
) -> str:
    """``$1.2M`` (compact, for cards and sentences, when |value| ≥ 10,000) or ``$1,234,567``
    (whole currency units, the locale's pattern without decimals); negatives with the true
    minus sign ``−``, as ``pct`` prints them."""
    if _missing(value):
        return DASH
    assert value is not None
    return _money_text(float(value), currency, locale, compact)


@lru_cache(maxsize=8192)
def _money_text(value: float, currency: str, locale: str, compact: bool) -> str:
    # Babel's formatting is the slow part of a story (hundreds of amounts); it is pure.
    return _money(value, currency, locale, compact=compact).replace("-", MINUS, 1)


@lru_cache(maxsize=64)
def _whole_pattern(loc: str) -> str:
    pattern = Locale.parse(loc).currency_formats["standard"].pattern
    return str(pattern.replace(".00", "").replace(".0", ""))


def _money(value: float | None, currency: str, locale: str, *, compact: bool) -> str:
    if _missing(value):
        return DASH
    assert value is not None
    loc = locale or DEFAULT_LOCALE
    if compact and abs(value) >= COMPACT_FROM:
        millions = abs(value) >= MILLION
        if millions and abs(value) < 1_000_000:  # 999,600 reads $1.0M, not $999.6K
            value = math.copysign(1_000_000, value)
        text = str(
            format_compact_currency(value, currency, locale=loc, fraction_digits=int(millions))
        )
        # Some locales have no short form below a million (German prints "500000 €"): an
        # unabbreviated run of digits is harder to read than the grouped whole amount.
        if not re.search(r"\d{5,}", text):
            return _one_decimal(text, loc) if millions else text
    whole = _whole_pattern(loc)
    return str(
        format_currency(round(value), currency, locale=loc, format=whole, currency_digits=False)
    )


@lru_cache(maxsize=64)
def _decimal_sign(loc: str) -> str:
    return str(get_decimal_symbol(loc))


def _one_decimal(text: str, loc: str) -> str:
    """Babel drops a trailing zero ("$5M"); put it back ("$5.0M") so millions always show
    one decimal."""
    dec = _decimal_sign(loc)
    if re.search(r"\d" + re.escape(dec) + r"\d", text):
        return text
    return re.sub(r"(\d+)", lambda m: m.group(1) + dec + "0", text, count=1)


def pct(value: float | None, locale: str = DEFAULT_LOCALE, *, signed: bool = True) -> str:
    """The ratio ``value`` (0.197 = 19.7 %) with one decimal; signed ``+``, ``−`` or ``±``."""
    if _missing(value):
        return DASH
    assert value is not None
    text = str(format_percent(abs(value), format="#,##0.0%", locale=locale or DEFAULT_LOCALE))
    if not signed:
        return text
    return ("+" if value > 0 else "−" if value < 0 else "±") + text


def number(value: float | None, locale: str = DEFAULT_LOCALE, digits: int = 1) -> str:
    """``value`` grouped, with ``digits`` decimals."""
    if _missing(value):
        return DASH
    assert value is not None
    fmt = "#,##0" + ("." + "0" * digits if digits else "")
    return str(format_decimal(value, format=fmt, locale=locale or DEFAULT_LOCALE))


def plural(n: float, one: str, many: str | None = None) -> str:
    """``one`` when the count ``n`` is exactly 1, else ``many`` (default ``one + "s"``), for
    every count a sentence, card or command prints: "1 prototype", "0 prototypes",
    "2 unit go-lives". Give ``many`` for irregular words and phrases ("innovation is" /
    "innovations are")."""
    return one if n == 1 else (many if many is not None else one + "s")


def counted(n: int, one: str, many: str | None = None, locale: str = DEFAULT_LOCALE) -> str:
    """The count grouped in the locale and its word (``plural``): "1 innovation",
    "1,204 rows"."""
    return f"{number(n, locale, 0)} {plural(n, one, many)}"


def kpi_value(value: float, unit: str, currency: str, locale: str = DEFAULT_LOCALE) -> str:
    """A KPI value in its unit of measure: money with cents when the unit is the account's
    currency, ``4.20 %``, ``312 s``, whole transactions, else one decimal (none from 1,000)
    followed by the unit (a bare number for scores)."""
    if unit == currency:
        return str(format_currency(value, currency, locale=locale or DEFAULT_LOCALE))
    if unit == "%":
        return number(value, locale, 2) + " %"
    if unit in ("seconds",):
        return number(value, locale, 0) + " s"
    if unit in ("transactions",):
        return number(value, locale, 0)
    digits = 1 if abs(value) < 1000 else 0
    return number(value, locale, digits) + (f" {unit}" if unit and unit != "score" else "")


_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~$&])|:(?=\S)")
_MD_LINE_START = re.compile(r"^([#>+=-]|\d+(?=[.)]))")


def escape_markdown(text: str) -> str:
    """Words from data (a title, a name, a URL parameter) made safe to put inside Markdown:
    on one line, with every character that could start emphasis, a link, code, HTML, maths,
    strike-through, a table, or a Streamlit directive (``:red[…]``, ``:material/x:``, emoji
    ``:smile:``) backslash-escaped, and a line start that would make a heading, quote, list
    or rule escaped too. Plain words and punctuation stay as they are."""
    s = " ".join(text.split())
    s = _MD_INLINE.sub(lambda m: "\\" + (m.group(1) or ":"), s)
    m = _MD_LINE_START.match(s)
    if m is None:
        return s
    if m.group(1)[0].isdigit():  # "1. x" would be a list item: escape the "."
        n = len(m.group(1))
        return s[:n] + "\\" + s[n:]
    return "\\" + s
