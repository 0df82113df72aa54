"""Template files people can download, fill in and import: generated from ``formats.py``.

``template_csv(entity)`` is the header plus one or two example rows; ``template_xlsx()`` is a
workbook with one sheet per entity (dates as real Excel dates) and a ``README`` sheet that
describes every column. The examples form one tiny, consistent account, so importing all the
templates together passes validation (a test checks it).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from data_loaders.formats import BY_ENTITY, SPECS, EntitySpec

ACCOUNT = "Example Co"

EXAMPLES: dict[str, list[dict[str, Any]]] = {
    "accounts": [
        {
            "name": ACCOUNT,
            "currency": "EUR",
            "locale": "en_GB",
            "contract_start": "2024-01-01",
            "contract_end": "2026-12-31",
            "baseline_start": "2024-01-01",
            "baseline_end": "2024-03-31",
            "gain_share_pct": 40,
            "savings_goal_per_year": 250000,
            "productivity_pct_per_year": 4,
            "innovation_days_per_year": 100,
        }
    ],
    "units": [
        {"account": ACCOUNT, "site": "Lisbon", "process": "Claims intake", "region": "EMEA"},
        {"account": ACCOUNT, "site": "Manila", "process": "Claims intake", "region": "APAC"},
    ],
    "kpis": [
        {
            "account": ACCOUNT,
            "key": "aht",
            "label": "Average handle time",
            "unit_of_measure": "seconds",
            "direction": "lower",
            "kind": "rate",
            "money_value": 0.01,
            "headline": "false",
        },
        {
            "account": ACCOUNT,
            "key": "cost_per_txn",
            "label": "Cost per transaction",
            "unit_of_measure": "EUR",
            "direction": "lower",
            "kind": "rate",
            "money_value": 1,
            "headline": "true",
        },
    ],
    "innovations": [
        {
            "account": ACCOUNT,
            "code": "INN-001",
            "title": "Pre-filled claim forms",
            "description": "Claim forms arrive filled from the policy system.",
            "category": "operational efficiency",
            "scale": "continuous improvement",
            "origin": "joint",
            "stage": "scaled",
            "idea_date": "2024-02-01",
            "evaluation_date": "2024-02-20",
            "prototype_date": "2024-03-15",
            "pilot_date": "2024-04-15",
            "scaled_date": "2024-07-01",
            "closed_date": "",
            "owner": "Ana Reyes",
            "target_kpi": "aht",
            "expected_effect_pct": -6,
            "estimated_annual_value": 120000,
            "innovation_days": 3,
            "gain_share_eligible": "true",
            "evidence_status": "evidence",
        },
        {
            "account": ACCOUNT,
            "code": "INN-002",
            "title": "Claim status chatbot",
            "description": "",
            "category": "strategic impact",
            "scale": "transformative",
            "origin": "provider",
            "stage": "idea",
            "idea_date": "2024-09-01",
            "evaluation_date": "",
            "prototype_date": "",
            "pilot_date": "",
            "scaled_date": "",
            "closed_date": "",
            "owner": "Raj Mehta",
            "target_kpi": "cost_per_txn",
            "expected_effect_pct": -2,
            "estimated_annual_value": 60000,
            "innovation_days": 0,
            "gain_share_eligible": "false",
            "evidence_status": "none",
        },
    ],
    "innovation_targets": [
        {
            "account": ACCOUNT,
            "innovation": "INN-001",
            "kpi": "cost_per_txn",
            "expected_effect_pct": -2,
        },
    ],
    "planted_effects": [
        {"account": ACCOUNT, "innovation": "INN-001", "kpi": "aht", "effect_pct": -5},
    ],
    "rollouts": [
        {
            "account": ACCOUNT,
            "innovation": "INN-001",
            "site": "Lisbon",
            "process": "Claims intake",
            "go_live": "2024-04-15",
        },
        {
            "account": ACCOUNT,
            "innovation": "INN-001",
            "site": "Manila",
            "process": "Claims intake",
            "go_live": "2024-07-01",
        },
    ],
    "events": [
        {
            "account": ACCOUNT,
            "date": "2024-01-01",
            "title": "Contract start",
            "kind": "contract",
            "description": "Three-year contract with a 4 % productivity clause.",
        },
    ],
    "observations": [
        {
            "account": ACCOUNT,
            "site": "Lisbon",
            "process": "Claims intake",
            "kpi": "aht",
            "period": "2024-01",
            "value": 412.5,
            "volume": 12400,
            "grain": "month",
        },
        {
            "account": ACCOUNT,
            "site": "Manila",
            "process": "Claims intake",
            "kpi": "aht",
            "period": "2024-01",
            "value": 388.0,
            "volume": 20150,
            "grain": "month",
        },
    ],
}

# What a person fills in; planted effects are the demo generator's, not a user's.
TEMPLATE_ENTITIES: tuple[str, ...] = tuple(s.entity for s in SPECS if s.entity != "planted_effects")


def _spec(entity: str) -> EntitySpec:
    try:
        return BY_ENTITY[entity]
    except KeyError:
        raise ValueError(
            f"unknown entity {entity!r}: use one of {', '.join(TEMPLATE_ENTITIES)}"
        ) from None


def template_csv(entity: str) -> bytes:
    """Header (every format column, in order) and example rows, as UTF-8 CSV bytes."""
    spec = _spec(entity)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    names = [c.name for c in spec.columns]
    w.writerow(names)
    for row in EXAMPLES[entity]:
        w.writerow(["" if row.get(n) is None else row.get(n, "") for n in names])
    return out.getvalue().encode("utf-8")


def template_xlsx() -> bytes:
    """A workbook: a README sheet describing the columns, then one sheet per entity."""
    import openpyxl
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = openpyxl.Workbook()
    readme = wb.active
    assert readme is not None
    readme.title = "README"
    readme.append(["sheet", "column", "type", "required", "allowed values", "notes"])
    for cell in readme[1]:
        cell.font = Font(bold=True)
    for entity in TEMPLATE_ENTITIES:
        spec = BY_ENTITY[entity]
        for c in spec.columns:
            readme.append(
                [
                    entity,
                    c.name,
                    c.type.replace("_", " "),
                    "yes" if c.required else "",
                    ", ".join(c.allowed),
                    c.doc,
                ]
            )
    for entity in TEMPLATE_ENTITIES:
        spec = BY_ENTITY[entity]
        ws = wb.create_sheet(entity)
        names = [c.name for c in spec.columns]
        ws.append(names)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in EXAMPLES[entity]:
            values: list[Any] = []
            for c in spec.columns:
                v = row.get(c.name, "")
                if c.type == "date" and v:
                    v = dt.date.fromisoformat(str(v))
                elif c.type == "bool" and v in ("true", "false"):
                    v = v == "true"
                values.append(None if v == "" else v)
            ws.append(values)
            for c, cell in zip(spec.columns, ws[ws.max_row], strict=False):
                if c.type == "date" and cell.value is not None:
                    cell.number_format = "yyyy-mm-dd"
        for i, n in enumerate(names, start=1):
            ws.column_dimensions[get_column_letter(i)].width = max(12, len(n) + 2)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
