"""Typed conversion and every check an import must pass before anything is written.

``validate(tables, known, sink)`` converts each ``RawTable`` column by column to the types of
``formats.py`` and reports, at once and in plain words, everything that is wrong:

* header: required columns missing (named, with the expected list), a column given twice,
  an unknown column close to a known one ("did you mean …?"); other unknown columns are
  warnings (``ProblemSink.warn``), as are a header without rows and a skipped title;
* cells: numbers (one decimal separator per file, each column decided only by its own
  unambiguous values, ``parsing.number_evidence``; a value readable two ways in an undecided
  column is refused; ``12%`` and Excel percent cells in every ``*_pct`` column), dates (ISO, day/month/year decided per column, Excel serials and date
  cells, midnight times), months for observation periods, booleans, allowed values (matched
  ignoring case, spaces, dashes and underscores), text length, required cells left empty,
  volumes that are zero or negative, amounts that must not be negative;
* rows: date order (baseline, contract, innovation stages not before the idea), pilot/scaled
  innovations without a pilot date, a target KPI without an expected effect (and vice versa),
  a ``grain`` that contradicts its period;
* across rows and files: the same natural key twice (both rows named), references to
  accounts, units, KPIs and innovations that are neither in the database nor in this import,
  identifiers that differ only in case (``inn-001`` / ``INN-001``), a monthly and daily
  observations for the same unit × KPI × month (double counting),
  rate-KPI observations without a volume, and an account whose baseline window holds no
  observations for a unit that has observations at all (database and import combined).

Conversion is vectorised, or done once per distinct value (dates, text, choices), so a
million-row observation file is checked in seconds. What must be decided from a whole column
(decimal evidence ``_NumberSummary``, day/month order) is gathered first (``_Decisions``;
for a streamed CSV file by ``scan``, chunk by chunk), then rows are converted with it; a
streamed table's typed chunks are stacked compactly (``_Stack``) and the checks across rows
work on integer codes (``_key_codes``), not on frames of tuples. Problems are capped per file
(``ProblemSink.cap``) with a final "… and N more problems in this file".
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import String

from data_loaders import parsing
from data_loaders.formats import BY_ENTITY, SPECS, Column, EntitySpec
from data_loaders.parsing import DateValue, RawTable
from data_loaders.schema import Base

# ---------------------------------------------------------------------------------------------
# Problems


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an import, where a person can find it.

    ``row`` is the row number as seen in the file (CSV header = row 1, so the first data row
    is 2; the sheet row in a workbook; the result row, from 1, for SQL and frames).
    """

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        parts = [self.file]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}")
        parts.append(self.message)
        return " · ".join(parts)


def article(word: str) -> str:
    """'an' before a vowel sound (an innovations file), else 'a'."""
    return "an" if word[:1].lower() in "aeio" else "a"


class ProblemSink:
    """Collects problems, keeping at most ``cap`` per file (and counting the rest)."""

    cap = 200

    def __init__(self) -> None:
        self._kept: dict[str, list[Problem]] = {}
        self._total: dict[str, int] = {}
        self._warnings: list[Problem] = []

    def warn(self, file: str, row: int | None, column: str | None, message: str) -> None:
        """Something a person should know that does not stop the import."""
        if len(self._warnings) < self.cap:
            self._warnings.append(Problem(file, None if row is None else int(row), column, message))

    def warnings(self) -> tuple[Problem, ...]:
        return tuple(self._warnings)

    def __bool__(self) -> bool:
        return any(self._total.values())

    def __len__(self) -> int:
        return sum(self._total.values())

    def add(self, file: str, row: int | None, column: str | None, message: str) -> None:
        self._total[file] = self._total.get(file, 0) + 1
        kept = self._kept.setdefault(file, [])
        if len(kept) < self.cap * 4:
            kept.append(Problem(file, None if row is None else int(row), column, message))

    def add_rows(
        self,
        file: str,
        rows: np.ndarray,
        column: str | None,
        message: str | Sequence[str] | Callable[[int], str],
    ) -> None:
        """Many rows with the same kind of problem; ``message`` is a text, one per row, or a
        function of the position in ``rows``."""
        n = len(rows)
        if not n:
            return
        self._total[file] = self._total.get(file, 0) + n
        kept = self._kept.setdefault(file, [])
        for i in range(min(n, self.cap + 1)):
            if isinstance(message, str):
                text = message
            elif callable(message):
                text = message(i)
            else:
                text = message[i]
            kept.append(Problem(file, int(rows[i]), column, text))

    def problems(self) -> tuple[Problem, ...]:
        out: list[Problem] = []
        for file, kept in self._kept.items():
            kept = sorted(kept, key=lambda p: (p.row is not None, p.row or 0))
            out.extend(kept[: self.cap])
            more = self._total[file] - min(len(kept), self.cap)
            if more > 0:
                out.append(Problem(file, None, None, f"… and {more:,} more problems in this file"))
        return tuple(out)


# ---------------------------------------------------------------------------------------------
# What the database already holds (filled by the importer; empty for a database-free check)


@dataclass
class Known:
    """Natural keys already in the database for the accounts an import names.

    ``observed(account, start, end)`` returns the units (site, process) of the account with
    any observation and those with one in the window [start, end] (a month-grain observation
    counts when its month overlaps the window).
    """

    accounts: dict[str, tuple[dt.date, dt.date]] = field(default_factory=dict)
    units: set[tuple[str, str, str]] = field(default_factory=set)
    kpis: dict[tuple[str, str], str] = field(default_factory=dict)  # (account, key) → kind
    innovations: set[tuple[str, str]] = field(default_factory=set)
    observed: (
        Callable[[str, dt.date, dt.date], tuple[set[tuple[str, str]], set[tuple[str, str]]]] | None
    ) = None
    # (account, site, process) → the unit's own stored baseline window (new sites).
    unit_windows: dict[tuple[str, str, str], tuple[dt.date, dt.date]] = field(default_factory=dict)
    # (account, first month, last month) → stored (site, process, kpi, month, grain) rows.
    grains: Callable[[str, dt.date, dt.date], pd.DataFrame] | None = None


@dataclass
class Typed:
    """A converted table: canonical column names, typed values, ``_row`` (the file's row
    numbers); ``present`` = the format columns it had."""

    label: str
    entity: str
    frame: pd.DataFrame
    present: tuple[str, ...]
    header_ok: bool


# ---------------------------------------------------------------------------------------------
# Column facts derived from the schema


def _max_lengths() -> dict[tuple[str, str], int]:
    """(entity, column) → the database column's maximum length, for text columns."""
    tables = Base.metadata.tables
    refs = {
        "account": ("account", "name"),
        "site": ("unit", "site"),
        "process": ("unit", "process"),
        "kpi": ("kpi", "key"),
        "target_kpi": ("kpi", "key"),
        "innovation": ("innovation", "code"),
    }
    out: dict[tuple[str, str], int] = {}
    for spec in SPECS:
        table = tables[spec.table]
        for col in spec.columns:
            if col.type != "text":
                continue
            target = (spec.table, col.name) if col.name in table.c else refs.get(col.name)
            if spec.entity == "accounts" and col.name == "name":
                target = ("account", "name")
            if target is None:
                continue
            typ = tables[target[0]].c[target[1]].type
            if isinstance(typ, String) and typ.length:
                out[(spec.entity, col.name)] = int(typ.length)
    return out


MAX_LENGTH = _max_lengths()
STAGE_DATES = ("evaluation_date", "prototype_date", "pilot_date", "scaled_date", "closed_date")


# ---------------------------------------------------------------------------------------------
# Converters: each returns (typed series, bad mask) and reports problems


def _is_missing(v: object) -> bool:
    if v is None:
        return True
    if isinstance(v, str):
        return v.strip() == ""
    try:
        return bool(pd.isna(v))  # type: ignore[call-overload]  # pd.isna's stubs have no overload for object; any cell value is valid here
    except (TypeError, ValueError):
        return False


def _empty_mask(s: pd.Series) -> np.ndarray:
    if pd.api.types.is_string_dtype(s.dtype) and s.dtype != object:
        return (s.isna() | (s.str.strip() == "")).to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_datetime64_any_dtype(s.dtype):
        return s.isna().to_numpy(dtype=bool)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    miss = np.array([_is_missing(u) for u in uniques] + [True], dtype=bool)
    return miss[codes]


def _by_unique(s: pd.Series, fn: Callable[[Any], Any]) -> tuple[np.ndarray, np.ndarray]:
    """Apply ``fn`` once per distinct value; returns (results per distinct value + a final
    None for missing, codes per row)."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    results = [fn(u) for u in uniques]
    arr = np.empty(len(results) + 1, dtype=object)
    arr[: len(results)] = results
    arr[len(results)] = None
    return arr, codes


class _Ctx:
    """Conversion context for one table."""

    def __init__(self, raw: RawTable, spec: EntitySpec, sink: ProblemSink) -> None:
        self.raw = raw
        self.spec = spec
        self.sink = sink
        self.rows = raw.rows

    def report(
        self,
        mask: np.ndarray,
        column: str,
        message: str | Callable[[int], str],
    ) -> None:
        idx = np.flatnonzero(mask)
        if not len(idx):
            return
        if callable(message):
            msg = message
            self.sink.add_rows(self.raw.label, self.rows[idx], column, lambda i: msg(int(idx[i])))
        else:
            self.sink.add_rows(self.raw.label, self.rows[idx], column, message)


def convert_text(ctx: _Ctx, col: Column, s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    limit = MAX_LENGTH.get((ctx.spec.entity, col.name))
    allowed = {parsing.fold_choice(a): a for a in col.allowed}

    def one(v: object) -> object:
        if _is_missing(v):
            return None
        if isinstance(v, float) and v.is_integer():
            text = str(int(v))
        elif isinstance(v, dt.datetime | dt.date) or not isinstance(v, str):
            text = str(v).strip()
        else:
            text = v.strip()
        if col.name != "description":
            if "\n" in text or "\r" in text:
                return _Bad(
                    "has a line break: write it on one line (line breaks are kept only in a "
                    "description)"
                )
            text = re.sub(r"\t+", " ", text)
        if "\x00" in text:
            return _Bad("contains a NUL character: remove it")
        if col.name == "currency" and not re.fullmatch(r"[A-Za-z]{3}", text):
            return _Bad(f"'{text}' is not a currency code: use three letters, e.g. USD, EUR")
        if limit and len(text) > limit:
            return _Bad(f"is {len(text)} characters long; at most {limit} are allowed")
        if allowed:
            hit = allowed.get(parsing.fold_choice(text))
            if hit is None:
                return _Bad(
                    f"'{text}' is not an allowed {col.name.replace('_', ' ')}: "
                    f"use one of {', '.join(col.allowed)}"
                )
            return hit
        if col.name == "currency":
            return text.upper()
        return text

    results, codes = _by_unique(s, one)
    return _finish(ctx, col, results, codes, object)


@dataclass(frozen=True)
class _Bad:
    message: str


def _finish(
    ctx: _Ctx,
    col: Column,
    results: np.ndarray,
    codes: np.ndarray,
    dtype: Any,
) -> tuple[pd.Series, np.ndarray]:
    bad_u = np.fromiter((isinstance(v, _Bad) for v in results), dtype=bool, count=len(results))
    if bad_u.any():
        msgs = results
        bad = bad_u[codes]
        ctx.report(bad, col.name, lambda i: msgs[codes[i]].message)
        results = results.copy()
        results[bad_u] = None
    else:
        bad = np.zeros(len(codes), dtype=bool)
    return pd.Series(results[codes], dtype=dtype), bad


def convert_bool(ctx: _Ctx, col: Column, s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    def one(v: object) -> object:
        if _is_missing(v):
            return None
        r = parsing.parse_bool(v)
        return _Bad(r) if isinstance(r, str) else r

    results, codes = _by_unique(s, one)
    return _finish(ctx, col, results, codes, object)


def convert_date(
    ctx: _Ctx,
    col: Column,
    s: pd.Series,
    order: str | None = None,
) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Dates (and months for ``month_or_date``): returns (datetime64 series, bad, is_month);
    ``order`` is the whole column's day/month order (else decided from ``s``)."""
    allow_month = col.type == "month_or_date"
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    if order is None:
        order = parsing.day_month_order([u.strip() for u in uniques if isinstance(u, str)])
    parsed: list[object] = []
    for u in uniques:
        if _is_missing(u):
            parsed.append(None)
            continue
        r = parsing.parse_date(u, order=order, allow_month=allow_month)
        parsed.append(_Bad(r) if isinstance(r, str) else r)
    arr = np.empty(len(parsed) + 1, dtype=object)
    arr[: len(parsed)] = parsed
    arr[len(parsed)] = None
    dates = np.array(
        [p.date if isinstance(p, DateValue) else np.datetime64("NaT") for p in parsed]
        + [np.datetime64("NaT")],
        dtype="datetime64[D]",
    )
    month = np.array([isinstance(p, DateValue) and p.month for p in parsed] + [False], dtype=bool)
    values = arr[codes]
    bad = np.fromiter((isinstance(v, _Bad) for v in arr), dtype=bool, count=len(arr))[codes]
    if bad.any():
        ctx.report(bad, col.name, lambda i: values[i].message)
    series = pd.Series(dates[codes].astype("datetime64[ns]"))
    return series, bad, month[codes]


@dataclass
class _NumberCells:
    """A number column split into native numbers (done) and strings (to read), with what
    its strings say about the decimal separator."""

    out: np.ndarray
    bad: np.ndarray
    msgs: dict[int, str]
    str_idx: np.ndarray
    strings: pd.Series
    nonempty: np.ndarray
    evidence: parsing.NumberEvidence | None


def _number_cells(s: pd.Series, pct: bool) -> _NumberCells:
    n = len(s)
    out = np.full(n, np.nan)
    bad = np.zeros(n, dtype=bool)
    msgs: dict[int, str] = {}
    empty = _NumberCells(out, bad, msgs, np.arange(0), pd.Series([], dtype=str), bad[:0], None)
    if pd.api.types.is_bool_dtype(s.dtype):
        s = s.astype(object)
    if pd.api.types.is_numeric_dtype(s.dtype):
        out = s.to_numpy(dtype=float, na_value=np.nan).copy()
        bad = np.isinf(out)
        for i in np.flatnonzero(bad):
            msgs[int(i)] = "is not a finite number"
        out[bad] = np.nan
        empty.out, empty.bad = out, bad
        return empty
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        s = s.astype(object)
    if s.dtype == object:

        def kind(v: object) -> str:
            if isinstance(v, str):
                return "s"
            if _is_missing(v):
                return "m"
            if isinstance(v, int | float | np.integer | np.floating) and not isinstance(
                v, bool | np.bool_
            ):
                return "p" if isinstance(v, parsing.PercentCell) else "n"
            return "x"

        kinds = s.map(kind).to_numpy()
        for i in np.flatnonzero((kinds == "n") | (kinds == "p")):
            v: Any = s.iat[int(i)]
            out[i] = parsing.percent_points(v) if pct and kinds[i] == "p" else float(v)
            if not np.isfinite(out[i]):
                bad[i] = True
                msgs[int(i)] = "is not a finite number"
                out[i] = np.nan
        for i in np.flatnonzero(kinds == "x"):
            v = s.iat[int(i)]
            from decimal import Decimal

            if isinstance(v, Decimal):
                out[i] = float(v)
                continue
            bad[i] = True
            msgs[int(i)] = f"'{v}' is not a number"
        str_idx = np.flatnonzero(kinds == "s")
        strings = pd.Series(s.to_numpy()[str_idx], dtype="str")
    else:
        str_idx = np.arange(n)
        strings = s.astype("str")
    strings = strings.str.strip().str.replace("\u2212", "-", regex=False)
    nonempty = (strings != "").to_numpy(dtype=bool) & ~strings.isna().to_numpy(dtype=bool)
    strings = strings.where(nonempty, "")
    if pct:
        strings = strings.str.replace(r"\s*%$", "", regex=True)
    return _NumberCells(
        out, bad, msgs, str_idx, strings, nonempty, parsing.number_evidence(strings)
    )


@dataclass
class _NumberSummary:
    """What a number column's values say about its decimal separator, gathered over all its
    rows (chunk by chunk for a streamed file): the first value proving each mark (row,
    value as written), and whether the other mark is anywhere used as a thousands group."""

    comma: tuple[int, object] | None = None
    point: tuple[int, object] | None = None
    point_group: bool = False
    comma_group: bool = False

    def add(self, cells: _NumberCells, rows: np.ndarray, raw: pd.Series) -> None:
        ev = cells.evidence
        if ev is None or not len(cells.str_idx):
            return
        for mark in (",", "."):
            if (self.comma if mark == "," else self.point) is not None:
                continue
            hits = np.flatnonzero((ev.comma if mark == "," else ev.point) & cells.nonempty)
            if len(hits):
                pos = int(cells.str_idx[hits[0]])
                found = (int(rows[pos]), raw.iat[pos])
                if mark == ",":
                    self.comma = found
                else:
                    self.point = found
        self.point_group |= bool((ev.point_group & cells.nonempty).any())
        self.comma_group |= bool((ev.comma_group & cells.nonempty).any())

    @property
    def decimal(self) -> str | None:
        """The column's own decimal separator; None when nothing decides it or both appear."""
        if self.comma is not None and self.point is not None:
            return None
        return "," if self.comma is not None else "." if self.point is not None else None


class _Once:
    """Problems said once per column (the first row, with how many more rows share it)."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], list[Any]] = {}

    def add(self, column: str, kind: str, row: int, text: str, n: int) -> None:
        item = self.items.get((column, kind))
        if item is None:
            self.items[(column, kind)] = [row, text, n]
        else:
            item[2] += n

    def flush(self, sink: ProblemSink, label: str) -> None:
        for (column, _kind), (row, text, n) in self.items.items():
            more = f" (and {n - 1:,} more such values in this column)" if n > 1 else ""
            sink.add(label, row, column, text + more)
        self.items.clear()


def convert_number(
    ctx: _Ctx,
    col: Column,
    s: pd.Series,
    cells: _NumberCells,
    summary: _NumberSummary,
    once: _Once,
) -> tuple[pd.Series, np.ndarray]:
    """A number column read with its own decimal separator (``summary``, see parsing)."""
    pct = parsing.is_pct_column(col.name)
    style = summary.decimal
    out, bad, msgs = cells.out, cells.bad, cells.msgs
    if len(cells.str_idx) and cells.nonempty.any():
        strings, nonempty, str_idx = cells.strings, cells.nonempty, cells.str_idx
        if style is None:
            amb = (cells.evidence.ambiguous if cells.evidence else nonempty) & nonempty
            # Unambiguous values still read (the only way they can); ambiguous ones refused.
            guess = np.where(cells.evidence.comma, ",", ".") if cells.evidence else None
            vals_c, ok_c = parsing.parse_numbers(strings, ",")
            vals_p, ok_p = parsing.parse_numbers(strings, ".")
            use_c = guess == "," if guess is not None else np.zeros(len(strings), dtype=bool)
            vals = np.where(use_c, vals_c, vals_p)
            ok = np.where(use_c, ok_c, ok_p) & nonempty & ~amb
            first = np.flatnonzero(amb)
            if len(first):
                at = int(first[0])
                bad[str_idx[first]] = True
                once.add(
                    col.name,
                    "ambiguous",
                    int(ctx.rows[str_idx[at]]),
                    parsing.ambiguous_message(str(strings.iat[at])),
                    len(first),
                )
            effective = ","  # for the messages of values that are no number at all
            nonum = nonempty & ~ok & ~amb
        else:
            vals, ok = parsing.parse_numbers(strings, style)
            ok &= nonempty
            effective = style
            nonum = nonempty & ~ok
            ev = cells.evidence
            grouped = summary.point_group if style == "," else summary.comma_group
            if ev is not None and not grouped:
                # 4.105 beside 407,5: a group only if the column groups with points somewhere.
                other = "." if style == "," else ","
                two_ways = (
                    ev.ambiguous
                    & nonempty
                    & strings.str.contains(other, regex=False).to_numpy(dtype=bool)
                )
                first = np.flatnonzero(two_ways)
                if len(first):
                    proof = summary.comma if style == "," else summary.point
                    assert proof is not None
                    shown = f"row {proof[0]}: '{proof[1]}'"
                    at = int(first[0])
                    bad[str_idx[first]] = True
                    once.add(
                        col.name,
                        "other mark",
                        int(ctx.rows[str_idx[at]]),
                        parsing.other_mark_message(str(strings.iat[at]), style, shown),
                        len(first),
                    )
                    ok &= ~two_ways
                    nonum &= ~two_ways
        out[str_idx[ok]] = vals[ok]
        for j in np.flatnonzero(nonum):
            text = str(strings.iat[int(j)])
            r = parsing.parse_number(text, effective if style else None, pct=pct)
            pos = int(str_idx[j])
            if isinstance(r, str):
                bad[pos] = True
                msgs[pos] = r
            else:  # pragma: no cover - the vectorised pass reads every valid value
                out[pos] = r
    report = bad.copy()
    for i in np.flatnonzero(bad):
        if int(i) not in msgs:
            report[i] = False  # said once per column (``once``)
    if report.any():
        ctx.report(report, col.name, lambda i: msgs.get(i, "is not a number"))
    return pd.Series(out), bad


def _report_decimals(label: str, sink: ProblemSink, summaries: dict[str, _NumberSummary]) -> None:
    """One decimal separator per column and per file: a column that mixes both is refused
    (naming a row of each), so is a file whose columns disagree; neither stops the other
    checks of those columns' rows.

    A column decides from its own values only: the file's other columns do not vouch for it
    (a decimal typed with a point in a decimal-comma file is exactly the silent error). A
    column without evidence reads each value the only way it can and refuses the rest."""
    by_mark: dict[str, tuple[str, tuple[int, object]]] = {}
    for name, sm in summaries.items():
        if sm.comma is not None and sm.point is not None:
            (rc, vc), (rp, vp) = sm.comma, sm.point
            sink.add(
                label,
                min(rc, rp),
                name,
                f"this column mixes decimal commas (row {rc}: '{vc}') and decimal points "
                f"(row {rp}: '{vp}'): use one decimal separator throughout the file",
            )
        elif sm.comma is not None:
            by_mark.setdefault(",", (name, sm.comma))
        elif sm.point is not None:
            by_mark.setdefault(".", (name, sm.point))
    if len(by_mark) == 2:
        (cn, (cr, cv)), (pn, (pr, pv)) = by_mark[","], by_mark["."]
        sink.add(
            label,
            None,
            None,
            f"this file writes decimals with a comma in column {cn} (row {cr}: '{cv}') but "
            f"with a point in column {pn} (row {pr}: '{pv}'): use one decimal separator "
            "throughout the file",
        )


# ---------------------------------------------------------------------------------------------
# One table


@dataclass
class _Decisions:
    """What a column's conversion needs to know about the whole column before any row is
    converted: the number columns' decimal evidence and the date columns' day/month order.
    A table held whole decides from its frame; a streamed one from a first pass."""

    numbers: dict[str, _NumberSummary] = field(default_factory=dict)
    date_orders: dict[str, str] = field(default_factory=dict)
    accounts: set[str] = field(default_factory=set)
    rows: int = 0

    def add(
        self, spec: EntitySpec, present: Sequence[str], frame: pd.DataFrame, rows: np.ndarray
    ) -> None:
        self.rows += len(frame)
        for name in present:
            col = spec.column(name)
            s = frame[name].reset_index(drop=True)
            if col.type == "number":
                cells = _number_cells(s, parsing.is_pct_column(name))
                self.numbers.setdefault(name, _NumberSummary()).add(cells, rows, s)
            elif col.type in ("date", "month_or_date"):
                texts = [u.strip() for u in pd.unique(s) if isinstance(u, str)]
                got = parsing.day_month_order(texts)
                was = self.date_orders.get(name, "ambiguous")
                self.date_orders[name] = (
                    "dmy" if "dmy" in (got, was) else "mdy" if "mdy" in (got, was) else was
                )
        key = "name" if spec.entity == "accounts" else "account"
        if key in frame.columns:
            for v in pd.unique(frame[key]):
                if isinstance(v, str) and v.strip():
                    self.accounts.add(v.strip())


def scan(raw: RawTable, progress: Callable[[float, int], None] | None = None) -> _Decisions:
    """The first pass over a streamed table (kept on ``raw.scan``): column decisions, the
    accounts it names and its row count, holding one chunk at a time. ``progress`` is told
    (fraction of the file read, rows so far) after each chunk."""
    assert raw.entity is not None and raw.chunks is not None
    spec = BY_ENTITY[raw.entity]
    present = [c.name for c in spec.columns if c.name in raw.frame.columns]
    decisions = _Decisions()
    for frame, rows in raw.chunks():
        decisions.add(spec, present, frame, rows)
        if progress is not None:
            progress(raw.read_fraction() if raw.read_fraction else 0.0, decisions.rows)
    raw.scan = decisions
    return decisions


def _check_header(raw: RawTable, spec: EntitySpec, sink: ProblemSink, n_rows: int) -> bool:
    """Header-level problems and warnings, once per table; True when the required columns
    are all there."""
    label = raw.label
    hdr = raw.header_row if raw.header_row else None
    for name, positions in raw.duplicate_columns.items():
        if name in {c.name for c in spec.columns}:
            sink.add(
                label,
                hdr,
                name,
                f"column {name} appears {len(positions)} times (columns "
                f"{', '.join(map(str, positions))}): keep one",
            )
    cols = set(raw.frame.columns)
    for note in raw.notes:
        sink.warn(note.label, note.row, note.column, note.message)
    names = [c.name for c in spec.columns]
    for name in raw.frame.columns:
        if name in names or name.startswith("_"):
            continue
        close = difflib.get_close_matches(name, [n for n in names if n not in cols], 1, 0.8)
        if close:
            sink.add(
                label,
                hdr,
                name,
                f"unknown column {name}: did you mean {close[0]}? (rename it; nothing is "
                "imported while a column may be misspelled)",
            )
        else:
            sink.warn(
                label,
                hdr,
                name,
                f"column {name} is not part of the {spec.entity} format and was ignored",
            )
    if not n_rows and raw.fmt in ("csv", "xlsx"):
        sink.warn(label, hdr, None, "this file has a header but no rows: nothing in it to import")
    missing = [c for c in spec.required if c not in cols]
    if missing:
        optional = [c.name for c in spec.columns if not c.required]
        sink.add(
            label,
            hdr,
            ", ".join(missing),
            f"missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}; {article(spec.entity)} {spec.entity} file needs the columns "
            f"{', '.join(spec.required)}"
            + (f" (optional: {', '.join(optional)})" if optional else ""),
        )
    return not missing


def _convert_rows(
    ctx: _Ctx, present: Sequence[str], decisions: _Decisions, once: _Once
) -> pd.DataFrame:
    """Typed conversion of the rows of ``ctx.raw`` (a whole table or one chunk of it)."""
    raw, spec = ctx.raw, ctx.spec
    frame = pd.DataFrame(index=pd.RangeIndex(len(raw.frame)))
    for name in present:
        col = spec.column(name)
        s = raw.frame[name].reset_index(drop=True)
        empty = _empty_mask(s)
        if col.type == "text":
            typed, bad = convert_text(ctx, col, s)
        elif col.type == "bool":
            typed, bad = convert_bool(ctx, col, s)
        elif col.type in ("date", "month_or_date"):
            typed, bad, month = convert_date(ctx, col, s, decisions.date_orders.get(name))
            if col.type == "month_or_date":
                frame["_" + name + "_is_month"] = month
        else:
            cells = _number_cells(s, parsing.is_pct_column(name))
            summary = decisions.numbers.get(name) or _NumberSummary()
            typed, bad = convert_number(ctx, col, s, cells, summary, once)
            num = typed.to_numpy(dtype=float)
            if col.positive:
                neg = ~bad & ~empty & ~(num > 0)
                ctx.report(neg, name, _msg_positive(num))
            if col.non_negative:
                neg = ~bad & ~empty & (num < 0)
                ctx.report(neg, name, _msg_non_negative(num))
        if col.required:
            ctx.report(empty, name, "is required but empty")
        frame[name] = typed
        frame["_bad_" + name] = bad
    frame["_row"] = raw.rows
    return frame


def convert_table(
    raw: RawTable, sink: ProblemSink, progress: Callable[[int], None] | None = None
) -> Typed:
    """Header checks and typed conversion of one table (entity already known). A streamed
    table is converted chunk by chunk into a compact frame (text as categories), so only one
    chunk's strings are in memory at a time."""
    assert raw.entity is not None
    spec = BY_ENTITY[raw.entity]
    label = raw.label
    present = tuple(c.name for c in spec.columns if c.name in raw.frame.columns)
    once = _Once()
    if raw.chunks is None:
        decisions = _Decisions()
        decisions.add(spec, present, raw.frame, raw.rows)
        parts: Iterable[tuple[pd.DataFrame, np.ndarray]] = [(raw.frame, raw.rows)]
    else:
        decisions = raw.scan if raw.scan is not None else scan(raw)
        parts = raw.chunks()
    header_ok = _check_header(raw, spec, sink, decisions.rows)
    _report_decimals(label, sink, decisions.numbers)
    texts = {n for n in present if spec.column(n).type == "text"}
    stack = _Stack(texts, decisions.rows) if raw.chunks is not None else None
    frame = pd.DataFrame()
    for body, rows in parts:
        part = RawTable(label, raw.entity, body, rows, raw.fmt, raw.header_row, raw.decimal)
        ctx = _Ctx(part, spec, sink)
        typed = _convert_rows(ctx, present, decisions, once)
        _row_checks(ctx, Typed(label, spec.entity, typed, present, header_ok))
        if stack is None:
            frame = typed
        else:
            stack.add(typed)
            if progress is not None:
                progress(len(typed))
    if stack is not None:
        frame = stack.frame()
    once.flush(sink, label)
    return Typed(label=label, entity=spec.entity, frame=frame, present=present, header_ok=header_ok)


class _Stack:
    """Typed chunks gathered column by column into arrays sized once for the whole table
    (``rows``, known from the first pass), so the table is never held twice (chunks plus
    their concatenation): text columns as category codes (an account, site or KPI name is
    stored once, not once per row), the others as numpy arrays."""

    def __init__(self, texts: Collection[str], rows: int) -> None:
        self.texts = set(texts)
        self.rows = rows
        self.filled = 0
        self.arrays: dict[str, np.ndarray] = {}
        self.categories: dict[str, dict[object, int]] = {}

    def add(self, frame: pd.DataFrame) -> None:
        n = len(frame)
        at = self.filled
        for c in frame.columns:
            s = frame[c]
            if c in self.texts:
                cats = self.categories.setdefault(c, {})
                codes, uniques = pd.factorize(s, use_na_sentinel=True)
                mapped = np.array([cats.setdefault(u, len(cats)) for u in uniques] + [-1])
                arr: np.ndarray = mapped[codes].astype(np.int32)
            else:
                arr = s.to_numpy()
            self._put(c, arr, at, n)
        self.filled = at + n

    def _put(self, c: str, arr: np.ndarray, at: int, n: int) -> None:
        size = max(self.rows, at + n)
        have = self.arrays.get(c)
        if have is None:
            have = np.empty(size, dtype=arr.dtype)
            if arr.dtype == object:
                have[:] = None
        elif have.dtype != arr.dtype:
            # Another chunk's type (a rare mix, e.g. a column empty in one chunk): widened
            # once, as pandas would concatenate the two.
            kept = pd.concat([pd.Series(have[:at]), pd.Series(arr)], ignore_index=True)
            have = np.empty(size, dtype=kept.to_numpy().dtype)
            if have.dtype == object:
                have[:] = None
            have[: at + n] = kept.to_numpy()
        elif len(have) < at + n:  # more rows than the first pass counted
            grown = np.empty(size, dtype=have.dtype)
            grown[:at] = have[:at]
            have = grown
        have[at : at + n] = arr
        self.arrays[c] = have

    def frame(self) -> pd.DataFrame:
        out: dict[str, Any] = {}
        for c in list(self.arrays):
            arr = self.arrays.pop(c)
            if len(arr) != self.filled:
                arr = arr[: self.filled].copy()
            if c in self.texts:
                out[c] = pd.Categorical.from_codes(
                    arr, categories=pd.Index(list(self.categories[c]))
                )
            elif c == "_row":
                out[c] = arr.astype(np.int32, copy=False)
            elif c.startswith("_bad_") and arr.dtype == bool and not arr.any():
                # A problem flag nobody raised: kept sparse (no byte per row).
                out[c] = pd.arrays.SparseArray(arr, fill_value=False)
            else:
                out[c] = arr
        # copy=False: one block per column, no second copy of the whole table to consolidate.
        return pd.DataFrame(out, copy=False)


def _fmt(x: float) -> str:
    return f"{x:g}"


def _msg_order(
    what: str,
    a: str,
    sa: pd.Series,
    b: str,
    sb: pd.Series,
    strict: bool,
) -> Callable[[int], str]:
    rel = "not after" if strict else "before"
    return lambda i: f"{what}: {b} {_d(sb.iat[i])} is {rel} {a} {_d(sa.iat[i])}"


def _msg_before_idea(name: str, s: pd.Series, idea: pd.Series) -> Callable[[int], str]:
    return lambda i: f"{name} {_d(s.iat[i])} is before the idea_date {_d(idea.iat[i])}"


def _msg_positive(num: np.ndarray) -> Callable[[int], str]:
    return lambda i: f"must be greater than 0 (got {_fmt(num[i])})"


def _msg_non_negative(num: np.ndarray) -> Callable[[int], str]:
    return lambda i: f"must not be negative (got {_fmt(num[i])})"


def _dates(frame: pd.DataFrame, name: str) -> pd.Series | None:
    return frame[name] if name in frame.columns else None


def _row_checks(ctx: _Ctx, t: Typed) -> None:
    f = t.frame
    if t.entity == "accounts":
        for a, b, strict, what in (
            ("baseline_start", "baseline_end", False, "the baseline window ends before it starts"),
            ("contract_start", "contract_end", True, "the contract must end after it starts"),
        ):
            sa, sb = _dates(f, a), _dates(f, b)
            if sa is None or sb is None:
                continue
            wrong = ((sb <= sa) if strict else (sb < sa)).to_numpy(dtype=bool)
            ctx.report(wrong, b, _msg_order(what, a, sa, b, sb, strict))
    elif t.entity == "units" and {"baseline_start", "baseline_end"} & set(f.columns):
        sa, sb = _dates(f, "baseline_start"), _dates(f, "baseline_end")
        if sa is None or sb is None:
            given = "baseline_start" if sa is not None else "baseline_end"
            other = "baseline_end" if sa is not None else "baseline_start"
            has = (sa if sa is not None else sb).notna().to_numpy(dtype=bool)  # type: ignore[union-attr]  # one of sa / sb is not None in this branch (checked just above)
            ctx.report(has, other, f"a unit's own baseline window needs {other} with {given}")
        else:
            one = sa.notna().to_numpy(dtype=bool) ^ sb.notna().to_numpy(dtype=bool)
            ctx.report(
                one & sa.isna().to_numpy(dtype=bool) & ~f["_bad_baseline_start"].to_numpy(bool),
                "baseline_start",
                "give both baseline_start and baseline_end, or neither",
            )
            ctx.report(
                one & sb.isna().to_numpy(dtype=bool) & ~f["_bad_baseline_end"].to_numpy(bool),
                "baseline_end",
                "give both baseline_start and baseline_end, or neither",
            )
            wrong = (sb < sa).to_numpy(dtype=bool)
            ctx.report(
                wrong,
                "baseline_end",
                _msg_order(
                    "the baseline window ends before it starts",
                    "baseline_start",
                    sa,
                    "baseline_end",
                    sb,
                    False,
                ),
            )
    elif t.entity == "innovations":
        idea = _dates(f, "idea_date")
        if idea is not None:
            for name in STAGE_DATES:
                s = _dates(f, name)
                if s is None:
                    continue
                early = (s < idea).to_numpy(dtype=bool)
                ctx.report(early, name, _msg_before_idea(name, s, idea))
        if "stage" in f.columns:
            live = f["stage"].isin(["pilot", "scaled"]).to_numpy(dtype=bool)
            if "pilot_date" in f.columns:
                no_pilot = (
                    live
                    & f["pilot_date"].isna().to_numpy(dtype=bool)
                    & ~f["_bad_pilot_date"].to_numpy(dtype=bool)
                )
            else:
                no_pilot = live
            stage = f["stage"]
            ctx.report(
                no_pilot,
                "pilot_date",
                lambda i: (
                    f"an innovation in stage {stage.iat[i]} needs a pilot_date "
                    "(the date it first went live)"
                ),
            )
        if "target_kpi" in f.columns or "expected_effect_pct" in f.columns:
            tk = (
                f["target_kpi"].notna().to_numpy(dtype=bool)
                if "target_kpi" in f.columns
                else np.zeros(len(f), dtype=bool)
            )
            ee = (
                f["expected_effect_pct"].notna().to_numpy(dtype=bool)
                if "expected_effect_pct" in f.columns
                else np.zeros(len(f), dtype=bool)
            )
            bad_ee = (
                f["_bad_expected_effect_pct"].to_numpy(dtype=bool)
                if "expected_effect_pct" in f.columns
                else np.zeros(len(f), dtype=bool)
            )
            bad_tk = (
                f["_bad_target_kpi"].to_numpy(dtype=bool)
                if "target_kpi" in f.columns
                else np.zeros(len(f), dtype=bool)
            )
            ctx.report(
                tk & ~ee & ~bad_ee,
                "expected_effect_pct",
                "give the expected effect on the target_kpi (e.g. -8 for −8 %)",
            )
            ctx.report(
                ee & ~tk & ~bad_tk,
                "target_kpi",
                "give the target_kpi that expected_effect_pct refers to",
            )
    elif t.entity == "observations" and "period" in f.columns:
        is_month = f["_period_is_month"].to_numpy(dtype=bool)
        period = f["period"]
        if "grain" in f.columns:
            grain = f["grain"]
            day_grain = (grain == "day").to_numpy(dtype=bool)
            ctx.report(
                day_grain & is_month,
                "grain",
                lambda i: f"grain is day but the period {_m(period.iat[i])} is a month",
            )
            not_first = (period.dt.day != 1).to_numpy(dtype=bool) & period.notna().to_numpy(
                dtype=bool
            )
            ctx.report(
                (grain == "month").to_numpy(dtype=bool) & not_first,
                "period",
                lambda i: (
                    f"grain is month but {_d(period.iat[i])} is not the first day "
                    f"of a month: write the month as {_m(period.iat[i])}"
                ),
            )


def _d(x: object) -> str:
    return "" if x is None or pd.isna(x) else str(pd.Timestamp(x).date())  # type: ignore[call-overload, arg-type]  # pd.isna / Timestamp stubs reject object; x is a cell value already parsed as a date


def _m(x: object) -> str:
    return "" if x is None or pd.isna(x) else pd.Timestamp(x).strftime("%Y-%m")  # type: ignore[call-overload, arg-type]  # pd.isna / Timestamp stubs reject object; x is a cell value already parsed as a date


# ---------------------------------------------------------------------------------------------
# Across tables


def _ok_rows(t: Typed, cols: Iterable[str]) -> np.ndarray:
    """Rows whose given columns are all present, converted and not empty."""
    f = t.frame
    ok = np.ones(len(f), dtype=bool)
    for c in cols:
        if c not in f.columns:
            return np.zeros(len(f), dtype=bool)
        ok &= f[c].notna().to_numpy(dtype=bool)
    return ok


def _rows_of(s: pd.Series, idx: np.ndarray) -> pd.Series:
    """``s`` at the positions ``idx`` (ascending), without a copy when that is every row."""
    return s if len(idx) == len(s) else s.iloc[idx]


def _column_codes(s: pd.Series) -> tuple[np.ndarray, int]:
    """Integer codes ≥ 0 of one key column (missing is 0, a value of its own) and how many
    codes there can be. Categories (streamed text) and dates give their codes without a hash
    table of the column: a category's code, a date's day number."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy().astype(np.int64) + 1, len(s.cat.categories) + 1
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        ns = s.to_numpy(dtype="datetime64[ns]")
        missing = pd.isna(s).to_numpy(dtype=bool)
        if missing.all():
            return np.zeros(len(s), dtype=np.int64), 1
        days = ns.astype("datetime64[D]")
        if not (days.astype("datetime64[ns]") == ns)[~missing].all():  # a time of day
            raw, uniq = pd.factorize(s, use_na_sentinel=True)
            return raw.astype(np.int64) + 1, len(uniq) + 1
        days = days.astype(np.int64)
        lo = int(days[~missing].min())
        hi = int(days[~missing].max())
        days -= lo - 1
        days[missing] = 0
        return days, hi - lo + 2
    if s.dtype == bool:
        return s.to_numpy().astype(np.int64) + 1, 3
    if pd.api.types.is_integer_dtype(s.dtype) and len(s):
        v = s.to_numpy().astype(np.int64)
        lo, hi = int(v.min()), int(v.max())
        if hi - lo < max(1024, 4 * len(v)):  # a small range (month numbers): no hash table
            v -= lo - 1
            return v, hi - lo + 2
    raw_codes, uniques = pd.factorize(s, use_na_sentinel=True)
    return raw_codes.astype(np.int64) + 1, len(uniques) + 1


def _key_codes(columns: Sequence[pd.Series]) -> np.ndarray:
    """One int64 code per row for the tuple of ``columns`` (equal tuples, equal codes;
    missing is a value of its own): the columns' codes combined in mixed radix, renumbered
    by sorting only when the product would leave int64, so a million-row key costs a few
    integer arrays, not a frame of tuples (nor a hash table per column)."""
    k: np.ndarray | None = None
    span = 1
    for s in columns:
        codes, size = _column_codes(s)
        if k is None:
            k, span = codes, size
            continue
        if span * size >= 1 << 62:
            uniq, inverse = np.unique(k, return_inverse=True)
            k, span = inverse.astype(np.int64).reshape(-1), len(uniq)
            del uniq, inverse
        k *= size
        k += codes
        span *= size
        del codes
    return k if k is not None else np.zeros(0, dtype=np.int64)


def _check_duplicates(tables: list[Typed], sink: ProblemSink) -> None:
    if not tables:
        return
    spec = BY_ENTITY[tables[0].entity]
    key = list(spec.key)
    picks = [(n, np.flatnonzero(_ok_rows(t, key))) for n, t in enumerate(tables)]
    picks = [(n, idx) for n, idx in picks if len(idx)]
    if not picks:
        return

    def column(c: str) -> pd.Series:
        parts = [_rows_of(tables[n].frame[c], idx) for n, idx in picks]
        return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]

    codes = _key_codes([column(c) for c in key])
    # Most files have no duplicate: a sorted copy says so without the order of the rows.
    sorted_codes = np.sort(codes)
    found = bool((sorted_codes[1:] == sorted_codes[:-1]).any())
    del sorted_codes
    if not found:
        return
    # A stable sort keeps file order within a key: the first of each run is the original.
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    repeat = np.zeros(len(codes), dtype=bool)
    repeat[1:] = sorted_codes[1:] == sorted_codes[:-1]
    if not repeat.any():
        return
    del sorted_codes
    starts = np.where(~repeat, np.arange(len(codes), dtype=np.int64), 0)
    first_of = order[np.maximum.accumulate(starts)]
    del starts
    dup_pos = order[repeat]
    firsts = first_of[repeat]
    back = np.argsort(dup_pos, kind="stable")  # report in file order
    dup_pos, firsts = dup_pos[back], firsts[back]
    table_of = np.concatenate([np.full(len(idx), n) for n, idx in picks])
    index_in = np.concatenate([idx for _n, idx in picks])
    keys_txt = ", ".join(key)
    for t_idx in sorted({int(x) for x in table_of[dup_pos]}):
        t = tables[t_idx]
        mine = table_of[dup_pos] == t_idx
        pos, first = dup_pos[mine], firsts[mine]
        rows = t.frame["_row"].to_numpy()[index_in[pos]]

        def msg(
            i: int, pos: np.ndarray = pos, first: np.ndarray = first, t_idx: int = t_idx
        ) -> str:
            ft = int(table_of[first[i]])
            frow = int(tables[ft].frame["_row"].to_numpy()[index_in[first[i]]])
            where = f"row {frow}" if ft == t_idx else f"{tables[ft].label} row {frow}"
            at = index_in[pos[i]]
            vals = ", ".join(str(tables[t_idx].frame[c].iat[at]) for c in key)
            return f"duplicate of {where}: same {keys_txt} ({_short(vals)})"

        sink.add_rows(t.label, rows, keys_txt, msg)


def _short(text: str, n: int = 120) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _suggest(value: str, choices: Iterable[str]) -> str:
    choices = sorted(set(choices))
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    if not close:
        lower = {c.lower(): c for c in choices}
        hit = lower.get(value.lower())
        close = [hit] if hit else []
    if close:
        return f"; did you mean {close[0]}?"
    if choices and len(choices) <= 12:
        return f"; known: {', '.join(sorted(choices))}"
    return ""


def _reference(
    t: Typed,
    sink: ProblemSink,
    cols: list[str],
    known: Collection[tuple[str, ...]],
    what: str,
    report_col: str,
    exclude: np.ndarray | None = None,
    describe: Callable[[tuple[str, ...]], str] | None = None,
    candidates: Callable[[tuple[str, ...]], Iterable[str]] | None = None,
    name_of: Callable[[tuple[str, ...]], str] = lambda tup: str(tup[-1]),
) -> np.ndarray:
    """Rows whose ``cols`` tuple is not in ``known``: one problem per distinct unknown value
    (at its first row, with how many rows name it). Returns the mask of unknown rows."""
    f = t.frame
    ok = _ok_rows(t, cols)
    if exclude is not None:
        ok &= ~exclude
    unknown = np.zeros(len(f), dtype=bool)
    if not ok.any():
        return unknown
    idx = np.flatnonzero(ok)
    sub = [_rows_of(f[c], idx) for c in cols]
    codes = _key_codes(sub)
    uniq, first = np.unique(codes, return_index=True)
    rows = f["_row"].to_numpy()
    for j in np.argsort(first, kind="stable"):  # in file order: the first row of each value
        at = int(first[j])
        # Key columns are text columns: their cells are strings.
        tup: tuple[str, ...] = tuple(str(s.iat[at]) for s in sub)
        if tup in known:
            continue
        mask = codes == uniq[j]
        n = int(mask.sum())
        text = describe(tup) if describe else tup[-1]
        extra = f" (and {n - 1:,} more rows)" if n > 1 else ""
        hint = _suggest(name_of(tup), candidates(tup)) if candidates else ""
        sink.add(
            t.label,
            int(rows[idx[at]]),
            report_col,
            f"unknown {what} {text}: it is neither in the database nor in this import{extra}{hint}",
        )
        unknown[idx[mask]] = True
    return unknown


def validate(
    tables: Sequence[RawTable],
    known: Known,
    sink: ProblemSink,
    progress: Callable[[int], None] | None = None,
) -> dict[str, list[Typed]]:
    """Convert and check every table; problems go to ``sink``; returns typed tables by entity
    (only meaningful when the sink stays empty). ``progress`` is told the rows converted of
    streamed tables as they go."""
    all_typed: dict[str, list[Typed]] = {s.entity: [] for s in SPECS}
    for raw in tables:
        all_typed[raw.entity or ""].append(convert_table(raw, sink, progress))
    # A table without its required columns is already refused; the checks across rows and
    # tables look only at the others.
    typed = {e: [t for t in ts if t.header_ok] for e, ts in all_typed.items()}
    for ts in typed.values():
        _check_duplicates(ts, sink)

    # What the import adds to what the database knows.
    accounts = dict(known.accounts)
    for t in typed["accounts"]:
        ok = _ok_rows(t, ["name", "baseline_start", "baseline_end"])
        f = t.frame[ok]
        for name, a, b in zip(f["name"], f["baseline_start"], f["baseline_end"], strict=True):
            accounts[name] = (pd.Timestamp(a).date(), pd.Timestamp(b).date())
        for name in t.frame.loc[_ok_rows(t, ["name"]), "name"]:
            accounts.setdefault(name, (dt.date.min, dt.date.min))
    units = set(known.units)
    for t in typed["units"]:
        f = t.frame[_ok_rows(t, ["account", "site", "process"])]
        units |= set(zip(f["account"], f["site"], f["process"], strict=True))
    kpis = dict(known.kpis)
    for t in typed["kpis"]:
        f = t.frame[_ok_rows(t, ["account", "key"])]
        kinds = f["kind"] if "kind" in f.columns else pd.Series([None] * len(f), index=f.index)
        for a, k, kind in zip(f["account"], f["key"], kinds, strict=True):
            kpis[(a, k)] = kind if kind is not None else kpis.get((a, k), "")
    innovations = set(known.innovations)
    for t in typed["innovations"]:
        f = t.frame[_ok_rows(t, ["account", "code"])]
        innovations |= set(zip(f["account"], f["code"], strict=True))

    account_keys = {(a,) for a in accounts}
    unit_keys = set(units)
    kpi_keys = set(kpis)

    def sites_of(tup: tuple[str, ...]) -> list[str]:
        return [f"{s} · {p}" for a, s, p in units if a == tup[0]]

    for entity, ts in typed.items():
        if entity == "accounts":
            continue
        for t in ts:
            bad_account = _reference(
                t,
                sink,
                ["account"],
                account_keys,
                "account",
                "account",
                candidates=lambda _t: [a for (a,) in account_keys],
            )
            if entity in ("observations", "rollouts"):
                f = t.frame
                if {"site", "process"} <= set(f.columns):
                    _reference(
                        t,
                        sink,
                        ["account", "site", "process"],
                        unit_keys,
                        "unit",
                        "site",
                        exclude=bad_account,
                        describe=lambda tup: f"{tup[1]} · {tup[2]} (account {tup[0]})",
                        candidates=sites_of,
                        name_of=lambda tup: f"{tup[1]} · {tup[2]}",
                    )
            if entity in ("observations", "innovation_targets", "planted_effects"):
                _reference(
                    t,
                    sink,
                    ["account", "kpi"],
                    kpi_keys,
                    "KPI",
                    "kpi",
                    exclude=bad_account,
                    describe=lambda tup: f"{tup[1]} (account {tup[0]})",
                    candidates=lambda tup: [k for a, k in kpi_keys if a == tup[0]],
                )
            if entity == "innovations" and "target_kpi" in t.frame.columns:
                _reference(
                    t,
                    sink,
                    ["account", "target_kpi"],
                    kpi_keys,
                    "KPI",
                    "target_kpi",
                    exclude=bad_account,
                    describe=lambda tup: f"{tup[1]} (account {tup[0]})",
                    candidates=lambda tup: [k for a, k in kpi_keys if a == tup[0]],
                )
            if entity in ("rollouts", "innovation_targets", "planted_effects"):
                _reference(
                    t,
                    sink,
                    ["account", "innovation"],
                    innovations,
                    "innovation",
                    "innovation",
                    exclude=bad_account,
                    describe=lambda tup: f"{tup[1]} (account {tup[0]})",
                    candidates=lambda tup: [c for a, c in innovations if a == tup[0]],
                )

    _check_case_only(typed, known, sink)
    _check_grains(typed["observations"], known, sink)
    for t in typed["observations"]:
        _check_volume(t, sink, kpis)
    _check_target_conflicts(typed, sink)
    _check_baselines(typed, known, accounts, units, sink)
    return all_typed


def _check_volume(t: Typed, sink: ProblemSink, kpis: dict[tuple[str, str], str]) -> None:
    f = t.frame
    ok = _ok_rows(t, ["account", "kpi"])
    if not ok.any():
        return
    idx = np.flatnonzero(ok)
    cols = [_rows_of(f["account"], idx), _rows_of(f["kpi"], idx)]
    codes = _key_codes(cols)
    uniq, first_at = np.unique(codes, return_index=True)
    rate: dict[int, str] = {}  # code of a rate KPI's (account, kpi) → the KPI
    for code, at in zip(uniq, first_at, strict=True):
        account, key = str(cols[0].iat[at]), str(cols[1].iat[at])
        if kpis.get((account, key)) == "rate":
            rate[int(code)] = key
    del uniq, first_at
    if not rate:
        return
    is_rate = np.zeros(len(f), dtype=bool)
    is_rate[idx] = np.isin(codes, list(rate))
    del codes, cols
    if "volume" not in f.columns:
        first = np.flatnonzero(is_rate)[:1]
        names = sorted(set(rate.values()))
        sink.add(
            t.label,
            int(f["_row"].to_numpy()[first[0]]) if len(first) else None,
            "volume",
            f"the volume column is missing, but observations of rate KPIs "
            f"({', '.join(names)}) need one: add volume (transactions per period)",
        )
        return
    missing = (
        is_rate & f["volume"].isna().to_numpy(dtype=bool) & ~f["_bad_volume"].to_numpy(dtype=bool)
    )
    kpi = f["kpi"]
    idx = np.flatnonzero(missing)
    sink.add_rows(
        t.label,
        f["_row"].to_numpy()[idx],
        "volume",
        lambda i: (
            f"{kpi.iat[idx[i]]} is a rate KPI: its observations need a volume "
            "(transactions in the period)"
        ),
    )


def _check_target_conflicts(typed: dict[str, list[Typed]], sink: ProblemSink) -> None:
    """An innovation's main target (innovations.target_kpi) and a row of innovation_targets
    for the same KPI must agree on the expected effect."""
    main: dict[tuple[str, str, str], tuple[float, str, int]] = {}
    for t in typed["innovations"]:
        f = t.frame
        ok = _ok_rows(t, ["account", "code", "target_kpi", "expected_effect_pct"])
        if not ok.any():
            continue
        for a, c, k, e, r in zip(
            *(
                f.loc[ok, x]
                for x in ("account", "code", "target_kpi", "expected_effect_pct", "_row")
            ),
            strict=True,
        ):
            main[(a, c, k)] = (float(e), t.label, int(r))
    if not main:
        return
    for t in typed["innovation_targets"]:
        f = t.frame
        ok = _ok_rows(t, ["account", "innovation", "kpi", "expected_effect_pct"])
        if not ok.any():
            continue
        for a, c, k, e, r in zip(
            *(
                f.loc[ok, x]
                for x in ("account", "innovation", "kpi", "expected_effect_pct", "_row")
            ),
            strict=True,
        ):
            other = main.get((a, c, k))
            if other and other[0] != float(e):
                sink.add(
                    t.label,
                    int(r),
                    "expected_effect_pct",
                    f"innovation {c} targets {k} with {e:g} % here but with "
                    f"{other[0]:g} % in {other[1]} row {other[2]}: make them agree",
                )


def _distinct_pairs(
    first: pd.Series, second: pd.Series, codes: np.ndarray, positions: np.ndarray | None
) -> set[tuple[str, str]]:
    """The distinct (first, second) values at ``positions`` (every row when None), found by
    their key ``codes`` (``_key_codes``) rather than by hashing a frame of pairs."""
    picked = codes if positions is None else codes[positions]
    _u, at = np.unique(picked, return_index=True)
    if positions is not None:
        at = positions[at]
    return {(str(first.iat[i]), str(second.iat[i])) for i in at}


def _check_baselines(
    typed: dict[str, list[Typed]],
    known: Known,
    accounts: dict[str, tuple[dt.date, dt.date]],
    units: set[tuple[str, str, str]],
    sink: ProblemSink,
) -> None:
    """A unit with observations but none inside its baseline window (the account's, or the
    unit's own) imports: it is not measured against the baseline, and the import says so as
    a warning with the way forward (a window of its own in the units file)."""
    obs_tables = typed["observations"]
    if not obs_tables and not typed["accounts"] and not typed["units"]:
        return
    windows = dict(known.unit_windows)
    for t in typed["units"]:
        if {"baseline_start", "baseline_end"} <= set(t.frame.columns):
            ok = _ok_rows(t, ["account", "site", "process"])
            f = t.frame[ok]
            for a, si, pr, b0, b1 in zip(
                f["account"],
                f["site"],
                f["process"],
                f["baseline_start"],
                f["baseline_end"],
                strict=True,
            ):
                if pd.isna(b0) or pd.isna(b1):
                    windows.pop((a, si, pr), None)
                else:
                    windows[(a, si, pr)] = (pd.Timestamp(b0).date(), pd.Timestamp(b1).date())
    names: set[str] = set()
    for t in typed["accounts"]:
        names |= set(t.frame.loc[_ok_rows(t, ["name"]), "name"])
    for t in obs_tables:
        names |= set(pd.unique(t.frame["account"].iloc[np.flatnonzero(_ok_rows(t, ["account"]))]))
    label = obs_tables[0].label if obs_tables else (typed["accounts"] or typed["units"])[0].label
    for name in sorted(names):
        window = accounts.get(name)
        if window is None or window[0] == dt.date.min:
            continue
        own = {(si, pr): w for (a, si, pr), w in windows.items() if a == name}
        checks = [(window, None)] + [(w, key) for key, w in sorted(own.items())]
        for (start, end), only in checks:
            start_month = start.replace(day=1)
            with_obs: set[tuple[str, str]] = set()
            in_window: set[tuple[str, str]] = set()
            if known.observed is not None and name in known.accounts:
                a, b = known.observed(name, start, end)
                with_obs |= a
                in_window |= b
            for t in obs_tables:
                # Column by column over the selected rows (no copy of a million-row frame).
                tf = t.frame
                ok = _ok_rows(t, ["account", "site", "process", "period"])
                ok &= (tf["account"] == name).to_numpy(dtype=bool)
                idx = np.flatnonzero(ok)
                if not len(idx):
                    continue
                sites, processes = _rows_of(tf["site"], idx), _rows_of(tf["process"], idx)
                codes = _key_codes([sites, processes])
                with_obs |= _distinct_pairs(sites, processes, codes, None)
                p = tf["period"].to_numpy(dtype="datetime64[ns]")[idx]
                is_month = tf["_period_is_month"].to_numpy(dtype=bool)[idx]
                if "grain" in tf.columns:
                    is_month = is_month | (tf["grain"] == "month").to_numpy(dtype=bool)[idx]
                # A monthly value counts from the first of the window's first month.
                inside = np.where(
                    is_month, p >= np.datetime64(start_month, "ns"), p >= np.datetime64(start, "ns")
                ) & (p <= np.datetime64(end, "ns"))
                del p, is_month
                in_window |= _distinct_pairs(sites, processes, codes, np.flatnonzero(inside))
                del codes, inside
            # Units unknown everywhere are already refused; no second message about them.
            lacking = {u for u in with_obs - in_window if (name, *u) in units}
            lacking = {u for u in lacking if u == only} if only else lacking - set(own)
            measured = {u for u in with_obs if (name, *u) in units} - set(own)
            if not only and lacking and lacking == measured:
                # Not one unit in the window: the window is wrong, not a site new.
                sink.add(
                    label,
                    None,
                    None,
                    f"account {name}: no unit has observations in the baseline window "
                    f"{start}…{end}, so nothing could be measured: check baseline_start and "
                    "baseline_end (units: "
                    + ", ".join(f"{a} · {b}" for a, b in sorted(lacking)[:5])
                    + (f" and {len(lacking) - 5} more" if len(lacking) > 5 else "")
                    + ")",
                )
                continue
            for site, process in sorted(lacking):
                whose = "its own" if only else "the account's"
                sink.warn(
                    label,
                    None,
                    None,
                    f"account {name}: unit {site} · {process} has no observations in {whose} "
                    f"baseline window {start}…{end}: it is imported and shown as not measured "
                    "against the baseline; to measure it from its own first months, give it "
                    "baseline_start and baseline_end in the units file",
                )


# Identifiers people type: two spellings that differ only in case are one thing written twice.
CASE_KEYS: dict[str, tuple[str, ...]] = {
    "accounts": ("name",),
    "units": ("site", "process"),
    "kpis": ("key",),
    "innovations": ("code",),
}


def _check_case_only(typed: dict[str, list[Typed]], known: Known, sink: ProblemSink) -> None:
    """``inn-001`` next to ``INN-001`` (in this import or in the database) is refused."""
    stored: dict[str, list[tuple[str, ...]]] = {
        "accounts": [(a,) for a in known.accounts],
        "units": [tuple(u) for u in known.units],
        "kpis": [tuple(k) for k in known.kpis],
        "innovations": [tuple(i) for i in known.innovations],
    }
    for entity, cols in CASE_KEYS.items():
        scoped = entity != "accounts"  # the other keys are per account
        seen: dict[tuple[str, ...], tuple[tuple[str, ...], str]] = {}
        for key in stored[entity]:
            seen.setdefault(tuple(k.casefold() for k in key), (key, "in the database"))
        for t in typed[entity]:
            want = (["account"] if scoped else []) + list(cols)
            ok = _ok_rows(t, want)
            f = t.frame.loc[ok, [*want, "_row"]].drop_duplicates(want)
            for vals in f.itertuples(index=False, name=None):
                key, row = tuple(vals[:-1]), int(vals[-1])
                folded = tuple(k.casefold() for k in key)
                other = seen.get(folded)
                if other is None:
                    seen[folded] = (key, f"row {row}")
                    continue
                if other[0] == key:
                    continue
                shown = " · ".join(key[1:] if scoped else key)
                was = " · ".join(other[0][1:] if scoped else other[0])
                sink.add(
                    t.label,
                    row,
                    ", ".join(cols),
                    f"{shown} differs from {was} ({other[1]}) only in upper/lower case: "
                    "use one spelling (they would otherwise be two different ones)",
                )


def _check_grains(tables: list[Typed], known: Known, sink: ProblemSink) -> None:
    """A monthly value and daily values for the same unit × KPI × month would be summed
    (counted twice): refused, naming the rows (in this import or the database)."""
    key = ["account", "site", "process", "kpi"]
    groups = [*key, "month"]
    # First the distinct unit × KPI × month × grain of each table (a few int64 arrays per
    # row), then the rows of the few groups that mix grains, as a small frame.
    parts: list[int] = []
    distinct = []

    def rows_of(t: Typed) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The rows with a unit, KPI and period: positions, months, monthly or not."""
        idx = np.flatnonzero(_ok_rows(t, [*key, "period"]))
        is_month = t.frame["_period_is_month"].to_numpy(dtype=bool)[idx]
        if "grain" in t.frame.columns:
            g = t.frame["grain"].iloc[idx].to_numpy(dtype=object)
            monthly = np.where(pd.isna(g), is_month, g == "month").astype(bool)
        else:
            monthly = is_month
        months = t.frame["period"].to_numpy(dtype="datetime64[ns]")[idx].astype("datetime64[M]")
        return idx, months, monthly

    for n, t in enumerate(tables):
        idx, months, monthly = rows_of(t)
        if not len(idx):
            continue
        cols = [_rows_of(t.frame[c], idx) for c in key]
        codes = _key_codes([*cols, pd.Series(months.astype(np.int64)), pd.Series(monthly)])
        _u, first = np.unique(codes, return_index=True)
        del codes, _u
        d = pd.DataFrame(
            {c: s.iloc[first].to_numpy(dtype=object) for c, s in zip(key, cols, strict=True)}
        )
        d["month"] = months[first].astype("datetime64[ns]")
        d["grain"] = np.where(monthly[first], "month", "day")
        distinct.append(d)
        parts.append(n)
        del idx, months, monthly, cols
    if not parts:
        return
    kinds = pd.concat(distinct, ignore_index=True).drop_duplicates()
    stored = []
    if known.grains is not None:
        for account, sub in kinds.groupby("account"):
            if account not in known.accounts:
                continue
            db = known.grains(str(account), sub["month"].min().date(), sub["month"].max().date())
            if len(db):
                db = db.assign(account=account)
                db["month"] = pd.to_datetime(db["month"])
                stored.append(db)
    if stored:
        kinds = pd.concat([kinds, *(d[[*groups, "grain"]] for d in stored)]).drop_duplicates()
    n_grains = kinds.groupby(groups).size()
    mixed = n_grains[n_grains > 1]
    if not len(mixed):
        return
    hits = []
    for n in parts:
        t = tables[n]
        idx, months, monthly = rows_of(t)
        f = pd.DataFrame({c: t.frame[c].iloc[idx].to_numpy(dtype=object) for c in key})
        f["month"] = months.astype("datetime64[ns]")
        f["grain"] = np.where(monthly, "month", "day")
        f["_row"] = t.frame["_row"].to_numpy()[idx]
        f["_t"] = n
        inside = pd.MultiIndex.from_frame(f[groups]).isin(mixed.index)
        hits.append(f[inside])
    allf = pd.concat(hits, ignore_index=True)
    hit = allf.join(mixed.rename("_n"), on=groups, how="inner")
    for (_a, site, process, kpi, month), grp in hit.groupby(groups, sort=True):
        month_rows = grp.loc[grp["grain"] == "month"]
        day_rows = grp.loc[grp["grain"] != "month"]
        label = tables[int(grp["_t"].to_numpy()[0])].label
        if len(month_rows):
            where_days = (
                f"rows {_row_list(day_rows['_row'])}" if len(day_rows) else "in the database"
            )
            row = int(month_rows["_row"].to_numpy()[0])
            sink.add(
                label,
                row,
                "period",
                f"{site} · {process}, {kpi}, {month:%Y-%m}: this monthly value and the daily "
                f"values of the same month ({where_days}) would be counted twice: import "
                "either the month or its days",
            )
        else:
            row = int(day_rows["_row"].to_numpy()[0])
            sink.add(
                label,
                row,
                "period",
                f"{site} · {process}, {kpi}, {month:%Y-%m}: the database holds a monthly value "
                f"for this month, and these daily values (rows {_row_list(day_rows['_row'])}) "
                "would be counted twice with it: import either the month or its days",
            )


def _row_list(rows: pd.Series, n: int = 5) -> str:
    vals = [str(int(r)) for r in rows.iloc[:n]]
    more = len(rows) - n
    return ", ".join(vals) + (f" and {more:,} more" if more > 0 else "")
