"""Vectorisers: text to sparse term weights that can be compared by cosine.

The lexical vectoriser is TF-IDF over words with the title weighted higher; its document frequencies grow one
item at a time, so a vector only ever uses what has been seen so far (nothing peeks at the future).
"""

from __future__ import annotations

from math import log, sqrt
from operator import itemgetter

from tidings.text import lead_tokens, tokens

Vector = dict[str, float]

TITLE_WEIGHT = 3.0  # a title says what an article is about more densely than its body
MAX_TEXT_TOKENS = 30  # title and lead carry the story; the tail of an article drifts to other subjects
MAX_CENTROID_TERMS = 300  # a story's profile keeps its strongest terms only


class Vocabulary:
    """Document frequencies, grown one document at a time, and the TF-IDF weighting they give."""

    def __init__(self, documents: int = 0, df: dict[str, int] | None = None, size: int | None = None) -> None:
        """`df` may hold only the terms a caller will weigh (the store holds many more); `size` is then how many
        terms there are in all, which the clusterer's likelihood test needs."""
        self.documents = documents
        self.df: dict[str, int] = dict(df or {})
        self._unseen = (size if size is not None else len(self.df)) - len(self.df)

    @property
    def size(self) -> int:
        """How many distinct terms have been seen."""
        return len(self.df) + self._unseen

    def observe(self, counts: dict[str, float]) -> None:
        self.documents += 1
        df = self.df
        for term in counts:
            df[term] = df.get(term, 0) + 1

    def vector(self, counts: dict[str, float]) -> Vector:
        """(1 + ln tf) * idf, L2-normalised; idf = ln((N + 1) / (1 + df)) + 1."""
        n1, df = self.documents + 1, self.df
        vec = {t: (1.0 + log(c)) * (log(n1 / (1 + df.get(t, 0))) + 1.0) for t, c in counts.items() if c >= 1}
        norm = sqrt(sum(a * a for a in vec.values()))
        return {t: a / norm for t, a in vec.items()} if norm else {}


class LexicalVectoriser(Vocabulary):
    """TF-IDF over a document's title (weighted up) and lead."""

    def counts(self, title: str, text: str = "") -> dict[str, float]:
        """Raw weighted term counts of one document (title terms count TITLE_WEIGHT times)."""
        out: dict[str, float] = {}
        get = out.get  # a plain dict: a Counter's missing-key path is slow, and the counts come out the same
        for term in tokens(title):
            out[term] = get(term, 0.0) + TITLE_WEIGHT
        for term in lead_tokens(text, MAX_TEXT_TOKENS):
            out[term] = get(term, 0.0) + 1.0
        return out

    add = Vocabulary.observe
    weigh = Vocabulary.vector


def cosine(a: Vector, b: Vector) -> float:
    """Cosine of two L2-normalised sparse vectors."""
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(t, 0.0) for t, v in a.items())


def merge_counts(centroid: dict[str, float], counts: dict[str, float]) -> dict[str, float]:
    """A story's profile after one more member, trimmed to its strongest terms."""
    merged = dict(centroid)
    for term, c in counts.items():
        merged[term] = merged.get(term, 0.0) + c
    if len(merged) > MAX_CENTROID_TERMS:
        merged = dict(sorted(merged.items(), key=itemgetter(1), reverse=True)[:MAX_CENTROID_TERMS])  # stable
    return merged
