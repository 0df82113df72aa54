"""metrics.method_notes: the plain-words method covers docs/ARCHITECTURE.md, Notation and reuses the evidence notes."""

from __future__ import annotations

from metrics.impact import EVIDENCE_NOTES
from metrics.method_notes import METHOD_NOTES, evidence_notes


def test_every_design_concept_is_explained_with_a_formula() -> None:
    keys = [n.key for n in METHOD_NOTES]
    assert keys == [
        "baseline",
        "measured",
        "headline",
        "claimed",
        "attributed",
        "estimated",
        "gain_share",
        "productivity",
    ]
    assert all(n.text and n.formula for n in METHOD_NOTES)
    assert len(set(keys)) == len(keys)
    notes = {n.key: n for n in METHOD_NOTES}
    assert r"(1-g)\,G" in notes["gain_share"].formula
    assert r"(1-p)^{y}" in notes["productivity"].formula
    assert "Borusyak" in notes["estimated"].text and "unattributed" in notes["attributed"].text
    for n in METHOD_NOTES:  # balanced braces: st.latex / KaTeX would fail otherwise
        assert n.formula.count("{") == n.formula.count("}"), n.key


def test_evidence_notes_are_the_impact_modules_own() -> None:
    assert evidence_notes() == EVIDENCE_NOTES
    assert set(evidence_notes()) == {"estimated", "measured", "claimed"}
