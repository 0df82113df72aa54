"""metrics.method_notes: the plain-words method covers docs/ARCHITECTURE.md, Notation and reuses the evidence notes."""

from __future__ import annotations

from metrics.method_notes import METHOD_NOTES


def test_every_design_concept_is_explained_with_a_formula() -> None:
    keys = [n.key for n in METHOD_NOTES]
    assert keys == [
        "baseline",
        "measured",
        "headline",
        "claimed",
        "attributed",
        "estimated",
        "then_now",
        "states",
        "pipeline",
        "money",
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


def test_card_help_quotes_the_cards_own_figures() -> None:
    """The headline cards' help: two months after the baseline the run-rate says so; one live
    innovation is singular and its mix is quoted level by level; a unit selection is set
    against the account's live innovations, not the register."""
    from metrics.method_notes import evidence_help, live_help, run_rate_help, value_help

    assert run_rate_help(2) == (
        "Mean of the last 2 post-baseline months' measured value × 12 "
        "(fewer than 3 months after the baseline so far)."
    )
    assert run_rate_help(3) == "Mean of the last 3 post-baseline months' measured value × 12."
    assert evidence_help({"estimated": 0, "measured": 1, "claimed": 0}, 1).startswith(
        "Of 1 live innovation: 0 proven (a causal estimate whose 95 % range excludes zero), "
        "1 measured, 0 claimed."
    )
    assert evidence_help({"estimated": 2, "measured": 3, "claimed": 1}, 6).startswith(
        "Of 6 live innovations: 2 proven"
    )
    assert "across the whole account" in live_help(units_selected=True)
    assert "in the register" in live_help(units_selected=False)
    assert value_help("$6,456,512").startswith("Exactly $6,456,512: each month,")
