"""Measures of an article a reader can trust, shared by the tests and `bench/write.py`.

Each counts a fault a reader would notice: a sentence its cited sources do not contain, a figure stated again
and again, two sentences that say the same thing, a sentence that only made sense where it came from, a
relative day with no date, a publisher of the story that is never cited (of those that wrote something citeable).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import combinations

from tidings.dates import has_relative_day
from tidings.model import Item, Revision
from tidings.text import sentences as split
from tidings.write.facts import content_overlap, fact_of, figures_in
from tidings.write.grounding import ungrounded
from tidings.write.standalone import points_back, unusable


def _citeable(sentence: str) -> bool:
    return 6 <= len(sentence.split()) <= 60 and unusable(sentence) is None


def body(revision: Revision) -> list:
    """The article's sentences a reader reads as prose (timeline lines are dated headlines, not prose)."""
    return [s for sec in revision.sections if sec.heading != "Timeline" for s in sec.sentences]


def measure(revision: Revision, items: Sequence[Item]) -> dict[str, float]:
    sentences = revision.sentences()
    prose = body(revision)
    figures = Counter(f for s in sentences for f in set(figures_in(s.source_text)))
    facts = [fact_of(s.source_text) for s in prose]
    lone = 0
    for n, s in enumerate(prose):
        text = s.source_text
        before = prose[n - 1].source_text if n else ""
        # A sentence that points back is fine right after the sentence it follows in its source.
        follows = bool(before) and any(f"{before} {text}" in " ".join(i.text.split()) for i in items)
        if unusable(text) or (points_back(text) and not follows):
            lone += 1
    # A publisher that wrote nothing a reader could be given (only questions, applause, a teaser) cannot be
    # cited; coverage counts those that could be.
    publishers = {i.publisher for i in items if any(_citeable(t) for t in split(i.text))}
    cited = {c.publisher for c in revision.sources if any(c.n in s.cites for s in sentences)}
    return {
        "sentences": len(sentences),
        "attributed": 1.0 - len(ungrounded(revision, items)) / len(sentences) if sentences else 1.0,
        "repeated_figures": sum(1 for n in figures.values() if n > 2),
        "overlapping_pairs": sum(1 for a, b in combinations(facts, 2) if content_overlap(a, b) >= 0.5),
        "not_standalone": lone,
        "undated_relative_days": sum(1 for s in sentences if has_relative_day(s.text)),
        "publishers": len(publishers),
        "publisher_coverage": len(cited & publishers) / len(publishers) if publishers else 1.0,
    }
