"""The grounding check every writer's revision passes before it is stored, so no writer can put words in a
source's mouth. A writer that lifts sentences (the extractive one) must have each sentence, its bracketed
insertions taken out, word for word in an item it cites (its text or its title). A writer that paraphrases (a
language model) must have each sentence borne out by the passages it cites: they exist, and they state its
figures, dates and names and what it says (see `write.support`). A sentence that fails is dropped, and named."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

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


def checked_against(revision: Revision, passages: Mapping[int, str], checker,
                    limit: int) -> tuple[Revision, list[tuple[str, str]]]:
    """A paraphrasing writer's revision with only the sentences the passages they cite bear out, each once and
    at most `limit` of them, each of those passages kept beside it; and (sentence, why) for each sentence taken
    out. `checker.why_not(sentence, texts)` says why a sentence is not supported by the passages' texts, or None."""
    dropped: list[tuple[str, str]] = []
    sections = []
    said: set[str] = set()
    for section in revision.sections:
        kept = []
        for s in section.sentences:
            missing = [n for n in s.cites if n not in passages]
            shown = f"{s.label}: {s.text}" if s.label else s.text  # a timeline line's date is part of what it says
            key = squash(shown).casefold()
            if key in said:
                why = "it repeats an earlier sentence"
            elif len(said) >= limit:
                why = f"the article has its {limit} sentences already"
            elif not s.cites:
                why = "it cites no source"
            elif missing:
                why = f"it cites [{missing[0]}], which is not one of the story's sources"
            else:
                why = checker.why_not(f"On {s.label}, {s.text}" if s.label else s.text,
                                      [passages[n] for n in s.cites])
            if why is None:
                said.add(key)
                kept.append(s)
            else:
                dropped.append((shown, why))
        if kept:
            sections.append(Section(section.heading, tuple(kept)))
    cited = sorted({n for sec in sections for s in sec.sentences for n in s.cites})
    return (replace(revision, sections=tuple(sections), passages=tuple((n, passages[n]) for n in cited)),
            dropped)


def too_little(draft: Revision, checked: Revision) -> str | None:
    """Why a checked revision is not worth publishing instead of the extractive writer's: fewer than half its
    sentences held up, or its opening sentence (the lede) did not."""
    written, kept = len(draft.sentences()), len(checked.sentences())
    if not kept:
        return f"none of its {written} sentences held up against their sources" if written else "it wrote nothing"
    if 2 * kept < written:
        return f"only {kept} of its {written} sentences held up against their sources"
    if draft.lede is not None and (checked.lede is None or checked.lede.text != draft.lede.text):
        return "its opening sentence did not hold up against its sources"
    return None
