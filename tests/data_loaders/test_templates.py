"""Templates are generated from formats.py and import cleanly as they are."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from sqlalchemy import Engine

from data_loaders.formats import BY_ENTITY
from data_loaders.importer import import_files
from data_loaders.templates import TEMPLATE_ENTITIES, template_csv, template_xlsx


@pytest.mark.parametrize("entity", TEMPLATE_ENTITIES)
def test_csv_template_has_every_column_and_examples(entity: str) -> None:
    """Header = the format's columns in order, then one or two example rows."""
    rows = list(csv.reader(io.StringIO(template_csv(entity).decode("utf-8"))))
    assert rows[0] == [c.name for c in BY_ENTITY[entity].columns]
    assert 1 <= len(rows) - 1 <= 2


def test_templates_import_cleanly(engine: Engine) -> None:
    """All CSV templates together, then the workbook, pass validation; the workbook holds the
    same values (every row unchanged)."""
    files = [(f"{e}.csv", template_csv(e)) for e in TEMPLATE_ENTITIES]
    r = import_files(engine, files)
    assert r.ok, "\n".join(map(str, r.problems))
    r = import_files(engine, [("then_and_now_template.xlsx", template_xlsx())])
    assert r.ok, "\n".join(map(str, r.problems))
    assert r.total.inserted == 0 and r.total.updated == 0


def test_workbook_sheets() -> None:
    """README first, then one sheet per entity; dates are real Excel dates."""
    wb = openpyxl.load_workbook(io.BytesIO(template_xlsx()))
    assert wb.sheetnames == ["README", *TEMPLATE_ENTITIES]
    assert wb["rollouts"]["E2"].is_date


def test_unknown_entity() -> None:
    """Asking for a template of an unknown entity names the known ones."""
    with pytest.raises(ValueError, match="use one of accounts, units"):
        template_csv("widgets")


def test_the_demos_hidden_truth_is_no_template() -> None:
    """planted_effects (the demo generator's ground truth, issue #10 item 11) is offered
    neither as a CSV template nor as a workbook sheet; every other entity is."""
    assert "planted_effects" not in TEMPLATE_ENTITIES
    assert set(TEMPLATE_ENTITIES) == set(BY_ENTITY) - {"planted_effects"}
    wb = openpyxl.load_workbook(io.BytesIO(template_xlsx()))
    assert "planted_effects" not in wb.sheetnames
