"""The story model: per view, a frozen, Streamlit-free description of what is shown.

Built once from the metrics layer (``story.model.build_story``) and rendered by the renewal
pack (``reports.pack``), the deck (``reports.deck``) and printed by ``thenandnow metrics
--json``; every figure in it is already formatted (``metrics.format``) and every sentence
comes from ``metrics.narrative``, so the screen, the paper and the CLI print the same text.
The Story page and present mode render the same ``Story`` (its sections, and its ``parts``
for the charts they draw themselves).
"""

from story.model import (
    Chart,
    Figure,
    NoStory,
    Parts,
    Section,
    Story,
    Table,
    build_story,
)

__all__ = ["Chart", "Figure", "NoStory", "Parts", "Section", "Story", "Table", "build_story"]
