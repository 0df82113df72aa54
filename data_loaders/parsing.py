"""Reading files into raw tables: bytes in, one ``RawTable`` per entity-sheet/file out.

Nothing here knows about the database. This module turns what people actually export into
a uniform shape that ``validation`` can check:

* CSV: UTF-8 with or without BOM (UTF-16 with a BOM; a file with no UTF-8 in it is a
  single-byte Western encoding picked by charset-normalizer; a UTF-8 file with stray bytes
  is refused row by row), ``,`` ``;`` tab or ``|`` delimited (detected from the header
  line), quoted values, blank lines skipped, rows that are too short padded, rows that are
  too long reported, a title above the header skipped with a warning.
* XLSX: every sheet named after an entity (``Innovations`` → innovations); cells keep their
  native types (``datetime``, numbers, booleans), which the converters understand; a number
  cell formatted as a percentage is a ``PercentCell`` (a ``*_pct`` column reads 0.4 as 40).
* Headers: case, surrounding spaces, inner spaces, dashes and dots fold to ``snake_case``
  (``" Go-Live "`` → ``go_live``).
* Entity: from the file or sheet name (singular, plural, aliases, a suffix such as
  ``kpi_observations_2024``), else from the header that matches a format best.

Row numbers are the ones a person sees: the header is row 1 in a CSV file (so the first data
row is 2), and the sheet row number in a workbook. Frames and SQL results count their
result rows from 1.

The typed parsers of values (numbers and the one decimal-separator rule, day/month/year
dates, months, booleans) live here too, and only here; ``validation`` applies them column by
column.
"""

from __future__ import annotations

import calendar
import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from data_loaders.formats import SPECS, EntitySpec

# ---------------------------------------------------------------------------------------------
# Raw tables


@dataclass
class RawTable:
    """One file or sheet, cells untyped (CSV: ``str``; XLSX/frames: native values or ``str``).

    ``frame`` has the normalised header names as columns (unknown extra columns included);
    ``rows`` holds the person-visible row number of each frame row; ``decimal`` is the
    default decimal separator for number columns in which no value decides it (``,`` for
    ``;``-delimited CSV files, else ``.``).
    """

    label: str  # what problems name: "innovations.csv" or "book.xlsx › Innovations"
    entity: str | None
    frame: pd.DataFrame
    rows: np.ndarray
    fmt: str  # csv | xlsx | frames | sql
    header_row: int = 1
    decimal: str = "."
    duplicate_columns: dict[str, list[int]] = field(default_factory=dict)
    notes: list[ParseIssue] = field(default_factory=list)  # warnings found while reading
    # A big CSV file is not held as strings: ``frame`` is then its first rows only (for the
    # header and the entity), ``chunks()`` reads the whole body again, chunk by chunk, as
    # (frame, rows) pairs shaped like ``frame``/``rows``, and ``positions`` are the header
    # columns kept. ``scan`` holds what validation's first pass learned (column decisions).
    chunks: Callable[[], Iterator[tuple[pd.DataFrame, np.ndarray]]] | None = None
    positions: list[int] = field(default_factory=list)
    scan: Any = None
    read_fraction: Callable[[], float] | None = None  # how far ``chunks()`` has read (0–1)


@dataclass(frozen=True)
class ParseIssue:
    """A problem found while reading (``importer`` turns it into a ``Problem``)."""

    label: str
    row: int | None
    column: str | None
    message: str
    warning: bool = False  # worth saying, but the file still imports


# ---------------------------------------------------------------------------------------------
# Names


_FOLD = re.compile(r"[\s\-./]+")


def normalise_header(name: object) -> str:
    """``" Go-Live "`` → ``go_live``: strip, lower-case, fold spaces/dashes/dots to ``_``."""
    text = "" if name is None else str(name)
    text = text.replace("\ufeff", "").strip().lower()
    text = _FOLD.sub("_", text)
    text = re.sub(r"_+", "_", text).strip("_")
    return text


def _names(spec: EntitySpec) -> set[str]:
    names = {spec.entity, *spec.aliases}
    more = set()
    for n in names:
        more.add(n[:-1] if n.endswith("s") else n + "s")
    return names | more


ENTITY_NAMES: dict[str, str] = {n: s.entity for s in SPECS for n in sorted(_names(s))}


def accepted_names() -> str:
    """The entity names people can use for files and sheets, for messages."""
    parts = []
    for s in SPECS:
        alias = ", ".join(a for a in s.aliases)
        parts.append(f"{s.entity} ({alias})" if alias else s.entity)
    return "; ".join(parts)


def entity_from_name(name: str) -> str | None:
    """The entity a file stem or sheet name refers to, or None.

    ``innovations``, ``Innovation``, ``kpi_observations_2024`` and ``2024-Rollouts`` match;
    the longest matching name wins (``innovation_targets`` is not ``innovations``).
    """
    stem = normalise_header(name)
    if not stem:
        return None
    if stem in ENTITY_NAMES:
        return ENTITY_NAMES[stem]
    best: tuple[int, str] | None = None
    for n, entity in ENTITY_NAMES.items():
        if re.search(rf"(^|_){re.escape(n)}(_|$|\d)", stem) and (best is None or len(n) > best[0]):
            best = (len(n), entity)
    return best[1] if best else None


def entity_from_header(columns: Iterable[str]) -> str | None:
    """The entity whose format the header fits best: all required columns present, then
    the most header columns recognised, then the fewest format columns left out."""
    cols = set(columns)
    best: tuple[int, int, str] | None = None
    for spec in SPECS:
        if not set(spec.required) <= cols:
            continue
        known = len(cols & {c.name for c in spec.columns})
        missing = len({c.name for c in spec.columns} - cols)
        score = (known, -missing, spec.entity)
        if best is None or score[:2] > best[:2]:
            best = score
    return best[2] if best else None


# ---------------------------------------------------------------------------------------------
# Reading


def read_any(
    label: str, data: bytes, *, stream: bool = False
) -> tuple[list[RawTable], list[ParseIssue]]:
    """Read one file's bytes (CSV or XLSX, told apart by content, not by name).

    ``stream``: a CSV file (UTF-8 or a single-byte encoding) or each sheet of a workbook
    becomes a chunked table (``RawTable.chunks``) read from these bytes when it is validated
    and written, instead of a frame of cells."""
    if (
        stream
        and data[:4] != b"PK\x03\x04"
        and data[:8] != b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        and not label.lower().endswith((".xlsx", ".xlsm"))
    ):
        chunked = read_csv_chunked(label, lambda: io.BytesIO(data))
        if chunked is not None:
            return [chunked], []
    if data[:4] == b"PK\x03\x04":
        return read_xlsx(label, data, stream=stream)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return [], [
            ParseIssue(label, None, None, "this is an old Excel .xls file: save it as .xlsx or CSV")
        ]
    if label.lower().endswith((".xlsx", ".xlsm")):
        return [], [
            ParseIssue(
                label,
                None,
                None,
                "this file is named .xlsx but is not an Excel workbook: "
                "save it again from Excel, or as CSV",
            )
        ]
    table, issues = read_csv(label, data)
    return ([table] if table is not None else []), issues


# A valid UTF-8 sequence of two to four bytes: its presence says the file was written as UTF-8.
_UTF8_MULTI = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
LEGACY_ENCODINGS = ["cp1252", "iso8859_15", "cp1250", "mac_roman", "latin_1"]


def _decode(label: str, data: bytes) -> tuple[str | None, list[ParseIssue]]:
    """The file's text, or the rows whose bytes are not text.

    UTF-8 (with or without BOM) and UTF-16 with a BOM are read as such. A file that is not
    valid UTF-8 but holds UTF-8 sequences is UTF-8 with a few stray bytes (a value pasted
    from another program): those rows are named, instead of reading every row in the wrong
    encoding ("SÃ£o LuÃ­s"). Otherwise the file is in a single-byte encoding, which
    charset-normalizer picks among the Windows/ISO Western ones."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), []
        except UnicodeDecodeError:
            return None, []
    if b"\x00" in data:
        return None, []
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    if _UTF8_MULTI.search(data):
        issues = []
        for n, line in enumerate(data.split(b"\n"), start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad = line[exc.start : exc.end]
                near = line[max(0, exc.start - 12) : exc.start].decode("utf-8", "replace")
                issues.append(
                    ParseIssue(
                        label,
                        n,
                        None,
                        f"this row has a byte that is not UTF-8 text (0x{bad.hex()} after "
                        f"'{near}'), while the rest of the file is UTF-8: retype that "
                        "character, or save the file again as CSV UTF-8",
                    )
                )
        return None, issues
    encoding = legacy_encoding(data.split(b"\n"))
    try:
        return data.decode(encoding), []
    except (UnicodeDecodeError, LookupError):
        return data.decode("latin-1"), []


#: At most this much of a file's non-ASCII lines is shown to charset-normalizer.
_SAMPLE_BYTES = 1 << 20
_NON_ASCII = re.compile(rb"[\x80-\xff]")


def legacy_encoding(lines: Iterable[bytes]) -> str:
    """The single-byte encoding of a file with no UTF-8 in it, picked by charset-normalizer
    among ``LEGACY_ENCODINGS`` from the file's lines that hold non-ASCII bytes (the only
    evidence there is; at most ``_SAMPLE_BYTES`` of them), so a file read whole and a file
    streamed get the same answer; cp1252 when nothing decides."""
    from charset_normalizer import from_bytes

    sample = bytearray()
    for line in lines:
        if _NON_ASCII.search(line):
            sample += line.rstrip(b"\n") + b"\n"  # a file's lines end in \n, split's do not
            if len(sample) >= _SAMPLE_BYTES:
                break
    if not sample:
        return "cp1252"
    matches = list(from_bytes(bytes(sample), cp_isolation=LEGACY_ENCODINGS))
    if not matches:
        return "cp1252"
    # Least chaos, then most coherence; a tie goes to the earlier of LEGACY_ENCODINGS.
    # charset-normalizer's own best() broke the tie of "São Luís" towards cp1250 ("Săo").
    best = min(
        matches,
        key=lambda m: (
            round(m.chaos, 3),
            -round(m.coherence, 3),
            LEGACY_ENCODINGS.index(m.encoding) if m.encoding in LEGACY_ENCODINGS else 99,
        ),
    )
    return best.encoding


def _delimiter(text: str) -> str:
    """The delimiter of the first non-empty line (outside quotes): ``;`` ``,`` tab or ``|``."""
    first = ""
    for line in text.splitlines():
        if line.strip():
            first = line
            break
    counts = {d: 0 for d in (",", ";", "\t", "|")}
    quoted = False
    for ch in first:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


_EOF_IN_STRING = re.compile(r"EOF inside string starting at row (\d+)")


def read_csv(label: str, data: bytes) -> tuple[RawTable | None, list[ParseIssue]]:
    """One CSV file → a RawTable of strings (stripped), or the reasons it cannot be read."""
    text, undecodable = _decode(label, data)
    if undecodable:
        return None, undecodable
    if text is None:
        return None, [
            ParseIssue(
                label,
                None,
                None,
                "this is not a text CSV file (it contains binary data): "
                "export the data as CSV (UTF-8) or .xlsx",
            )
        ]
    if not text.strip():
        return None, [ParseIssue(label, None, None, "the file is empty: it needs a header row")]
    delim = _delimiter(text)
    issues: list[ParseIssue] = []
    try:
        raw = pd.read_csv(io.StringIO(text), sep=delim, **_READ_CSV)
        raw = raw.fillna("")
        matrix = None
    except pd.errors.EmptyDataError:
        return None, [ParseIssue(label, None, None, "the file is empty: it needs a header row")]
    except pd.errors.ParserError as exc:
        m = _EOF_IN_STRING.search(str(exc))
        if m:
            row = int(m.group(1)) + 1
            return None, [
                ParseIssue(
                    label,
                    row,
                    None,
                    'a quote (") opened in this row is never closed: remove it or close it',
                )
            ]
        matrix, issues = _read_csv_slowly(label, text, delim)
        if matrix is None:
            return None, issues
        raw = matrix
    return _to_table(
        label, raw, fmt="csv", decimal="," if delim == ";" else ".", first_row=1
    ), issues


#: Rows per chunk when a CSV file is streamed (memory per chunk, not per file).
READ_CHUNK_ROWS = 10_000
#: How every CSV is read: text cells as written (no NA guessing, blank rows kept so row
#: numbers in messages match the file), the C parser, double-quoted fields.
_READ_CSV: dict[str, Any] = {
    "header": None,
    "dtype": str,
    "keep_default_na": False,
    "na_filter": False,
    "skip_blank_lines": False,
    "engine": "c",
    "quotechar": '"',
}


def stream_encoding(open_binary: Callable[[], BinaryIO]) -> str | None:
    """The codec a CSV stream is read with, chunk by chunk, by the same rule as ``_decode``:
    ``utf-8-sig`` for UTF-8 text (a BOM allowed), else the single-byte encoding of a file
    with no UTF-8 sequence in it (``legacy_encoding``; latin-1 when the file has a byte that
    encoding does not define). None for what only the whole-file reader judges: UTF-16, a
    NUL byte (binary), UTF-8 with a few stray bytes (whose rows it names). Read block by
    block: no copy of the file is held."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    multi = False  # a valid UTF-8 sequence seen: not a single-byte file
    with open_binary() as fh:
        first = True
        tail = b""
        for block in iter(lambda: fh.read(1 << 20), b""):
            if first and block.startswith((b"\xff\xfe", b"\xfe\xff")):
                return None
            first = False
            if b"\x00" in block:
                return None
            if utf8:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    utf8 = False
            # tail: a sequence split between two blocks
            multi = multi or _UTF8_MULTI.search(tail + block) is not None
            tail = block[-3:]
        if utf8:
            try:
                decoder.decode(b"", final=True)
                return "utf-8-sig"
            except UnicodeDecodeError:
                pass
    if multi:
        return None
    with open_binary() as fh:
        encoding = legacy_encoding(fh)
    try:
        single = codecs.getincrementaldecoder(encoding)()
    except LookupError:
        return "latin-1"
    with open_binary() as fh:
        try:
            for block in iter(lambda: fh.read(1 << 20), b""):
                single.decode(block)
        except UnicodeDecodeError:
            return "latin-1"
    return encoding


def read_csv_chunked(label: str, open_binary: Callable[[], BinaryIO]) -> RawTable | None:
    """A CSV file as a chunked ``RawTable`` (header and entity from its first chunk), in the
    encoding ``stream_encoding`` finds; None when it needs the whole-file reader (UTF-16,
    binary, UTF-8 with stray bytes, an empty file, rows the fast parser cannot split), which
    then reports exactly as before."""
    encoding = stream_encoding(open_binary)
    if encoding is None:
        return None
    with open_binary() as fh:
        head = fh.read(1 << 16).decode(encoding, errors="ignore")
    if not head.strip():
        return None
    delim = _delimiter(head)

    where = {"fraction": 0.0}

    def raw_chunks() -> Iterator[pd.DataFrame]:
        fh = open_binary()
        size = max(1, fh.seek(0, io.SEEK_END))
        fh.seek(0)
        where["fraction"] = 0.0
        try:
            reader = pd.read_csv(
                fh,
                sep=delim,
                **_READ_CSV,
                encoding=encoding,
                chunksize=READ_CHUNK_ROWS,
            )
            with reader:
                for chunk in reader:
                    where["fraction"] = min(1.0, fh.tell() / size)
                    yield chunk
        finally:
            fh.close()

    try:
        first = next(raw_chunks(), None)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
        return None
    if first is None:
        return None
    table = _to_table(
        label, first.fillna(""), fmt="csv", decimal="," if delim == ";" else ".", first_row=1
    )
    width = first.shape[1]
    header_at = table.header_row - 1  # index of the header among the file's records
    positions = table.positions

    def chunks() -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        start = 0
        for raw in raw_chunks():
            if raw.shape[1] != width:
                raise pd.errors.ParserError(f"a chunk of {label} has {raw.shape[1]} columns")
            n = len(raw)
            values = raw.fillna("").apply(lambda s: s.str.strip())
            index = np.arange(start, start + n, dtype=np.int64)
            keep = (values != "").any(axis=1).to_numpy() & (index > header_at)
            body = values.iloc[np.flatnonzero(keep), positions]
            body.columns = list(table.frame.columns)
            yield body.reset_index(drop=True), index[keep] + 1
            start += n

    table.chunks = chunks
    table.read_fraction = lambda: where["fraction"]
    return table


def _read_csv_slowly(
    label: str, text: str, delim: str
) -> tuple[pd.DataFrame | None, list[ParseIssue]]:
    """The fallback when rows have more values than the header: report those rows (trailing
    empty values are tolerated) and keep the rest."""
    issues: list[ParseIssue] = []
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=False))
    except csv.Error as exc:
        return None, [ParseIssue(label, None, None, f"cannot read this CSV file: {exc}")]
    filled = [i for i, r in enumerate(rows) if any(c.strip() for c in r)]
    if not filled:
        return None, [ParseIssue(label, None, None, "the file is empty: it needs a header row")]
    top = [rows[i] for i in filled[:TITLE_SCAN]]
    most = max(len(r) for r in top)
    width_frame = pd.DataFrame([r + [""] * (most - len(r)) for r in top], dtype=object)
    start = filled[_header_position(width_frame, np.arange(len(width_frame)))]
    width = len(rows[start])
    out: list[list[str]] = [[""] * width for _ in range(start)]
    for i, r in enumerate(rows[:start]):
        out[i] = (r + [""] * width)[:width]  # a title above the header: kept, not an error
    for i, r in enumerate(rows[start:], start=start):
        if len(r) > width:
            if any(c.strip() for c in r[width:]):
                issues.append(
                    ParseIssue(
                        label,
                        i + 1,
                        None,
                        f"this row has {len(r)} values but the header has {width} columns: "
                        f"quote values that contain '{delim}' or remove the extra values",
                    )
                )
                r = [""] * width
            else:
                r = r[:width]
        elif len(r) < width:
            r = r + [""] * (width - len(r))
        out.append(r)
    return pd.DataFrame(out, dtype=object), issues


def _to_table(
    label: str,
    raw: pd.DataFrame,
    *,
    fmt: str,
    decimal: str,
    first_row: int,
    entity: str | None = None,
) -> RawTable:
    """Find the header (first non-empty row), normalise it, drop empty rows and columns."""
    values = raw
    if fmt == "csv":
        values = raw.apply(lambda s: s.str.strip()) if len(raw) else raw
        nonempty = (values != "").any(axis=1).to_numpy()
    else:
        nonempty = values.apply(_nonempty_cells).any(axis=1).to_numpy()
    idx = np.flatnonzero(nonempty)
    header_pos = _header_position(values, idx)
    notes: list[ParseIssue] = []
    if len(idx) and header_pos != int(idx[0]):
        notes.append(
            ParseIssue(
                label,
                header_pos + first_row,
                None,
                f"the header appears to be on row {header_pos + first_row}: the rows above it "
                "were read as a title and skipped",
                warning=True,
            )
        )
    header = [normalise_header(h) for h in values.iloc[header_pos].tolist()] if len(values) else []
    body = values.iloc[header_pos + 1 :]
    keep_rows = nonempty[header_pos + 1 :]
    rows = np.arange(header_pos + 1, len(values), dtype=np.int64) + first_row
    body = body[keep_rows]
    rows = rows[keep_rows]
    cols: dict[str, int] = {}
    dupes: dict[str, list[int]] = {}
    selected: list[int] = []
    names: list[str] = []
    for pos, name in enumerate(header):
        if not name:
            continue  # an unnamed (empty) header column is ignored, like any unknown column
        if name in cols:
            dupes.setdefault(name, [cols[name] + 1]).append(pos + 1)
            continue
        cols[name] = pos
        selected.append(pos)
        names.append(name)
    frame = body.iloc[:, selected].copy() if selected else pd.DataFrame(index=body.index)
    frame.columns = names
    frame = frame.reset_index(drop=True)
    return RawTable(
        label=label,
        entity=entity,
        frame=frame,
        rows=rows,
        fmt=fmt,
        header_row=header_pos + first_row,
        decimal=decimal,
        duplicate_columns=dupes,
        notes=notes,
        positions=selected,
    )


ALL_COLUMNS = frozenset(c.name for s in SPECS for c in s.columns)
TITLE_SCAN = 10  # a title block above the header is at most this many non-empty rows


def _header_position(values: pd.DataFrame, nonempty: np.ndarray) -> int:
    """The header row: the first non-empty row, unless it names fewer than two known
    columns and one of the next rows names more (a report title above the table)."""
    if not len(nonempty):
        return 0

    def known(pos: int) -> int:
        cells = values.iloc[pos].tolist()
        return len({normalise_header(c) for c in cells if c is not None} & ALL_COLUMNS)

    first = int(nonempty[0])
    best, score = first, known(first)
    if score >= 2:
        return first
    for pos in nonempty[1:TITLE_SCAN]:
        k = known(int(pos))
        if k >= 2 and k > score:
            return int(pos)
    return best


def _nonempty_cells(s: pd.Series) -> pd.Series:
    return s.map(_filled).astype(bool)


def read_xlsx(
    label: str, data: bytes | Callable[[], BinaryIO], *, stream: bool = False
) -> tuple[list[RawTable], list[ParseIssue]]:
    """Every sheet named after an entity becomes a RawTable (cells keep native types).

    Sheets with other names (notes, pivot tables) are ignored when at least one sheet is
    recognised; a workbook with one unrecognised sheet falls back to the file name and the
    header, like a CSV file. ``data``: the bytes, or a function opening them. ``stream``:
    each sheet becomes a chunked table (``RawTable.chunks``, rows read again from the
    workbook in chunks when it is validated and converted) instead of a frame of its cells.
    """
    import openpyxl

    open_binary = (lambda: io.BytesIO(data)) if isinstance(data, bytes | bytearray) else data
    fh = open_binary()
    try:
        wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - a broken workbook is a problem to report
        fh.close()
        return [], [
            ParseIssue(
                label,
                None,
                None,
                f"cannot read this Excel workbook ({type(exc).__name__}): "
                "save it again from Excel as .xlsx, or as CSV",
            )
        ]
    try:
        sheets = list(wb.worksheets)
        named: list[tuple[Any, str | None]] = [(ws, entity_from_name(ws.title)) for ws in sheets]
        chosen: list[tuple[Any, str | None]] = [(ws, e) for ws, e in named if e is not None]
        if not chosen:
            if len(sheets) == 1:
                chosen = [(sheets[0], None)]
            else:
                return [], [
                    ParseIssue(
                        label,
                        None,
                        None,
                        "no sheet is named after a kind of data; name each sheet after one of: "
                        f"{accepted_names()} (found sheets: {', '.join(ws.title for ws in sheets)})",
                    )
                ]
        tables = []
        for ws, entity in chosen:
            sheet_label = label if len(sheets) == 1 else f"{label} › {ws.title}"
            chunked = _sheet_chunked(sheet_label, open_binary, ws.title, entity) if stream else None
            if chunked is not None:
                tables.append(chunked)
                continue
            if hasattr(ws, "reset_dimensions"):
                ws.reset_dimensions()
            rows = [[_clean_cell(_cell_value(c)) for c in r] for r in ws.iter_rows()]
            if not rows:
                continue
            tables.append(
                _to_table(
                    sheet_label,
                    _cells_frame(rows),
                    fmt="xlsx",
                    decimal=".",
                    first_row=1,
                    entity=entity,
                )
            )
        return tables, []
    finally:
        wb.close()
        fh.close()


def _cells_frame(rows: list[list[object]]) -> pd.DataFrame:
    width = max((len(r) for r in rows), default=0)
    return pd.DataFrame([r + [None] * (width - len(r)) for r in rows], dtype=object)


def _sheet_chunked(
    label: str, open_binary: Callable[[], BinaryIO], title: str, entity: str | None
) -> RawTable | None:
    """One sheet as a chunked ``RawTable``, the XLSX twin of ``read_csv_chunked``: header,
    title rows and kept columns from the first chunk, the body read again from the workbook
    (openpyxl's read-only mode parses the sheet as a stream) chunk by chunk, the cells
    exactly as the whole-sheet reader gives them."""
    import openpyxl

    where = {"fraction": 0.0}

    def raw_chunks() -> Generator[list[list[object]]]:
        fh = open_binary()
        size = max(1, fh.seek(0, io.SEEK_END))
        fh.seek(0)
        where["fraction"] = 0.0
        wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
        try:
            ws = wb[title]
            if hasattr(ws, "reset_dimensions"):
                ws.reset_dimensions()
            batch: list[list[object]] = []
            for r in ws.iter_rows():
                batch.append([_clean_cell(_cell_value(c)) for c in r])
                if len(batch) == READ_CHUNK_ROWS:
                    where["fraction"] = min(1.0, fh.tell() / size)
                    yield batch
                    batch = []
            if batch:
                where["fraction"] = 1.0
                yield batch
        finally:
            wb.close()
            fh.close()

    reader = raw_chunks()
    try:
        first = next(reader, None)
    finally:
        reader.close()
    if first is None or not any(_filled(v) for r in first for v in r):
        return None  # no header in the first chunk: the whole-sheet reader looks further
    table = _to_table(
        label, _cells_frame(first), fmt="xlsx", decimal=".", first_row=1, entity=entity
    )
    header_at = table.header_row - 1
    positions = table.positions
    names = list(table.frame.columns)

    def chunks() -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        start = 0
        for batch in raw_chunks():
            n = len(batch)
            keep = [
                i
                for i, r in enumerate(batch)
                if start + i > header_at and any(_filled(v) for v in r)
            ]
            body = pd.DataFrame(
                {
                    name: pd.Series(
                        [batch[i][p] if p < len(batch[i]) else None for i in keep], dtype=object
                    )
                    for name, p in zip(names, positions, strict=True)
                },
                index=pd.RangeIndex(len(keep)),
            )
            yield body, np.asarray(keep, dtype=np.int64) + start + 1
            start += n

    table.chunks = chunks
    table.read_fraction = lambda: where["fraction"]
    return table


def _filled(v: object) -> bool:
    """A cell that makes its row non-empty (as ``_nonempty_cells``)."""
    if v is None:
        return False
    if isinstance(v, str):
        return bool(v.strip())
    return not (isinstance(v, float) and np.isnan(v))


def _cell_value(cell: Any) -> object:
    """A cell's value; a number shown as a percentage (format ``0%``, ``0.0 %``…) is marked
    so a percent column reads 0.4 shown as 40 % as 40."""
    v = getattr(cell, "value", None)
    if isinstance(v, int | float) and not isinstance(v, bool):
        fmt = getattr(cell, "number_format", None) or ""
        if "%" in fmt.replace("\\%", "").replace('"%"', ""):
            return PercentCell(v)
    return v


def _clean_cell(v: object) -> object:
    if isinstance(v, str):
        return v.strip()
    if isinstance(v, dt.time):
        return v.isoformat()
    return v


def frame_to_table(label: str, df: pd.DataFrame, entity: str | None, fmt: str) -> RawTable:
    """A DataFrame (typed or not) as a RawTable; rows are counted from 1."""
    frame = df.copy()
    names: list[str] = []
    selected: list[int] = []
    dupes: dict[str, list[int]] = {}
    seen: dict[str, int] = {}
    for pos, col in enumerate(frame.columns):
        name = normalise_header(col)
        if not name:
            continue
        if name in seen:
            dupes.setdefault(name, [seen[name] + 1]).append(pos + 1)
            continue
        seen[name] = pos
        selected.append(pos)
        names.append(name)
    frame = frame.iloc[:, selected]
    frame.columns = names
    frame = frame.reset_index(drop=True)  # strings are stripped by the converters
    return RawTable(
        label=label,
        entity=entity,
        frame=frame,
        rows=np.arange(1, len(frame) + 1, dtype=np.int64),
        fmt=fmt,
        header_row=0,
        decimal=".",
        duplicate_columns=dupes,
    )


def detect_entity(table: RawTable, name_hint: str) -> str | None:
    """The table's entity: already known (sheet), else by name, else by header."""
    if table.entity:
        return table.entity
    stem = PurePath(name_hint).stem if "." in PurePath(name_hint).name else name_hint
    return entity_from_name(stem) or entity_from_header(table.frame.columns)


def entity_problem(label: str) -> ParseIssue:
    return ParseIssue(
        label,
        None,
        None,
        "cannot tell which kind of data this is: name the file (or sheet) after one of "
        f"{accepted_names()} — e.g. innovations.csv — or give it that format's header",
    )


# ---------------------------------------------------------------------------------------------
# Single values: numbers


# The one home of number reading (validation applies it column by column).
#
# The rule: a file uses ONE decimal separator. What it is comes only from values that can be
# read one way: both separators in one value (``1.234,5``: the last one is the decimal), a
# separator repeated (``1.234.567``: groups), a single separator not followed by exactly
# three digits (``3,5``, ``13.37``), or one that cannot be a thousands separator (``0.105``,
# ``1234.567``). ``4.105`` alone could be 4105 or 4.105: with no evidence in its column it
# is refused (never guessed from the delimiter, nor from the file's other columns). In a
# column whose decimal separator is settled, ``4.105`` (the other mark before exactly three
# digits) is read as a thousands group only when the column also shows that mark used as a
# group (``1.234,5``, ``1.234.567``); otherwise it is refused too, since ``4.105`` next to
# ``407,5`` may as well be a decimal typed with a point. Spaces, apostrophes and narrow
# spaces are thousands separators in either style.

_GROUP = "[' \u00a0\u202f]"
_NUM_POINT = re.compile(
    r"^[+-]?(?:[1-9]\d{0,2}(?:([,' \u00a0\u202f])\d{3})(?:\1\d{3})*|\d+)?(?:\.\d+)?"
    r"(?:[eE][+-]?\d+)?$"
)
_NUM_COMMA = re.compile(
    r"^[+-]?(?:[1-9]\d{0,2}(?:([.' \u00a0\u202f])\d{3})(?:\1\d{3})*|\d+)?(?:,\d+)?"
    r"(?:[eE][+-]?\d+)?$"
)
# One separator between a 1-3 digit group (not starting with 0) and exactly three digits.
AMBIGUOUS_NUMBER = re.compile(r"^[+-]?[1-9]\d{0,2}[.,]\d{3}$")


@dataclass(frozen=True)
class NumberEvidence:
    """Per value (numpy masks over the strings given): which decimal separator it proves,
    whether it could be read both ways, and whether it shows the *other* mark used as a
    thousands separator (``1.234,5`` and ``1.234.567`` group with points: ``point_group``;
    ``1,234.5`` and ``1,234,567`` group with commas: ``comma_group``)."""

    comma: np.ndarray
    point: np.ndarray
    ambiguous: np.ndarray
    point_group: np.ndarray
    comma_group: np.ndarray


def number_evidence(strings: pd.Series) -> NumberEvidence:
    """What each (stripped, ``%``-free) string says about the decimal separator (vectorised)."""
    s = strings.astype(str)
    dots = s.str.count(r"\.").to_numpy()
    commas = s.str.count(",").to_numpy()
    last_dot = s.str.rfind(".").to_numpy()
    last_comma = s.str.rfind(",").to_numpy()
    amb = s.str.fullmatch(AMBIGUOUS_NUMBER.pattern).fillna(False).to_numpy(dtype=bool).copy()
    both = (dots > 0) & (commas > 0)
    comma = (
        (both & (last_comma > last_dot))
        | ((dots >= 2) & (commas == 0))
        | ((commas == 1) & (dots == 0) & ~amb)
    )
    point = (
        (both & (last_dot > last_comma))
        | ((commas >= 2) & (dots == 0))
        | ((dots == 1) & (commas == 0) & ~amb)
    )
    # Only values that are numbers in that style count as evidence (junk proves nothing).
    comma &= s.str.fullmatch(_NUM_COMMA.pattern).fillna(False).to_numpy(dtype=bool)
    point &= s.str.fullmatch(_NUM_POINT.pattern).fillna(False).to_numpy(dtype=bool)
    return NumberEvidence(comma, point, amb, comma & (dots > 0), point & (commas > 0))


def parse_numbers(strings: pd.Series, decimal: str) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised: (values, ok mask) of stripped strings read with ``decimal`` (``,``/``.``)."""
    s = strings.astype(str)
    pattern = _NUM_COMMA if decimal == "," else _NUM_POINT
    ok = s.str.fullmatch(pattern.pattern).fillna(False).to_numpy(dtype=bool).copy()
    ok &= s.str.contains(r"\d", regex=True).fillna(False).to_numpy(dtype=bool)
    if decimal == ",":
        conv = s.str.replace(r"[.' \u00a0\u202f]", "", regex=True).str.replace(",", ".")
    else:
        conv = s.str.replace(r"[,' \u00a0\u202f]", "", regex=True)
    vals = pd.to_numeric(conv.where(ok, "nan"), errors="coerce").to_numpy(dtype=float)
    ok &= np.isfinite(vals)
    return np.where(ok, vals, np.nan), ok


def is_pct_column(name: str) -> bool:
    """The percent columns (``gain_share_pct``, ``productivity_pct_per_year``, …): values are
    percent points; ``40``, ``40%``, ``40 %`` and an Excel cell formatted as 40 % are all 40."""
    return name.endswith("_pct") or "_pct_" in name


class PercentCell(float):
    """A number read from an Excel cell formatted as a percentage (its value is a fraction:
    the cell shows 40 % and holds 0.4)."""

    __slots__ = ()


def percent_points(fraction: float) -> float:
    """0.4 → 40.0 without binary noise (0.07 × 100 is 7.000000000000001)."""
    return round(fraction * 100, 9)


def parse_number(text: str, decimal: str | None, *, pct: bool = False) -> float | str:
    """One number as written in an export (``1.234,56``, ``3,5``, ``1,234.5``, ``12%`` in a
    percent column), read with the ``decimal`` separator; or a message. ``decimal=None``:
    refuse a value that could be read both ways, otherwise read it the only way it can be."""
    s = text.strip().replace("\u2212", "-")
    if s.endswith("%"):
        if not pct:
            return f"'{text}' is not a number: write it without the % sign"
        s = s[:-1].strip()
    if decimal is None:
        if AMBIGUOUS_NUMBER.match(s):
            return ambiguous_message(text)
        ev = number_evidence(pd.Series([s]))
        decimal = "," if ev.comma[0] else "."
    vals, ok = parse_numbers(pd.Series([s]), decimal)
    if ok[0]:
        return float(vals[0])
    if re.fullmatch(r"[+-]?\d+(?:[.,]\d+)*(?:[eE][+-]?\d+)?", s) and re.search(r"[eE]", s):
        return f"'{text}' is too large"
    hint = "decimal comma, e.g. 1234,5" if decimal == "," else "decimal point, e.g. 1234.5"
    return f"'{text}' is not a number: write digits with a {hint}"


def ambiguous_message(text: str) -> str:
    s = text.strip().rstrip("%").strip()
    digits = s.replace(".", "").replace(",", "")
    as_decimal = f"{float(s.replace(',', '.')):g}"
    return (
        f"'{text}' can be read as {digits} or as {as_decimal}, and nothing in this file shows "
        f"which separator is the decimal one: write it without a thousands separator "
        f"({digits}), or write all decimals of the file with the same separator and at least "
        "one value that shows it (e.g. 0,5 or 1.234,5)"
    )


def other_mark_message(text: str, decimal: str, shown_at: str) -> str:
    """``4.105`` in a column whose decimals are written with a comma (or ``4,105`` in one
    written with a point): a thousands group, or a decimal typed the other way? The column
    has no value that uses that mark as a thousands separator, so it is not guessed."""
    s = text.strip().rstrip("%").strip()
    other = "." if decimal == "," else ","
    digits = s.replace(other, "")
    as_decimal = s.replace(other, decimal)
    mark = "comma" if decimal == "," else "point"
    other_mark = "point" if decimal == "," else "comma"
    return (
        f"'{text}' can be read as {digits} or as {as_decimal}: this column writes decimals "
        f"with a {mark} ({shown_at}), so a {other_mark} here is either a thousands separator or "
        f"a decimal written the other way, and no value in the column shows which: write "
        f"{digits} without a thousands separator, or the decimal as {as_decimal}"
    )


# ---------------------------------------------------------------------------------------------
# Single values: dates


_TIME = r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?)?"
ISO = re.compile(rf"^(\d{{4}})[-/.](\d{{1,2}})[-/.](\d{{1,2}}){_TIME}$")
DMY = re.compile(rf"^(\d{{1,2}})[/.\-](\d{{1,2}})[/.\-](\d{{4}}){_TIME}$")
SHORT_YEAR = re.compile(r"^\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2}$")
MONTH_YM = re.compile(r"^(\d{4})[-/.](\d{1,2})$")
MONTH_MY = re.compile(r"^(\d{1,2})[-/.](\d{4})$")
MONTH_NAME = re.compile(r"^([A-Za-z]{3,9})\.?[ \-](\d{4})$")
SERIAL = re.compile(r"^(\d{4,6})(?:\.(\d+))?$")
MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
MONTHS |= {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}
MONTHS["sept"] = 9
EXCEL_EPOCH = dt.date(1899, 12, 30)
MIN_YEAR, MAX_YEAR = 1900, 2200
ISO_HINT = "write dates as YYYY-MM-DD"


@dataclass(frozen=True)
class DateValue:
    """A parsed date; ``month`` is True when only a month was given (``2024-03``)."""

    date: dt.date
    month: bool = False


def _make_date(y: int, m: int, d: int, text: str, order: str) -> DateValue | str:
    if not MIN_YEAR <= y <= MAX_YEAR:
        return f"'{text}': the year must be between {MIN_YEAR} and {MAX_YEAR}"
    try:
        return DateValue(dt.date(y, m, d))
    except ValueError:
        return f"'{text}' is not a real date ({order}); {ISO_HINT}"


def _time_problem(text: str, groups: Sequence[str | None]) -> str | None:
    h, mi, se = groups
    if h is None:
        return None
    if int(h) == 0 and int(mi or 0) == 0 and int(se or 0) == 0:
        return None
    return f"'{text}' has a time of day: give the date only ({ISO_HINT})"


def day_month_order(values: Iterable[str]) -> str:
    """How a column writes nn/nn/yyyy dates: ``dmy`` if a first part is > 12, ``mdy`` if a
    second part is, else ``ambiguous`` (decided per column, never per value)."""
    order = "ambiguous"
    for v in values:
        m = DMY.match(v)
        if not m:
            continue
        a, b = int(m.group(1)), int(m.group(2))
        if a > 12:
            return "dmy"
        if b > 12:
            order = "mdy"
    return order


def parse_date(value: Any, *, order: str = "dmy", allow_month: bool = False) -> DateValue | str:
    """One cell → a DateValue or a message saying what to change.

    Accepts ISO dates (optionally with a 00:00:00 time), day/month/year with ``/ . -``
    (``order`` comes from ``day_month_order`` over the whole column), Excel serial numbers,
    Excel/pandas date objects, and — when ``allow_month`` — months (``2024-03``, ``03/2024``,
    ``Mar 2024``).
    """
    if isinstance(value, pd.Timestamp):
        if pd.isna(value):
            return "empty"
        value = value.to_pydatetime()
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value).to_pydatetime()
    if isinstance(value, dt.datetime):
        if value.time() != dt.time(0):
            return f"'{value}' has a time of day: give the date only ({ISO_HINT})"
        value = value.date()
    if isinstance(value, dt.date):
        if not MIN_YEAR <= value.year <= MAX_YEAR:
            return f"'{value}': the year must be between {MIN_YEAR} and {MAX_YEAR}"
        return DateValue(value)
    if isinstance(value, bool):
        return f"'{value}' is not a date; {ISO_HINT}"
    if isinstance(value, int | float | np.integer | np.floating):
        return _serial(float(value), str(value))
    text = str(value).strip()
    m = ISO.match(text)
    if m:
        tp = _time_problem(text, m.groups()[3:6])
        return tp or _make_date(
            int(m.group(1)), int(m.group(2)), int(m.group(3)), text, "year-month-day"
        )
    m = DMY.match(text)
    if m:
        tp = _time_problem(text, m.groups()[3:6])
        if tp:
            return tp
        a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if order == "mdy" and a != b:
            return f"'{text}' is written month/day/year (US order) in this column: {ISO_HINT}"
        if order == "ambiguous" and a != b:
            return f"ambiguous date {text}: {ISO_HINT}"
        return _make_date(y, b, a, text, "day/month/year")
    if allow_month:
        for pattern, ym in ((MONTH_YM, True), (MONTH_MY, False)):
            m = pattern.match(text)
            if m:
                y, mo = (
                    (int(m.group(1)), int(m.group(2))) if ym else (int(m.group(2)), int(m.group(1)))
                )
                if not 1 <= mo <= 12:
                    return f"'{text}' is not a real month; write months as YYYY-MM"
                d = _make_date(y, mo, 1, text, "month")
                return DateValue(d.date, month=True) if isinstance(d, DateValue) else d
        m = MONTH_NAME.match(text)
        if m and m.group(1).lower() in MONTHS:
            d = _make_date(int(m.group(2)), MONTHS[m.group(1).lower()], 1, text, "month")
            return DateValue(d.date, month=True) if isinstance(d, DateValue) else d
    m = SERIAL.match(text)
    if m:
        return _serial(float(text), text)
    if SHORT_YEAR.match(text):
        return f"'{text}' has a two-digit year: {ISO_HINT}"
    if not allow_month and (MONTH_YM.match(text) or MONTH_MY.match(text)):
        return f"'{text}' is a month, but this column needs a full date: {ISO_HINT}"
    what = "a date or a month (YYYY-MM)" if allow_month else "a date"
    return f"'{text}' is not {what}; {ISO_HINT}"


def _serial(number: float, text: str) -> DateValue | str:
    """An Excel serial day number (days since 1899-12-30)."""
    if not np.isfinite(number) or not 10_000 <= number <= 110_000:
        return f"'{text}' is not a date; {ISO_HINT}"
    if number != int(number):
        return f"'{text}' (an Excel date) has a time of day: give the date only ({ISO_HINT})"
    return DateValue(EXCEL_EPOCH + dt.timedelta(days=int(number)))


# ---------------------------------------------------------------------------------------------
# Single values: booleans and choices


TRUE = {"true", "yes", "1", "y", "t", "1.0"}
FALSE = {"false", "no", "0", "n", "f", "0.0"}


def parse_bool(value: Any) -> bool | str:
    """true/false/yes/no/1/0 in any case (and real booleans), or a message."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    return f"'{value}' is not true or false: write true, false, yes, no, 1 or 0"


def fold_choice(value: str) -> str:
    """``" Operational-Efficiency "`` → ``operational efficiency`` for matching choices."""
    return re.sub(r"[\s_\-]+", " ", value.strip().lower())
