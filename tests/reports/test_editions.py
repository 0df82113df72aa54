"""Editions: build → archive → verify; a modified file is named as modified; changed data
shows as restated figures in the next edition's "what changed"; the deck has the figures."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pptx import Presentation
from pypdf import PdfReader
from sqlalchemy import text

from data_loaders import rollup
from data_loaders.access import Scope
from data_loaders.db import make_engine
from reports.deck import render_deck
from services.pack import build_pack, verify_pack
from story.model import Story


def test_edition_round_trip_and_restated_figure(copy_url: str) -> None:
    engine = make_engine(copy_url)
    scope = Scope.everything(user="tester")
    first = build_pack(engine, scope, "Northwind Insurance", ensure_estimates=False)
    assert first.edition_no == 1
    assert first.changes.sentences == ("This is the first edition of this account's renewal pack.",)
    ok = verify_pack(engine, scope, first.content)
    assert ok.status == "edition" and ok.edition_no == 1 and ok.account == "Northwind Insurance"
    assert ok.headline is not None and ok.headline["value_to_date_exact"] == "$6,456,512"
    tampered = verify_pack(engine, scope, first.content + b"\n% changed after printing\n")
    assert tampered.status == "modified" and "MODIFIED" in tampered.message
    assert verify_pack(engine, scope, b"%PDF-1.7 not a pack").status == "not an edition"

    # the data of March 2025 changes (as after a corrected re-import): that month is restated
    with engine.begin() as conn:
        changed = conn.execute(
            text(
                "UPDATE kpi_observation SET value = value * 0.9 WHERE period >= '2025-03-01' "
                "AND period < '2025-04-01' AND kpi_id IN (SELECT id FROM kpi WHERE headline = 1)"
            )
        ).rowcount
        rollup.rebuild(conn)  # a write by hand, outside any import
    assert changed > 0
    second = build_pack(engine, scope, "Northwind Insurance", ensure_estimates=False)
    assert second.edition_no == 2
    restated = {t.key: t for t in second.changes.tables}["restated"]
    months = [r[0] for r in restated.rows]
    assert months == ["2025-03"]
    old, new = restated.rows[0][1], restated.rows[0][2]
    assert old != new
    assert any("restated" in s for s in second.changes.sentences)
    assert verify_pack(engine, scope, second.content).edition_no == 2
    assert verify_pack(engine, scope, first.content).edition_no == 1  # still recognised
    engine.dispose()


def test_password_is_not_archived(copy_url: str) -> None:
    engine = make_engine(copy_url)
    scope = Scope.everything()
    built = build_pack(
        engine, scope, "Northwind Insurance", password="hunter2-secret", ensure_estimates=False
    )
    assert built.protected and built.content != built.document.pdf  # type: ignore[union-attr]  # document is None only when the build failed; built.protected implies it exists
    assert verify_pack(engine, scope, built.content).status == "edition"
    with engine.connect() as conn:
        for row in conn.execute(text("SELECT * FROM snapshot")):
            assert "hunter2-secret" not in repr(tuple(row))
    engine.dispose()


def test_scope_is_checked(copy_url: str) -> None:
    from data_loaders.access import AccessDenied

    engine = make_engine(copy_url)
    outsider = Scope(role="client executive", account_ids=frozenset({999}), user="x")
    with pytest.raises((AccessDenied, LookupError, ValueError)):
        build_pack(engine, outsider, "Northwind Insurance", ensure_estimates=False)
    engine.dispose()


def test_deck_text_has_the_story_figures(demo_story: Story) -> None:
    prs = Presentation(io.BytesIO(render_deck(demo_story)))
    text_all, notes, charts = [], [], 0
    for slide in prs.slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                text_all.append(shape.text_frame.text)
            if shape.has_table:
                text_all.extend(c.text for row in shape.table.rows for c in row.cells)
            charts += int(shape.has_chart)
        notes.append(slide.notes_slide.notes_text_frame.text if slide.has_notes_slide else "")
    body = "\n".join(text_all)
    for fig in demo_story.section("headline").figures:
        assert fig.text in body
    assert "$6,456,512" in body
    for sentence in demo_story.section("narrative").sentences:
        assert sentence in body
    assert charts >= 2  # the curve and the bridge, native
    assert any("baseline" in n for n in notes)


def test_evidence_words_are_the_rules_labels_in_pack_and_deck(demo_story: Story) -> None:
    """Pack and deck name the levels as every view does ("proven (causal estimate)"), never
    by their stored key ("estimated: Estimated causal effect …")."""
    from reports.pack import render_pack

    pdf_text = " ".join(
        (p.extract_text() or "") for p in PdfReader(io.BytesIO(render_pack(demo_story).pdf)).pages
    )
    deck = Presentation(io.BytesIO(render_deck(demo_story)))
    deck_text = " ".join(
        sh.text_frame.text for slide in deck.slides for sh in slide.shapes if sh.has_text_frame
    ) + " ".join(s.notes_slide.notes_text_frame.text for s in deck.slides if s.has_notes_slide)
    for printed in (" ".join(pdf_text.split()), " ".join(deck_text.split())):
        assert "estimated: Estimated" not in printed
    assert "proven (causal estimate): Estimated causal effect" in " ".join(pdf_text.split())
    inn = demo_story.section("innovations")
    assert inn.figure("evidence:estimated").label == "proven (causal estimate)"


def test_evidence_upgrade_is_named_in_labels_and_ranked_by_the_rule(demo_story: Story) -> None:
    """An innovation archived as 'claimed' (a key, as earlier editions stored it) that is now
    proven by a causal estimate is an upgrade, said in the labels; one now weaker is a
    downgrade."""
    from reports.editions import _values, what_changed

    old = _values(demo_story)
    proven = [c for c, v in old["innovations"].items() if v["evidence"] == "estimated"]
    measured = [c for c, v in old["innovations"].items() if v["evidence"] == "measured"]
    assert proven and measured  # the demo has both
    old["innovations"][proven[0]]["evidence"] = "claimed"
    old["innovations"][measured[0]]["evidence"] = "proven (causal estimate)"
    changes = what_changed({"values": old}, "edition 1", demo_story)
    rows = {r[0]: r for r in changes.table("evidence_changes").rows}
    assert rows[proven[0]][2:] == ("claimed → proven (causal estimate)", "upgrade")
    assert rows[measured[0]][2:] == ("proven (causal estimate) → measured", "downgrade")
    assert set(rows) == {proven[0], measured[0]}


def test_reimported_observations_show_as_a_restated_month(copy_url: str, tmp_path: Path) -> None:
    """Build an edition; re-import (through the importer, as a user would) one unit's
    headline-KPI observations of March 2025 with corrected values; the next edition's "what
    changed" lists March 2025 as restated, old → new, and nothing else."""
    import csv

    import cli

    engine = make_engine(copy_url)
    scope = Scope.everything(user="tester")
    first = build_pack(engine, scope, "Northwind Insurance", ensure_estimates=False)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT u.site, u.process, k.key, o.period, o.value, o.volume, o.grain "
                "FROM kpi_observation o JOIN unit u ON u.id = o.unit_id "
                "JOIN kpi k ON k.id = o.kpi_id JOIN account a ON a.id = o.account_id "
                "WHERE a.name = 'Northwind Insurance' AND k.headline = 1 "
                "AND k.money_value IS NOT NULL AND o.period >= '2025-03-01' "
                "AND o.period < '2025-04-01' "
                "AND u.id = (SELECT MIN(id) FROM unit WHERE account_id = a.id)"
            )
        ).all()
    assert rows
    path = tmp_path / "observations.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["account", "site", "process", "kpi", "period", "value", "volume", "grain"])
        for site, process, kpi, period, value, volume, grain in rows:
            w.writerow(
                ["Northwind Insurance", site, process, kpi, period, value * 0.8, volume, grain]
            )
    assert cli.main(["--db", copy_url, "import", str(path), "--no-estimates"]) == 0
    second = build_pack(engine, scope, "Northwind Insurance", ensure_estimates=False)
    engine.dispose()
    assert second.edition_no == first.edition_no + 1
    restated = {t.key: t for t in second.changes.tables}["restated"]
    assert [r[0] for r in restated.rows] == ["2025-03"]
    old, new = restated.rows[0][1], restated.rows[0][2]
    march = first.story.section("curve").figure("month:2025-03").exact
    assert old == march and new == second.story.section("curve").figure("month:2025-03").exact
    assert old != new
