"""The grounding check every writer's revision passes before it is stored: each sentence of the article, its
bracketed insertions taken out, must be found word for word in an item it cites (its text or its title). A
sentence that is not is dropped, and named, so no writer can put words in a source's mouth."""

from __future__ import annotations

from collections.abc import Sequence

from tidings.model import Item, Revision, Section
from tidings.text import squash


def ungrounded(revision: Revision, items: Sequence[Item]) -> list[str]:
    """The sentences of the article that no cited item contains."""
    by_number = {c.n: c.item_id for c in revision.sources}
    texts = {i.id: (squash(i.text), squash(i.title)) for i in items}
    bad = []
    for s in revision.sentences():
        words = squash(s.source_text)
        cited = [texts[by_number[n]] for n in s.cites if n in by_number and by_number[n] in texts]
        if not words or not any(words in text or words == title for text, title in cited):
            bad.append(s.text)
    return bad


def grounded(revision: Revision, items: Sequence[Item]) -> tuple[Revision, list[str]]:
    """The revision without its ungrounded sentences (sections left empty go too), and those sentences."""
    bad = set(ungrounded(revision, items))
    if not bad:
        return revision, []
    sections = tuple(Section(sec.heading, kept) for sec in revision.sections
                     if (kept := tuple(s for s in sec.sentences if s.text not in bad)))
    return Revision(**{**revision.__dict__, "sections": sections}), sorted(bad)
