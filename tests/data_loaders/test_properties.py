"""Property: whatever the file, the importer returns a clean import or a list of problems —
never an exception — and a rejected import leaves the database exactly as it was.

Files are the valid set's CSVs, mutated: columns dropped or duplicated, cells corrupted,
random bytes spliced in, delimiters swapped, files truncated, or replaced by random bytes.
An import that passes is rolled back at once, which must also restore the exact state.
"""

from __future__ import annotations

import csv
import io
import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from data_loaders.batches import rollback_batch
from data_loaders.db import make_engine, migrate
from data_loaders.importer import import_files
from data_loaders.validation import Problem

from .loader_helpers import fingerprint, valid_files

FILES = {p.name: p.read_bytes() for p in valid_files()}
CELL_JUNK = [
    "",
    " ",
    "x",
    "-1",
    "0",
    "1e999",
    "NaN",
    "31/02/2024",
    "2024-13-01",
    "13/25/2024",
    "\x00",
    '"',
    ";",
    ",",
    "\n",
    "9" * 400,
    "yes",
    "Operational Efficiency",
    "—",
    "2024-03",
    "1.234,5",
    "INN-001",
    "Lisbon",
    "Acme Claims",
    "🙂",
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def loaded(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Engine]:
    """A database holding the valid set, shared by all examples (SQLite, then PostgreSQL)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("prop") / "p.sqlite"
        engine = make_engine(f"sqlite:///{path}")
        cleanup: Callable[[], None] | None = None
    else:
        admin_url = os.environ.get("TEST_DATABASE_URL")
        if not admin_url:
            if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
                pytest.fail("CI=true but TEST_DATABASE_URL is not set")
            pytest.skip("TEST_DATABASE_URL not set")
        name = f"tnn_prop_{uuid.uuid4().hex[:10]}"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine = make_engine(
            make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        )

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

        cleanup = drop

    migrate(engine)
    assert import_files(engine, valid_files()).ok
    yield engine
    engine.dispose()
    if cleanup:
        cleanup()


@st.composite
def mutated_file(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(FILES)))
    data = FILES[name]
    kind = draw(
        st.sampled_from(
            [
                "cells",
                "drop_col",
                "dup_col",
                "bytes",
                "delimiter",
                "truncate",
                "random",
                "header",
                "header_only",
            ]
        )
    )
    if kind == "random":
        return name, draw(st.binary(max_size=300))
    lines = data.decode("utf-8").split("\n")
    rows = [ln.split(",") for ln in lines]
    width = len(rows[0])
    if kind == "cells":
        for _ in range(draw(st.integers(1, 6))):
            r = draw(st.integers(0, len(rows) - 1))
            if rows[r] and rows[r] != [""]:
                c = draw(st.integers(0, len(rows[r]) - 1))
                rows[r][c] = draw(st.sampled_from(CELL_JUNK) | st.text(max_size=12))
    elif kind in ("drop_col", "dup_col"):
        c = draw(st.integers(0, width - 1))
        for row in rows:
            if len(row) > c:
                if kind == "drop_col":
                    del row[c]
                else:
                    row.insert(c, row[c])
    elif kind == "header":
        rows[0] = [
            draw(st.sampled_from(["", "X", rows[0][i].upper(), " " + rows[0][i] + "-"]))
            if draw(st.booleans())
            else rows[0][i]
            for i in range(width)
        ]
    text = "\n".join(",".join(r) for r in rows)
    if kind == "delimiter":
        text = text.replace(",", draw(st.sampled_from([";", "\t", "|", " "])))
    out = text.encode("utf-8")
    if kind == "bytes":
        pos = draw(st.integers(0, len(out)))
        out = out[:pos] + draw(st.binary(min_size=1, max_size=20)) + out[pos:]
    if kind == "truncate":
        out = out[: draw(st.integers(0, len(out)))]
    if kind == "header_only":
        out = out.split(b"\n")[0] + b"\n"
    return name, out


def _cells(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


def _write(rows: list[list[str]], delimiter: str = ",") -> bytes:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


@st.composite
def same_data_file(draw: st.DrawFn) -> tuple[str, bytes, str]:
    """A valid file written another way that means the same data: decimal commas with `;`,
    thousands separators, `%` in every *_pct column, Windows-1252 bytes, or an Excel sheet
    whose *_pct cells are numbers formatted as percent (40 % held as 0.4)."""
    name = draw(st.sampled_from(sorted(FILES)))
    rows = _cells(FILES[name])
    kind = draw(
        st.sampled_from(["decimal_comma", "thousands", "percent", "cp1252", "xlsx_percent"])
    )
    header = rows[0]
    if kind == "decimal_comma":
        rows = [[re.sub(r"^(-?\d+)\.(\d+)$", r"\1,\2", c) for c in r] for r in rows]
        return name, _write(rows, ";"), kind
    if kind == "thousands":
        sep = draw(st.sampled_from([" ", "'"]))
        rows = [
            header,
            *(
                [re.sub(r"^(\d{1,3})(\d{3})(\.\d+)?$", rf"\1{sep}\2\3", c) for c in r]
                for r in rows[1:]
            ),
        ]
        return name, _write(rows), kind
    if kind == "percent":
        pct = [i for i, h in enumerate(header) if h.endswith("_pct") or "_pct_" in h]
        space = draw(st.sampled_from(["", " "]))
        for r in rows[1:]:
            for i in pct:
                if i < len(r) and r[i]:
                    r[i] = f"{r[i]}{space}%"
        return name, _write(rows), kind
    if kind == "xlsx_percent":
        return name.removesuffix(".csv") + ".xlsx", _percent_sheet(rows), kind
    return name, FILES[name].decode("utf-8").encode("cp1252"), kind


def _percent_sheet(rows: list[list[str]]) -> bytes:
    """``rows`` as one Excel sheet: text cells, but every filled *_pct cell the number a
    person typing "40 %" leaves there (0.4, shown as 40 %)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    pct = {i for i, h in enumerate(rows[0]) if h.endswith("_pct") or "_pct_" in h}
    ws.append(rows[0])
    for r, row in enumerate(rows[1:], start=2):
        for c, value in enumerate(row):
            cell = ws.cell(row=r, column=c + 1)
            if c in pct and value:
                cell.value = float(value) / 100
                cell.number_format = "0.0%"
            else:
                cell.value = value
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@settings(
    max_examples=int(os.environ.get("TNN_PROPERTY_EXAMPLES", "40")) // 2,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(file=same_data_file())
def test_the_same_data_written_another_way_changes_nothing(
    loaded: Engine, file: tuple[str, bytes, str]
) -> None:
    """Separators, percent signs and encodings that keep the meaning: a clean import in
    which every row is unchanged (the values were read right)."""
    name, data, _kind = file
    before = fingerprint(loaded)
    result = import_files(loaded, [(name, data)])
    assert result.ok, "\n".join(map(str, result.problems))
    assert result.total.inserted == result.total.updated == 0
    assert result.batch_id is not None
    rollback_batch(loaded, result.batch_id)
    assert fingerprint(loaded) == before


@st.composite
def wrong_data_file(draw: st.DrawFn) -> tuple[str, bytes, str]:
    """Files that must be refused: a daily row inside a monthly month (grains), a stray
    Windows-1252 byte in a UTF-8 file, a value readable two ways alone in its column."""
    kind = draw(st.sampled_from(["grains", "stray_byte", "ambiguous"]))
    name = "kpi_observations_2024.csv"
    rows = _cells(FILES[name])
    if kind == "grains":
        r = list(draw(st.sampled_from(rows[1:])))
        r[4] = r[4] + "-" + draw(st.sampled_from(["02", "15", "28"]))
        rows.append(r)
        return name, _write(rows), "would be counted twice"
    if kind == "stray_byte":
        i = draw(st.integers(1, len(rows) - 1))
        rows[i][1] = "São " + rows[i][1]
        out = _write(rows)
        pos = draw(st.integers(len(out) // 2, len(out) - 2))
        pos = out.rfind(b"\n", 0, pos) + 1
        return (
            name,
            out[:pos] + b"Caf\xe9," + out[pos:].split(b",", 1)[1],
            "a byte that is not UTF-8 text",
        )
    value = draw(st.sampled_from(["4.105", "13.370", "1,250", "2.500"]))
    header = ["account", "site", "process", "kpi", "period", "value"]
    row = ["Acme Claims", "Lisbon", "Claims intake", "fte", "2024-11", value]
    return name, _write([header, row]), "can be read as"


@settings(
    max_examples=int(os.environ.get("TNN_PROPERTY_EXAMPLES", "40")) // 2,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(file=wrong_data_file())
def test_files_that_would_be_stored_wrong_are_refused(
    loaded: Engine, file: tuple[str, bytes, str]
) -> None:
    """Grains mixed, stray bytes, ambiguous numbers: refused for that reason, naming the
    file; nothing written."""
    name, data, words = file
    before = fingerprint(loaded)
    result = import_files(loaded, [(name, data)])
    assert not result.ok
    assert all(p.file == name for p in result.problems)
    assert any(words in p.message for p in result.problems), result.problems
    assert fingerprint(loaded) == before


# TNN_PROPERTY_EXAMPLES=2000 for a long hunt; the default keeps the suite fast.
@settings(
    max_examples=int(os.environ.get("TNN_PROPERTY_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(files=st.lists(mutated_file(), min_size=1, max_size=3, unique_by=lambda f: f[0]))
def test_mutated_files_never_raise_and_never_half_write(
    loaded: Engine, files: list[tuple[str, bytes]]
) -> None:
    """Any mutation: problems (each naming its file) or a clean import; rejection changes
    nothing; a clean import rolled back restores the exact state."""
    before = fingerprint(loaded)
    result = import_files(loaded, files)
    if result.ok:
        assert result.batch_id is not None
        rollback_batch(loaded, result.batch_id)
    else:
        assert result.problems
        assert all(
            isinstance(p, Problem) and p.file in {n for n, _ in files} for p in result.problems
        )
        assert all(p.message for p in result.problems)
    assert fingerprint(loaded) == before


def test_fixture_files_exist() -> None:
    """The property test has material: the valid set is present."""
    assert len(FILES) == 8 and all(Path(n).suffix == ".csv" for n in FILES)
