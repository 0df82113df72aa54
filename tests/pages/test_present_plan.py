"""Present mode's story split: decided before the causal estimates exist and unchanged when
they arrive (a screen's number never moves under the presenter). Lengths hand-computed
against ``STORY_CHARS`` = 760 and ``STORY_SENTENCES`` = 4."""

from __future__ import annotations

from ui import present


def test_sentences_are_grouped_greedily_within_the_screen_budget() -> None:
    # 300 + 300 = 600 (+200 would be 800 > 760) · 200 + 100 (+500 = 800) · 500 + 50
    assert present.story_pages([300, 300, 200, 100, 500, 50]) == [[0, 1], [2, 3], [4, 5]]
    # at most four sentences a screen, however short; a sentence longer than a screen alone
    assert present.story_pages([10] * 5) == [[0, 1, 2, 3], [4]]
    assert present.story_pages([900, 10]) == [[0], [1]]


def test_the_evidence_sentence_has_its_place_before_the_estimates_exist() -> None:
    """The plan takes the reserve in the evidence sentence's place (index 2): 300 + 300,
    then 250 + 200 + 100 = 550."""
    rest = ["a" * 300, "b" * 300, "c" * 200, "d" * 100]
    assert present.story_plan(rest, 2, 250) == [[0, 1], [2, 3, 4]]
    assert present.story_plan(rest, None, 250) == [[0, 1], [2, 3]]


def test_the_reserve_holds_any_evidence_sentence_of_fewer_than_1000_innovations() -> None:
    """The reserve is the length of the longest evidence sentence of an account with fewer
    than 1,000 innovations, written out here by hand: three-digit counts, each with its
    plural verb (159 characters); the singular sentence and the demo's (29 estimated,
    6 measured, 2 claimed) are shorter."""
    longest = (
        "Of the live innovations, 999 have a causal estimate whose 95 % interval excludes "
        "zero, 999 are measured against the baseline and 999 rest on their claim alone."
    )
    singular = (
        "Of the live innovations, 1 has a causal estimate whose 95 % interval excludes "
        "zero, 1 is measured against the baseline and 1 rests on its claim alone."
    )
    demo = (
        "Of the live innovations, 29 have a causal estimate whose 95 % interval excludes "
        "zero, 6 are measured against the baseline and 2 rest on their claim alone."
    )
    reserve = present.evidence_reserve("USD", "en_US")
    assert reserve == len(longest) == 159
    assert len(singular) < len(demo) <= reserve
